"""Chat: public and private lists, bounded, deduplicated, controls, audience view."""

from __future__ import annotations

from typing import Any

from hub.state import DEFAULT_LIMITS, Limits, apply, empty_state, view


def ev(payload: Any, at: int = 1000) -> dict[str, Any]:
    return {"seq": 1, "topic": "chat", "payload": payload, "at": at,
            "from": {"session": "s1", "nickname": "Helen", "role": "player"}}


def msg(ident: str, text: str = "hello", **fields: Any) -> dict[str, Any]:
    return {"user": "Helen", "message": text, "behavior": "speak", "isPlayer": True, "at": 1, "id": ident, **fields}


def chat_of(*payloads: Any, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    state = empty_state()
    for payload in payloads:
        state = apply(state, ev(payload), limits)
    return state


def ids(state: dict[str, Any], name: str = "messages") -> list[Any]:
    return [m.get("id") for m in state["chat"][name]]


def test_public_and_private_go_to_separate_lists() -> None:
    state = chat_of(msg("1"), msg("2", isPrivate=True), msg("3", isPrivate=False))
    assert ids(state) == ["1", "3"]
    assert ids(state, "privateMessages") == ["2"]
    assert state["chat"]["messages"][0] == msg("1")


def test_legacy_string_message() -> None:
    assert chat_of("hi there")["chat"]["messages"] == [{"message": "hi there"}]


def test_duplicate_id_is_not_added_twice() -> None:
    state = chat_of(msg("1"), msg("1"), msg("2", isPrivate=True), msg("2", isPrivate=True))
    assert ids(state) == ["1"] and ids(state, "privateMessages") == ["2"]
    assert ids(chat_of("x", "x")) == [None, None]  # no id, no dedupe


def test_bounded_keeps_the_most_recent() -> None:
    limits = Limits(chat_messages=3, private_messages=2)
    state = chat_of(*[msg(str(i)) for i in range(5)], *[msg(f"p{i}", isPrivate=True) for i in range(4)], limits=limits)
    assert ids(state) == ["2", "3", "4"]
    assert ids(state, "privateMessages") == ["p2", "p3"]


def test_clear_empties_public_only() -> None:
    state = chat_of(msg("1"), msg("2", isPrivate=True), {"clear": True})
    assert ids(state) == [] and ids(state, "privateMessages") == ["2"]


def test_clear_player_chat_empties_private_only() -> None:
    state = chat_of(msg("1"), msg("2", isPrivate=True), {"clearPlayerChat": True})
    assert ids(state) == ["1"] and ids(state, "privateMessages") == []


def test_remove_from_either_list() -> None:
    state = chat_of(msg("1"), msg("2"), msg("3", isPrivate=True), {"remove": "2"}, {"remove": "3"})
    assert ids(state) == ["1"] and ids(state, "privateMessages") == []


def test_highlight_toggles() -> None:
    state = chat_of(msg("1"), msg("2"), {"highlight": "2"})
    assert state["chat"]["messages"][1]["highlighted"] is True
    assert "highlighted" not in state["chat"]["messages"][0]
    state = apply(state, ev({"highlight": "2"}))
    assert state["chat"]["messages"][1]["highlighted"] is False


def test_controls_with_unknown_ids_change_nothing() -> None:
    state = chat_of(msg("1"))
    for payload in ({"remove": "9"}, {"highlight": "9"}, {"remove": None}, {"highlight": ["1"]},
                    {"clear": False}, {"clear": "yes"}, {}, {"message": 5}, None, 3, [msg("2")]):
        assert apply(state, ev(payload)) is state, payload


def test_ids_compare_strictly() -> None:
    state = chat_of(msg("1"), {"remove": 1})
    assert ids(state) == ["1"]


def test_private_chat_is_absent_from_the_audience_view() -> None:
    state = chat_of(msg("1"), msg("2", isPrivate=True))
    audience = view(state, 5000, audience=True)
    assert "privateMessages" not in audience["chat"]
    assert [m["id"] for m in audience["chat"]["messages"]] == ["1"]
    performer = view(state, 5000, audience=False)
    assert [m["id"] for m in performer["chat"]["privateMessages"]] == ["2"]
    assert "privateMessages" in state["chat"]
