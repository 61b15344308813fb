"""What a joining client receives: the live state brought to the hub's current time, and
without what its role may not see."""

from __future__ import annotations

from ._util import State
from .audio import tracks_at
from .board import board_at
from .chat import public_chat
from .costumes import public_board
from .video import any_playing


def depends_on_time(state: State) -> bool:
    """Whether `view` of this state changes with the clock alone: a track or a video is playing,
    or a speech bubble may still be fading."""
    tracks = state["audio"]["tracks"].values()
    board = state["board"]
    return bool(board["speeches"]) or any(t.get("isPlaying") is True for t in tracks) or any_playing(board["objects"])


def view(state: State, now_ms: int | float, audience: bool) -> State:
    """The state as of hub time `now_ms`: playing tracks and videos advanced to where the room is,
    faded speech bubbles dropped, and for the audience no private chat nor backstage objects.
    Never mutates `state`."""
    seen = {
        **state,
        "audio": tracks_at(state["audio"], now_ms),
        "board": board_at(state["board"], now_ms),
    }
    if audience:
        seen["chat"] = public_chat(state["chat"])
        seen["board"] = public_board(seen["board"])
    return seen
