"""Guards for broker input that carries no `origin` (legacy clients, or anything that looks like
one): rate limits per stage and per claimed client, and the echo check that recognises this
gateway's own messages coming back through a bridge that strips MQTT v5 properties.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from typing import Any

from client.ratelimit import KeyedBuckets

ECHO_MEMORY = 10_000  # published messages remembered for the echo check (a fixed bound)


class LegacyLimits:
    """Token buckets for legacy input: one per stage (the hard bound) and one per client key.

    MQTT does not tell a subscriber who published, so the client key is what the payload claims
    (a chat's `user`); a message claiming nobody is held by the stage bucket alone. A rate of 0
    turns that limit off.
    """

    def __init__(self, rate: float, burst: float, stage_rate: float, stage_burst: float) -> None:
        self.clients = KeyedBuckets(rate, max(1.0, burst), max_keys=10_000) if rate > 0 else None
        self.stages = KeyedBuckets(stage_rate, max(1.0, stage_burst), max_keys=10_000) if stage_rate > 0 else None

    def allow(self, slug: str, payload: Any) -> bool:
        """Whether one more legacy message for `slug` is within the limits (it is then counted)."""
        user = payload.get("user") if isinstance(payload, dict) else None
        if self.clients is not None and isinstance(user, str) and user.strip():
            key = f"{slug}\x00{' '.join(user.split())[:100]}"
            if not self.clients.take(key):
                return False
        return self.stages is None or self.stages.take(slug)


class EchoGuard:
    """What this gateway published lately (a digest of topic and payload, `window` seconds, at
    most ECHO_MEMORY). A property-less message that matches one is this gateway's own message
    back through a bridge that strips MQTT v5 user properties; each publish excuses one echo."""

    def __init__(self, window: float, size: int = ECHO_MEMORY) -> None:
        self.window, self.size = window, size
        self._published: OrderedDict[bytes, tuple[float, int]] = OrderedDict()

    @staticmethod
    def _digest(topic: str, payload: bytes) -> bytes:
        return hashlib.blake2b(topic.encode() + b"\x00" + payload, digest_size=16).digest()

    def published(self, topic: str, payload: bytes) -> None:
        if self.window <= 0:
            return
        key = self._digest(topic, payload)
        _, count = self._published.pop(key, (0.0, 0))
        self._published[key] = (time.monotonic() + self.window, count + 1)
        while len(self._published) > self.size:
            self._published.popitem(last=False)

    def echo(self, topic: str, payload: bytes) -> bool:
        """Whether this message is one of ours coming back (and forget that one publish if so)."""
        if not self._published:
            return False
        now = time.monotonic()
        while self._published:  # expired entries are the oldest-refreshed; drop them first
            first = next(iter(self._published.values()))
            if first[0] >= now:
                break
            self._published.popitem(last=False)
        key = self._digest(topic, payload)
        held = self._published.get(key)
        if held is None:
            return False
        if held[1] > 1:
            self._published[key] = (held[0], held[1] - 1)
        else:
            del self._published[key]
        return True
