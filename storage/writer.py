"""The batch writer: persists accepted events off the fan-out path, in order, through outages.

Events wait in one bounded FIFO and a background task writes them in batches (`Archive.append`);
each event's future resolves once it is durable. Nothing accepted is ever dropped: on a database
error the batch stays at the head and is retried with capped, jittered exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from .archive import Archive
from .records import BufferFull, Event, EventsUnwritten, Snapshot, StoreError, WriterClosed

log = logging.getLogger("storage.writer")

FIRST_BACKOFF = 0.05  # seconds before the first retry; doubles per failure up to `max_backoff`


@dataclass(frozen=True)
class _Waiting:
    """A snapshot waiting for the events it covers; `version` orders it among all submitted."""

    snapshot: Snapshot
    version: int


class EventWriter:
    """Writes submitted events in batches of up to `batch_size`, at least every `interval` seconds,
    holding at most `max_buffer` unwritten events."""

    def __init__(
        self,
        archive: Archive,
        batch_size: int = 1000,
        interval: float = 0.01,
        max_buffer: int = 50_000,
        close_timeout: float = 10.0,
        max_backoff: float = 2.0,
    ) -> None:
        self.archive = archive
        self.batch_size = batch_size
        self.interval = interval
        self.max_buffer = max_buffer
        self.close_timeout = close_timeout
        self.max_backoff = max_backoff
        self.failures = 0
        self.last_error: str | None = None
        self.healthy = True
        self._queue: deque[tuple[Event, asyncio.Future[None]]] = deque()
        self._snapshots: dict[int, _Waiting] = {}
        self._versions = itertools.count(1)
        self._submitted = 0
        self._written = 0
        self._streak = 0
        self._outage_began = 0.0
        self._flushing = 0
        self._closing = False
        self._wake = asyncio.Event()  # there is something to write
        self._urgent = asyncio.Event()  # write now, without waiting for `interval`
        self._progress = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._holding = False  # the background task holds the archive's connection open

    @property
    def backlog(self) -> int:
        """Submitted events not yet written."""
        return len(self._queue)

    def start(self) -> None:
        """Start the background task (idempotent); call from the running event loop."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="event-writer")

    def submit(self, event: Event) -> asyncio.Future[None]:
        """Queue an event; the future resolves when it is stored. Never blocks; raises BufferFull
        when `max_buffer` events already wait (refuse the publish) and WriterClosed after close()."""
        if self._closing:
            raise WriterClosed("the event writer is closing")
        if len(self._queue) >= self.max_buffer:
            raise BufferFull(f"{len(self._queue)} events are waiting to be stored")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((event, done))
        self._submitted += 1
        self._wake.set()
        if len(self._queue) >= self.batch_size:
            self._urgent.set()
        return done

    def submit_snapshot(self, stage_id: int, epoch: str, seq: int, state: dict[str, Any], at: int) -> None:
        """Store this snapshot once every submitted event of the stage with seq <= `seq` is stored;
        a newer snapshot of the same stage replaces one still waiting."""
        self._snapshots[stage_id] = _Waiting(Snapshot(stage_id, epoch, seq, state, at), next(self._versions))
        self._wake.set()

    async def flush(self) -> None:
        """Wait until everything submitted so far (events and snapshots) is stored."""
        if not self._running:
            raise StoreError("the event writer is not running")
        events, version = self._submitted, next(self._versions)
        self._flushing += 1
        self._urgent.set()
        self._wake.set()
        try:
            async with self._progress:
                await self._progress.wait_for(lambda: self._flushed(events, version) or not self._running)
        finally:
            self._flushing -= 1
        if not self._flushed(events, version):
            raise EventsUnwritten(len(self._queue))

    async def close(self) -> None:
        """Stop taking events, write everything, stop. If the database does not come back within
        `close_timeout` seconds, fail the unwritten events' futures and raise EventsUnwritten."""
        self._closing = True
        if not self._queue and not self._snapshots and self._task is None:
            return
        self.start()
        try:
            async with asyncio.timeout(self.close_timeout):
                await self.flush()
        except TimeoutError:
            unwritten = len(self._queue)
            log.error("event writer gave up with events unwritten", extra={"unwritten": unwritten})
            await self._stop()
            self._fail_waiting(EventsUnwritten(unwritten))
            raise EventsUnwritten(unwritten) from None
        await self._stop()

    # the background task

    async def _run(self) -> None:
        # The archive's connection stays open between rounds (see Archive.held); after a failed
        # round it is let go, so the retry starts on a fresh one.
        async with contextlib.AsyncExitStack() as connection:
            while True:
                await self._wake.wait()
                if not self._urgent.is_set():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.interval):
                            await self._urgent.wait()
                try:
                    if not self._holding:
                        await connection.enter_async_context(self.archive.held())
                        self._holding = True
                    await self._write_round()
                except Exception as exc:  # any driver's error: keep everything, retry later
                    self._holding = False
                    with contextlib.suppress(Exception):
                        await connection.aclose()
                    await self._failed(exc)
                    continue
                await self._after_round()

    async def _after_round(self) -> None:
        self._recovered()
        async with self._progress:
            self._progress.notify_all()
        if not self._queue and not self._snapshots:
            self._wake.clear()
        if len(self._queue) < self.batch_size and not self._flushing:
            self._urgent.clear()

    async def _write_round(self) -> None:
        """Write the head batch, then every waiting snapshot whose events are all stored."""
        batch = list(itertools.islice(self._queue, self.batch_size))
        if batch:
            await self.archive.append([event for event, _ in batch])
            for _ in batch:
                _, done = self._queue.popleft()
                if not done.done():
                    done.set_result(None)
            self._written += len(batch)
        for waiting in self._due_snapshots():
            snap = waiting.snapshot
            await self.archive.save_snapshot(snap.stage_id, snap.epoch, snap.seq, snap.state, snap.at)
            if self._snapshots.get(snap.stage_id) is waiting:
                del self._snapshots[snap.stage_id]

    def _due_snapshots(self) -> list[_Waiting]:
        if not self._snapshots:
            return []
        waiting = self._snapshots
        blocked = {
            e.stage_id for e, _ in self._queue if e.stage_id in waiting and e.seq <= waiting[e.stage_id].snapshot.seq
        }
        return [s for stage_id, s in waiting.items() if stage_id not in blocked]

    @property
    def _running(self) -> bool:
        return self._task is not None and not self._task.done()

    def _flushed(self, events: int, version: int) -> bool:
        """Whether the first `events` submitted events and every snapshot older than `version` are stored."""
        return self._written >= events and all(s.version > version for s in self._snapshots.values())

    async def _failed(self, exc: Exception) -> None:
        self.failures += 1
        self._streak += 1
        self.healthy = False
        self.last_error = f"{type(exc).__name__}: {exc}"
        delay = min(self.max_backoff, FIRST_BACKOFF * 2 ** (self._streak - 1)) * random.uniform(0.5, 1.0)
        if self._streak == 1:
            self._outage_began = time.monotonic()
        if self._streak == 1 or self._streak % 20 == 0:
            log.warning(
                "event archive write failed; keeping the events and retrying",
                extra={"error": self.last_error, "backlog": len(self._queue), "attempt": self._streak},
            )
        await asyncio.sleep(delay)

    def _recovered(self) -> None:
        if self._streak:
            log.info(
                "event archive writes recovered",
                extra={"backlog": len(self._queue), "outage_seconds": round(time.monotonic() - self._outage_began, 3)},
            )
        self._streak = 0
        self.healthy = True

    async def _stop(self) -> None:
        task, self._task = self._task, None
        self._holding = False
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        async with self._progress:
            self._progress.notify_all()

    def _fail_waiting(self, error: StoreError) -> None:
        while self._queue:
            _, done = self._queue.popleft()
            if not done.done():
                done.set_exception(error)
                done.exception()  # mark retrieved: nobody may be awaiting it, and it is logged above
        self._snapshots.clear()
