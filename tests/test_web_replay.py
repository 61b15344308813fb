"""The replay page plays a short recording with the same moves: a recorded avatar ends where the
performer left it, and play/pause, seek, speed and loop drive the hub's replay; sound follows the
replay's speed and pauses with it."""

from __future__ import annotations

import asyncio

from tests.studio import upload_as, wav
from tests.webpages import WAIT_MS, person, until


async def test_replay_plays_the_recorded_moves(hub, browser) -> None:
    await hub.stage("show", "helen")
    performer = await hub.joined("helen")
    started = await performer.call("startRecording", {"name": "Short one"})
    assert started["ok"], started
    avatar = {"id": "bird", "type": "avatar", "name": "Bird", "src": f"{hub.url}/static/demo/avatar.svg", "w": 0.1, "h": 0.12, "moveSpeed": 0}
    await performer.publish("board", {"type": "placeObjectOnStage", "object": {**avatar, "x": 0.1, "y": 0.1}})
    for x in (0.2, 0.35, 0.5, 0.7):
        assert (await performer.publish("board", {"type": "moveTo", "object": {**avatar, "x": x, "y": 0.2}}))["ok"]
    saved = await performer.call("saveRecording", {"id": started["performance"]["id"]})
    assert saved["ok"], saved
    # the live stage moves on after the recording; the replay must not show this
    await performer.publish("board", {"type": "moveTo", "object": {**avatar, "x": 0.05, "y": 0.5}})

    page = await (await person(browser, hub)).new_page()
    await page.goto(f"{hub.url}/replay/show/{started['performance']['id']}")
    await page.wait_for_selector("body[data-replay=ended]", timeout=WAIT_MS)
    bird = await until(page, "() => window.upstage.state.board.objects.find((o) => o.id === 'bird')")
    assert (bird["x"], bird["y"]) == (0.7, 0.2)
    assert await page.locator(".obj[data-id=bird]").get_attribute("data-x") == "0.7"

    # seek to the start: nothing is placed yet; play it again at 4x and it ends the same way
    await page.locator(".seek").evaluate("(el) => { el.value = '0'; el.dispatchEvent(new Event('change')); }")
    await until(page, "() => !window.upstage.state.board.objects.some((o) => o.id === 'bird')")
    await page.get_by_label("Speed").select_option("4")
    await until(page, "() => window.upstage.status.speed === 4")
    await page.get_by_role("button", name="Play").click()
    await page.wait_for_selector("body[data-replay=ended]", timeout=WAIT_MS)
    assert await page.locator(".obj[data-id=bird]").get_attribute("data-x") == "0.7"
    # loop goes to the hub and comes back in its status
    await page.get_by_label("Loop").check()
    assert (await until(page, "() => window.upstage.status.loop && window.upstage.status"))["speed"] == 4


PLAYERS = "() => [...window.upstage.audio.players.values()].map((el) => ({rate: el.playbackRate, paused: el.paused}))"


async def test_replay_sound_follows_the_speed(hub, browser) -> None:
    """A track playing in the recording plays at the replay's speed, and stops while it is paused."""
    await hub.stage("show", "helen")
    performer = await hub.joined("helen")
    tune = await upload_as(hub, "helen", "tune.wav", wav(), "audio")
    started = await performer.call("startRecording", {"name": "With sound"})
    assert started["ok"], started
    await performer.publish("audio", {"id": "tune", "src": f"{hub.url}{tune['url']}", "isPlaying": True, "loop": True, "currentTime": 0})
    await asyncio.sleep(4)  # the recording's length, not a wait for a result
    await performer.publish("board", {"type": "placeObjectOnStage", "object": {"id": "end", "src": f"{hub.url}/static/demo/prop.svg"}})
    assert (await performer.call("saveRecording", {"id": started["performance"]["id"]}))["ok"]

    page = await (await person(browser, hub)).new_page()
    await page.goto(f"{hub.url}/replay/show/{started['performance']['id']}")
    await until(page, "() => window.upstage.status.playing")
    await page.get_by_role("button", name="Tap to hear sound").click()  # browsers play sound after a gesture
    await page.get_by_label("Speed").select_option("0.5")
    await until(page, "() => window.upstage.status.speed === 0.5")
    playing = await until(page, f"() => {{ const p = ({PLAYERS})(); return p.length === 1 && !p[0].paused && p[0].rate === 0.5 && p; }}")
    assert playing == [{"rate": 0.5, "paused": False}]
    await page.get_by_label("Speed").select_option("2")
    await until(page, f"() => ({PLAYERS})()[0].rate === 2")
    await page.get_by_role("button", name="Pause").click()
    assert await until(page, f"() => ({PLAYERS})()[0].paused && !window.upstage.status.playing") is True
