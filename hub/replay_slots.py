"""How many replays the hub runs, and how often a connection may start or steer one.

A connection has one replay at a time (a new one replaces the old). On top of that a client
address may hold `per_address` replays and the hub `total`; each connection's `replay` and
`replayControl` calls also spend from a bucket of their own (`rate`, `burst`), because a seek
costs more than an ordinary call. Over a bound the call is refused before any work is done.
"""

from __future__ import annotations

from collections.abc import Callable

from .inbound import Refused
from .ratelimit import KeyedBuckets, KeyedCounter


class ReplaySlots:
    def __init__(self, total: int, per_address: int, rate: float, burst: int) -> None:
        self.total = total
        self.running = 0
        self._per_address = KeyedCounter(per_address)
        self._calls = KeyedBuckets(rate, burst)

    def spend(self, connection: str) -> None:
        """One `replay` or `replayControl` call of a connection; `rate_limited` past its bucket."""
        if not self._calls.take(connection):
            raise Refused("rate_limited", "too many replay calls, slow down")

    def forget(self, connection: str) -> None:
        """A connection closed: its call bucket goes with it (else every connection that ever
        replayed would keep one until the buckets' bound)."""
        self._calls.forget(connection)

    def take(self, address: str) -> Callable[[], None]:
        """Count one replay for `address` and the hub, or refuse; returns its release (idempotent)."""
        if self.running >= self.total:
            raise Refused(
                "unavailable", f"the hub is running as many replays as it may ({self.total}); try again later"
            )
        if not self._per_address.acquire(address):
            limit = self._per_address.limit
            raise Refused("rate_limited", f"your address already has {limit} replays running; close one first")
        self.running += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.running -= 1
                self._per_address.release(address)

        return release
