"""Rate limits: the token buckets (`client.ratelimit`, shared with the gateway) and `KeyedCounter`,
how many of something each key holds at once.
"""

from __future__ import annotations

from client.ratelimit import KeyedBuckets, TokenBucket

__all__ = ["KeyedBuckets", "KeyedCounter", "TokenBucket"]


class KeyedCounter:
    """How many of something each key holds now (open connections per address, replays...)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._counts: dict[str, int] = {}

    def acquire(self, key: str) -> bool:
        """Count one more for `key`, unless it is at its limit (then False, nothing counted)."""
        held = self._counts.get(key, 0)
        if held >= self.limit:
            return False
        self._counts[key] = held + 1
        return True

    def release(self, key: str) -> None:
        held = self._counts.get(key, 0) - 1
        if held > 0:
            self._counts[key] = held
        else:
            self._counts.pop(key, None)

    def count(self, key: str) -> int:
        return self._counts.get(key, 0)
