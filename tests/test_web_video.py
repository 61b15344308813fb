"""End to end in headless Chromium: a real video clip (made by ffmpeg, uploaded through the media
API, assigned to the stage) is placed from the toolbox's Video group and played, paused, seeked
and looped by a performer for everyone: a phone audience follows, a late joiner starts at the
room's position (and a reconnecting one catches up), a replay plays it at the replay's speed, and a clip that cannot be played says
so in its tile.

Debian's Chromium plays both WebM (VP8/VP9) and H.264 MP4 (`canPlayType('video/mp4;
codecs="avc1.42E01E"')` is "probably"); the test uses VP8 WebM, the quickest to encode.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.browser import PHONE, artifact
from tests.conftest import missing_service
from tests.present import present
from tests.studio import upload_as
from tests.webpages import WAIT_MS, open_stage, person, state, until

CLIP_SECONDS = 6
# The clip's <video> on a page: where it is and whether it plays.
CLIP = "(id) => { const v = document.querySelector(`.obj[data-id='${id}'] video`); return v && {t: v.currentTime, paused: v.paused, ready: v.readyState, rate: v.playbackRate, muted: v.muted}; }"


@pytest.fixture(scope="module")
def clip_webm(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A 6 s 320x240 VP8 WebM test pattern, made here so the tests carry no media files."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        missing_service("ffmpeg is not installed (apt-get install ffmpeg)")
    out = Path(tmp_path_factory.mktemp("video")) / "clip.webm"
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", str(CLIP_SECONDS),
                    "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k", "-pix_fmt", "yuv420p", str(out)], check=True)
    return out.read_bytes()


async def clip(page: Any, ident: str) -> dict[str, Any]:
    return await page.evaluate(CLIP, ident)


def apart(a: float, b: float) -> float:
    """Distance between two positions of the looping clip, the shorter way round."""
    d = abs(a - b) % CLIP_SECONDS
    return min(d, CLIP_SECONDS - d)


async def press(page: Any, name: str) -> None:
    await page.locator(".selected-tools").get_by_role("button", name=name, exact=True).click()


async def test_performer_plays_a_video_for_everyone(hub: Any, browser: Any, clip_webm: bytes) -> None:
    await hub.stage("show", "helen")
    media = await upload_as(hub, "helen", "clip.webm", clip_webm, "video")
    assert media["type"] == "video"
    await hub.store.assign_media(present(await hub.store.cached_stage("show")).id, [int(media["id"])])
    recorder = await hub.joined("helen")
    started = await recorder.call("startRecording", {"name": "With a clip"})
    assert started["ok"], started

    player = await open_stage(await person(browser, hub, "helen", viewport={"width": 1280, "height": 900}), hub)
    phone = await open_stage(await person(browser, hub, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2), hub)

    # the Video group lists the clip with its first frame; pressing it places the clip, sized from the video
    item = f'.tool-group[aria-label=Video] .media-item[data-media-id="{media["id"]}"]'
    await player.wait_for_selector(item, timeout=WAIT_MS)
    assert await until(player, "(sel) => document.querySelector(`${sel} video`).readyState >= 1", item)
    assert await player.locator(f"{item} .cannot-play").is_hidden()
    refused = await player.evaluate(
        "import('/static/js/stage/video-tools.js').then((m) => m.videoThumb({url: '/media/x.mov', mime: 'video/quicktime'})[1].textContent)"
    )
    assert refused == "This browser cannot play video/quicktime"  # Chromium has no QuickTime
    await player.locator(item).click()
    placed = await until(phone, "() => window.upstage.state.board.objects.find((o) => o.type === 'video')")
    ident = placed["id"]
    assert abs(placed["duration"] - CLIP_SECONDS) < 0.1 and abs(placed["h"] / placed["w"] - 0.75) < 0.01
    assert (placed["isPlaying"], placed["currentTime"]) == (False, 0)
    await until(phone, f"(id) => ({CLIP})(id)?.ready >= 2", ident)

    # Play: the phone's clip plays (muted until a tap, as sound does, and the tap button is offered)
    await player.locator(f'.obj[data-id="{ident}"]').click()
    await press(player, "Play")
    seen = await until(phone, f"(id) => {{ const c = ({CLIP})(id); return c && !c.paused && c.t > 1 && c; }}", ident)
    assert seen["muted"] is True
    assert await phone.get_by_role("button", name="Tap to hear sound").is_visible()
    await phone.screenshot(path=artifact("video-phone-playing.png"))

    # a late joiner (after ~2 s of play) starts at the room's position
    await until(phone, f"(id) => ({CLIP})(id).t > 2", ident)
    late = await open_stage(await person(browser, hub), hub)
    joined = await until(late, f"(id) => {{ const c = ({CLIP})(id); return c && !c.paused && c.ready >= 2 && c; }}", ident)
    now_phone, now_late = await clip(phone, ident), await clip(late, ident)
    assert now_late["t"] > 1.5, joined
    assert apart(now_late["t"], now_phone["t"]) < 1.0, (now_late, now_phone)

    # Loop on, then seek near the end: everyone moves there, and the clip wraps and plays on
    await player.locator(".selected-tools").get_by_label("Loop video").check()
    await until(phone, "(id) => window.upstage.state.board.objects.find((o) => o.id === id).loop === true", ident)
    assert await player.locator(".selected-tools").get_by_label("Seek video").is_enabled()
    await player.locator(".selected-tools").get_by_label("Seek video").evaluate("(el) => { el.value = '5'; el.dispatchEvent(new Event('change')); }")
    for page in (phone, late):
        await until(page, f"(id) => {{ const c = ({CLIP})(id); return c.t >= 4.9 && c.t < 5.9; }}", ident)
    for page in (phone, late):
        wrapped = await until(page, f"(id) => {{ const c = ({CLIP})(id); return c && !c.paused && c.t > 0.2 && c.t < 3 && c; }}", ident)
        assert wrapped["paused"] is False

    # Pause pauses everyone at the same place, the phone too, though it was cut off when it was pressed
    await phone.evaluate("window.upstage.socket.io.engine.close()")
    await phone.wait_for_selector(".connection[data-status=reconnecting]", timeout=WAIT_MS)
    await press(player, "Pause")
    await phone.wait_for_selector(".connection[data-status=connected]", timeout=WAIT_MS)
    paused = [await until(page, f"(id) => {{ const c = ({CLIP})(id); return c && c.paused && c; }}", ident) for page in (phone, late, player)]
    stored = next(o for o in (await state(phone))["board"]["objects"] if o["id"] == ident)
    assert stored["isPlaying"] is False
    for c in paused:
        assert apart(c["t"], stored["currentTime"]) < 0.1, (c, stored)

    await player.screenshot(path=artifact("video-player.png"))
    await phone.screenshot(path=artifact("video-phone.png"))
    await player.locator(".tool-group[aria-label=Video]").screenshot(path=artifact("video-toolbox.png"))
    saved = await recorder.call("saveRecording", {"id": started["performance"]["id"]})
    assert saved["ok"], saved

    # a clip this browser cannot play says so in its tile, and breaks nothing else
    bad = {"id": "bad", "type": "video", "name": "Not a video", "src": f"{hub.url}/static/demo/prop.svg", "x": 0.6, "y": 0.05, "w": 0.2, "h": 0.15}
    assert (await recorder.publish("board", {"type": "placeObjectOnStage", "object": bad}))["ok"]
    note = phone.locator(".obj[data-id=bad] .video-error")
    await note.wait_for(timeout=WAIT_MS)
    assert await note.text_content() == "This video cannot be played in this browser"
    await phone.screenshot(path=artifact("video-phone-error.png"))
    assert player.errors == [] and phone.errors == [] and late.errors == []

    # the replay plays the clip in time with the show, at the replay's speed
    replay = await (await person(browser, hub)).new_page()
    await replay.goto(f"{hub.url}/replay/show/{started['performance']['id']}")
    await until(replay, "() => window.upstage.status.playing")
    await replay.get_by_role("button", name="Pause").click()
    await replay.get_by_label("Speed").select_option("2")
    await until(replay, "() => window.upstage.status.speed === 2 && !window.upstage.status.playing")
    await replay.locator(".seek").evaluate("(el) => { el.value = '0'; el.dispatchEvent(new Event('change')); }")
    await until(replay, "() => !window.upstage.state.board.objects.length")
    await replay.get_by_role("button", name="Play").click()
    await until(replay, f"(id) => {{ const c = ({CLIP})(id); return c && !c.paused && c.t > 0.2 && c.ready >= 2; }}", ident)
    measured = await replay.evaluate(
        """(id) => new Promise((done) => {
             const v = document.querySelector(`.obj[data-id='${id}'] video`);
             const c0 = v.currentTime, t0 = performance.now();
             setTimeout(() => done({advanced: v.currentTime - c0, seconds: (performance.now() - t0) / 1000, rate: v.playbackRate}), 800);
           })""",
        ident,
    )
    assert measured["rate"] == 2
    assert 1.4 < measured["advanced"] / measured["seconds"] < 2.6, measured
    await replay.get_by_role("button", name="Pause").click()
    assert await until(replay, f"(id) => ({CLIP})(id)?.paused", ident) is True
