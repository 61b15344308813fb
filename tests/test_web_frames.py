"""Multi-frame media end to end in headless Chromium: a player makes a 3-frame avatar in the
studio (uploads four files as the frames of one item, reorders them, removes one), places it on
the stage and sets its frame speed and loop from the toolbox; a phone audience and a late joiner
see it animate, on the same frame as everyone else."""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import expect

from tests.browser import PHONE, artifact
from tests.conftest import Hub
from tests.studio import WAIT, data, open_logged_in, png, write
from tests.webpages import WAIT_MS, open_stage, person, until

COLOURS = [(220, 30, 30), (30, 200, 30), (30, 30, 220), (240, 220, 20)]
FRAME_OF = "(el) => Number(el.dataset.frame)"


async def frames_seen(page: Any, selector: str, count: int, seconds: float = 8.0) -> list[int]:
    """The frame indexes `selector`'s element shows, sampled every 50 ms, until `count` changes."""
    seen: list[int] = []
    for _ in range(int(seconds / 0.05)):
        frame = await page.locator(selector).evaluate(FRAME_OF)
        if not seen or seen[-1] != frame:
            seen.append(frame)
        if len(seen) > count:
            break
        await asyncio.sleep(0.05)
    return seen


async def same_frame(pages: list[Any], selector: str, tries: int = 6) -> int:
    """How many of `tries` samples, 0.3 s apart, had every page on the same frame."""
    agreed = 0
    for _ in range(tries):
        frames = await asyncio.gather(*(p.locator(selector).evaluate(FRAME_OF) for p in pages))
        agreed += len(set(frames)) == 1
        await asyncio.sleep(0.3)
    return agreed


