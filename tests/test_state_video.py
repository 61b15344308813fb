"""Video objects keep their playing position on the hub clock (hub/state/video.py): a late
joiner is given the position the room has reached, looping clips wrap, ended ones stop on their
last frame, a seek or restart moves it, and a moveTo copying the state leaves it alone. The
browser's mirror (static/js/stage/state.js) folds the same events to the same state."""

from __future__ import annotations

import json
import random
import subprocess
from typing import Any

import pytest

from hub.state import Limits, apply, depends_on_time, empty_state, scene_snapshot, view
from tests.test_web_state import NODE, ROOT, _canon

CLIP = {"id": "v1", "type": "video", "name": "Clip", "src": "https://host/clip.webm", "x": 0.1, "y": 0.1, "w": 0.3, "h": 0.2, "duration": 6}


def ev(type_: str, obj: dict[str, Any], at: int) -> dict[str, Any]:
    return {"seq": 1, "topic": "board", "payload": {"type": type_, "object": obj}, "at": at}


def stored(state: dict[str, Any], now: int | None = None) -> dict[str, Any]:
    """The clip as the state holds it, or as a joiner at hub time `now` is given it."""
    board = state["board"] if now is None else view(state, now, audience=True)["board"]
    return next(o for o in board["objects"] if o["id"] == "v1")


def played(at: int = 1000, current: float = 0, **fields: Any) -> dict[str, Any]:
    """A stage where the clip was placed at `at` and started playing from `current` then."""
    state = apply(empty_state(), ev("placeObjectOnStage", CLIP, at))
    return apply(state, ev("moveTo", {**CLIP, **fields, "isPlaying": True, "currentTime": current}, at))


def test_a_placed_video_is_paused_at_zero_as_of_its_hub_time() -> None:
    clip = stored(apply(empty_state(), ev("placeObjectOnStage", CLIP, 5000)))
    assert (clip["isPlaying"], clip["currentTime"], clip["positionAt"]) == (False, 0, 5000)
    assert not depends_on_time(apply(empty_state(), ev("placeObjectOnStage", CLIP, 5000)))


def test_a_late_joiner_gets_the_elapsed_position() -> None:
    state = played(at=1000, current=1.5)
    assert depends_on_time(state)
    clip = stored(state, 3500)
    assert (clip["isPlaying"], clip["currentTime"], clip["positionAt"]) == (True, 4.0, 3500)
    assert stored(state)["currentTime"] == 1.5  # view never mutates the state


def test_a_looping_video_wraps_at_its_duration() -> None:
    assert stored(played(current=4, loop=True), 1000 + 5000)["currentTime"] == 3


def test_a_video_that_does_not_loop_stops_on_its_last_frame() -> None:
    clip = stored(played(current=4), 1000 + 5000)
    assert (clip["isPlaying"], clip["currentTime"]) == (False, 6)


def test_a_video_without_known_duration_just_advances() -> None:
    state = played(current=4, duration=None)
    assert stored(state, 1000 + 60_000)["currentTime"] == 64


def test_pause_seek_and_restart_move_the_position() -> None:
    state = played(at=1000, current=0)
    state = apply(state, ev("moveTo", {**CLIP, "isPlaying": False, "currentTime": 2.5}, 3000))  # pause where the room is
    assert stored(state, 60_000)["currentTime"] == 2.5 and stored(state)["isPlaying"] is False
    state = apply(state, ev("moveTo", {**CLIP, "currentTime": 5}, 4000))  # seek while paused
    assert stored(state, 60_000)["currentTime"] == 5
    state = apply(state, ev("moveTo", {**CLIP, "isPlaying": True, "replayed": 1}, 5000))  # restart (no currentTime)
    clip = stored(state, 6000)
    assert (clip["isPlaying"], clip["currentTime"], clip["replayed"]) == (True, 1.0, 1)


