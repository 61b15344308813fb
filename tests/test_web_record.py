"""The record button on the stage, in headless Chromium: the owner names and starts a recording;
every performer (a player on a phone, an editor who arrives later, a reload) sees "Recording
<name>" with the time running; the audience sees nothing of it; the editor stops it and it is
saved. Players have no button, and the hub refuses them the calls."""

from __future__ import annotations

from tests.browser import PHONE, artifact
from tests.webpages import WAIT_MS, open_stage, person, until

BADGE = "() => { const b = document.querySelector('.recording-badge'); return b && !b.hidden && b.textContent; }"
NO_BADGE = "() => { const b = document.querySelector('.recording-badge'); return b && b.hidden; }"


async def test_record_start_show_and_stop(hub, browser) -> None:
    await hub.stage("show", "helen", players=("pat",), editors=("eddie",))
    watcher = await hub.joined()
    owner = await open_stage(await person(browser, hub, "helen", viewport={"width": 1280, "height": 900}), hub)
    player = await open_stage(await person(browser, hub, "pat", viewport=PHONE, is_mobile=True, has_touch=True), hub)
    audience = await open_stage(await person(browser, hub, viewport=PHONE, is_mobile=True, has_touch=True), hub)
    await owner.get_by_role("button", name="Record").wait_for(timeout=WAIT_MS)
    await player.wait_for_selector(".record-tools", state="attached", timeout=WAIT_MS)
    assert await player.locator(".record-start, .record-stop, .record-form").count() == 0  # players have no button

    # start: asks a name, then every performer sees it with the time running
    await owner.get_by_role("button", name="Record").click()
    await owner.get_by_label("Recording name").fill("Opening night")
    await owner.locator(".stage-bar").screenshot(path=artifact("record-owner-form.png"))
    await owner.get_by_role("button", name="Start recording").click()
    assert "Recording Opening night" in await until(owner, BADGE)
    assert "Recording Opening night" in await until(player, BADGE)
    assert await until(owner, "() => /0:0[2-9]/.test(document.querySelector('.recording-badge').textContent)")
    assert await owner.get_by_role("button", name="Stop recording").is_visible()
    assert await audience.locator(".record-tools, .recording-badge").count() == 0
    await owner.locator(".stage-bar").screenshot(path=artifact("record-owner-bar.png"))
    await player.screenshot(path=artifact("record-player-phone.png"))

    # a player cannot start or save one, whatever its page does
    forged = await player.evaluate("window.upstage.socket.emitWithAck('saveRecording', {id: 1})")
    assert forged["ok"] is False and forged["error"]["code"] == "forbidden"
    forged = await player.evaluate("window.upstage.socket.emitWithAck('startRecording', {name: 'mine'})")
    assert forged["ok"] is False and forged["error"]["code"] == "forbidden"

    # a reload and a late editor know it is running, with the time since it started
    await player.reload()
    assert "Recording Opening night" in await until(player, BADGE)
    editor = await open_stage(await person(browser, hub, "eddie", viewport={"width": 1280, "height": 900}), hub)
    assert "Recording Opening night" in await until(editor, BADGE)
    assert await until(editor, "() => /0:0[2-9]|0:[1-9]\\d/.test(document.querySelector('.recording-badge').textContent)")

    # the editor stops it: saved, and the badge goes away for everyone
    await editor.get_by_role("button", name="Stop recording").click()
    for page in (editor, owner, player):
        assert await until(page, NO_BADGE)
    assert await owner.get_by_role("button", name="Record").is_visible()
    listed = await watcher.call("performances", {})
    assert [(p["name"], p["recording"]) for p in listed["performances"]] == [("Opening night", False)]
    assert not owner.errors and not player.errors and not editor.errors


async def test_saving_a_recording_tells_the_stage(hub) -> None:
    """`saveRecording` is followed on the stage by `background recordingSaved`; a client cannot send one."""
    await hub.stage("show", "helen", players=("pat",))
    helen, pat, anon = await hub.joined("helen"), await hub.joined("pat"), await hub.joined()
    started = await helen.call("startRecording", {"name": "Take"})
    assert started["ok"], started
    assert (await helen.call("saveRecording", {"id": started["performance"]["id"]}))["ok"]
    await anon.wait_for(lambda c: any(e["payload"].get("type") == "recordingSaved" for e in c.events))
    saved = [e["payload"] for e in anon.events if e["payload"].get("type") == "recordingSaved"]
    assert saved == [{"type": "recordingSaved", "id": started["performance"]["id"]}]
    forged = await pat.call("publish", {"topic": "background", "payload": {"type": "recordingSaved", "id": 1}})
    assert forged["error"]["code"] == "bad_request"
    refused = await pat.call("startRecording", {"name": "mine"})
    assert refused["error"]["code"] == "forbidden"
