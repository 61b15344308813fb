"""The toolbox's audio in headless Chromium, with a performer and a phone audience at once: keys
1-9 start tracks, a track that ends (not looping) shows stopped in the toolbox and for a late
joiner with no stop sent by anyone, per-track and master volume reach every page, "Fade out all"
fades every page's sound and then stops the tracks, and nothing fires while typing."""

from __future__ import annotations

import asyncio

from tests.browser import PHONE, artifact
from tests.present import present
from tests.studio import upload_as, wav
from tests.webpages import open_stage, person, until

ELEMENT = "(key) => [...window.upstage.page.audio.players.entries()].find(([k]) => k === key)?.[1]"


async def stage_with_tracks(hub) -> tuple[dict, dict]:
    await hub.stage("show", "helen")
    short = await upload_as(hub, "helen", "chime.wav", wav(1.2), "audio")
    long = await upload_as(hub, "helen", "drone.wav", wav(8.0), "audio")
    stage = present(await hub.store.cached_stage("show"))
    await hub.store.assign_media(stage.id, [int(short["id"]), int(long["id"])])
    return short, long


async def test_keys_volumes_fade_and_a_track_that_ends(hub, browser) -> None:
    short, long = await stage_with_tracks(hub)
    watcher = await hub.joined()  # counts what goes out on the stage
    player = await open_stage(await person(browser, hub, "helen", viewport={"width": 1280, "height": 900}), hub)
    audience = await open_stage(await person(browser, hub, viewport=PHONE, is_mobile=True, has_touch=True), hub)
    key_short, key_long = str(short["id"]), str(long["id"])
    row = f'.audio-row[data-track="{key_short}"]'
    await player.wait_for_selector(f"{row}[data-duration]", timeout=10_000)

    # typing a digit in the chat plays nothing
    await player.get_by_role("textbox", name="Chat message").fill("1")
    await player.get_by_role("textbox", name="Chat message").press("1")
    await player.locator("body").click(position={"x": 5, "y": 5})  # focus leaves the field
    await asyncio.sleep(0.3)
    assert not [e for e in watcher.events if e["topic"] == "audio"]

    # key 1 plays the first track, with its duration from the metadata
    await player.keyboard.press("1")
    await until(audience, "(k) => window.upstage.state.audio.tracks[k]?.isPlaying === true", key_short)
    sent = [e["payload"] for e in watcher.events if e["topic"] == "audio"]
    assert len(sent) == 1 and sent[0]["isPlaying"] is True and abs(sent[0]["duration"] - 1.2) < 0.05, sent
    assert await player.locator(row).get_attribute("data-state") == "playing"
    await player.locator(".audio-tools").screenshot(path=artifact("audio-toolbox-playing.png"))

    # it ends: the toolbox says stopped, a late joiner's state says stopped, and no stop was sent
    await until(player, "(s) => document.querySelector(s).dataset.state === 'stopped'", row)
    assert await player.locator(f"{row} .track-status").text_content() == "Stopped"
    late = await open_stage(await person(browser, hub, viewport=PHONE), hub)
    assert (await late.evaluate("(k) => window.upstage.state.audio.tracks[k]", key_short))["isPlaying"] is False
    assert len([e for e in watcher.events if e["topic"] == "audio"]) == 1
    await late.context.close()

    # the second track's volume, then the master volume: every page's element follows both
    await player.get_by_role("button", name=f"Play {long['name']}").click()
    await until(audience, "(k) => window.upstage.state.audio.tracks[k]?.isPlaying === true", key_long)
    await player.get_by_label(f"Volume {long['name']}").fill("0.5")
    await until(audience, "(k) => window.upstage.state.audio.tracks[k].volume === 0.5", key_long)
    await player.get_by_label("Master volume").fill("0.6")
    await until(audience, "() => window.upstage.state.audio.master.volume === 0.6")
    volume = await until(audience, f"(k) => {{ const v = ({ELEMENT})(k)?.volume; return Math.abs(v - 0.3) < 0.01 && v; }}", key_long)
    assert abs(volume - 0.3) < 0.01
    assert (await until(audience, "(k) => window.upstage.state.audio.tracks[k]", key_long))["isPlaying"] is True
    await audience.screenshot(path=artifact("audio-phone-audience.png"))

    # key 2 pauses the second track where the room is, and plays it on from there
    await asyncio.sleep(0.5)
    await player.keyboard.press("2")
    paused = await until(audience, "(k) => { const t = window.upstage.state.audio.tracks[k]; return !t.isPlaying && t; }", key_long)
    assert paused["currentTime"] > 0.3
    await until(player, "(k) => document.querySelector(`.audio-row[data-track='${k}']`).dataset.state === 'paused'", key_long)
    await player.keyboard.press("2")
    resumed = await until(audience, "(k) => { const t = window.upstage.state.audio.tracks[k]; return t.isPlaying && t; }", key_long)
    assert abs(resumed["currentTime"] - paused["currentTime"]) < 0.3

    # Fade out all: the master fades on the audience's page over 3 s, then the track stops and the master is back to 1
    await player.get_by_role("button", name="Fade out all").click()
    await until(audience, "() => window.upstage.state.audio.master.volume === 0 && window.upstage.state.audio.master.duration === 3000")
    await asyncio.sleep(1.2)
    midway = await audience.evaluate(f"(k) => ({ELEMENT})(k).volume", key_long)
    assert 0.02 < midway < 0.28, midway  # fading, neither where it was nor silent yet
    await until(audience, "(k) => window.upstage.state.audio.tracks[k].isPlaying === false && window.upstage.state.audio.master.volume === 1", key_long)
    await until(player, "(k) => document.querySelector(`.audio-row[data-track='${k}']`).dataset.state === 'stopped'", key_long)
    masters = [e["payload"] for e in watcher.events if e["topic"] == "audio_master"]
    assert masters == [{"volume": 0.6, "duration": 0}, {"volume": 0, "duration": 3000}, {"volume": 1, "duration": 0}]
    await player.locator(".audio-tools").screenshot(path=artifact("audio-toolbox-faded.png"))
    assert not player.errors and not audience.errors

    # a performer's phone reaches the same controls, and nothing sticks out sideways
    phone = await open_stage(await person(browser, hub, "helen", viewport=PHONE, is_mobile=True, has_touch=True), hub)
    group = phone.locator(".audio-tools")
    await group.get_by_role("button", name=f"Stop {long['name']}").wait_for(timeout=10_000)
    await group.scroll_into_view_if_needed()
    await group.screenshot(path=artifact("audio-toolbox-phone.png"))
    assert await phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    await group.get_by_role("button", name=f"Play {short['name']}").tap()
    await until(audience, "(k) => window.upstage.state.audio.tracks[k].isPlaying === true", key_short)


async def test_audio_refusals(hub) -> None:
    """The audience cannot play sound; a duration must be a positive number of seconds."""
    await hub.stage("show", "helen")
    helen, anon = await hub.joined("helen"), await hub.joined()
    refused = await anon.call("publish", {"topic": "audio", "payload": {"id": "t", "src": "x.wav", "isPlaying": True}})
    assert refused["error"]["code"] == "forbidden"
    refused = await anon.call("publish", {"topic": "audio_master", "payload": {"volume": 0, "duration": 3000}})
    assert refused["error"]["code"] == "forbidden"
    for duration in ("long", -1, 0, None):
        bad = await helen.call("publish", {"topic": "audio", "payload": {"id": "t", "isPlaying": True, "duration": duration}})
        assert bad["error"]["code"] == "bad_request" and "duration" in bad["error"]["message"], bad
    assert (await helen.publish("audio", {"id": "t", "src": "x.wav", "isPlaying": True, "duration": 0.5}))["ok"]
