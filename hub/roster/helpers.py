"""What a node needs around the roster: its part from the local `StagePresence`, coalesced sends,
and the last snapshot kept for a Redis outage (presence freezes rather than empties)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..presence import StagePresence
from .base import Part, Performer, Roster, RosterUnavailable

log = logging.getLogger(__name__)


def part_of(presence: StagePresence) -> Part:
    """This process's part of a stage: its audience by number, its performers in join order."""
    performers = tuple(Performer(m.session, m.nickname, m.role) for m in presence.performers.values())
    return Part(len(presence.members) - len(performers), performers)


class Snapshots:
    """Reads presence through the roster and keeps each stage's last answer: while the roster is
    unreachable a stage's presence stays as it was last seen (or `fallback()`, e.g. this process's
    own `StagePresence.snapshot()`, before any answer) instead of dropping to nobody."""

    def __init__(self, roster: Roster) -> None:
        self.roster = roster
        self.last: dict[int, dict[str, Any]] = {}

    async def get(self, stage_id: int, fallback: Callable[[], dict[str, Any]] | None = None) -> dict[str, Any]:
        try:
            message = await self.roster.snapshot(stage_id)
        except RosterUnavailable as exc:
            log.warning("roster unreachable; presence frozen", extra={"stage_id": stage_id, "error": str(exc)})
            kept = self.last.get(stage_id)
            if kept is not None:
                return kept
            return fallback() if fallback is not None else {"players": 0, "audience": 0, "roster": []}
        self.last[stage_id] = message
        return message

    def forget(self, stage_id: int) -> None:
        self.last.pop(stage_id, None)


class Coalescer:
    """At most one `send(stage_id)` per stage per `interval` (trailing edge: changes within the
    interval make one send, after it), and never two sends of one stage at once, however long a
    send takes (a snapshot waits on Redis)."""

    def __init__(self, interval: float, send: Callable[[int], Awaitable[None]]) -> None:
        self.interval = interval
        self.send = send
        self._dirty: set[int] = set()
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def changed(self, stage_id: int) -> None:
        """Something changed on the stage (here, or a roster notice from another process)."""
        self._dirty.add(stage_id)
        if stage_id not in self._tasks:
            self._tasks[stage_id] = asyncio.create_task(self._run(stage_id), name=f"presence-{stage_id}")

    async def _run(self, stage_id: int) -> None:
        try:
            while stage_id in self._dirty:
                await asyncio.sleep(self.interval)
                self._dirty.discard(stage_id)
                try:
                    await self.send(stage_id)
                except Exception:  # a failed send must not stop the next ones
                    log.exception("presence send failed", extra={"stage_id": stage_id})
        finally:
            self._tasks.pop(stage_id, None)

    async def cancel(self, stage_id: int) -> None:
        """Drop the stage's pending send (a stage unloaded or deleted)."""
        self._dirty.discard(stage_id)
        task = self._tasks.pop(stage_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close(self) -> None:
        for stage_id in list(self._tasks):
            await self.cancel(stage_id)
