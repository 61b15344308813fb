"""Admission of costumes and backstage objects on the `board` topic (issue 17), beyond the schema.

Who receives a board event is decided on the live STATE, not on the payload alone: an event about
an object that is backstage (prepared for performers only) before and after it goes to
performers only, whatever flags it carries, so a `moveTo` that omits `backstage` cannot leak the
object. "Show" (an event that turns `backstage` off) goes to everyone as a `placeObjectOnStage`
of the whole object as the board will hold it, so the audience receives it as a new placement.
The decision travels with the event (`Event.audience`) through the stage log, the archive and
replays. `wornBy` must name another object on the board that is an avatar. A hide marks the
object `audienceCopy` (the audience keeps an undrawn copy), so its destroy reaches them (id only).
"""

from __future__ import annotations

from typing import Any

from storage import EVERYONE, PERFORMERS

from .inbound import Refused
from .state import Limits
from .state._util import index_of, same_id
from .state.board import reduce_board
from .state.costumes import is_backstage

MERGING = ("placeObjectOnStage", "moveTo", "switchFrame", "toggleAutoplayFrames")
AUDIENCE_COPY = "audienceCopy"  # set by the hub on a hide: the audience holds an undrawn copy


def admit_board(payload: dict[str, Any], board: dict[str, Any], at: int, limits: Limits) -> tuple[dict[str, Any], str]:
    """The payload to publish (a show made whole) and its audience (EVERYONE or PERFORMERS),
    given the board before it; Refused (`bad_request`) for a `wornBy` that names no avatar and for
    a `bringToFrontOf` across the curtain."""
    objects = board["objects"]
    if payload["type"] not in MERGING:
        found = [objects[i] for i in (index_of(objects, c) for c in object_ids(payload)) if i >= 0]
        if payload["type"] == "destroy" and found and is_backstage(found[0]) and found[0].get(AUDIENCE_COPY) is True:
            # hidden again: the audience drops its undrawn copy (the id alone), or a later public
            # placement under that id would merge into it and stay hidden for them
            return {"type": "destroy", "object": {"id": found[0]["id"]}}, EVERYONE
        hidden = any(is_backstage(o) for o in found)
        if (
            hidden
            and payload["type"] == "bringToFrontOf"
            and _public_order(reduce_board(board, payload, at, limits)) != _public_order(board)
        ):
            # performers only, yet it would reorder public objects: the audience would never know
            raise Refused("bad_request", "front/back: one is backstage and the other is not; show or hide it first")
        return payload, PERFORMERS if hidden else EVERYONE
    if AUDIENCE_COPY in payload["object"]:  # the hub's mark, never a client's
        payload = {**payload, "object": {k: v for k, v in payload["object"].items() if k != AUDIENCE_COPY}}
    obj = payload["object"]
    index = index_of(objects, obj["id"])
    old = objects[index] if index >= 0 else None
    check_costume(obj, old, objects)
    was = is_backstage(old)
    will = obj["backstage"] is True if "backstage" in obj else was
    if was and not will:  # show: the audience gets the whole object, as the board will hold it
        after = reduce_board(board, payload, at, limits)["objects"]
        return {"type": "placeObjectOnStage", "object": after[index_of(after, obj["id"])]}, EVERYONE
    if will and (was or old is None):  # prepared backstage, or changed while it is there
        return payload, PERFORMERS
    if will:  # hidden again: the audience keeps an undrawn copy, marked for its destroy
        return {**payload, "object": {**obj, AUDIENCE_COPY: True}}, EVERYONE
    return payload, EVERYONE  # a public object


def check_costume(obj: dict[str, Any], old: dict[str, Any] | None, objects: list[dict[str, Any]]) -> None:
    """A `wornBy` (null: taken off) must name another object on the board of type avatar, and
    the object worn must not be an avatar itself (costumes follow one level)."""
    wearer = obj.get("wornBy")
    if wearer is None:
        return
    if same_id(wearer, obj["id"]):
        raise Refused("bad_request", "object.wornBy: an object cannot wear itself")
    index = index_of(objects, wearer)
    if index < 0 or objects[index].get("type") != "avatar":
        raise Refused("bad_request", f"object.wornBy: there is no avatar {str(wearer)[:60]!r} on the board")
    kind = obj.get("type", old.get("type") if old is not None else None)
    if kind == "avatar":
        raise Refused("bad_request", "object.wornBy: an avatar cannot be worn as a costume")


def object_ids(payload: dict[str, Any]) -> list[Any]:
    """The ids of the objects a non-merging board payload is about."""
    kind = payload["type"]
    if kind == "speak":
        return [payload["avatar"]["id"]]
    if kind == "bringToFrontOf":
        return [payload["front"], payload["back"]]
    return [payload["object"]["id"]]


def _public_order(board: dict[str, Any]) -> list[Any]:
    """The ids of the board's public objects, back to front."""
    return [o["id"] for o in board["objects"] if not is_backstage(o)]
