"""The in-process stage log behind the `StageLog` protocol (the embedded default, one process).

Several `MemoryStageLog` views made with `sibling()` share one log, as several hub processes
share one Redis: that is how tests (tests/test_two_nodes.py: two nodes in one process)
exercise the multi-process behaviour without Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from storage import Event

from .base import (
    Appended,
    Deliver,
    Draft,
    Fenced,
    FenceTimeout,
    Position,
    Restarted,
    Unseeded,
    draft_of,
    encode,
    fresh_epoch,
)

log = logging.getLogger(__name__)


def wall_ms() -> int:
    return int(time.time() * 1000)


def _weight(events: list[Event], most: int) -> int:
    """Bytes of the events' JSON bodies (as Redis stores them), counted until past `most`."""
    total = 0
    for event in events:
        total += len(encode(draft_of(event)))
        if total > most:
            break
    return total


@dataclass
class _Stage:
    """One stage's log: position, history (kept time in ms, event) and idempotency keys."""

    epoch: str
    seq: int
    history: deque[tuple[int, Event]] = field(default_factory=deque)
    keys: OrderedDict[str, tuple[int, Event, str]] = field(default_factory=OrderedDict)


class _Shared:
    """What all views of one memory log share: the stages and who follows them."""

    def __init__(self, history_size: int, history_age: float) -> None:
        self.history_size = history_size
        self.history_age_ms = int(history_age * 1000)
        self.stages: dict[int, _Stage] = {}
        self.followers: dict[int, dict[int, tuple[Deliver, Restarted | None]]] = {}  # stage -> view -> callbacks
        self.views = 0
        self.fences: dict[int, asyncio.Lock] = {}
        self.holders: dict[int, str] = {}  # stage id -> the token of its fence's holder

    def trim(self, stage: _Stage, now: int) -> None:
        """Drop history past its size or age, and keys past the history's age (or its size)."""
        horizon = now - self.history_age_ms
        while stage.history and (len(stage.history) > self.history_size or stage.history[0][0] < horizon):
            stage.history.popleft()
        while stage.keys and (len(stage.keys) > self.history_size or next(iter(stage.keys.values()))[0] < horizon):
            stage.keys.popitem(last=False)


