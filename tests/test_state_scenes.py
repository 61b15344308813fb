"""Scene actions: blankScene, switchScene with the hub-attached snapshot, scene_snapshot."""

from __future__ import annotations

from typing import Any

from hub.state import apply, empty_state, scene_snapshot, view


def ev(topic: str, payload: Any, at: int = 1000) -> dict[str, Any]:
    return {"seq": 1, "topic": topic, "payload": payload, "at": at,
            "from": {"session": "s1", "nickname": "Helen", "role": "owner"}}


def busy_stage(default_color: str = "#30ac45") -> dict[str, Any]:
    """A stage with something in every family."""
    events = [
        ev("board", {"type": "placeObjectOnStage", "object": {"id": "bird", "x": 0.1}}),
        ev("board", {"type": "speak", "avatar": {"id": "bird"}, "speak": {"message": "hi"}}),
        ev("background", {"type": "changeBackground", "background": {"id": 3, "src": "f.jpg", "at": 10}}),
        ev("background", {"type": "setBackdropColor", "color": "#000000"}),
        ev("background", {"type": "drawCurtain", "curtain": "curtain.png"}),
        ev("background", {"type": "setDarkModeChat", "enabled": True}),
        ev("draw", {"type": "newLine", "command": {"type": "draw", "size": 1, "lines": []}}),
        ev("audio", {"id": 1, "src": "one.mp3", "isPlaying": True, "currentTime": 10, "loop": False}, at=1000),
        ev("audio", {"id": 2, "src": "two.mp3", "isPlaying": False, "currentTime": 5}, at=1000),
        ev("audio_master", {"volume": 0.5, "duration": 0}),
        ev("chat", {"message": "hello", "id": "m1"}),
        ev("chat", {"message": "psst", "id": "m2", "isPrivate": True}),
    ]
    state = empty_state(default_color)
    for event in events:
        state = apply(state, event)
    return state


def test_blank_scene_clears_the_stage_but_keeps_chat() -> None:
    before = busy_stage("#123456")
    state = apply(before, ev("background", {"type": "blankScene"}, at=3000))
    assert state["board"] == {"objects": [], "speeches": {}}
    assert state["background"]["backdrop"] is None
    assert state["background"]["backdropColor"] == "#123456"
    assert state["whiteboard"]["commands"] == []
    assert state["chat"] == before["chat"]
    assert state["background"]["curtain"] == "curtain.png"
    assert state["settings"] == before["settings"]


def test_blank_scene_rewinds_audio_without_stopping_it() -> None:
    state = apply(busy_stage(), ev("background", {"type": "blankScene"}, at=3000))
    one, two = state["audio"]["tracks"]["1"], state["audio"]["tracks"]["2"]
    assert (one["isPlaying"], one["currentTime"]) == (True, 0)
    assert (two["isPlaying"], two["currentTime"]) == (False, 0)
    assert view(state, 5000, audience=False)["audio"]["tracks"]["1"]["currentTime"] == 2


def test_switch_scene_replaces_the_scene_parts_from_the_snapshot() -> None:
    scene_state = empty_state()
    for event in (
        ev("board", {"type": "placeObjectOnStage", "object": {"id": "tree"}}),
        ev("board", {"type": "placeObjectOnStage", "object": {"id": "rock"}}),
        ev("background", {"type": "changeBackground", "background": {"id": 9, "src": "sea.jpg"}}),
        ev("background", {"type": "setBackdropColor", "color": "#0000ff"}),
        ev("background", {"type": "setChatVisibility", "visible": False}),
        ev("draw", {"type": "newLine", "command": {"type": "erase", "size": 2, "lines": []}}),
        ev("audio", {"id": 2, "src": "two.mp3", "isPlaying": True, "currentTime": 30}),
    ):
        scene_state = apply(scene_state, event)
    snapshot = scene_snapshot(scene_state)

    live = busy_stage()
    state = apply(live, ev("background", {"type": "switchScene", "scene": 7, "snapshot": snapshot}, at=9000))
    assert [o["id"] for o in state["board"]["objects"]] == ["tree", "rock"]
    assert state["board"]["speeches"] == {}
    assert state["background"]["backdrop"] == {"id": 9, "src": "sea.jpg"}
    assert state["background"]["backdropColor"] == "#0000ff"
    assert state["whiteboard"] == scene_state["whiteboard"]
    assert state["settings"]["chatVisibility"] is False
    assert state["settings"]["chatDarkMode"] is False
    one, two = state["audio"]["tracks"]["1"], state["audio"]["tracks"]["2"]
    assert (one["isPlaying"], one["currentTime"]) == (False, 0)      # not in the scene: stopped
    assert (two["isPlaying"], two["currentTime"], two["positionAt"]) == (True, 30, 9000)
    assert state["chat"] is live["chat"]
    assert state["background"]["curtain"] == "curtain.png"
    assert state["audio"]["master"] == live["audio"]["master"]


def test_switch_scene_round_trips_a_snapshot() -> None:
    live = busy_stage()
    state = apply(empty_state(), ev("background", {"type": "switchScene", "scene": 1, "snapshot": scene_snapshot(live)}))
    assert scene_snapshot(state)["board"] == scene_snapshot(live)["board"]
    assert scene_snapshot(state)["background"] == scene_snapshot(live)["background"]
    assert scene_snapshot(state)["settings"] == scene_snapshot(live)["settings"]


def test_switch_scene_accepts_a_legacy_scene_payload() -> None:
    legacy = {"background": {"id": 1, "src": "x.jpg"}, "backdropColor": "#111111",
              "board": {"objects": [{"id": "a", "liveAction": True}], "drawings": [], "texts": [],
                        "whiteboard": [], "tracks": []},
              "settings": {"chatVisibility": True, "chatDarkMode": True, "reactionVisibility": False},
              "audioPlayers": [{"currentTime": 3, "duration": 10}], "audios": [{"id": 4, "src": "s.mp3"}]}
    state = apply(empty_state(), ev("background", {"type": "switchScene", "scene": 1, "snapshot": legacy}))
    assert [o["id"] for o in state["board"]["objects"]] == ["a"]
    assert state["settings"]["reactionVisibility"] is False and state["settings"]["chatPosition"] == "right"
    assert state["audio"]["tracks"]["4"]["isPlaying"] is False


def test_switch_scene_without_a_usable_snapshot_changes_nothing() -> None:
    state = busy_stage()
    for payload in ({"type": "switchScene", "scene": 1},
                    {"type": "switchScene", "scene": 1, "snapshot": None},
                    {"type": "switchScene", "scene": 1, "snapshot": "{}"},
                    {"type": "switchScene", "scene": 1, "snapshot": {}},
                    {"type": "switchScene", "scene": 1, "snapshot": {"board": []}},
                    {"type": "switchScene", "scene": 1, "snapshot": {"board": {"objects": {}}}},
                    {"type": "switchScene", "scene": 1, "snapshot": {"board": {}, "audios": 3}},
                    {"type": "switchScene", "scene": 1, "snapshot": {"board": {}, "background": "x"}}):
        assert apply(state, ev("background", payload)) is state, payload


def test_scene_snapshot_keeps_only_scene_parts() -> None:
    snapshot = scene_snapshot(busy_stage())
    assert set(snapshot) == {"background", "backdropColor", "board", "settings", "audios"}
    assert set(snapshot["board"]) == {"objects", "whiteboard"}
    assert snapshot["backdropColor"] == "#000000"
    assert [t["id"] for t in snapshot["audios"]] == [1, 2]