async def test_a_three_frame_avatar_made_in_the_studio_animates_for_everyone(hub: Hub, browser, tmp_path) -> None:  # noqa: F811
    await hub.stage("show", "alice")
    studio = await open_logged_in(browser, hub, "alice", "/studio")
    files = [write(tmp_path, f"walk-{i}.png", png(12, 16, rgb)) for i, rgb in enumerate(COLOURS)]
    await studio.locator("select[name=type]").first.select_option("avatar")
    await studio.get_by_label("As the frames of one item").check()
    await studio.locator("input[name=files]").set_input_files(files)
    await expect(studio.locator(".upload-row.ok")).to_have_count(4, timeout=WAIT)
    await expect(studio.locator(".upload-row.ok").first).to_contain_text("Frame 4 of avatar")
    mine = (await data(hub, "{ media { id name type frames } }", user="alice"))["media"]
    assert len(mine) == 1 and mine[0]["type"] == "avatar" and len(mine[0]["frames"]) == 4
    uploaded = mine[0]["frames"]
    card = studio.locator(f'.media-card[data-media-id="{mine[0]["id"]}"]')
    await expect(card.locator(".badge.frames")).to_have_text("4 frames", timeout=WAIT)

    # Reorder (the last frame first), remove the (old) second, put it on the stage.
    await card.get_by_role("button", name="Edit").click()
    editor = studio.locator("dialog form.media-editor")
    for n in (4, 3, 2):
        await editor.get_by_role("button", name=f"Move frame {n} up").click()
    await editor.get_by_role("button", name="Remove frame 3").click()
    await expect(editor.locator(".frames li")).to_have_count(3)
    await editor.screenshot(path=artifact("studio-frames-editor.png"))
    await editor.get_by_label("Show").check()
    await editor.get_by_role("button", name="Save").click()
    await expect(editor).to_have_count(0, timeout=WAIT)
    saved = (await data(hub, "{ media { id frames stages { slug } } }", user="alice"))["media"][0]
    assert saved["frames"] == [uploaded[3], uploaded[0], uploaded[2]] and saved["stages"] == [{"slug": "show"}]

    # Place it; the phone audience sees it; the player sets a frame speed.
    player = await open_stage(await person(browser, hub, "alice", viewport={"width": 1280, "height": 900}), hub)
    audience = await open_stage(await person(browser, hub, viewport=PHONE, is_mobile=True, has_touch=True), hub)
    await player.locator(f'.media-item[data-media-id="{saved["id"]}"]').click()
    avatar = await until(audience, "() => window.upstage.state.board.objects.find((o) => o.type === 'avatar')")
    face = f'.obj[data-id="{avatar["id"]}"] img.face'
    await audience.wait_for_selector(face, timeout=WAIT_MS)
    await player.locator(f'.obj[data-id="{avatar["id"]}"]').click()
    await player.get_by_label("Frame speed").select_option("200")
    await player.locator(".toolbox .selected-tools").screenshot(path=artifact("frames-toolbox-selected.png"))
    animated = await until(audience, "(id) => { const o = window.upstage.state.board.objects.find((o) => o.id === id); return o.autoplayFrames === 200 && o; }", avatar["id"])
    assert animated["framesAt"] > 0 and animated["frameLoop"] is True
    seen = await frames_seen(audience, face, 4)
    assert len(seen) > 4 and set(seen) == {0, 1, 2}, seen  # every frame, round and round
    frame, src = await audience.locator(face).evaluate("(el) => [Number(el.dataset.frame), el.getAttribute('src')]")
    assert src == hub.url + saved["frames"][frame]  # the face shows the frame it says

    # A late joiner animates too, in step with the others (a second a frame, sampled mid-frame).
    await player.get_by_label("Frame speed").select_option("1000")
    await until(audience, "(id) => window.upstage.state.board.objects.find((o) => o.id === id).autoplayFrames === 1000", avatar["id"])
    late = await open_stage(await person(browser, hub, viewport=PHONE, is_mobile=True, has_touch=True), hub)
    assert len(await frames_seen(late, face, 1, seconds=4)) == 2
    assert await same_frame([player, audience, late], face) >= 5
    await audience.screenshot(path=artifact("frames-audience-phone.png"))

    # Without loop it stops on the last frame, for everyone.
    await player.get_by_label("Frame speed").select_option("100")
    await until(audience, "(id) => window.upstage.state.board.objects.find((o) => o.id === id).autoplayFrames === 100", avatar["id"])
    await player.get_by_label("Loop frames").uncheck()
    await until(late, "(id) => window.upstage.state.board.objects.find((o) => o.id === id).frameLoop === false", avatar["id"])
    for page in (audience, late):
        await until(page, "(sel) => document.querySelector(sel).dataset.frame === '2'", face)
    await asyncio.sleep(0.5)
    assert [await p.locator(face).evaluate(FRAME_OF) for p in (audience, late)] == [2, 2]
    for page in (player, audience, late):
        assert page.errors == []


async def test_a_replay_animates_the_frames_as_they_were(hub: Hub, browser) -> None:  # noqa: F811
    await hub.stage("show", "helen")
    performer = await hub.joined("helen")
    started = await performer.call("startRecording", {"name": "Walk"})
    assert started["ok"], started
    frames = [f"{hub.url}/static/demo/{name}.svg" for name in ("avatar", "avatar2", "prop")]
    walker = {"id": "walker", "type": "avatar", "name": "Walker", "src": frames[0], "frames": frames, "multi": True,
              "x": 0.4, "y": 0.1, "w": 0.15, "h": 0.2, "moveSpeed": 0}
    await performer.publish("board", {"type": "placeObjectOnStage", "object": walker})
    await performer.publish("board", {"type": "toggleAutoplayFrames", "object": {**walker, "autoplayFrames": 300}})
    await asyncio.sleep(3)
    await performer.publish("board", {"type": "moveTo", "object": {"id": "walker", "x": 0.5}})
    assert (await performer.call("saveRecording", {"id": started["performance"]["id"]}))["ok"]

    page = await (await person(browser, hub, viewport=PHONE)).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{hub.url}/replay/show/{started['performance']['id']}")
    await until(page, "() => window.upstage.state?.board.objects.some((o) => o.autoplayFrames === 300)")
    seen = await frames_seen(page, ".obj[data-id=walker] img.face", 3, seconds=2.5)
    assert len(seen) >= 3 and len(set(seen)) >= 2, seen
    assert errors == []
