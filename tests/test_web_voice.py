"""Avatar voices in headless Chromium: a held avatar's lines are spoken by meSpeak on every page
whose sound is on, with the voice stored in the avatar's media; never audience chat, `think`,
the lines a late joiner missed, nor on a page whose sound is still off; a replay speaks them again
as it plays them. One hub and one browser for all of it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aiohttp

from hub.vendor_bundle import VOICES
from tests.browser import artifact
from tests.conftest import Hub
from tests.gql import data
from tests.webpages import WAIT_MS, open_stage, person, seed_media, until

VOICE = {"voice": "en/en-us", "variant": "f2", "pitch": 70, "speed": 160, "amplitude": 30}
SAVE = "mutation($in: MediaInput!) { saveMedia(input: $in) { voice } }"
SPOKEN = "() => window.upstage.voice.spoken"


async def say(page: Any, line: str) -> None:
    box = page.get_by_role("textbox", name="Chat message")
    await box.fill(line)
    await box.press("Enter")


async def heard(page: Any, text: str) -> list[dict[str, Any]]:
    """Wait until the page has spoken `text`; everything it has spoken, oldest first."""
    return await until(page, f"() => {{ const s = ({SPOKEN})(); return s.some((l) => l.text === {text!r}) && s; }}")


async def test_avatar_lines_are_spoken_in_the_avatars_voice(hub, browser) -> None:
    await hub.stage("show", "helen")
    media = await seed_media(hub, "helen")
    assert (await data(hub, SAVE, {"in": {"id": media["avatar"]["id"], "voice": VOICE}}, user="helen"))["saveMedia"]["voice"] == VOICE
    performer = await hub.joined("helen")
    started = await performer.call("startRecording", {"name": "Voices"})
    assert started["ok"], started

    player = await open_stage(await person(browser, hub, "helen", viewport={"width": 1280, "height": 900}), hub)
    audience = await open_stage(await person(browser, hub), hub)
    quiet = await open_stage(await person(browser, hub), hub)  # never taps: its sound stays off
    await audience.locator(".stage").click()  # the first tap turns the page's sound on
    assert await audience.evaluate("window.upstage.page.audio.unlocked") is True

    # the player puts the avatar on and holds it
    await player.wait_for_selector(f'.media-item[data-media-id="{media["avatar"]["id"]}"]', timeout=WAIT_MS)
    stage_box = await player.locator(".stage").bounding_box()
    await player.drag_and_drop(f'.media-item[data-media-id="{media["avatar"]["id"]}"]', ".stage", target_position={"x": stage_box["width"] * 0.4, "y": stage_box["height"] * 0.4})
    avatar = await until(audience, "() => window.upstage.state.board.objects.find((o) => o.type === 'avatar')")
    assert avatar["voice"] == VOICE
    await player.locator(f'.obj[data-id="{avatar["id"]}"]').click()
    await player.get_by_role("button", name="Hold to speak").click()
    await player.get_by_role("button", name="Release").wait_for(timeout=WAIT_MS)

    # audience chat and a thought are never spoken; the next spoken line proves they came first
    await say(audience, "bravo")
    await audience.get_by_role("log").get_by_text("bravo").wait_for(timeout=WAIT_MS)
    await say(player, ":what a crowd")
    await say(player, "Hello")
    spoken = await heard(audience, "Hello")
    assert [line["text"] for line in spoken] == ["Hello"]
    expected = {"voice": "en/en-us", "variant": "f2", "pitch": 70, "speed": 160, "amplitude": 30}
    assert spoken[0]["options"] == expected
    assert spoken[0]["samples"] > 1000 and spoken[0]["bytes"] > 1000

    # a longer line makes longer audio; a shout is five times as loud
    long_line = "Hello everyone, welcome to a much longer line spoken on the stage tonight"
    await say(player, long_line)
    spoken = await heard(audience, long_line)
    assert spoken[1]["samples"] > 3 * spoken[0]["samples"]
    await say(player, "!Stop")
    spoken = await heard(audience, "STOP")  # a shout is also in capitals
    assert spoken[2]["options"] == {**expected, "amplitude": 150}

    # the same event twice (a duplicate delivery) is spoken once; of the lines a reconnect
    # recovers, one said a minute ago is not spoken, one said just now is
    events = """() => { const v = window.upstage.voice; const s = window.upstage.state;
      const avatar = s.board.objects.find((o) => o.type === 'avatar');
      const line = (seq, message, ago) => ({ seq, at: Date.now() - ago, topic: 'board', payload: { type: 'speak', avatar, speak: { message, behavior: 'speak' } } });
      const once = line(1e9, 'Once', 0);
      v.event(once, s); v.event({ ...once }, s);
      const recovered = [line(1e9 + 1, 'Long ago', 60000), line(1e9 + 2, 'Just missed', 500)];
      v.joined({ events: recovered }); for (const event of recovered) v.event(event, s); }"""
    await audience.evaluate(events)
    await heard(audience, "Just missed")

    # a page whose sound is off speaks nothing, and offers the sound button instead
    await quiet.get_by_role("button", name="Tap to hear sound").wait_for(timeout=WAIT_MS)
    assert await quiet.evaluate(SPOKEN) == []
    await quiet.screenshot(path=artifact("voice-sound-off.png"))

    # a late joiner does not hear the lines said before it came, only the next one
    late = await open_stage(await person(browser, hub), hub)
    await late.locator(".stage").click()
    await say(player, "Latecomers welcome")
    assert [line["text"] for line in await heard(late, "Latecomers welcome")] == ["Latecomers welcome"]
    spoken = await heard(audience, "Latecomers welcome")
    texts = [line["text"] for line in spoken]  # "Once" and "Just missed" were made at the same time
    assert texts[:3] == ["Hello", long_line, "STOP"] and sorted(texts[3:]) == ["Just missed", "Latecomers welcome", "Once"]

    # the replay speaks the lines as it plays them, with the same voice
    assert (await performer.call("saveRecording", {"id": started["performance"]["id"]}))["ok"]
    replay = await (await person(browser, hub)).new_page()
    await replay.goto(f"{hub.url}/replay/show/{started['performance']['id']}")
    await until(replay, "() => window.upstage.status.playing")  # the hub's replay has started
    await replay.locator(".stage").click()
    await replay.get_by_label("Speed").select_option("8")
    await until(replay, "() => window.upstage.status.speed === 8")
    await replay.locator(".seek").evaluate("(el) => { el.value = '0'; el.dispatchEvent(new Event('change')); }")
    await until(replay, "() => window.upstage.status.position === 0 || window.upstage.status.playing")
    if not await replay.evaluate("window.upstage.status.playing"):
        await replay.get_by_role("button", name="Play").click()
    replayed = await heard(replay, "Latecomers welcome")
    assert "bravo" not in [line["text"] for line in replayed] and "what a crowd" not in [line["text"] for line in replayed]
    assert replayed[0]["options"] == expected

    assert player.errors == [] and audience.errors == [] and late.errors == [] and quiet.errors == []


async def test_mespeak_is_served_wrapped_gzipped_and_with_every_voice(hub: Hub) -> None:
    """The CommonJS package becomes one classic worker script (no eval), under its own policy,
    gzipped for the phone; its config and every voice it knows are served beside it."""
    async with aiohttp.ClientSession(auto_decompress=False) as http:
        async with http.get(f"{hub.url}/vendor/mespeak-worker.js", headers={"Accept-Encoding": "gzip"}) as response:
            assert response.status == 200 and response.headers["Content-Encoding"] == "gzip"
            assert response.headers["Content-Type"].startswith("text/javascript")
            assert response.headers["Content-Security-Policy"] == "default-src 'none'; connect-src 'self'"
            zipped = len(await response.read())
        async with http.get(f"{hub.url}/vendor/mespeak-worker.js", headers={"Accept-Encoding": "identity"}) as response:
            assert "Content-Encoding" not in response.headers
            script = (await response.read()).decode()
        assert zipped < len(script) / 3
        assert "self.meSpeak = modules['mespeak']" in script and "self.onmessage" in script and "eval(" not in script and "new Function" not in script
        for name in ["mespeak-config.json", *(f"mespeak-voice-{voice.split('/')[-1]}.json" for voice in VOICES)]:
            async with http.head(f"{hub.url}/vendor/{name}") as response:
                assert response.status == 200, name
        async with http.get(f"{hub.url}/vendor/mespeak-voice-xx.json") as response:
            assert response.status == 404
    # the client offers the voices the hub serves, no more, no fewer
    speech = (Path(__file__).resolve().parent.parent / "static/js/speech.js").read_text()
    offered = re.search(r"export const VOICES = Object.freeze\(\[(.*?)\]\)", speech, re.S)
    assert offered is not None and set(re.findall(r"'([^']+)'", offered.group(1))) == set(VOICES)
