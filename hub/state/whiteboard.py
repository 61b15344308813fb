"""Shared whiteboard reducer (`draw` topic): an ordered, bounded list of pen strokes."""

from __future__ import annotations

from typing import Any

from ._util import Json, action, bounded_append
from .limits import Limits

Whiteboard = dict[str, Any]


def empty_whiteboard() -> Whiteboard:
    """A whiteboard with no strokes."""
    return {"commands": []}


def whiteboard_from(commands: Json, limits: Limits) -> Whiteboard:
    """A whiteboard holding the newest stroke commands of a list (a saved scene's)."""
    if not isinstance(commands, list):
        return empty_whiteboard()
    kept = [dict(c) for c in commands if isinstance(c, dict)]
    return {"commands": kept[-limits.whiteboard_commands :] if limits.whiteboard_commands > 0 else []}


def reduce_whiteboard(board: Whiteboard, payload: Json, limits: Limits) -> Whiteboard:
    """Apply `newLine` (append, oldest dropped past the limit), `undo` (by index) or `clear`."""
    kind = action(payload)
    commands = board["commands"]
    if kind == "newLine" and isinstance(payload.get("command"), dict):
        return {"commands": bounded_append(commands, dict(payload["command"]), limits.whiteboard_commands)}
    if kind == "undo":
        index = payload.get("index")
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(commands):
            return {"commands": commands[:index] + commands[index + 1 :]}
    if kind == "clear" and commands:
        return empty_whiteboard()
    return board
