"""A bounded ring of a stage's recent events, so a reconnecting client gets exactly what it missed."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Hashable, Iterator
from typing import Any

from storage import Event


class History:
    """The last `size` events of one stage, none older than `max_age` seconds."""

    def __init__(self, size: int, max_age: float) -> None:
        self.size = size
        self.max_age = max_age
        self._events: deque[tuple[float, Event]] = deque()

    def append(self, event: Event) -> None:
        self._events.append((time.monotonic(), event))
        while len(self._events) > self.size:
            self._events.popleft()

    def after(self, seq: int, last_seq: int) -> Iterator[Event] | None:
        """The kept events with `seq > seq`, or None when some of them are no longer kept."""
        self._expire()
        if seq == last_seq:
            return iter(())
        if seq > last_seq or not self._events or self._events[0][1].seq > seq + 1:
            return None
        return (event for _, event in self._events if event.seq > seq)

    def clear(self) -> None:
        self._events.clear()

    def _expire(self) -> None:
        horizon = time.monotonic() - self.max_age
        while self._events and self._events[0][0] < horizon:
            self._events.popleft()


class RecentKeys:
    """Idempotency keys of a stage's recent publishes (a client's publish id, a relayed event's
    origin and id) with what they published, as long as the history keeps events: a retried
    publish gets the first one's answer instead of becoming a second event."""

    def __init__(self, size: int, max_age: float) -> None:
        self.size = size
        self.max_age = max_age
        self._kept: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        """What `key` published, or None when it is new (or too old to remember)."""
        self._expire()
        kept = self._kept.get(key)
        return None if kept is None else kept[1]

    def put(self, key: Hashable, value: Any, age: float = 0.0) -> None:
        """Remember `key`; `age` seconds old already (an event read back from the archive)."""
        self._kept[key] = (time.monotonic() - max(age, 0.0), value)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)

    def clear(self) -> None:
        self._kept.clear()

    def _expire(self) -> None:
        horizon = time.monotonic() - self.max_age
        while self._kept and next(iter(self._kept.values()))[0] < horizon:
            self._kept.popitem(last=False)
