"""The hub's clock: event times are wall-clock milliseconds (the `at` of every event)."""

from __future__ import annotations

import time


def now_ms() -> int:
    return int(time.time() * 1000)
