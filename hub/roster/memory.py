"""The in-process roster: the Redis roster's rules in this process's memory (the embedded default).

Views made with `sibling(node_id)` share one store, as hub processes share one Redis: that is how
tests exercise several processes without Redis. The rules mirror `scripts.py` line for line.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from .base import Beating, Notice, Part, RosterUnavailable, assemble

log = logging.getLogger(__name__)


@dataclass
class _Stage:
    """One stage: parts by node id (with when they expire), holds, and dormant holds' deadlines."""

    parts: dict[str, tuple[Part, float]] = field(default_factory=dict)
    holds: dict[str, str] = field(default_factory=dict)
    grace: dict[str, float] = field(default_factory=dict)

    def live_sessions(self) -> set[str]:
        return {p.session for part, _ in self.parts.values() for p in part.performers}

    def dormant(self, sessions: list[str], until: float) -> None:
        """Sessions in no live part any more keep their holds until `until`."""
        live = self.live_sessions()
        for session in sessions:
            if session not in live and session in self.holds:
                self.grace[session] = until

    def sweep(self, now: float, grace: float) -> bool:
        """Drop expired parts (their holds get the grace) and holds past their grace; True when a
        part went (that is a change watchers are told of)."""
        gone = [node for node, (_, expires) in self.parts.items() if expires <= now]
        for node in gone:
            part, _ = self.parts.pop(node)
            self.dormant([p.session for p in part.performers], now + grace)
        due = [session for session, until in self.grace.items() if until <= now]
        if due:
            live = self.live_sessions()
            for session in due:
                del self.grace[session]
                if session not in live:
                    self.holds.pop(session, None)
        return bool(gone)


class _Shared:
    """What all views of one memory roster share: the stages and who watches them."""

    def __init__(self) -> None:
        self.stages: dict[int, _Stage] = {}
        self.watchers: dict[int, dict[int, Notice]] = {}  # stage id -> view id -> notice

    def notify(self, stage_id: int) -> None:
        """Tell every watcher of the stage, soon (never inside the call that changed it), as the
        Redis engine's reader task does."""
        loop = asyncio.get_running_loop()
        for notice in list(self.watchers.get(stage_id, {}).values()):
            loop.call_soon(self._call, notice, stage_id)

    @staticmethod
    def _call(notice: Notice, stage_id: int) -> None:
        try:
            notice(stage_id)
        except Exception:  # one watcher's failure must not stop the others
            log.exception("roster watcher failed", extra={"stage_id": stage_id})


class MemoryRoster(Beating):
    """A roster in this process's memory; see `RedisRoster` for `ttl` and `grace`."""

    def __init__(
        self, node_id: str = "", *, ttl: float = 15.0, grace: float = 30.0, _shared: _Shared | None = None
    ) -> None:
        self.node_id = node_id or secrets.token_hex(6)
        self.ttl, self.grace = ttl, grace
        self._shared = _Shared() if _shared is None else _shared
        self._view = id(self)
        self._start_beating()

    def sibling(self, node_id: str = "") -> MemoryRoster:
        """Another process's view of this same roster (same ttl and grace)."""
        return MemoryRoster(node_id, ttl=self.ttl, grace=self.grace, _shared=self._shared)

    def _stage(self, stage_id: int) -> tuple[_Stage, float, bool]:
        """The stage, the time, and whether the sweep changed anything."""
        stage = self._shared.stages.setdefault(stage_id, _Stage())
        now = time.monotonic()
        return stage, now, stage.sweep(now, self.grace)

    def _finish(self, stage_id: int, stage: _Stage, changed: bool) -> None:
        if changed:
            self._shared.notify(stage_id)
        if not (stage.parts or stage.holds):
            self._shared.stages.pop(stage_id, None)

    async def _touch(self, stage_id: int, part: Part | None) -> None:
        stage, now, changed = self._stage(stage_id)
        if part is not None:
            old = stage.parts.get(self.node_id)
            if part.empty:
                if old is not None:
                    del stage.parts[self.node_id]
                    stage.dormant([p.session for p in old[0].performers], now + self.grace)
                    changed = True
            else:
                stage.parts[self.node_id] = (part, now + self.ttl)
                if old is None or old[0] != part:
                    changed = True
                    kept = {p.session for p in part.performers}
                    for session in kept:
                        stage.grace.pop(session, None)  # back within the grace: the hold is theirs again
                    if old is not None:
                        stage.dormant([p.session for p in old[0].performers if p.session not in kept], now + self.grace)
        self._finish(stage_id, stage, changed)

    async def hold(self, stage_id: int, session: str, avatar_id: str | None) -> None:
        if self._closed:
            raise RosterUnavailable("the roster is closed")
        stage, now, changed = self._stage(stage_id)
        if avatar_id is None:
            changed = stage.holds.pop(session, None) is not None or changed
            stage.grace.pop(session, None)
        else:
            for other in [s for s, a in stage.holds.items() if a == avatar_id and s != session]:
                del stage.holds[other]
                stage.grace.pop(other, None)
                changed = True
            if stage.holds.get(session) != avatar_id:
                stage.holds[session] = avatar_id
                changed = True
            if session not in stage.live_sessions():
                stage.grace[session] = now + self.grace
        self._finish(stage_id, stage, changed)

    async def snapshot(self, stage_id: int) -> dict[str, Any]:
        stage, _, changed = self._stage(stage_id)
        message = assemble((part for _, (part, _) in sorted(stage.parts.items())), dict(stage.holds))
        self._finish(stage_id, stage, changed)
        return message

    async def watch(self, stage_id: int, notice: Notice) -> None:
        if self._closed:
            raise RosterUnavailable("the roster is closed")
        self._shared.watchers.setdefault(stage_id, {})[self._view] = notice
        self._watched.add(stage_id)
        self._ensure_beating()

    async def unwatch(self, stage_id: int) -> None:
        self._watched.discard(stage_id)
        watchers = self._shared.watchers.get(stage_id)
        if watchers is not None:
            watchers.pop(self._view, None)
            if not watchers:
                del self._shared.watchers[stage_id]

    async def close(self, withdraw: bool = True) -> None:
        watched = list(self._watched)
        await self._stop_beating(withdraw)
        for stage_id in watched:
            await self.unwatch(stage_id)
