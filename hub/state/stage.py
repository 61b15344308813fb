"""A stage's whole live state: the empty state and `apply`, which routes each event to the
reducer of its topic family. Pure: no I/O, and the input state is never mutated."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._util import Json, State, action, event_at, nests_deeper_than
from .audio import empty_audio, reduce_master, reduce_track
from .background import empty_background, reduce_background
from .board import empty_board, reduce_board
from .chat import empty_chat, reduce_chat
from .limits import DEFAULT_LIMITS, Limits
from .scenes import blank_scene, restate_scene, switch_scene
from .settings import SETTING_ACTIONS, default_settings, reduce_settings
from .streams import empty_streams, reduce_streams
from .whiteboard import empty_whiteboard, reduce_whiteboard

# A topic reducer: (state, payload, hub time in ms, limits) -> new state.
_Reducer = Callable[[State, Json, "int | float", Limits], State]


def empty_state(default_color: str = "#30ac45") -> State:
    """The live state of a stage nobody has touched; `default_color` is its backdrop colour."""
    return {
        "board": empty_board(),
        "background": empty_background(default_color),
        "settings": default_settings(),
        "audio": empty_audio(),
        "whiteboard": empty_whiteboard(),
        "chat": empty_chat(),
        "streams": empty_streams(),
    }


def apply(state: State, event: dict[str, Any], limits: Limits = DEFAULT_LIMITS) -> State:
    """The state after one accepted event. Never raises on a payload; an event that changes
    nothing returns `state` itself. Only the touched family is copied, the rest is shared."""
    if not isinstance(event, dict):
        return state
    topic = event.get("topic")
    reducer = _REDUCERS.get(topic) if isinstance(topic, str) else None
    payload = event.get("payload")
    if reducer is None or nests_deeper_than(payload, limits.payload_depth):
        return state
    return reducer(state, payload, event_at(event), limits)


def _family(name: str, new: Any, state: State) -> State:
    """`state` with family `name` replaced, or `state` itself if the family did not change."""
    return state if new is state[name] else {**state, name: new}


def _chat(state: State, payload: Json, at: int | float, limits: Limits) -> State:
    return _family("chat", reduce_chat(state["chat"], payload, limits), state)


def _board(state: State, payload: Json, at: int | float, limits: Limits) -> State:
    return _family("board", reduce_board(state["board"], payload, at, limits), state)


def _audio(state: State, payload: Json, at: int | float, limits: Limits) -> State:
    return _family("audio", reduce_track(state["audio"], payload, at, limits), state)


def _audio_master(state: State, payload: Json, at: int | float, limits: Limits) -> State:
    return _family("audio", reduce_master(state["audio"], payload), state)


def _draw(state: State, payload: Json, at: int | float, limits: Limits) -> State:
    return _family("whiteboard", reduce_whiteboard(state["whiteboard"], payload, limits), state)


def _background(state: State, payload: Json, at: int | float, limits: Limits) -> State:
    """The `background` topic carries backdrop, settings and scene actions; route by `type`."""
    kind = action(payload)
    if kind == "blankScene":
        return blank_scene(state, at)
    if kind == "switchScene":
        return switch_scene(state, payload, at, limits)  # the hub attached the saved scene's snapshot
    if kind == "recordingSnapshot":
        # A recording opens with the stage as it was, so a replay starts there; live, it restates
        # the current scene (backstage objects, left out of it, stay).
        return restate_scene(state, payload, at, limits)
    if kind in SETTING_ACTIONS:
        return _family("settings", reduce_settings(state["settings"], payload), state)
    # loadScenes (and the original's string-payload recordingSnapshot) change nothing.
    return _family("background", reduce_background(state["background"], payload), state)


def _streams(state: State, payload: Json, at: int | float, limits: Limits) -> State:
    """The hub's `stream` topic; a state restored from before streams existed has no family yet."""
    streams = state.get("streams", empty_streams())
    new = reduce_streams(streams, payload, at)
    return state if new is streams else {**state, "streams": new}


def _unchanged(state: State, payload: Json, at: int | float, limits: Limits) -> State:
    """reaction and stream_health are relayed, never kept."""
    return state


_REDUCERS: dict[str, _Reducer] = {
    "chat": _chat,
    "board": _board,
    "background": _background,
    "audio": _audio,
    "audio_master": _audio_master,
    "draw": _draw,
    "reaction": _unchanged,
    "stream_health": _unchanged,
    "stream": _streams,
}
