"""The roster: presence across hub processes (issue 14): counts and performer rosters summed over
every process's heartbeated part of a stage, avatar holds claimed atomically, change notices.

`Roster` is the protocol; `MemoryRoster` keeps it in this process (the embedded default),
`RedisRoster` in Redis (several processes). `helpers.py` has what a node wires around it:
`part_of`, `Coalescer`, `Snapshots`; the node's side is `hub/attendance.py` (docs/decisions.md,
"The roster").
"""

from __future__ import annotations

from .base import Notice, Part, Performer, Roster, RosterUnavailable
from .helpers import Coalescer, Snapshots, part_of
from .memory import MemoryRoster
from .redis_roster import RedisRoster


def open_roster(
    url: str, prefix: str = "upstage:", node_id: str = "", ttl: float = 15.0, grace: float = 30.0
) -> Roster:
    """The roster HUB_REDIS_URL asks for: in memory when `url` is empty, else on that Redis."""
    if not url:
        return MemoryRoster(node_id, ttl=ttl, grace=grace)
    return RedisRoster(url, prefix, node_id, ttl=ttl, grace=grace)


__all__ = [
    "Coalescer",
    "MemoryRoster",
    "Notice",
    "Part",
    "Performer",
    "RedisRoster",
    "Roster",
    "RosterUnavailable",
    "Snapshots",
    "open_roster",
    "part_of",
]
