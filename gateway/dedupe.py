"""A bounded set of event ids this gateway has carried, oldest forgotten first."""

from __future__ import annotations

from collections import OrderedDict


class SeenCache:
    """Event ids brought in from the broker or forwarded to it; bounded, least recently seen evicted.

    An inbound message whose id is here is a duplicate (QoS 1 redelivery, or the same event by
    two routes); an event of the hub whose id is here came from this broker and is not sent back.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, event_id: str) -> bool:
        """Remember an id; returns False when it was already known (and refreshes it)."""
        if event_id in self._ids:
            self._ids.move_to_end(event_id)
            return False
        self._ids[event_id] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return True

    def discard(self, event_id: str) -> None:
        """Forget an id (what was believed of it is no longer known)."""
        self._ids.pop(event_id, None)
