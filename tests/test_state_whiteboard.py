"""Whiteboard reducer (`draw` topic): append, undo by index, clear, bounded."""

from __future__ import annotations

from typing import Any

from hub.state import DEFAULT_LIMITS, Limits, apply, empty_state


def ev(payload: Any, at: int = 1000) -> dict[str, Any]:
    return {"seq": 1, "topic": "draw", "payload": payload, "at": at,
            "from": {"session": "s1", "nickname": "Helen", "role": "player"}}


def line(n: int) -> dict[str, Any]:
    return {"type": "newLine", "command": {"type": "draw", "size": n, "color": "#000000", "x": 0, "y": 0, "lines": []}}


def sizes(state: dict[str, Any]) -> list[int]:
    return [c["size"] for c in state["whiteboard"]["commands"]]


def drawn(*ns: int, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    state = empty_state()
    for n in ns:
        state = apply(state, ev(line(n)), limits)
    return state


def test_new_line_appends_in_order() -> None:
    assert sizes(drawn(1, 2, 3)) == [1, 2, 3]


def test_undo_removes_the_command_at_index() -> None:
    assert sizes(apply(drawn(1, 2, 3), ev({"type": "undo", "index": 1}))) == [1, 3]
    assert sizes(apply(drawn(1, 2, 3), ev({"type": "undo", "index": 2}))) == [1, 2]


def test_undo_out_of_range_or_malformed_is_ignored() -> None:
    state = drawn(1, 2)
    for index in (2, 99, -1, "0", None, True, 1.0):
        assert apply(state, ev({"type": "undo", "index": index})) is state


def test_clear_empties() -> None:
    assert sizes(apply(drawn(1, 2), ev({"type": "clear"}))) == []


def test_bounded_keeps_newest() -> None:
    assert sizes(drawn(1, 2, 3, 4, 5, limits=Limits(whiteboard_commands=3))) == [3, 4, 5]


def test_malformed_new_line_is_ignored() -> None:
    state = drawn(1)
    for payload in ({"type": "newLine"}, {"type": "newLine", "command": "x"}, {"type": "erase"}, "x", None):
        assert apply(state, ev(payload)) is state