def test_a_moveto_copying_the_state_keeps_the_playback() -> None:
    """A move or flip sends the whole object as the sender's state had it (its old currentTime,
    isPlaying and positionAt): the room's position and play state are kept."""
    state = played(at=1000, current=0, replayed=2)
    copy = {**stored(state), "x": 0.5, "isPlaying": False, "currentTime": 0, "replayed": 0}
    moved = apply(state, ev("moveTo", copy, 3000))
    clip = stored(moved)
    assert (clip["x"], clip["isPlaying"], clip["currentTime"], clip["positionAt"], clip["replayed"]) == (0.5, True, 2.0, 3000, 2)


def test_a_scene_restarts_its_videos_from_their_saved_position() -> None:
    state = played(at=1000, current=1)
    snapshot = scene_snapshot(view(state, 3000, audience=False))  # saved with the clip at 3 s
    later = apply(state, {"seq": 2, "topic": "background", "payload": {"type": "switchScene", "snapshot": snapshot}, "at": 100_000})
    clip = stored(later)
    assert (clip["isPlaying"], clip["currentTime"], clip["positionAt"]) == (True, 3.0, 100_000)
    assert stored(later, 101_000)["currentTime"] == 4.0


def test_other_objects_are_untouched() -> None:
    prop = {"id": "p", "type": "prop", "isPlaying": True, "currentTime": 3}
    state = apply(empty_state(), ev("placeObjectOnStage", prop, 1000))
    assert view(state, 9000, audience=True)["board"]["objects"] == [{**prop, "liveAction": True, "published": True}]


def video_events(seed: int, count: int = 200) -> list[dict[str, Any]]:
    """Video commands, copies and garbage over two clips, at increasing hub times."""
    rng = random.Random(seed)
    at = 1_700_000_000_000
    events = []
    for seq in range(1, count + 1):
        at += rng.randint(0, 4000)
        obj: dict[str, Any] = {"id": rng.choice(["v1", "v2"]), "type": rng.choice(["video", "video", "video", "prop"])}
        choices: dict[str, list[Any]] = {
            "isPlaying": [True, False, "yes"], "currentTime": [0, 1.25, rng.random() * 8, -1, "x"], "loop": [True, False],
            "duration": [6, 2.5, 0, "long"], "replayed": [0, 1, 2, True, "r"], "positionAt": [at - 500, "p"],
        }
        for field, values in choices.items():
            if rng.random() < 0.4:
                obj[field] = rng.choice(values)
        kind = rng.choice(["placeObjectOnStage", "moveTo", "moveTo", "switchFrame", "destroy", "switchScene", "blankScene"])
        if kind == "switchScene":
            payload: dict[str, Any] = {"type": kind, "snapshot": {"board": {"objects": [obj]}}}
            events.append({"seq": seq, "topic": "background", "payload": payload, "at": at})
        elif kind == "blankScene":
            events.append({"seq": seq, "topic": "background", "payload": {"type": kind}, "at": at})
        else:
            events.append({"seq": seq, "topic": "board", "payload": {"type": kind, "object": obj}, "at": at})
    return events


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_browser_video_reducer_and_view_match_the_hub(seed: int) -> None:
    if NODE is None:
        pytest.fail("node is needed (make install) to run the browser's reducers")
    events = video_events(seed)
    expected: list[Any] = []
    state = empty_state()
    for event in events:
        state = apply(state, event, Limits())
        expected.append([state, view(state, event["at"] + 2500, audience=True)["board"]])
    script = (
        "import { apply, emptyState, videosAt } from './static/js/stage/state.js';"
        "const fs = await import('node:fs'); let s = emptyState(); const out = [];"
        "for (const e of JSON.parse(fs.readFileSync(0, 'utf8'))) {"
        " s = apply(s, e); out.push([s, { ...s.board, objects: videosAt(s.board.objects, e.at + 2500) }]); }"
        "process.stdout.write(JSON.stringify(out));"
    )
    run = subprocess.run([NODE, "--input-type=module", "-e", script], input=json.dumps(events), capture_output=True, text=True, cwd=ROOT, check=True)
    got = json.loads(run.stdout)
    assert len(got) == len(expected)
    for i, (py, js) in enumerate(zip(expected, got, strict=True)):
        assert _canon(js[0]) == _canon(py[0]), f"state differs after event {i}: {events[i]}"
        assert _canon(js[1]) == _canon(py[1]), f"view differs after event {i}: {events[i]}"
