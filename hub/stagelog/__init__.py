"""The stage log: each stage's numbered events, shared by every hub process (issue 14, item 1).

`StageLog` is the protocol; `MemoryStageLog` keeps it in this process (the embedded default),
`RedisStageLog` in Redis (several processes, chosen by HUB_REDIS_URL). The node does not use it
yet: the next step of issue 14 replaces `hub/broker.py`'s `Broker` with it (docs/decisions.md,
"The stage log").
"""

from __future__ import annotations

from .base import Deliver, Draft, FenceTimeout, LogUnavailable, Position, StageLog, draft_of, fresh_epoch
from .memory import MemoryStageLog
from .redis_log import RedisStageLog

__all__ = [
    "Deliver",
    "Draft",
    "FenceTimeout",
    "LogUnavailable",
    "MemoryStageLog",
    "Position",
    "RedisStageLog",
    "StageLog",
    "draft_of",
    "fresh_epoch",
]
