"""Inbound checks for video objects on the `board` topic, beyond the topic's JSON schema: a
playing position must be a real time inside the clip, so a bad seek is refused with a message
naming the field instead of leaving every screen on a broken video (docs/protocol.md)."""

from __future__ import annotations

import math
from typing import Any

from .inbound import Refused
from .state._util import index_of
from .state.video import is_video

_CARRY_OBJECT = ("placeObjectOnStage", "moveTo", "switchFrame", "toggleAutoplayFrames")
_FLAGS = ("isPlaying", "loop")


def check_video(payload: dict[str, Any], objects: list[dict[str, Any]]) -> None:
    """Refuse (`bad_request`) a board payload whose object is a video (as sent, or as stored in
    the board's `objects`) with a mistyped `isPlaying`, `loop`, `replayed` or `duration`, or a
    `currentTime` that is not a time >= 0 within the known duration (sent, else stored)."""
    obj = payload.get("object")
    if payload.get("type") not in _CARRY_OBJECT or not isinstance(obj, dict):
        return
    if "type" in obj and not is_video(obj):  # the usual whole object, not a clip: no search
        return
    index = index_of(objects, obj.get("id"))
    stored = objects[index] if index >= 0 else None
    # What the board will hold: an object that becomes a clip (a type change) brings its stored
    # fields along, so those are checked too, not only the ones sent.
    merged = obj if stored is None else {**stored, **obj}
    if not is_video(merged):
        return
    for flag in _FLAGS:
        if flag in merged and not isinstance(merged[flag], bool):
            raise Refused("bad_request", f"object.{flag} must be true or false")
    if "replayed" in merged and not _number(merged["replayed"], integer=True):
        raise Refused("bad_request", "object.replayed must be an integer >= 0 (the restart counter)")
    if "duration" in merged and not (_number(merged["duration"]) and merged["duration"] > 0):
        raise Refused("bad_request", "object.duration must be a number of seconds > 0")
    if "currentTime" not in obj:  # a stored one is the state's own (settled), never refused
        return
    current = obj["currentTime"]
    if not _number(current):
        raise Refused("bad_request", "object.currentTime must be a finite number of seconds >= 0")
    duration = merged.get("duration")
    if _number(duration) and current > duration:
        raise Refused("bad_request", f"object.currentTime is past the end of the video ({duration:g} s)")


def _number(value: Any, integer: bool = False) -> bool:
    """A finite JSON number >= 0 (an integer if asked); bools are not numbers here."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return False
    return not integer or float(value).is_integer()
