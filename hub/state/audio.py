"""Audio reducer: toolbox tracks keyed by id (or src) and the master volume.

Each stored track holds `currentTime` (seconds) as of `positionAt` (hub epoch ms), so the
position of a playing track at any later hub time can be computed (`track_at`) and a late
joiner resumes where the room is, not where the last message left it.
"""

from __future__ import annotations

from typing import Any

from ._util import Json, id_key, is_id, is_number, same_id
from .limits import Limits

Audio = dict[str, Any]
Track = dict[str, Any]


def empty_audio() -> Audio:
    """No tracks known yet; master volume full."""
    return {"tracks": {}, "master": {"volume": 1.0, "duration": 0}}


def reduce_track(audio: Audio, payload: Json, at: int | float, limits: Limits) -> Audio:
    """Merge one `audio` payload into its track, bringing the track's position up to `at` first."""
    if not isinstance(payload, dict):
        return audio
    tracks = audio["tracks"]
    key = _key_for(tracks, payload)
    if key is None or (key not in tracks and len(tracks) >= limits.audio_tracks):
        return audio
    old = track_at(tracks[key], at) if key in tracks else {"isPlaying": False, "currentTime": 0, "positionAt": at}
    new = {**old, **payload, "positionAt": at}
    new["isPlaying"] = payload["isPlaying"] if isinstance(payload.get("isPlaying"), bool) else old["isPlaying"]
    new["currentTime"] = max(payload["currentTime"], 0) if is_number(payload.get("currentTime")) else old["currentTime"]
    return {**audio, "tracks": {**tracks, key: new}}


def reduce_master(audio: Audio, payload: Json) -> Audio:
    """`audio_master` `{volume 0..1, duration ms}`: the master volume and its fade time."""
    if not isinstance(payload, dict) or not is_number(payload.get("volume")):
        return audio
    duration = payload.get("duration")
    master = {
        "volume": min(max(payload["volume"], 0), 1),
        "duration": max(duration, 0) if is_number(duration) else 0,
    }
    return {**audio, "master": master}


def track_at(track: Track, now_ms: int | float) -> Track:
    """The track as it is at hub time `now_ms`: a playing track advanced by the elapsed time,
    wrapped when it loops with a known `duration`, stopped at 0 once a non-looping one ended."""
    if track.get("isPlaying") is not True:
        return track
    elapsed = max(now_ms - track["positionAt"], 0) / 1000
    position = track["currentTime"] + elapsed
    duration = track.get("duration")
    if is_number(duration) and duration > 0 and position >= duration:
        if track.get("loop") is True:
            position %= duration
        else:
            return {**track, "isPlaying": False, "currentTime": 0, "positionAt": now_ms}
    return {**track, "currentTime": position, "positionAt": now_ms}


def tracks_at(audio: Audio, now_ms: int | float) -> Audio:
    """Every track as it is at `now_ms` (see `track_at`)."""
    if not any(t.get("isPlaying") is True for t in audio["tracks"].values()):
        return audio
    return {**audio, "tracks": {k: track_at(t, now_ms) for k, t in audio["tracks"].items()}}


def rewind_all(audio: Audio, at: int | float) -> Audio:
    """blankScene: every position back to 0 as of `at`; playing tracks keep playing from there."""
    if not audio["tracks"]:
        return audio
    return {**audio, "tracks": {k: {**t, "currentTime": 0, "positionAt": at} for k, t in audio["tracks"].items()}}


def reconcile(audio: Audio, scene_tracks: list[Json], at: int | float, limits: Limits) -> Audio:
    """switchScene: the scene's tracks take their saved state as of `at`; known tracks the scene
    does not mention are stopped (kept in the list, as the toolbox still offers them)."""
    stopped = {k: {**t, "isPlaying": False, "currentTime": 0, "positionAt": at} for k, t in audio["tracks"].items()}
    result = {**audio, "tracks": stopped}
    for track in scene_tracks:
        if isinstance(track, dict):
            result = reduce_track(result, {"isPlaying": False, "currentTime": 0, **track}, at, limits)
    return result


def _key_for(tracks: dict[str, Track], payload: dict[str, Json]) -> str | None:
    """The key of the payload's track: the track with its id, else (as the original client
    matches) the track with its `src`; a new track is keyed by its id, or its src without one."""
    ident, src = payload.get("id"), payload.get("src")
    by_src = isinstance(src, str) and src != ""
    if is_id(ident):
        if id_key(ident) in tracks:
            return id_key(ident)
        for key, track in tracks.items():
            if same_id(track.get("id"), ident) or (by_src and track.get("src") == src and not is_id(track.get("id"))):
                return key
        return id_key(ident)
    if by_src:
        return next((key for key, track in tracks.items() if track.get("src") == src), src)
    return None
