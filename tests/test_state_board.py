"""Board reducer: upsert/merge by id, z-order operations, costumes, speech, limits."""

from __future__ import annotations

from typing import Any

from hub.state import Limits, apply, empty_state, view


def ev(payload: Any, at: int = 1000, topic: str = "board") -> dict[str, Any]:
    return {"seq": 1, "topic": topic, "payload": payload, "at": at,
            "from": {"session": "s1", "nickname": "Helen", "role": "player"}}


def place(state: dict[str, Any], *ids: str, **fields: Any) -> dict[str, Any]:
    for ident in ids:
        state = apply(state, ev({"type": "placeObjectOnStage", "object": {"id": ident, **fields}}))
    return state


def order(state: dict[str, Any]) -> list[str]:
    return [o["id"] for o in state["board"]["objects"]]


def obj(state: dict[str, Any], ident: str) -> dict[str, Any]:
    return next(o for o in state["board"]["objects"] if o["id"] == ident)


def test_place_appends_on_top_strips_holder_and_keeps_unknown_fields() -> None:
    state = place(empty_state(), "a", "b", x=0.5, holder="someone", customFlag={"k": 1})
    assert order(state) == ["a", "b"]
    assert "holder" not in obj(state, "a")
    assert obj(state, "a")["customFlag"] == {"k": 1}
    assert obj(state, "a")["liveAction"] is True and obj(state, "a")["published"] is True


def test_place_existing_id_merges_in_place() -> None:
    state = place(empty_state(), "a", "b", name="Bird", x=0.1)
    state = apply(state, ev({"type": "placeObjectOnStage", "object": {"id": "a", "x": 0.9}}))
    assert order(state) == ["a", "b"]
    assert obj(state, "a")["x"] == 0.9 and obj(state, "a")["name"] == "Bird"


def test_place_refused_beyond_board_limit() -> None:
    limits = Limits(board_objects=2)
    state = empty_state()
    for ident in "abc":
        state = apply(state, ev({"type": "placeObjectOnStage", "object": {"id": ident}}), limits)
    assert order(state) == ["a", "b"]
    # an existing object can still be updated at the limit
    state = apply(state, ev({"type": "placeObjectOnStage", "object": {"id": "a", "x": 1}}), limits)
    assert obj(state, "a")["x"] == 1


def test_move_to_merges_full_object_and_ignores_unknown_id_and_zindex() -> None:
    state = place(empty_state(), "a", "b", x=0.1, y=0.2, voice={"voice": "en"})
    moved = apply(state, ev({"type": "moveTo", "zIndex": 0, "object": {"id": "b", "x": 0.6, "holder": "h"}}))
    assert obj(moved, "b") == {**obj(state, "b"), "x": 0.6}
    assert order(moved) == ["a", "b"]
    assert apply(state, ev({"type": "moveTo", "object": {"id": "zz", "x": 1}})) is state


def test_switch_frame_and_autoplay_merge() -> None:
    state = place(empty_state(), "a", src="f1.png", frames=["f1.png", "f2.png"])
    state = apply(state, ev({"type": "switchFrame", "object": {"id": "a", "src": "f2.png"}}))
    state = apply(state, ev({"type": "toggleAutoplayFrames", "object": {"id": "a", "autoplayFrames": 500}}))
    assert obj(state, "a")["src"] == "f2.png" and obj(state, "a")["autoplayFrames"] == 500
    assert obj(state, "a")["frames"] == ["f1.png", "f2.png"]


def test_destroy_removes_object_releases_costumes_and_drops_speech() -> None:
    state = place(empty_state(), "bird", "hat", "scarf", "other")
    state = apply(state, ev({"type": "moveTo", "object": {"id": "hat", "wornBy": "bird"}}))
    state = apply(state, ev({"type": "moveTo", "object": {"id": "scarf", "wornBy": "other"}}))
    state = apply(state, ev({"type": "speak", "avatar": {"id": "bird"}, "speak": {"message": "hi"}}))
    state = apply(state, ev({"type": "destroy", "object": {"id": "bird"}}))
    assert order(state) == ["hat", "scarf", "other"]
    assert "wornBy" not in obj(state, "hat")
    assert obj(state, "scarf")["wornBy"] == "other"
    assert state["board"]["speeches"] == {}


def test_destroy_unknown_id_is_a_no_op() -> None:
    state = place(empty_state(), "a")
    assert apply(state, ev({"type": "destroy", "object": {"id": "nope"}})) is state


def test_speak_records_last_speech_per_avatar_with_hub_time() -> None:
    state = place(empty_state(), "bird")
    state = apply(state, ev({"type": "speak", "avatar": {"id": "bird"}, "speak": {"message": "one"}}, at=10))
    state = apply(state, ev({"type": "speak", "avatar": {"id": "bird"}, "speak": {"message": "two"}}, at=20))
    assert state["board"]["speeches"] == {"bird": {"speak": {"message": "two"}, "at": 20}}


