"""The stage log: each stage's numbered events, shared by every hub process (issue 14, item 1).

`StageLog` is the protocol; `MemoryStageLog` keeps it in this process (the embedded default),
`RedisStageLog` in Redis (several processes, chosen by HUB_REDIS_URL). The node keeps a replica
of each stage it hosts by following the log (`hub/replica.py`; docs/decisions.md, "The stage log").
"""

from __future__ import annotations

from .base import (
    Appended,
    Deliver,
    Draft,
    Fenced,
    FenceTimeout,
    LogUnavailable,
    Position,
    Restarted,
    StageLog,
    Unseeded,
    draft_of,
    fresh_epoch,
)
from .memory import MemoryStageLog
from .redis_log import RedisStageLog


def open_stage_log(
    url: str, prefix: str = "upstage:", history_size: int = 2000, history_age: float = 600.0
) -> StageLog:
    """The stage log HUB_REDIS_URL asks for: in memory when `url` is empty, else on that Redis."""
    if not url:
        return MemoryStageLog(history_size, history_age)
    return RedisStageLog(url, prefix, history_size, history_age)


__all__ = [
    "Appended",
    "Deliver",
    "Draft",
    "FenceTimeout",
    "Fenced",
    "LogUnavailable",
    "MemoryStageLog",
    "Position",
    "RedisStageLog",
    "Restarted",
    "StageLog",
    "Unseeded",
    "draft_of",
    "fresh_epoch",
    "open_stage_log",
]
