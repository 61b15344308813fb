"""The browser's reducers (static/js/stage/state.js) fold events exactly like the hub's
(hub/state): the same event streams through both give the same state, so every screen shows
what a late joiner is sent."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hub.state import apply, empty_state

ROOT = Path(__file__).resolve().parent.parent
NODE = shutil.which("node")


def event_stream(seed: int, count: int = 300) -> list[dict]:
    """Valid and malformed events over small id pools, with increasing hub times. Each track src
    belongs to one id: which of several tracks sharing a src a src-only payload finds depends on
    key order, and JSON objects in JavaScript put integer-like keys first (docs/web-client.md)."""
    rng = random.Random(seed)
    ids = ["a", "b", "c", 7]
    at = 1_700_000_000_000

    tracks: list[dict[str, Any]] = [{"id": 1, "src": "a.mp3"}, {"id": 2, "src": "b.mp3"}, {"id": "t", "src": "t.mp3"}, {"id": 3}]

    def obj() -> dict:
        return {"id": rng.choice(ids), "x": rng.random(), "y": rng.random(), "holder": "x", "wornBy": rng.choice([None, "a", 7])}

    def costume() -> dict:  # costumes and backstage objects (issue 17): poses that follow, shows that reorder
        return {**obj(), "w": rng.choice([None, rng.random(), 0, "w", 1e-300, 1e300]), "h": rng.choice([None, rng.random()]),
                "x": rng.choice([rng.random(), rng.random(), -1e308, 1e308]),  # hostile poses: a costume must stay finite
                "backstage": rng.choice([None, True, False, "yes"]), "moveSpeed": rng.choice([None, 500])}

    frames = ["f1.png", "f2.png", "f3.png"]

    def animated() -> dict:
        """A multi-frame object: frames, speed, loop and chosen frames in every combination."""
        return {"id": rng.choice(ids), "frames": rng.choice([frames, frames[:2], None, [1, 2], frames]), "src": rng.choice([*frames, "x.png", None]),
                "autoplayFrames": rng.choice([0, 250, 333.5, None, -5]), "frameLoop": rng.choice([True, False, None, "no"]),
                "framesAt": rng.choice([None, 12])}

    def backdrop() -> dict:
        return {"src": rng.choice(["s", "t"]), "frames": rng.choice([frames, None]), "speed": rng.choice([0, 0.5, 2, None]),
                "dwell": rng.choice([None, 1, -1]), "frameLoop": rng.choice([True, False, None]), "currentFrame": rng.choice([None, 0, 1, 2.0, 7, 1.5]),
                "opacity": rng.choice([None, 0.5]), "frameAt": rng.choice([None, 3]), "at": rng.choice([None, at + rng.randint(0, 9000)])}

    makers = [
        lambda: ("board", {"type": "placeObjectOnStage", "object": obj()}),
        lambda: ("board", {"type": rng.choice(["placeObjectOnStage", "moveTo", "switchFrame", "toggleAutoplayFrames"]), "object": animated()}),
        lambda: ("background", {"type": "changeBackground", "background": backdrop()}),
        lambda: ("background", {"type": "setAnimations", "animations": rng.choice([{"bubble": "bounce"}, {"curtain": "close", "curtainSpeed": 900}, [1], 3])}),
        lambda: ("board", {"type": rng.choice(["moveTo", "switchFrame", "toggleAutoplayFrames", "destroy", "bringToFront", "sendToBack"]), "object": obj()}),
        lambda: ("board", {"type": rng.choice(["placeObjectOnStage", "moveTo"]), "object": costume()}),
        lambda: ("board", {"type": "speak", "avatar": {"id": rng.choice(ids)}, "speak": {"message": "hi there"}}),
        lambda: ("board", {"type": "bringToFrontOf", "front": rng.choice(ids), "back": rng.choice(ids), "side": rng.choice(["front", "behind", None])}),
        lambda: ("background", {"type": "changeBackground", "background": {"src": "s", "at": rng.choice([None, rng.randint(0, 5)])}}),
        lambda: ("background", {"type": "setBackdropColor", "color": rng.choice(["#fff", 3])}),
        lambda: ("background", {"type": "drawCurtain", "curtain": rng.choice([None, "c.png", {"src": "c", "at": rng.randint(0, 5)}, 4])}),
        lambda: ("background", {"type": rng.choice(["setChatVisibility", "setReactionVisibility"]), "visible": rng.choice([True, False, "no"])}),
        lambda: ("background", {"type": "setChatPosition", "position": rng.choice(["left", "right", "up"])}),
        lambda: ("background", {"type": rng.choice(["setAudienceChat", "setPlayersMayClearChat", "setDarkModeChat"]), "enabled": rng.choice([True, False, "no", None])}),
        lambda: ("background", {"type": "switchScene", "snapshot": {"board": {"objects": [], "whiteboard": []}, "background": None, "audios": [],
                                                                    "settings": {"audienceChat": rng.choice([True, False, 1]), "playersMayClearChat": rng.choice([True, False])}}}),
        lambda: ("background", {"type": "blankScene"}),
        lambda: ("background", {"type": rng.choice(["switchScene", "recordingSnapshot"]), "snapshot": {"board": {"objects": [obj(), costume()], "whiteboard": [{"type": "draw"}]},
                                                                    "background": None, "backdropColor": "#123", "audios": [{"id": 1, "isPlaying": True}]}}),
        lambda: ("audio", {**rng.choice(tracks), "isPlaying": rng.choice([True, False]),
                           "currentTime": rng.choice([None, rng.random() * 9]), "loop": rng.choice([True, False]), "duration": rng.choice([None, 4])}),
        lambda: ("audio", {"src": "c.mp3", "isPlaying": rng.choice([True, False])}),
        lambda: ("audio_master", {"volume": rng.choice([0.5, 2, -1]), "duration": rng.choice([None, 300])}),
        lambda: ("draw", rng.choice([{"type": "newLine", "command": {"type": "draw", "lines": []}}, {"type": "undo", "index": rng.randint(-1, 4)}, {"type": "clear"}])),
        lambda: ("chat", rng.choice([{"message": "m", "id": rng.choice(["m1", "m2", None])}, "bare", {"message": "p", "isPrivate": True, "id": "p1"},
                                     {"clear": True}, {"clearPlayerChat": True}, {"remove": "m1"}, {"highlight": rng.choice(["m2", "p1"])}])),
        lambda: ("reaction", "❤️"),
        lambda: ("stream", {"name": rng.choice(["st-a", "st-b", "42", "x" * 70, 5, f"n-{rng.randint(0, 80)}"]), "live": rng.choice([True, False, "yes"]),
                            "url": rng.choice([None, "http://{host}:8088/hls/st-a.m3u8", 7]), "performer": rng.choice([None, "demo"])}),
        lambda: ("nonsense", {"type": "x"}),
    ]
    events = []
    for seq in range(1, count + 1):
        at += rng.randint(0, 3000)
        topic, payload = rng.choice(makers)()
        events.append({"seq": seq, "topic": topic, "payload": _drop_none(payload), "at": at})
    return events


def _drop_none(value):
    """JSON without the `None` placeholders the makers use for "field left out"."""
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_browser_reducers_match_the_hub(seed: int) -> None:
    if NODE is None:
        pytest.fail("node is needed (make install) to run the browser's reducers")
    events = event_stream(seed)
    expected = empty_state()
    after: list[dict] = []
    for event in events:
        expected = apply(expected, event)
        after.append(expected)
    script = (
        "import { apply, emptyState } from './static/js/stage/state.js';"
        "let s = emptyState(); const out = [];"
        "for (const e of JSON.parse(require_input())) { s = apply(s, e); out.push(s); }"
        "process.stdout.write(JSON.stringify(out));"
    ).replace("require_input()", "(await import('node:fs')).readFileSync(0, 'utf8')")
    run = subprocess.run([NODE, "--input-type=module", "-e", script], input=json.dumps(events), capture_output=True, text=True, cwd=ROOT, check=True)
    got = json.loads(run.stdout)
    for i, (py, js) in enumerate(zip(after, got, strict=False)):  # the lengths are compared below
        assert _canon(js) == _canon(py), f"state differs after event {i}: {events[i]}"
    assert len(got) == len(after)


def _canon(state: dict) -> str:
    """Key order does not matter (JS objects order integer-like keys first), nor 1.0 against 1
    (JavaScript has one number type)."""
    def number(text: str) -> float | int:
        value = float(text)
        return int(value) if value.is_integer() else round(value, 9)

    return json.dumps(json.loads(json.dumps(state), parse_float=number), sort_keys=True)
