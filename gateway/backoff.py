"""Exponential backoff with jitter for reconnecting to the broker and to the hub."""

from __future__ import annotations

import random


class Backoff:
    """Delays that double from `low` up to `high`, each drawn at 50-100 % so peers do not retry in step."""

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high
        self.failures = 0

    def next(self) -> float:
        delay = min(self.high, self.low * 2**self.failures)
        self.failures += 1
        return delay * random.uniform(0.5, 1.0)

    def reset(self) -> None:
        self.failures = 0
