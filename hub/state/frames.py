"""Multi-frame animation in the live state: which frame a board object or the backdrop shows is
derived from hub time, so every screen (a late joiner's and a replay's too) shows the same one.

A board object animates while it has two or more `frames` (URLs) and `autoplayFrames` > 0 (ms a
frame). The reducer anchors it: `src` is the frame shown at hub time `framesAt`, after which it
steps a frame every `autoplayFrames` ms, wrapping when `frameLoop` is not false, else stopping on
the last frame. The anchor moves only when the animation changes (started, stopped, another
speed, frame list or loop, or a chosen frame), from the frame shown at that moment; a copy of the
object (every `moveTo`) keeps it. Stopped, `src` is the frame it stopped on.

The backdrop (`changeBackground`) steps every `speed` + `dwell` seconds while `speed` > 0 (the
original: fade seconds a frame, 0 paused) from frame `currentFrame` at hub time `frameAt`, anchored
the same way against the backdrop it replaces when that is the same backdrop (an opacity change
keeps the animation running). Mirrored line by line in static/js/stage/frames.js.
"""

from __future__ import annotations

import math
from typing import Any

from ._util import Json, is_number, without_key
from .video import settle as settle_video

Obj = dict[str, Any]


def frame_list(value: Json) -> list[str] | None:
    """The frames of a multi-frame item (two or more strings), or None."""
    if isinstance(value, list) and len(value) > 1 and all(isinstance(f, str) for f in value):
        return value
    return None


def loops(obj: Obj) -> bool:
    """Frames wrap around unless `frameLoop` is false (the original always looped)."""
    return obj.get("frameLoop") is not False


def step(start: int, elapsed: int | float, period: int | float, count: int, loop: bool) -> int:
    """The frame index `elapsed` ms after frame `start` was shown, a frame every `period` ms."""
    steps = math.floor(max(elapsed, 0) / period)
    return (start + steps) % count if loop else min(start + steps, count - 1)


def _same(a: Json, b: Json) -> bool:
    """Equal scalars as JavaScript's `===` sees JSON ones (absent and null alike); lists of strings
    element by element; anything else is not the same."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(isinstance(x, str) and x == y for x, y in zip(a, b, strict=True))
    if a is None or b is None:
        return a is None and b is None
    if is_number(a) and is_number(b):
        return bool(a == b)
    return type(a) is type(b) and isinstance(a, (str, bool)) and a == b


# --- board objects ------------------------------------------------------------------------------


def object_running(obj: Json) -> bool:
    """Whether a board object is animating its frames."""
    if not isinstance(obj, dict) or frame_list(obj.get("frames")) is None:
        return False
    every = obj.get("autoplayFrames")
    return is_number(every) and every > 0


def object_frame_at(obj: Obj, now_ms: int | float) -> Json:
    """The frame (URL) a board object shows at hub time `now_ms`: its `src` unless it animates."""
    frames = frame_list(obj.get("frames"))
    since = obj.get("framesAt")
    if frames is None or not object_running(obj) or not is_number(since):
        return obj.get("src")
    src = obj.get("src")
    start = frames.index(src) if src in frames else 0
    return frames[step(start, now_ms - since, obj["autoplayFrames"], len(frames), loops(obj))]


def settle_frames(old: Obj | None, merged: Obj, sent: Obj, at: int | float) -> Obj:
    """The object to store after `sent` was merged into `old` (None for a new one) as `merged`:
    its frame animation anchored at hub time `at` (see the module doc)."""
    if frame_list(merged.get("frames")) is None and (old is None or frame_list(old.get("frames")) is None):
        return merged
    had = old is not None and object_running(old)
    chosen = old is not None and "src" in sent and not _same(sent["src"], old.get("src"))
    if chosen:
        start = sent["src"]
    elif old is not None:
        start = object_frame_at(old, at) if had else old.get("src")
    else:
        start = merged.get("src")
    result = without_key(merged, "framesAt")
    running = object_running(merged)
    if running and had and not chosen and old is not None and is_number(old.get("framesAt")) and all(
        _same(old.get(key), merged.get(key)) for key in ("autoplayFrames", "frames")
    ) and loops(old) == loops(merged):
        result["framesAt"] = old["framesAt"]  # `src` is the anchor's already (not chosen)
        return result
    frames = frame_list(merged.get("frames"))
    if running and frames is not None:
        if not had and not loops(merged) and start == frames[-1]:
            start = frames[0]  # a one-shot animation that ended plays again from the start
        result["framesAt"] = at
    if isinstance(start, str):
        result["src"] = start
    return result


def settle(old: Obj | None, merged: Obj, sent: Obj, at: int | float) -> Obj:
    """What the board stores for a placed or merged object: a video's playback (`video.settle`),
    then a multi-frame object's animation anchored (`settle_frames`)."""
    return settle_frames(old, settle_video(old, merged, sent, at), sent, at)


# --- the backdrop -------------------------------------------------------------------------------


def _index(value: Json, count: int) -> int | None:
    """A frame index given in a payload, when it is a whole number inside the frame list."""
    if is_number(value) and value == math.floor(value) and 0 <= value < count:
        return int(value)
    return None


def _backdrop_period(bg: Obj) -> float:
    """Ms between two backdrop frames, 0 while it does not animate."""
    speed, dwell = bg.get("speed"), bg.get("dwell")
    if frame_list(bg.get("frames")) is None or not is_number(speed) or speed <= 0:
        return 0
    return (speed + (dwell if is_number(dwell) and dwell > 0 else 0)) * 1000


def backdrop_frame_at(bg: Obj, now_ms: int | float) -> int:
    """The frame index the backdrop shows at hub time `now_ms`."""
    frames = frame_list(bg.get("frames"))
    if frames is None:
        return 0
    start = _index(bg.get("currentFrame"), len(frames)) or 0
    period, since = _backdrop_period(bg), bg.get("frameAt")
    if period <= 0 or not is_number(since):
        return start
    return step(start, now_ms - since, period, len(frames), loops(bg))


def anchor_backdrop(old: Json, new: Obj) -> Obj:
    """A multi-frame backdrop as stored by `changeBackground`: `currentFrame` and `frameAt` (the
    hub-stamped `at`) set as the module doc says; any other backdrop as sent."""
    frames = frame_list(new.get("frames"))
    if frames is None:
        return new
    at = new.get("at")
    result = without_key(new, "frameAt")
    same = (
        isinstance(old, dict)
        and isinstance(new.get("src"), str)
        and _same(old.get("src"), new.get("src"))
        and _same(old.get("frames"), frames)
    )
    chosen = _index(new.get("currentFrame"), len(frames))
    if same and chosen is not None and _same(chosen, old.get("currentFrame")):
        chosen = None  # the state's own value, copied back
    running = _backdrop_period(result) > 0
    if same and chosen is None and running and _backdrop_period(old) > 0 and is_number(old.get("frameAt")) and all(
        _same(old.get(key), new.get(key)) for key in ("speed", "dwell")
    ) and loops(old) == loops(new):
        result["currentFrame"], result["frameAt"] = _index(old.get("currentFrame"), len(frames)) or 0, old["frameAt"]
        return result
    if chosen is not None:
        start = chosen
    elif same:
        start = backdrop_frame_at(old, at) if is_number(at) else _index(old.get("currentFrame"), len(frames)) or 0
    else:
        start = 0
    result["currentFrame"] = start
    if running and is_number(at):
        result["frameAt"] = at
    return result
