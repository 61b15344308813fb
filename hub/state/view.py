"""What a joining client receives: the live state brought to the hub's current time, and
without what its role may not see."""

from __future__ import annotations

from ._util import State
from .audio import tracks_at
from .board import current_speeches
from .chat import public_chat


def depends_on_time(state: State) -> bool:
    """Whether `view` of this state changes with the clock alone: a track is playing, or a
    speech bubble may still be fading."""
    tracks = state["audio"]["tracks"].values()
    return bool(state["board"]["speeches"]) or any(t.get("isPlaying") is True for t in tracks)


def view(state: State, now_ms: int | float, audience: bool) -> State:
    """The state as of hub time `now_ms`: playing tracks advanced to where the room hears them,
    faded speech bubbles dropped, and for the audience no private chat. Never mutates `state`."""
    seen = {
        **state,
        "audio": tracks_at(state["audio"], now_ms),
        "board": current_speeches(state["board"], now_ms),
    }
    if audience:
        seen["chat"] = public_chat(state["chat"])
    return seen
