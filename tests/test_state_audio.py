"""Audio: tracks merged by id (or src), positions kept on the hub clock, master volume, view."""

from __future__ import annotations

import copy
from typing import Any

from hub.state import Limits, apply, empty_state, view


def ev(payload: Any, at: int = 1000, topic: str = "audio") -> dict[str, Any]:
    return {"seq": 1, "topic": topic, "payload": payload, "at": at,
            "from": {"session": "s1", "nickname": "Helen", "role": "player"}}


THUNDER = {"id": 51, "name": "Thunder", "type": "audio", "src": "https://host/a.mp3", "loop": False, "volume": 0.8}


def playing(at: int = 1000, current: float = 10, **fields: Any) -> dict[str, Any]:
    return apply(empty_state(), ev({**THUNDER, "isPlaying": True, "currentTime": current, **fields}, at=at))


def seen(state: dict[str, Any], now: int, key: str = "51") -> dict[str, Any]:
    return view(state, now, audience=True)["audio"]["tracks"][key]


def test_view_advances_a_playing_track_by_elapsed_hub_time() -> None:
    track = seen(playing(at=1000, current=10), 6000)
    assert track["currentTime"] == 15
    assert track["isPlaying"] is True and track["positionAt"] == 6000


def test_view_does_not_advance_a_paused_track() -> None:
    state = apply(empty_state(), ev({**THUNDER, "isPlaying": False, "currentTime": 10}, at=1000))
    assert seen(state, 60_000)["currentTime"] == 10


def test_view_wraps_a_looping_track_with_known_duration() -> None:
    assert seen(playing(current=10, loop=True, duration=12), 6000)["currentTime"] == 3


def test_view_stops_a_finished_non_looping_track_with_known_duration() -> None:
    track = seen(playing(current=10, duration=12), 6000)
    assert (track["isPlaying"], track["currentTime"]) == (False, 0)


def test_view_never_goes_back_in_time() -> None:
    assert seen(playing(at=5000, current=10), 1000)["currentTime"] == 10


def test_view_does_not_mutate_state() -> None:
    state = playing()
    before = copy.deepcopy(state)
    view(state, 99_000, audience=True)
    assert state == before


def test_stop_is_not_playing_at_zero() -> None:
    state = apply(playing(), ev({**THUNDER, "isPlaying": False, "currentTime": 0, "saken": True}, at=4000))
    assert seen(state, 9000)["isPlaying"] is False and seen(state, 9000)["currentTime"] == 0


def test_pause_without_position_keeps_the_elapsed_position() -> None:
    state = apply(playing(at=1000, current=10), ev({"id": 51, "isPlaying": False}, at=3000))
    track = state["audio"]["tracks"]["51"]
    assert (track["isPlaying"], track["currentTime"]) == (False, 12)


def test_merge_keeps_other_fields_and_updates_given_ones() -> None:
    state = apply(playing(at=1000, current=10), ev({"id": 51, "volume": 0.2}, at=2000))
    track = state["audio"]["tracks"]["51"]
    assert track["volume"] == 0.2 and track["name"] == "Thunder" and track["isPlaying"] is True
    assert seen(state, 3000)["currentTime"] == 12


def test_tracks_without_id_are_keyed_by_src_and_matched_by_src() -> None:
    state = apply(empty_state(), ev({"src": "https://host/b.mp3", "isPlaying": True, "currentTime": 1}))
    state = apply(state, ev({"id": 7, "src": "https://host/b.mp3", "volume": 0.1}))
    assert list(state["audio"]["tracks"]) == ["https://host/b.mp3"]
    assert state["audio"]["tracks"]["https://host/b.mp3"]["volume"] == 0.1
    state = apply(state, ev({"id": 7, "volume": 0.3}))
    assert list(state["audio"]["tracks"]) == ["https://host/b.mp3"]
    assert state["audio"]["tracks"]["https://host/b.mp3"]["volume"] == 0.3


def test_payload_without_id_or_src_is_ignored() -> None:
    state = playing()
    for payload in ({"isPlaying": False}, {"id": None}, {"id": True, "src": ""}, "play", None, [1]):
        assert apply(state, ev(payload)) is state, payload


def test_invalid_fields_do_not_corrupt_the_track() -> None:
    state = apply(playing(at=1000, current=10), ev({"id": 51, "isPlaying": "yes", "currentTime": "x"}, at=2000))
    track = state["audio"]["tracks"]["51"]
    assert track["isPlaying"] is True and track["currentTime"] == 11


def test_tracks_are_bounded() -> None:
    state = empty_state()
    for i in range(5):
        state = apply(state, ev({"id": i, "src": f"{i}.mp3"}), Limits(audio_tracks=3))
    assert list(state["audio"]["tracks"]) == ["0", "1", "2"]


def test_audio_master() -> None:
    state = apply(empty_state(), ev({"volume": 0, "duration": 3000}, topic="audio_master"))
    assert state["audio"]["master"] == {"volume": 0, "duration": 3000}
    state = apply(state, ev({"volume": 1}, topic="audio_master"))
    assert state["audio"]["master"] == {"volume": 1, "duration": 0}
    for payload in ({"volume": "1"}, {}, None, {"volume": True}):
        assert apply(state, ev(payload, topic="audio_master")) is state
    assert apply(state, ev({"volume": 7}, topic="audio_master"))["audio"]["master"]["volume"] == 1
