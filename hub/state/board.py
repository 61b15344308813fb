"""Board reducer: the live objects in z-order (last on top) and each avatar's last speech.

Follows the original client's `board` topic handlers (upstage-spec §2.1-2.2): objects are
free-form dicts upserted and merged by `id`, unknown fields pass through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._util import Json, action, id_key, index_of, is_id, same_id, same_items, without_key
from .costumes import dress
from .frames import settle
from .limits import Limits
from .video import videos_at

Board = dict[str, Any]
_Handler = Callable[[Board, dict[str, Json], "int | float", Limits], Board]


def empty_board() -> Board:
    """A board with no objects and no speech."""
    return {"objects": [], "speeches": {}}


def board_from_objects(objects: list[Json], limits: Limits, at: int | float) -> Board:
    """A board holding the valid objects of a list (a saved scene's), deduplicated and bounded;
    its videos play on from their saved position as of hub time `at`."""
    kept: list[dict[str, Json]] = []
    for obj in objects:
        if _object_id(obj) is not None:
            index = index_of(kept, obj["id"])
            if index >= 0:
                kept.pop(index)
            kept.append(settle(None, _clean(obj), obj, at))
    return {"objects": kept[-limits.board_objects :] if limits.board_objects > 0 else [], "speeches": {}}


def reduce_board(board: Board, payload: Json, at: int | float, limits: Limits) -> Board:
    """Apply one `board` payload; anything malformed or unknown leaves the board as it is."""
    handler = _HANDLERS.get(action(payload) or "")
    return handler(board, payload, at, limits) if handler else board


def board_at(board: Board, now_ms: int | float) -> Board:
    """The board as seen at `now_ms`: playing videos advanced (`video.video_at`), and without
    the speech bubbles that have faded (shown 1 s + 1 s a word)."""
    speeches = {k: s for k, s in board["speeches"].items() if _speech_ends(s) > now_ms}
    objects = videos_at(board["objects"], now_ms)
    if len(speeches) == len(board["speeches"]) and objects is board["objects"]:
        return board
    return {"objects": objects, "speeches": speeches}


def _speech_ends(speech: dict[str, Json]) -> float:
    speak = speech.get("speak")
    text = speak.get("message") if isinstance(speak, dict) else speak
    words = len(text.split(" ")) if isinstance(text, str) else 1
    return speech["at"] + 1000 + 1000 * words


def _identified(obj: Json) -> dict[str, Json] | None:
    """A payload object that carries a usable id, or None."""
    return obj if isinstance(obj, dict) and is_id(obj.get("id")) else None


def _object_id(obj: Json) -> Json:
    """The id of a payload object, or None when it is not an object with a usable id."""
    identified = _identified(obj)
    return None if identified is None else identified["id"]


def _clean(obj: dict[str, Json]) -> dict[str, Json]:
    """An object as stored: the receiver-computed `holder` dropped, marked live and published."""
    return {**without_key(obj, "holder"), "liveAction": True, "published": True}


def _with_objects(board: Board, objects: list[dict[str, Json]]) -> Board:
    return board if same_items(objects, board["objects"]) else {**board, "objects": objects}


def _place(board: Board, payload: dict[str, Json], at: int | float, limits: Limits) -> Board:
    obj = _identified(payload.get("object"))
    if obj is None:
        return board
    objects = board["objects"]
    index = index_of(objects, obj["id"])
    if index < 0:
        if len(objects) >= limits.board_objects:
            return board
        return {**board, "objects": [*objects, settle(None, _clean(obj), obj, at)]}
    return _merge_at(board, index, obj, at)


def _merge(board: Board, payload: dict[str, Json], at: int | float, limits: Limits) -> Board:
    obj = _identified(payload.get("object"))
    index = index_of(board["objects"], obj["id"]) if obj is not None else -1
    return _merge_at(board, index, obj, at) if obj is not None and index >= 0 else board


def _merge_at(board: Board, index: int, obj: dict[str, Json], at: int | float) -> Board:
    objects = list(board["objects"])
    old = objects[index]
    objects[index] = settle(old, {**old, **_clean(obj)}, obj, at)
    return {**board, "objects": dress(objects, index, old)}  # costumes follow; a shown object goes on top


def _destroy(board: Board, payload: dict[str, Json], at: int | float, limits: Limits) -> Board:
    ident = _object_id(payload.get("object"))
    if ident is None:
        return board
    objects = [_unworn(o, ident) for o in board["objects"] if not same_id(o.get("id"), ident)]
    speeches = board["speeches"]
    key = id_key(ident)
    if key in speeches:
        speeches = without_key(speeches, key)
    if speeches is board["speeches"] and same_items(objects, board["objects"]):
        return board
    return {"objects": objects, "speeches": speeches}


def _unworn(obj: dict[str, Json], wearer: Json) -> dict[str, Json]:
    """A costume worn by a destroyed avatar is released; any other object is untouched."""
    return without_key(obj, "wornBy") if same_id(obj.get("wornBy"), wearer) else obj


def _speak(board: Board, payload: dict[str, Json], at: int | float, limits: Limits) -> Board:
    ident = _object_id(payload.get("avatar"))
    speak = payload.get("speak")
    if ident is None or index_of(board["objects"], ident) < 0 or not isinstance(speak, (dict, str)):
        return board
    speech = {"speak": dict(speak) if isinstance(speak, dict) else speak, "at": at}
    return {**board, "speeches": {**board["speeches"], id_key(ident): speech}}


def _reorder(to_front: bool) -> _Handler:
    """A handler moving `payload.object` to the top (to_front) or the bottom of the z-order."""

    def handler(board: Board, payload: dict[str, Json], at: int | float, limits: Limits) -> Board:
        ident = _object_id(payload.get("object"))
        index = index_of(board["objects"], ident) if ident is not None else -1
        if index < 0:
            return board
        objects = list(board["objects"])
        moved = objects.pop(index)
        return _with_objects(board, [*objects, moved] if to_front else [moved, *objects])

    return handler


def _front_of(board: Board, payload: dict[str, Json], at: int | float, limits: Limits) -> Board:
    front, back = payload.get("front"), payload.get("back")
    objects = board["objects"]
    front_index = index_of(objects, front) if is_id(front) else -1
    if front_index < 0 or index_of(objects, back) < 0 or same_id(front, back):
        return board
    rest = [o for i, o in enumerate(objects) if i != front_index]
    back_index = index_of(rest, back)
    at_index = back_index if payload.get("side") == "behind" else back_index + 1
    return _with_objects(board, [*rest[:at_index], objects[front_index], *rest[at_index:]])


_HANDLERS: dict[str, _Handler] = {
    "placeObjectOnStage": _place,
    "moveTo": _merge,
    "switchFrame": _merge,
    "toggleAutoplayFrames": _merge,
    "destroy": _destroy,
    "speak": _speak,
    "sendToBack": _reorder(to_front=False),
    "bringToFront": _reorder(to_front=True),
    "bringToFrontOf": _front_of,
}
