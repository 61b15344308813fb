"""Costumes and backstage objects on the board (issue 17): pure helpers the board reducer calls.

A costume is an object whose `wornBy` names an avatar: when the avatar's pose changes, every
receiver moves its costumes by the same relative offset and scale (spec §2.2 `moveTo`), so a
costume's moves are never sent. A backstage object (`backstage: true`) is shown to performers
only; showing it (`backstage` true -> false) brings it to the front, where the audience, which
receives it as a new placement, draws it too. Mirrored in static/js/stage/costumes.js.
"""

from __future__ import annotations

from typing import Any

from ._util import Json, id_key, is_number, same_id

Board = dict[str, Any]


def is_backstage(obj: Json) -> bool:
    """Whether a board object is prepared backstage (seen by performers only)."""
    return isinstance(obj, dict) and obj.get("backstage") is True


def public_board(board: Board) -> Board:
    """The board as the audience may see it: no backstage object and none of their speech."""
    hidden = [o for o in board["objects"] if is_backstage(o)]
    if not hidden:
        return board
    keys = {id_key(o["id"]) for o in hidden}
    objects = [o for o in board["objects"] if not is_backstage(o)]
    return {**board, "objects": objects, "speeches": {k: s for k, s in board["speeches"].items() if k not in keys}}


def _scale(new: Json, old: Json) -> float:
    """How much a size grew (1 when either size is not a positive number, or it overflows)."""
    ratio = new / old if is_number(new) and is_number(old) and old > 0 and new > 0 else 1
    return ratio if is_number(ratio) else 1


def _followed(costume: dict[str, Json], old: dict[str, Json], new: dict[str, Json]) -> dict[str, Json]:
    """A costume moved with its wearer from pose `old` to pose `new` (offset and size scaled)."""
    sx, sy = _scale(new.get("w"), old.get("w")), _scale(new.get("h"), old.get("h"))
    moved = dict(costume)
    for axis, size, scale in (("x", "w", sx), ("y", "h", sy)):
        if is_number(costume.get(axis)) and is_number(old.get(axis)) and is_number(new.get(axis)):
            moved[axis] = _finite(new[axis] + (costume[axis] - old[axis]) * scale, costume[axis])
        if is_number(costume.get(size)) and scale != 1:
            moved[size] = _finite(costume[size] * scale, costume[size])
    if is_number(new.get("moveSpeed")):
        moved["moveSpeed"] = new["moveSpeed"]
    return moved


def _finite(value: float, fallback: Json) -> Json:
    """`value` unless a hostile pose made it overflow (JSON has no infinity: keep `fallback`)."""
    return value if is_number(value) else fallback


def dress(objects: list[dict[str, Json]], index: int, old: dict[str, Json]) -> list[dict[str, Json]]:
    """`objects` after the object at `index` changed from `old`: its costumes follow it (those on
    the same side of the curtain, backstage or not), and a backstage object just shown goes to
    the front. Changes `objects` (the caller's fresh copy) in place and returns it."""
    new = objects[index]
    if any(is_number(old.get(k)) and is_number(new.get(k)) and old[k] != new[k] for k in _POSE):
        side = is_backstage(new)
        for i, obj in enumerate(objects):
            if i != index and same_id(obj.get("wornBy"), new["id"]) and is_backstage(obj) == side:
                objects[i] = _followed(obj, old, new)
    if is_backstage(old) and not is_backstage(new):
        objects.append(objects.pop(index))
    return objects


_POSE = ("x", "y", "w", "h")
