"""End to end: a real nginx-rtmp (Debian's module) beside the hub, ffmpeg publishing a test
pattern with a key made in the toolbox, and headless Chromium playing it through hls.js.

The performer makes a key, ffmpeg publishes, the stage hears the stream go live, the performer
places its tile and a phone audience's video plays (time advances, frames decode). The pattern
carries a white mark at x = 20 px per second of stream time (mod 16 s): the audience reads it
off the frame on screen, so time from publish to shown is measured, not guessed (the figure
in docs/streaming.md). Pausing ffmpeg freezes the audience's tile and the performer sees it;
stopping it says "Stream stopped", restarting plays again, revoking the key cuts the publish,
and the revoked key and a wrong one are refused.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import statistics
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hub.streaming import RTMP_MODULE, MediaServer, nginx_binary
from tests.browser import PHONE, artifact
from tests.conftest import missing_service
from tests.hubproc import free_port
from tests.studio import open_logged_in
from tests.webpages import WAIT_MS, open_stage, person, until

MARK = "drawbox=x=0:y=0:w=iw:h=16:color=black:t=fill,drawtext=text=I:fontsize=14:fontcolor=white:box=1:boxcolor=white:x='mod(t\\,16)*20':y=1"
# Read on the audience's screen: the stream time of the frame shown and the wall clock then.
READ_MARK = """(name) => {
  const v = document.querySelector('.obj.stream video');
  if (!v || v.videoWidth === 0) return null;
  const c = document.createElement('canvas'); c.width = 320; c.height = 240;
  const g = c.getContext('2d'); g.drawImage(v, 0, 0, 320, 240);
  const now = Date.now();
  const row = g.getImageData(0, 8, 320, 1).data;
  for (let x = 0; x < 320; x++) if (row[4 * x] > 200 && row[4 * x + 1] > 200 && row[4 * x + 2] > 200) {
    const since = window.upstage.state.streams[name].since;
    return { mark: x / 20, elapsed: (now - since) / 1000 };
  }
  return null;
}"""
PLAYING = "(before) => { const v = document.querySelector('.obj.stream video'); const q = v?.getVideoPlaybackQuality(); return v && v.currentTime > 0.5 && q.totalVideoFrames > before + 10 && !v.paused && q.totalVideoFrames; }"


def needs_tools() -> None:
    for tool in ("ffmpeg",):
        if shutil.which(tool) is None:
            missing_service(f"{tool} is missing: run `make install-streaming`")
    if not Path(nginx_binary()).exists() or not RTMP_MODULE.exists():
        missing_service("nginx with libnginx-mod-rtmp is missing: run `make install-streaming`")


async def wait_port(port: int, proc: asyncio.subprocess.Process) -> None:
    for _ in range(100):
        if proc.returncode is not None:
            raise AssertionError(f"nginx exited with {proc.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"nginx does not listen on {port}")


@pytest.fixture
async def media(tmp_path: Path) -> AsyncIterator[Any]:
    """Starts nginx-rtmp for a hub (`await media(hub_url, rtmp, hls)`); stopped at the end."""
    needs_tools()
    started: list[asyncio.subprocess.Process] = []

    async def start(hub_url: str, rtmp: int, hls: int) -> MediaServer:
        server = MediaServer(tmp_path / "streaming", rtmp, hls, hub_url)
        server.write()
        log = open(tmp_path / "nginx.out", "wb")  # noqa: SIM115 - the child writes it until the end
        proc = await asyncio.create_subprocess_exec(*server.command(nginx_binary()), stdout=log, stderr=log)
        started.append(proc)
        await wait_port(rtmp, proc)
        await wait_port(hls, proc)
        return server

    yield start
    for proc in started:
        if proc.returncode is None:
            proc.terminate()
            async with asyncio.timeout(10):
                await proc.wait()


async def publish(url: str) -> asyncio.subprocess.Process:
    """ffmpeg publishing the marked test pattern and a tone, H.264 baseline + AAC, at real time."""
    return await asyncio.create_subprocess_exec(
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-vf", MARK, "-c:v", "libx264", "-profile:v", "baseline",
        "-preset", "veryfast", "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k",
        "-f", "flv", url, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGINT)  # ffmpeg ends the stream properly (on_publish_done)
        try:
            async with asyncio.timeout(10):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def test_a_stream_plays_on_the_audience_phone(make_hub, media, browser) -> None:
    rtmp, hls = free_port(), free_port()
    hub = await make_hub(stream_rtmp_port=rtmp, stream_hls_port=hls)
    await hub.stage("show", "helen")
    await media(hub.url, rtmp, hls)
    performer = await open_stage(await person(browser, hub, "helen", viewport={"width": 1280, "height": 900}), hub)
    phone = await open_stage(await person(browser, hub, viewport=PHONE, is_mobile=True, has_touch=True), hub)
    # Debian's Chromium decodes H.264 and AAC through Media Source Extensions (what hls.js uses).
    codecs = await phone.evaluate("['video/mp4; codecs=\"avc1.42E01E\"', 'audio/mp4; codecs=\"mp4a.40.2\"'].map((t) => MediaSource.isTypeSupported(t))")
    assert codecs == [True, True]

    # a stream key from the toolbox: the publish URL is shown once
    await performer.get_by_label("Stream key label").fill("camera 1")
    await performer.get_by_role("button", name="New stream key").click()
    url = await performer.get_by_label("Publish URL (ffmpeg)").input_value()
    assert url.startswith(f"rtmp://127.0.0.1:{rtmp}/live/show-") and "?key=" in url
    name = url.split("/live/")[1].split("?")[0]

    ffmpeg = await publish(url)
    procs = [ffmpeg]
    try:
        live = "(name) => window.upstage.state.streams?.[name]?.live === true && window.upstage.state.streams[name]"
        stream = await until(performer, live, name)
        assert stream["performer"] == "helen" and stream["url"] == f"http://{{host}}:{hls}/hls/{name}.m3u8"
        await performer.get_by_role("button", name=f"Place stream {name}").click()
        await phone.wait_for_selector(".obj.stream video", timeout=WAIT_MS)
        frames = await until(phone, PLAYING, 0)
        assert frames > 10 and not phone.errors

        # time from publish to shown, read off the frames on the phone's screen
        samples = []
        for _ in range(8):
            seen = await until(phone, READ_MARK, name)
            samples.append((seen["elapsed"] - seen["mark"]) % 16)
            await asyncio.sleep(0.1)
        latency = statistics.median(samples)
        artifact("stream-latency.txt").write_text(f"glass-to-glass {latency:.2f} s (samples {[round(s, 2) for s in samples]})\n")
        assert 0 < latency < 10, samples
        await phone.screenshot(path=artifact("stream-phone.png"))
        await performer.screenshot(path=artifact("stream-performer.png"))

        # ffmpeg paused: the phone's tile freezes and the performer (the tile's host) is told
        ffmpeg.send_signal(signal.SIGSTOP)
        health = performer.locator(".obj.stream .stream-health")
        await health.get_by_text("Frozen for 1 viewer").wait_for(timeout=WAIT_MS + 5000)
        ffmpeg.send_signal(signal.SIGCONT)
        await health.wait_for(state="hidden", timeout=WAIT_MS)

        # stopped: the tile says so; restarted: it plays again
        await stop(ffmpeg)
        await phone.locator(".obj.stream .stream-status").get_by_text("Stream stopped").wait_for(timeout=WAIT_MS)
        ffmpeg = await publish(url)
        procs.append(ffmpeg)
        await until(phone, PLAYING, 0)
        await phone.locator(".obj.stream .stream-status").wait_for(state="hidden", timeout=WAIT_MS)

        # revoking the key cuts the running publish (nginx-rtmp's control API) and refuses the next
        await performer.get_by_role("button", name="Revoke stream key camera 1").click()
        await phone.locator(".obj.stream .stream-status").get_by_text("Stream stopped").wait_for(timeout=WAIT_MS)
        async with asyncio.timeout(10):
            await ffmpeg.wait()

        # the revoked key and a wrong key are refused by the callback: ffmpeg fails, the stage stays
        since = (await performer.evaluate("(n) => window.upstage.state.streams[n].since", name))
        for attempt in (url, url.split("?key=")[0] + "?key=wrong"):
            refused = await publish(attempt)
            procs.append(refused)
            async with asyncio.timeout(15):
                assert await refused.wait() != 0
        assert await performer.evaluate("(n) => window.upstage.state.streams[n]", name) == {**stream, "live": False, "since": since}
        assert not phone.errors and not performer.errors
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGCONT)
                await stop(proc)
    assert os.path.getsize(artifact("stream-phone.png")) > 0


async def test_backstage_makes_lists_and_revokes_stream_keys(hub, browser) -> None:
    """The stage's management page: a key made (its publish URL shown once), listed, revoked."""
    await hub.stage("show", "alice")
    page = await open_logged_in(browser, hub, "alice", "/backstage#stage/show")
    section = page.locator("section", has=page.get_by_role("heading", name="Live streams"))
    await section.get_by_label("Stream key label").fill("camera 2")
    await section.get_by_role("button", name="New stream key").click()
    url = await section.get_by_label("Publish URL (ffmpeg)").input_value()
    assert url.startswith("rtmp://127.0.0.1:1935/live/show-") and "?key=" in url
    await section.screenshot(path=artifact("stream-keys-backstage.png"))
    await section.get_by_role("button", name="Revoke camera 2").click()
    await section.get_by_text("revoked").wait_for(timeout=WAIT_MS)
    stage = await hub.store.get_stage("show")
    assert stage is not None
    keys = await hub.store.stream_keys(stage.id)
    assert [(k.label, k.revoked) for k in keys] == [("camera 2", True)]
