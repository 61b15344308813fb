"""The `Broker` seam: it orders each stage's events (assigns `seq`) and hands them to the node.

The in-process `MemoryBroker` is the embedded default. A Redis implementation will plug in
behind the same interface so several hub processes share one sequence and one fan-out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from storage import EVERYONE, Event

Deliver = Callable[[Event], None]


def now_ms() -> int:
    return int(time.time() * 1000)


class Broker(Protocol):
    """Assigns per-stage `seq` and delivers every event to the node, in `seq` order."""

    def attach(self, deliver: Deliver) -> None: ...

    async def publish(
        self,
        stage_id: int,
        topic: str,
        payload: Any,
        sender: dict[str, Any],
        audience: str = EVERYONE,
        target_session: str | None = None,
        at: int | None = None,
    ) -> Event:
        """Number the event and deliver it; `at` is its hub time (now when None)."""
        ...

    def restore(self, stage_id: int, seq: int) -> None:
        """Continue a stage's numbering after `seq` (the last event the store holds)."""
        ...

    async def close(self) -> None: ...


class MemoryBroker:
    """Single-process broker: a counter per stage, delivery straight to the local node."""

    def __init__(self) -> None:
        self._seq: dict[int, int] = {}
        self._deliver: Deliver | None = None

    def attach(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def publish(
        self,
        stage_id: int,
        topic: str,
        payload: Any,
        sender: dict[str, Any],
        audience: str = EVERYONE,
        target_session: str | None = None,
        at: int | None = None,
    ) -> Event:
        seq = self._seq.get(stage_id, 0) + 1
        self._seq[stage_id] = seq
        event = Event(stage_id, seq, topic, payload, now_ms() if at is None else at, sender, audience, target_session)
        if self._deliver is not None:
            self._deliver(event)
        return event

    def restore(self, stage_id: int, seq: int) -> None:
        self._seq[stage_id] = seq

    async def close(self) -> None:
        self._deliver = None