def test_view_drops_speech_bubbles_that_have_faded() -> None:
    state = place(empty_state(), "bird")
    state = apply(state, ev({"type": "speak", "avatar": {"id": "bird"}, "speak": {"message": "one two"}}, at=1000))
    # the original client shows a bubble for 1000 + 1000 x words ms
    assert "bird" in view(state, 3999, audience=True)["board"]["speeches"]
    assert view(state, 4000, audience=True)["board"]["speeches"] == {}
    assert "bird" in state["board"]["speeches"]


def test_speak_for_an_avatar_not_on_the_board_is_ignored() -> None:
    state = place(empty_state(), "bird")
    assert apply(state, ev({"type": "speak", "avatar": {"id": "ghost"}, "speak": {"message": "boo"}})) is state


def test_send_to_back_and_bring_to_front() -> None:
    state = place(empty_state(), "a", "b", "c")
    assert order(apply(state, ev({"type": "sendToBack", "object": {"id": "c"}}))) == ["c", "a", "b"]
    assert order(apply(state, ev({"type": "bringToFront", "object": {"id": "a"}}))) == ["b", "c", "a"]
    assert apply(state, ev({"type": "bringToFront", "object": {"id": "c"}})) is state


def test_bring_to_front_of_places_front_right_above_or_below_back() -> None:
    state = place(empty_state(), "a", "b", "c", "d")
    above = apply(state, ev({"type": "bringToFrontOf", "front": "d", "back": "a"}))
    assert order(above) == ["a", "d", "b", "c"]
    explicit = apply(state, ev({"type": "bringToFrontOf", "front": "d", "back": "a", "side": "front"}))
    assert order(explicit) == order(above)
    below = apply(state, ev({"type": "bringToFrontOf", "front": "a", "back": "d", "side": "behind"}))
    assert order(below) == ["b", "c", "a", "d"]


def test_bring_to_front_of_converges_whatever_the_starting_order() -> None:
    for side in ("front", "behind"):
        payload = {"type": "bringToFrontOf", "front": "a", "back": "c", "side": side}
        results = []
        for start in (["a", "b", "c"], ["c", "b", "a"], ["b", "a", "c"]):
            once = apply(place(empty_state(), *start), ev(payload))
            twice = apply(once, ev(payload))
            assert order(twice) == order(once)
            assert twice is once
            results.append(order(once))
        pair = ["c", "a"] if side == "front" else ["a", "c"]
        for result in results:
            i = result.index(pair[0])
            assert result[i : i + 2] == pair


def test_bring_to_front_of_with_unknown_or_same_ids_is_a_no_op() -> None:
    state = place(empty_state(), "a", "b")
    assert apply(state, ev({"type": "bringToFrontOf", "front": "a", "back": "x"})) is state
    assert apply(state, ev({"type": "bringToFrontOf", "front": "x", "back": "a"})) is state
    assert apply(state, ev({"type": "bringToFrontOf", "front": "a", "back": "a"})) is state


def test_integer_ids_work_and_key_speeches_as_strings() -> None:
    state = apply(empty_state(), ev({"type": "placeObjectOnStage", "object": {"id": 7}}))
    state = apply(state, ev({"type": "speak", "avatar": {"id": 7}, "speak": {"message": "hi"}}))
    assert state["board"]["speeches"] == {"7": {"speak": {"message": "hi"}, "at": 1000}}
    assert apply(state, ev({"type": "moveTo", "object": {"id": "7", "x": 1}})) is state  # 7 is not "7"
    state = apply(state, ev({"type": "destroy", "object": {"id": 7}}))
    assert state["board"] == {"objects": [], "speeches": {}}


def test_malformed_board_payloads_leave_state_unchanged() -> None:
    state = place(empty_state(), "a")
    payload: Any
    for payload in (None, "x", 3, [], {}, {"type": "fly"}, {"type": ["moveTo"]},
                    {"type": "placeObjectOnStage"}, {"type": "placeObjectOnStage", "object": {"x": 1}},
                    {"type": "placeObjectOnStage", "object": {"id": True}},
                    {"type": "moveTo", "object": "a"}, {"type": "speak", "avatar": {"id": "a"}, "speak": 4},
                    {"type": "sendToBack", "object": {"id": {"a": 1}}}):
        assert apply(state, ev(payload)) is state, payload


def test_apply_copies_only_the_touched_family() -> None:
    state = empty_state()
    after = place(state, "a")
    assert after is not state and after["board"] is not state["board"]
    for family in ("background", "settings", "audio", "whiteboard", "chat"):
        assert after[family] is state[family]
    assert state["board"]["objects"] == []
