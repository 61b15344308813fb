"""Rate limits: a token bucket (`rate` calls a second on average, bursts up to `burst`), and
`KeyedBuckets`, one bucket per key (a client address, a username, a stage) in bounded memory.

Pure standard library, here so that both the hub (`hub.ratelimit`) and the gateway, which may
import nothing of `hub/`, use the same buckets (issue 15, item 6).
"""

from __future__ import annotations

import time
from collections import OrderedDict


class TokenBucket:
    __slots__ = ("rate", "burst", "_tokens", "_stamp")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._stamp = time.monotonic()

    def take(self, cost: float = 1.0) -> bool:
        """Spend `cost` tokens if there are; False means the caller is over its limit."""
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens < cost:
            return False
        self._tokens -= cost
        return True

    def wait(self, cost: float = 1.0) -> float:
        """Seconds until `cost` tokens will be there (0 when they are now)."""
        now = time.monotonic()
        tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        if tokens >= cost:
            return 0.0
        return (cost - tokens) / self.rate if self.rate > 0 else float("inf")

    def full(self, now: float) -> bool:
        """Whether the bucket has refilled, so that forgetting it changes nothing."""
        return self._tokens + (now - self._stamp) * self.rate >= self.burst


class KeyedBuckets:
    """A token bucket per key, created full on first use. A bucket that has refilled is the same
    as a new one, so it is forgotten; past `max_keys` (a flood of distinct keys) the least
    recently used go first, which errs towards letting a caller through."""

    def __init__(self, rate: float, burst: float, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, key: str, cost: float = 1.0) -> bool:
        return self._bucket(key).take(cost)

    def wait(self, key: str, cost: float = 1.0) -> float:
        """Seconds until `key` may spend `cost` (0 when it may now)."""
        bucket = self._buckets.get(key)
        return 0.0 if bucket is None else bucket.wait(cost)

    def forget(self, key: str) -> None:
        """Drop `key`'s bucket (a key that will not come back, such as a closed connection's)."""
        self._buckets.pop(key, None)

    def __len__(self) -> int:
        return len(self._buckets)

    def _bucket(self, key: str) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._prune()
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst)
        else:
            self._buckets.move_to_end(key)
        return bucket

    def _prune(self) -> None:
        now = time.monotonic()
        for key in [k for k, bucket in self._buckets.items() if bucket.full(now)]:
            del self._buckets[key]
        while len(self._buckets) >= self.max_keys:
            self._buckets.popitem(last=False)