class MemoryStageLog:
    """A stage log in this process's memory; history bounded by `history_size` events and
    `history_age` seconds (HUB_HISTORY_SIZE, HUB_HISTORY_AGE)."""

    def __init__(
        self,
        history_size: int = 2000,
        history_age: float = 600.0,
        *,
        create_unknown: bool = False,
        _shared: _Shared | None = None,
    ) -> None:
        self._shared = _Shared(history_size, history_age) if _shared is None else _shared
        self._shared.views += 1
        self._view = self._shared.views
        self.create_unknown = create_unknown

    @property
    def shared(self) -> bool:
        """True once another view of this log exists (another "process" may append to it)."""
        return self._shared.views > 1

    def sibling(self) -> MemoryStageLog:
        """Another view of this same log (as another process on the same Redis would be)."""
        return MemoryStageLog(create_unknown=self.create_unknown, _shared=self._shared)

    async def append(
        self, stage_id: int, draft: Draft, key: str | None = None, fence: str | None = None
    ) -> Appended:
        shared = self._shared
        now = wall_ms()
        stage = shared.stages.get(stage_id)
        if stage is None:
            if not self.create_unknown:
                raise Unseeded(f"the stage log holds nothing of stage {stage_id}")
            stage = shared.stages[stage_id] = _Stage(fresh_epoch(), 0)
        shared.trim(stage, now)
        if key is not None and key in stage.keys:
            _, first, first_epoch = stage.keys[key]
            return Appended(first, first_epoch, duplicate=True)
        holder = shared.holders.get(stage_id)
        if holder is not None and holder != fence:
            raise Fenced(f"stage {stage_id} is fenced (a sweep)")
        stage.seq += 1
        event = draft.numbered(stage_id, stage.seq)
        stage.history.append((now, event))
        if key is not None:
            stage.keys[key] = (now, event, stage.epoch)
        shared.trim(stage, now)
        for deliver, _ in list(shared.followers.get(stage_id, {}).values()):
            try:
                deliver(event, stage.epoch)
            except Exception:  # one follower's failure is not the append's
                log.exception("stage log follower failed", extra={"stage_id": stage_id, "seq": event.seq})
        return Appended(event, stage.epoch)

    async def recall(self, stage_id: int, key: str) -> Appended | None:
        stage = self._shared.stages.get(stage_id)
        if stage is None:
            return None
        self._shared.trim(stage, wall_ms())
        if key not in stage.keys:
            return None
        _, first, first_epoch = stage.keys[key]
        return Appended(first, first_epoch, duplicate=True)

    async def read(self, stage_id: int, since: Position, most: int = 0) -> list[Event] | None:
        stage = self._shared.stages.get(stage_id)
        if stage is None or since.epoch != stage.epoch or since.seq > stage.seq or since.seq < 0:
            return None
        if since.seq == stage.seq:
            return []
        self._shared.trim(stage, wall_ms())
        if not stage.history or stage.history[0][1].seq > since.seq + 1:
            return None
        events = [event for _, event in stage.history if event.seq > since.seq]
        if most > 0 and _weight(events, most) > most:
            return None
        return events

    async def position(self, stage_id: int) -> Position | None:
        stage = self._shared.stages.get(stage_id)
        return None if stage is None else Position(stage.epoch, stage.seq)

    async def seed(
        self, stage_id: int, position: Position, recent: list[Event], keys: dict[int, str] | None = None
    ) -> Position:
        stage = self._shared.stages.get(stage_id)
        if stage is not None:
            return Position(stage.epoch, stage.seq)
        stage = self._shared.stages[stage_id] = _Stage(position.epoch, position.seq)
        for event in sorted(recent, key=lambda e: e.seq):
            if event.seq <= position.seq:  # a stored event is kept as old as it is
                stage.history.append((event.at, event))
                key = (keys or {}).get(event.seq)
                if key:
                    stage.keys[key] = (event.at, event, position.epoch)
        self._shared.trim(stage, wall_ms())
        return position

    async def new_epoch(self, stage_id: int, epoch: str) -> Position:
        stage = self._shared.stages.get(stage_id)
        if stage is None:
            stage = self._shared.stages[stage_id] = _Stage(epoch, 0)
        stage.epoch = epoch
        stage.history.clear()
        position = Position(stage.epoch, stage.seq)
        for _, restarted in list(self._shared.followers.get(stage_id, {}).values()):
            if restarted is not None:
                try:
                    restarted(position)
                except Exception:
                    log.exception("stage log follower failed", extra={"stage_id": stage_id})
        return position

    async def follow(
        self,
        stage_id: int,
        deliver: Deliver,
        restarted: Restarted | None = None,
        resumed: Callable[[], None] | None = None,
    ) -> None:  # in memory, a subscription never breaks: `resumed` is never called
        self._shared.followers.setdefault(stage_id, {})[self._view] = (deliver, restarted)

    async def unfollow(self, stage_id: int) -> None:
        followers = self._shared.followers.get(stage_id)
        if followers is not None:
            followers.pop(self._view, None)
            if not followers:
                del self._shared.followers[stage_id]

    @contextlib.asynccontextmanager
    async def fence(self, stage_id: int, timeout: float = 10.0) -> AsyncIterator[str]:
        lock = self._shared.fences.setdefault(stage_id, asyncio.Lock())
        try:
            async with asyncio.timeout(timeout):
                await lock.acquire()
        except TimeoutError:
            raise FenceTimeout(f"stage {stage_id} is fenced by another holder") from None
        token = self._shared.holders[stage_id] = secrets.token_hex(8)
        try:
            yield token
        finally:
            del self._shared.holders[stage_id]
            lock.release()

    async def drop(self, stage_id: int) -> None:
        self._shared.stages.pop(stage_id, None)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        for stage_id in [s for s, views in self._shared.followers.items() if self._view in views]:
            await self.unfollow(stage_id)
