"""Video objects on the board: a `type: "video"` object keeps its playing position as an audio
track does (`currentTime` seconds as of `positionAt`, hub epoch ms), so a late joiner or a
replay starts a playing clip where the room is (`video_at`), not where the last message left it.

A `placeObjectOnStage`/`moveTo` is the whole object (upstage-spec §2.2), so most of them are a
copy of what the sender's state holds. One carrying `positionAt` (which only the state puts on
an object) is such a copy: its playing fields are stale and the stored playback is kept. A
playback command (play, pause, seek, restart) is sent without `positionAt`: its `isPlaying` and
`currentTime` win, and a changed `replayed` counter without `currentTime` restarts at 0.
"""

from __future__ import annotations

from typing import Any

from ._util import Json, is_number

Obj = dict[str, Any]


def is_video(obj: Json) -> bool:
    """Whether a stored or payload object is a video clip."""
    return isinstance(obj, dict) and obj.get("type") == "video"


def settle(old: Obj | None, merged: Obj, sent: Obj, at: int | float) -> Obj:
    """The object to store after `sent` was merged into `old` (None for a new one) as `merged`:
    for a video, its playback position stamped at hub time `at`; anything else unchanged."""
    if not is_video(merged):
        return merged
    prior = video_at(old, at) if is_video(old) and old is not None else {}
    playing, current = _playback(prior)
    result = {**merged, "positionAt": at}
    if old is not None and "positionAt" in sent:  # a copy of the state: the stored playback stays
        result.pop("replayed", None)
        if "replayed" in prior:
            result["replayed"] = prior["replayed"]
    else:
        if isinstance(sent.get("isPlaying"), bool):
            playing = sent["isPlaying"]
        if is_number(sent.get("currentTime")):
            current = max(sent["currentTime"], 0)
        elif _restarted(sent.get("replayed"), prior.get("replayed")):
            current = 0
    result["isPlaying"], result["currentTime"] = playing, current
    return result


def video_at(obj: Obj, now_ms: int | float) -> Obj:
    """The object as it is at hub time `now_ms`: a playing video advanced by the elapsed time,
    wrapped when it loops with a known `duration`, paused on its last frame once it ended."""
    if not is_video(obj) or obj.get("isPlaying") is not True:
        return obj
    current, since = obj.get("currentTime"), obj.get("positionAt")
    if not is_number(current) or not is_number(since):
        return obj
    position = current + max(now_ms - since, 0) / 1000
    duration = obj.get("duration")
    if is_number(duration) and duration > 0 and position >= duration:
        if obj.get("loop") is not True:
            return {**obj, "isPlaying": False, "currentTime": duration, "positionAt": now_ms}
        position %= duration
    return {**obj, "currentTime": position, "positionAt": now_ms}


def videos_at(objects: list[Obj], now_ms: int | float) -> list[Obj]:
    """Every board object as it is at `now_ms` (see `video_at`); the same list when none plays."""
    if not any_playing(objects):
        return objects
    return [video_at(o, now_ms) for o in objects]


def any_playing(objects: list[Obj]) -> bool:
    """Whether some video on the board is playing (its view then changes with the clock)."""
    return any(is_video(o) and o.get("isPlaying") is True for o in objects)


def _restarted(sent: Json, stored: Json) -> bool:
    """Whether a sent `replayed` counter asks for a restart: a number other than the stored one."""
    return is_number(sent) and not (is_number(stored) and stored == sent)


def _playback(obj: Obj) -> tuple[bool, int | float]:
    """(isPlaying, currentTime) of a stored object, paused at 0 where it has none."""
    current = obj.get("currentTime")
    return obj.get("isPlaying") is True, max(current, 0) if is_number(current) else 0
