"""The hub's side of the event archive: every accepted event to the batch writer, periodic
snapshots of each stage's live state, rebuilding stages at start, and epochs that change
exactly when continuity is lost (a crash, a sweep) and continue after a clean stop.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from storage import DEFAULT_COLOR, Event, Store
from storage.writer import EventWriter

from . import state as live
from .broker import now_ms

log = logging.getLogger("hub.persistence")
CLEAN_SHUTDOWN = "clean_shutdown"
GENERATION = "generation"
HUB_ID = "hub_id"


@dataclass
class Restored:
    """A stage as the store remembers it: where its history stands and its live state."""

    epoch: str
    seq: int
    state: dict[str, Any]
    recent: list[Event]


class Persistence:
    """Owns the EventWriter; the node calls it on every event and when it opens a stage."""

    def __init__(
        self,
        store: Store,
        writer: EventWriter,
        snapshot_every: int = 1000,
        history_size: int = 2000,
        limits: live.Limits = live.DEFAULT_LIMITS,
    ) -> None:
        self.store = store
        self.writer = writer
        self.snapshot_every = snapshot_every
        self.history_size = history_size
        self.limits = limits  # the live stages' limits: a rebuilt stage keeps what a live one keeps
        self.generation = "0"
        self.closing = False
        self._since_snapshot: dict[int, int] = {}

    async def start(self) -> None:
        """Begin a run: after anything but a clean stop, every stage gets a new epoch."""
        archive = self.store.archive
        flag = await archive.get_meta(CLEAN_SHUTDOWN)
        clean = flag in (None, "1")  # None: a new database, with nothing to lose
        generation = int(await archive.get_meta(GENERATION) or 0)
        if not clean:
            generation += 1
            await archive.set_meta(GENERATION, str(generation))
        self.generation = str(generation)
        await archive.set_meta(CLEAN_SHUTDOWN, "0")
        self.writer.start()
        if not clean:
            log.warning("previous run did not stop cleanly: stage epochs change", extra={"generation": generation})

    async def hub_id(self) -> str:
        """This hub's federation id (the `origin` of its events): generated once, kept in hub_meta."""
        archive = self.store.archive
        found = await archive.get_meta(HUB_ID)
        if found is None:
            found = uuid.uuid4().hex[:12]
            await archive.set_meta(HUB_ID, found)
        return found

    @property
    def full(self) -> bool:
        """True when the writer's buffer is at its bound: new publishes must be refused."""
        return self.closing or self.writer.backlog >= self.writer.max_buffer

    def epoch(self, base: str) -> str:
        return f"{base}.{self.generation}"

    async def restore(self, stage_id: int, default_color: str | None) -> Restored:
        """Rebuild a stage from its last snapshot plus the live events after it."""
        archive = self.store.archive
        snapshot = await archive.load_snapshot(stage_id)
        if snapshot is not None:
            base, state, seq = snapshot.epoch.split(".")[0], snapshot.state, snapshot.seq
        else:
            base, state, seq = self.new_base(), live.empty_state(default_color or DEFAULT_COLOR), 0
        last = max(seq, await archive.last_seq(stage_id))
        # The events after the snapshot rebuild the state; the last history_size rebuild the
        # history, so a client that reconnects across a clean restart still recovers exactly.
        events = await archive.live_events(stage_id, after_seq=min(seq, max(0, last - self.history_size)))
        for event in events:
            if event.seq > seq:
                state = live.apply(state, event.wire(), self.limits)
        if snapshot is None:
            self.writer.submit_snapshot(stage_id, self.epoch(base), last, state, now_ms())
        return Restored(self.epoch(base), last, state, events[-self.history_size :] if self.history_size else [])

    def record(self, event: Event, state: dict[str, Any], epoch: str) -> asyncio.Future[None]:
        """Hand an accepted event to the writer (raises BufferFull past its bound); snapshot now and then."""
        durable = self.writer.submit(event)
        count = self._since_snapshot.get(event.stage_id, 0) + 1
        if count >= self.snapshot_every:
            self.writer.submit_snapshot(event.stage_id, epoch, event.seq, state, event.at)
            count = 0
        self._since_snapshot[event.stage_id] = count
        return durable

    def snapshot(self, stage_id: int, epoch: str, seq: int, state: dict[str, Any]) -> None:
        self.writer.submit_snapshot(stage_id, epoch, seq, state, now_ms())
        self._since_snapshot[stage_id] = 0

    @staticmethod
    def new_base() -> str:
        return uuid.uuid4().hex[:10]

    async def stop(self, rooms: list[tuple[int, str, int, dict[str, Any]]]) -> None:
        """Snapshot every open stage, write everything, and mark the stop clean."""
        self.closing = True
        for stage_id, epoch, seq, state in rooms:
            self.snapshot(stage_id, epoch, seq, state)
        await self.writer.close()
        await self.store.archive.set_meta(CLEAN_SHUTDOWN, "1")
