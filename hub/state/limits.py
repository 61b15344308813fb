"""Size limits that keep a stage's live state bounded, whatever clients send."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """How much of each growing family the live state keeps (oldest dropped, or new refused)."""

    chat_messages: int = 100
    private_messages: int = 100
    whiteboard_commands: int = 2000
    board_objects: int = 1000
    audio_tracks: int = 200
    payload_depth: int = 64  # deeper payloads are ignored: see _util.nests_deeper_than


DEFAULT_LIMITS = Limits()
