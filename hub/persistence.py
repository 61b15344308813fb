"""The hub's side of the event archive: every accepted event to the batch writer, periodic
snapshots of each stage's live state, reading stages back from the store, and the epoch a
stage starts in when no stage log holds it: the stored one after a clean stop, a new one after
anything else (a crash, a sweep).
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
from .clock import now_ms

log = logging.getLogger("hub.persistence")
CLEAN_SHUTDOWN = "clean_shutdown"
GENERATION = "generation"
HUB_ID = "hub_id"


@dataclass
class Restored:
    """A stage as the store remembers it: its state holds every event up to `seq`; `epoch` is the
    one its snapshot was taken in ("" for none); `recent` are its last stored events up to `seq`;
    `stored` is the highest seq stored (past `seq` when `contiguous` stopped at a missing event)."""

    epoch: str
    seq: int
    state: dict[str, Any]
    recent: list[Event]
    stored: int


class Persistence:
    """Owns the EventWriter; the node calls it on every event and when it opens a stage."""

    def __init__(
        self,
        store: Store,
        writer: EventWriter,
        snapshot_every: int = 1000,
        history_size: int = 2000,
        limits: live.Limits = live.DEFAULT_LIMITS,
        shared: bool = False,
    ) -> None:
        self.store = store
        self.writer = writer
        self.snapshot_every = snapshot_every
        self.history_size = history_size
        self.limits = limits  # the live stages' limits: a rebuilt stage keeps what a live one keeps
        # On a shared stage log the log holds the epochs; the stopped-cleanly flag (one per
        # database) means nothing when several processes use the database.
        self.shared = shared
        self.generation = "0"
        self.closing = False

    async def start(self) -> None:
        """Begin a run: after anything but a clean stop, every stage gets a new epoch (when this
        process alone numbers its stages)."""
        archive = self.store.archive
        if self.shared:
            self.writer.start()
            return
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

    async def restore(self, stage_id: int, default_color: str | None, contiguous: bool = False) -> Restored:
        """Rebuild a stage from its last snapshot plus the live events after it; with `contiguous`,
        only up to the first missing seq (another process's batch not written yet)."""
        archive = self.store.archive
        snapshot = await archive.load_snapshot(stage_id)
        if snapshot is not None:
            epoch, state, seq = snapshot.epoch, snapshot.state, snapshot.seq
        else:
            epoch, state, seq = "", live.empty_state(default_color or DEFAULT_COLOR), 0
        last = max(seq, await archive.last_seq(stage_id))
        # The events after the snapshot rebuild the state; the last history_size rebuild the
        # history, so a client that reconnects across a clean restart still recovers exactly.
        events = await archive.live_events(stage_id, after_seq=min(seq, max(0, last - self.history_size)))
        for event in events:
            if event.seq > seq:
                if contiguous and event.seq != seq + 1:
                    break
                state, seq = live.apply(state, event.wire(), self.limits), event.seq
        seq = seq if contiguous else last
        recent = [event for event in events if event.seq <= seq]
        return Restored(epoch, seq, state, recent[-self.history_size :] if self.history_size else [], last)

    def seed_epoch(self, restored: Restored) -> str:
        """The epoch a stage starts in when only this process numbers it: its stored epoch's base
        in this run's generation (the same after a clean stop, a new one after a crash)."""
        base = restored.epoch.split(".")[0] if restored.epoch else self.new_base()
        return self.epoch(base)

    def record(self, event: Event) -> asyncio.Future[None]:
        """Hand an accepted event to the writer (raises BufferFull past its bound)."""
        return self.writer.submit(event)

    def observe(self, stage_id: int, epoch: str, seq: int, state: dict[str, Any], at: int) -> None:
        """A replica folded event `seq`: snapshot the state it describes now and then (every
        process hosting the stage stores the same snapshot at the same seq)."""
        if self.snapshot_every > 0 and seq % self.snapshot_every == 0:
            self.writer.submit_snapshot(stage_id, epoch, seq, state, at)

    def snapshot(self, stage_id: int, epoch: str, seq: int, state: dict[str, Any]) -> None:
        self.writer.submit_snapshot(stage_id, epoch, seq, state, now_ms())

    @staticmethod
    def new_base() -> str:
        return uuid.uuid4().hex[:10]

    async def stop(self, rooms: list[tuple[int, str, int, dict[str, Any]]]) -> None:
        """Snapshot every open stage, write everything, and mark the stop clean."""
        self.closing = True
        for stage_id, epoch, seq, state in rooms:
            self.snapshot(stage_id, epoch, seq, state)
        await self.writer.close()
        if not self.shared:
            await self.store.archive.set_meta(CLEAN_SHUTDOWN, "1")
