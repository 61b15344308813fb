"""The replay page plays a short recording with the same moves: a recorded avatar ends where the
performer left it, and play/pause, seek, speed and loop drive the hub's replay; sound follows the
replay's speed and pauses with it."""

from __future__ import annotations

import asyncio

from tests.browser import PHONE, artifact
from tests.replays import archived
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


async def test_replay_density_skips_keys_and_controls_that_hide(hub, browser) -> None:
    """A 30 s performance: the density bar has the hub's slices; ←/→ and the skip buttons seek exactly
    10 s, clamped at both ends; Space, +/- and L drive play, speed and loop but not while typing; the
    controls hide while it plays and come back on a move (performer on a laptop) or a tap (phone)."""
    await hub.stage("show", "helen")
    performance = await archived(hub, "show", count=31, spacing_ms=1000)
    page = await (await person(browser, hub, "helen", viewport={"width": 1280, "height": 900})).new_page()
    await page.goto(f"{hub.url}/replay/show/{performance}")
    await until(page, "() => window.upstage.status.playing")
    assert await page.locator(".density .slice").count() == 100
    assert await page.locator(".density .slice:not(.empty)").count() == 31

    async def position() -> float:
        return (await until(page, "() => window.upstage.status"))["position"]

    async def press(key: str, expected: float) -> None:
        await page.keyboard.press(key)
        await until(page, f"() => window.upstage.status.position === {expected}")
        await asyncio.sleep(0.4)  # replay calls have a rate limit of their own (3 a second)

    await page.locator("body").click(position={"x": 600, "y": 880})
    await page.keyboard.press(" ")
    await page.wait_for_selector("body[data-replay=paused]", timeout=WAIT_MS)
    await page.locator(".seek").evaluate("(el) => { el.value = '5000'; el.dispatchEvent(new Event('change')); }")
    await until(page, "() => window.upstage.status.position === 5000")
    await press("ArrowRight", 15_000)
    await press("ArrowLeft", 5000)
    await press("ArrowLeft", 0)  # clamped at the start
    for _ in range(2):  # quick presses add up to one seek
        await page.keyboard.press("ArrowRight")
    await until(page, "() => window.upstage.status.position === 20000")
    await asyncio.sleep(0.4)
    await page.locator(".seek").evaluate("(el) => { el.value = '25000'; el.dispatchEvent(new Event('change')); }")
    await until(page, "() => window.upstage.status.position === 25000")
    await asyncio.sleep(0.4)
    await page.get_by_role("button", name="Forward 10 seconds").click()
    await until(page, "() => window.upstage.status.position === 30000")  # clamped at the end
    await asyncio.sleep(0.4)
    await page.get_by_role("button", name="Back 10 seconds").click()
    assert await until(page, "() => window.upstage.status.position === 20000 && !window.upstage.status.playing")
    assert await position() == 20_000
    # speed and loop from the keyboard; typing in a field does neither
    await page.locator("body").click(position={"x": 600, "y": 880})
    await page.keyboard.press("+")
    await until(page, "() => window.upstage.status.speed === 2")
    await asyncio.sleep(0.4)
    await page.keyboard.press("l")
    await until(page, "() => window.upstage.status.loop === true")
    await asyncio.sleep(0.4)
    await page.keyboard.press("-")
    await until(page, "() => window.upstage.status.speed === 1")
    await asyncio.sleep(0.4)
    await page.get_by_role("button", name="Log out").click()  # the header's login form is a text field to type in
    field = page.locator("header form.login").get_by_label("Username")
    await field.fill("")
    await field.press("l")
    await field.press("ArrowRight")
    await field.press("+")
    await asyncio.sleep(0.5)
    assert (await until(page, "() => window.upstage.status"))["loop"] is True
    assert (await until(page, "() => window.upstage.status"))["speed"] == 1 and await position() == 20_000
    await page.screenshot(path=artifact("replay-controls-desktop.png"))

    # playing, the controls hide when the pointer rests, and come back when it moves
    await page.locator("body").click(position={"x": 600, "y": 880})
    await page.keyboard.press(" ")
    await until(page, "() => window.upstage.status.playing")
    await until(page, "() => document.body.classList.contains('controls-hidden')")
    assert await page.locator(".replay-controls").evaluate("(el) => getComputedStyle(el).pointerEvents") == "none"
    await page.screenshot(path=artifact("replay-controls-hidden.png"))
    await page.mouse.move(300, 300)
    await until(page, "() => !document.body.classList.contains('controls-hidden')")
    box = await page.locator(".density").bounding_box()  # pressing the density bar seeks there
    await asyncio.sleep(0.4)
    await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert await until(page, "() => Math.abs(window.upstage.status.position - 15000) < 500")
    await page.keyboard.press("Escape")  # hides them at once
    assert await page.evaluate("document.body.classList.contains('controls-hidden')")
    await page.mouse.move(320, 320)
    await until(page, "() => !document.body.classList.contains('controls-hidden')")

    phone = await (await person(browser, hub, viewport=PHONE, is_mobile=True, has_touch=True)).new_page()
    await phone.goto(f"{hub.url}/replay/show/{performance}")
    await until(phone, "() => window.upstage.status.playing")
    await until(phone, "() => document.body.classList.contains('controls-hidden')")
    await phone.touchscreen.tap(195, 400)
    await until(phone, "() => !document.body.classList.contains('controls-hidden')")
    await phone.screenshot(path=artifact("replay-controls-phone.png"))
    overflow = await phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
