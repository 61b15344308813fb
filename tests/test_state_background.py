"""Background topic: backdrop at-guard, colour, curtain, chat/reaction settings, no-op actions."""

from __future__ import annotations

from typing import Any

import orjson

from hub.state import Limits, apply, empty_state


def ev(payload: Any, at: int = 1000) -> dict[str, Any]:
    return {"seq": 1, "topic": "background", "payload": payload, "at": at,
            "from": {"session": "s1", "nickname": "Helen", "role": "player"}}


def change(state: dict[str, Any], ident: int, at: int | None) -> dict[str, Any]:
    background: dict[str, Any] = {"id": ident, "src": f"https://host/{ident}.jpg", "opacity": 1, "speed": 0}
    if at is not None:
        background["at"] = at
    return apply(state, ev({"type": "changeBackground", "background": background}))


def backdrop_id(state: dict[str, Any]) -> Any:
    backdrop = state["background"]["backdrop"]
    return backdrop and backdrop["id"]


def test_change_background_applies_when_there_is_none() -> None:
    state = change(empty_state(), 1, 500)
    assert state["background"]["backdrop"] == {"id": 1, "src": "https://host/1.jpg", "opacity": 1, "speed": 0, "at": 500}


def test_change_background_at_guard() -> None:
    state = change(empty_state(), 1, 500)
    assert backdrop_id(change(state, 2, 600)) == 2          # newer wins
    assert change(state, 2, 400) is state                    # older is stale
    assert change(state, 2, 500) is state                    # equal is the echo of the current one
    assert backdrop_id(change(state, 2, None)) == 2          # no `at`: applied


def test_change_background_after_one_without_at_applies() -> None:
    state = change(empty_state(), 1, None)
    assert backdrop_id(change(state, 2, 1)) == 2


def test_set_backdrop_color() -> None:
    state = apply(empty_state(), ev({"type": "setBackdropColor", "color": "#ff0000"}))
    assert state["background"]["backdropColor"] == "#ff0000"
    assert state["background"]["defaultColor"] == "#30ac45"
    assert apply(state, ev({"type": "setBackdropColor", "color": 3})) is state


def test_curtain_string_null_and_object_forms() -> None:
    state = apply(empty_state(), ev({"type": "drawCurtain", "curtain": "https://host/c.png"}))
    assert state["background"]["curtain"] == "https://host/c.png"
    state = apply(state, ev({"type": "drawCurtain", "curtain": None}))
    assert state["background"]["curtain"] is None
    curtain = {"src": "https://host/c.png", "multi": False, "speed": 0, "at": 100}
    state = apply(state, ev({"type": "drawCurtain", "curtain": curtain}))
    assert state["background"]["curtain"] == curtain


def test_curtain_object_applies_only_if_strictly_newer() -> None:
    state = apply(empty_state(), ev({"type": "drawCurtain", "curtain": {"src": "a", "at": 100}}))
    assert apply(state, ev({"type": "drawCurtain", "curtain": {"src": "b", "at": 100}})) is state
    assert apply(state, ev({"type": "drawCurtain", "curtain": {"src": "b", "at": 99}})) is state
    newer = apply(state, ev({"type": "drawCurtain", "curtain": {"src": "b", "at": 101}}))
    assert newer["background"]["curtain"]["src"] == "b"
    assert apply(state, ev({"type": "drawCurtain", "curtain": 5})) is state


def test_settings() -> None:
    state = empty_state()
    assert state["settings"] == {"chatVisibility": True, "reactionVisibility": True, "chatDarkMode": False,
                                 "chatPosition": "right", "audienceChat": True, "playersMayClearChat": False}
    state = apply(state, ev({"type": "setChatVisibility", "visible": False}))
    state = apply(state, ev({"type": "setReactionVisibility", "visible": False}))
    state = apply(state, ev({"type": "setDarkModeChat", "enabled": True}))
    state = apply(state, ev({"type": "setChatPosition", "position": "left"}))
    state = apply(state, ev({"type": "setAudienceChat", "enabled": False}))
    state = apply(state, ev({"type": "setPlayersMayClearChat", "enabled": True}))
    assert state["settings"] == {"chatVisibility": False, "reactionVisibility": False, "chatDarkMode": True,
                                 "chatPosition": "left", "audienceChat": False, "playersMayClearChat": True}


