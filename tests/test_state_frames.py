"""Multi-frame animation in the live state (hub/state/frames.py): the frame shown is derived from
hub time and an anchor the reducer keeps, moved only when the animation changes."""

from __future__ import annotations

from typing import Any

from hub.state import apply, empty_state
from hub.state.frames import backdrop_frame_at, object_frame_at

F = ["f1.png", "f2.png", "f3.png"]


def ev(payload: Any, at: int, topic: str = "board") -> dict[str, Any]:
    return {"seq": 1, "topic": topic, "payload": payload, "at": at}


def board(state: dict[str, Any], kind: str, at: int, **fields: Any) -> dict[str, Any]:
    return apply(state, ev({"type": kind, "object": {"id": "w", **fields}}, at))


def walker(state: dict[str, Any]) -> dict[str, Any]:
    return next(o for o in state["board"]["objects"] if o["id"] == "w")


def test_an_object_animates_from_its_anchor_and_copies_keep_it() -> None:
    state = board(empty_state(), "placeObjectOnStage", 1000, frames=F, src=F[0], autoplayFrames=250, framesAt=99)
    assert walker(state)["framesAt"] == 1000  # the hub's time, never the sender's
    assert [object_frame_at(walker(state), t) for t in (1000, 1249, 1250, 1500, 1750, 2000)] == [F[0], F[0], F[1], F[2], F[0], F[1]]
    # A move (the whole object, as the state holds it) does not restart the animation.
    state = board(state, "moveTo", 1600, **{**walker(state), "x": 0.3})
    assert walker(state)["framesAt"] == 1000 and walker(state)["src"] == F[0] and walker(state)["x"] == 0.3
    # Stopping keeps the frame shown at that moment; playing again goes on from there.
    state = board(state, "toggleAutoplayFrames", 1800, autoplayFrames=0)
    assert walker(state)["src"] == F[0] and "framesAt" not in walker(state)  # 1800: 3 steps, wrapped
    assert object_frame_at(walker(state), 99_999) == F[0]
    state = board(state, "switchFrame", 1900, src=F[2])
    state = board(state, "toggleAutoplayFrames", 2000, autoplayFrames=100)
    assert (walker(state)["src"], walker(state)["framesAt"]) == (F[2], 2000)
    # Another speed goes on from the frame shown, at the new pace.
    state = board(state, "moveTo", 2150, autoplayFrames=1000)
    assert (walker(state)["src"], walker(state)["framesAt"]) == (F[0], 2150)
    # A chosen frame while playing: the animation goes on from it.
    state = board(state, "switchFrame", 2200, src=F[1])
    assert (walker(state)["src"], walker(state)["framesAt"]) == (F[1], 2200)


def test_without_loop_it_stops_on_the_last_frame_and_plays_again_from_the_first() -> None:
    state = board(empty_state(), "placeObjectOnStage", 0, frames=F, src=F[1], autoplayFrames=100, frameLoop=False)
    assert [object_frame_at(walker(state), t) for t in (0, 100, 200, 5000)] == [F[1], F[2], F[2], F[2]]
    state = board(state, "toggleAutoplayFrames", 5000, autoplayFrames=0)
    assert walker(state)["src"] == F[2]
    state = board(state, "toggleAutoplayFrames", 6000, autoplayFrames=100)
    assert (walker(state)["src"], walker(state)["framesAt"]) == (F[0], 6000)
    # Turning the loop on mid-way goes on from the frame shown.
    state = board(state, "moveTo", 6150, frameLoop=True)
    assert (walker(state)["src"], walker(state)["framesAt"]) == (F[1], 6150)


def test_objects_without_frames_are_left_as_sent() -> None:
    state = board(empty_state(), "placeObjectOnStage", 0, src="one.png", autoplayFrames=100, framesAt=5)
    assert walker(state)["framesAt"] == 5 and walker(state)["src"] == "one.png"


def backdrop(state: dict[str, Any], at: int, **fields: Any) -> dict[str, Any]:
    return apply(state, ev({"type": "changeBackground", "background": {"src": F[0], "frames": F, "at": at, **fields}}, at, "background"))


def test_a_backdrop_animates_with_speed_and_keeps_running_through_opacity_changes() -> None:
    state = backdrop(empty_state(), 1000, speed=2, dwell=1, currentFrame=0, frameAt=5)
    bg = state["background"]["backdrop"]
    assert (bg["currentFrame"], bg["frameAt"]) == (0, 1000)
    assert [backdrop_frame_at(bg, t) for t in (1000, 3999, 4000, 7000, 10_000)] == [0, 0, 1, 2, 0]
    state = backdrop(state, 5000, **{k: bg[k] for k in ("speed", "dwell", "currentFrame", "frameAt")}, opacity=0.4)
    bg = state["background"]["backdrop"]
    assert (bg["currentFrame"], bg["frameAt"], bg["opacity"]) == (0, 1000, 0.4)
    # Paused (speed 0) on the frame shown; a new speed goes on from it.
    state = backdrop(state, 7500, speed=0, currentFrame=0)
    bg = state["background"]["backdrop"]
    assert bg["currentFrame"] == 2 and "frameAt" not in bg and backdrop_frame_at(bg, 99_000) == 2
    state = backdrop(state, 8000, speed=1, frameLoop=False, currentFrame=2)
    bg = state["background"]["backdrop"]
    assert (bg["currentFrame"], bg["frameAt"]) == (2, 8000) and backdrop_frame_at(bg, 20_000) == 2
    # Another backdrop starts at its first frame (or the one chosen).
    other = apply(state, ev({"type": "changeBackground", "background": {"src": "x", "frames": ["x", "y"], "speed": 1, "at": 9000}}, 9000, "background"))
    assert other["background"]["backdrop"]["currentFrame"] == 0


def test_animations_are_merged_and_survive_a_blank_scene() -> None:
    state = apply(empty_state(), ev({"type": "setAnimations", "animations": {"curtain": "close", "curtainSpeed": 800}}, 1, "background"))
    state = apply(state, ev({"type": "setAnimations", "animations": {"bubble": "bounce"}}, 2, "background"))
    state = apply(state, ev({"type": "blankScene"}, 3, "background"))
    assert state["background"]["animations"] == {"curtain": "close", "curtainSpeed": 800, "bubble": "bounce"}
