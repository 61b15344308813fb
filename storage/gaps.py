"""Trimming idle gaps out of a performance: a pure function of its events, used by `Archive.trim`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from .records import Event


def compress_gaps(events: Sequence[Event], max_gap_ms: int) -> list[Event]:
    """The events with every gap in `at` longer than `max_gap_ms` shortened to it; later events
    move back by the total removed so far, and so do the `at` stamps inside chat messages."""
    shifted, removed, previous = [], 0, None
    for event in events:
        if previous is not None and event.at - previous > max_gap_ms:
            removed += event.at - previous - max_gap_ms
        previous = event.at
        if removed:
            event = dataclasses.replace(event, at=event.at - removed, payload=_shift_payload(event, removed))
        shifted.append(event)
    return shifted


def _shift_payload(event: Event, removed: int) -> Any:
    """A chat message (or a board `speak`, which carries one) with its own `at` moved back too."""
    payload = event.payload
    if event.topic == "chat" and _has_time(payload):
        return {**payload, "at": payload["at"] - removed}
    is_speech = event.topic == "board" and isinstance(payload, dict) and payload.get("type") == "speak"
    if is_speech and _has_time(payload.get("speak")):
        return {**payload, "speak": {**payload["speak"], "at": payload["speak"]["at"] - removed}}
    return payload


def _has_time(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("at"), (int, float)) and not isinstance(value["at"], bool)