def test_a_scene_brings_back_looks_but_never_the_players_right_to_clear() -> None:
    state = apply(empty_state(), ev({"type": "setPlayersMayClearChat", "enabled": True}))
    snapshot: dict[str, Any] = {"background": None, "backdropColor": "#010203", "board": {"objects": [], "whiteboard": []},
                                "settings": {"audienceChat": False, "playersMayClearChat": False}, "audios": []}
    state = apply(state, ev({"type": "recordingSnapshot", "snapshot": snapshot, "curtain": None}))
    assert state["settings"]["audienceChat"] is False and state["settings"]["playersMayClearChat"] is True


def test_invalid_settings_are_ignored() -> None:
    state = empty_state()
    for payload in ({"type": "setChatVisibility", "visible": "no"}, {"type": "setChatVisibility"},
                    {"type": "setDarkModeChat", "visible": True}, {"type": "setChatPosition", "position": "top"},
                    {"type": "setChatPosition", "position": ["left"]}, {"type": "setAudienceChat", "enabled": "off"},
                    {"type": "setPlayersMayClearChat", "enabled": 1}):
        assert apply(state, ev(payload)) is state, payload


def test_load_scenes_recording_snapshot_and_unknown_types_change_nothing() -> None:
    state = change(empty_state(), 1, 5)
    for payload in ({"type": "loadScenes"}, {"type": "recordingSnapshot", "payload": "{}", "curtain": None},
                    {"type": "clearChat"}, {"type": "nope"}, {}, None, "blankScene", 7):
        assert apply(state, ev(payload)) is state, payload


def test_recording_snapshot_with_a_hub_snapshot_sets_the_stage_like_a_scene() -> None:
    snapshot: dict[str, Any] = {"background": None, "backdropColor": "#010203", "board": {"objects": [{"id": "moon"}], "whiteboard": []},
                "settings": {}, "audios": []}
    state = apply(empty_state(), ev({"type": "recordingSnapshot", "snapshot": snapshot, "curtain": None}))
    assert [o["id"] for o in state["board"]["objects"]] == ["moon"]
    assert state["background"]["backdropColor"] == "#010203"


def test_reaction_and_stream_health_change_nothing() -> None:
    state = empty_state()
    for topic, payload in (("reaction", "❤️"), ("stream_health", {"hostId": "h", "objectId": "o", "frozen": True})):
        assert apply(state, {"seq": 1, "topic": topic, "payload": payload, "at": 1, "from": {}}) is state


def test_malformed_events_change_nothing() -> None:
    state = empty_state()
    for event in ({}, {"topic": "nope", "payload": {}}, {"topic": ["board"]}, {"topic": "board"}):
        assert apply(state, event) is state
    assert apply(state, None) is state  # type: ignore[arg-type]


def test_payloads_nested_too_deep_are_ignored() -> None:
    deep: Any = "x"
    for _ in range(300):
        deep = [deep]
    state = empty_state()
    event = {"seq": 1, "topic": "chat", "payload": {"message": "hi", "junk": deep}, "at": 1, "from": {}}
    assert apply(state, event) is state
    shallow = {**event, "payload": {"message": "hi", "junk": [[["ok"]]]}}
    assert apply(state, shallow, Limits(payload_depth=4))["chat"]["messages"][0]["junk"] == [[["ok"]]]
    assert apply(state, shallow, Limits(payload_depth=3)) is state
    orjson.dumps(apply(state, shallow))
