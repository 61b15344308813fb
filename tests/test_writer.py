"""The batch writer on SQLite and Postgres: order, batching, outages, the bound, snapshots, flush, close."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import pytest

from storage import Archive, BufferFull, Event, EventsUnwritten, EventWriter, Stage, Store, StoreError, WriterClosed
from tests.dbs import admin_execute, database_name, make_event
from tests.present import present

MakeStage = Callable[[str], Awaitable[Stage]]


class FlakyArchive(Archive):
    """The real archive, whose writes fail while `down` is set; it logs what it stored, in order."""

    def __init__(self, real: Archive) -> None:
        super().__init__(real.db, real.dialect)
        self.down = False
        self.log: list[tuple[str, Any]] = []

    async def append(self, events: Sequence[Event]) -> None:
        if self.down:
            raise ConnectionError("database unreachable (test)")
        await super().append(events)
        self.log.append(("events", [(e.stage_id, e.seq) for e in events]))

    async def save_snapshot(self, stage_id: int, epoch: str, seq: int, state: dict[str, Any], at: int) -> None:
        if self.down:
            raise ConnectionError("database unreachable (test)")
        await super().save_snapshot(stage_id, epoch, seq, state, at)
        self.log.append(("snapshot", (stage_id, seq)))


@contextlib.asynccontextmanager
async def running(writer: EventWriter) -> AsyncIterator[EventWriter]:
    writer.start()
    try:
        yield writer
    finally:
        with contextlib.suppress(EventsUnwritten):
            async with asyncio.timeout(30):
                await writer.close()


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_ten_thousand_events_are_all_stored_once_in_seq_order(store: Store, make_stage: MakeStage) -> None:
    one, two = await make_stage("one"), await make_stage("two")
    flaky = FlakyArchive(store.archive)
    async with running(EventWriter(flaky, batch_size=500, interval=0.005)) as writer:
        futures = []
        for n in range(1, 5001):
            futures.append(writer.submit(make_event(one.id, n)))
            futures.append(writer.submit(make_event(two.id, n)))
            if n % 700 == 0:
                await asyncio.sleep(0)  # the publisher yields now and then, as the hub does
        async with asyncio.timeout(60):
            await asyncio.gather(*futures)
        assert writer.backlog == 0 and writer.failures == 0 and writer.healthy
    for stage in (one, two):
        assert [e.seq for e in await store.archive.live_events(stage.id)] == list(range(1, 5001))
    batches = [len(batch) for kind, batch in flaky.log if kind == "events"]
    assert sum(batches) == 10_000 and max(batches) <= 500 and len(batches) >= 20


async def test_a_lone_event_is_written_within_the_interval(store: Store, make_stage: MakeStage) -> None:
    stage = await make_stage("show")
    async with running(EventWriter(store.archive, batch_size=1000, interval=0.05)) as writer:
        started = time.monotonic()
        async with asyncio.timeout(5):
            await writer.submit(make_event(stage.id, 1))
        assert time.monotonic() - started < 1.0
    assert len(await store.archive.live_events(stage.id)) == 1


async def test_an_outage_keeps_every_event_and_refuses_only_past_the_bound(
    store: Store, make_stage: MakeStage
) -> None:
    stage = await make_stage("show")
    flaky = FlakyArchive(store.archive)
    async with running(EventWriter(flaky, batch_size=50, interval=0.005, max_buffer=300, max_backoff=0.2)) as writer:
        first = [writer.submit(make_event(stage.id, n)) for n in range(1, 101)]
        await asyncio.gather(*first)
        flaky.down = True
        waiting = [writer.submit(make_event(stage.id, n)) for n in range(101, 401)]  # exactly the bound
        await wait_until(lambda: writer.failures >= 3)
        assert not writer.healthy and "unreachable" in (writer.last_error or "")
        assert writer.backlog == 300 and not any(f.done() for f in waiting)
        with pytest.raises(BufferFull):
            writer.submit(make_event(stage.id, 401))
        assert writer.backlog == 300

        flaky.down = False
        async with asyncio.timeout(10):
            await asyncio.gather(*waiting)
        assert writer.healthy and writer.backlog == 0
        await writer.submit(make_event(stage.id, 401))
    assert [e.seq for e in await store.archive.live_events(stage.id)] == list(range(1, 402))


@contextlib.asynccontextmanager
async def database_outage(store: Store) -> AsyncIterator[None]:
    """Make the real database refuse writes: Postgres refuses connections and cuts the open ones;
    SQLite is write-locked by another connection (readers may still look)."""
    if store.dialect == "postgresql":
        name = database_name(store.url)
        await admin_execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        await admin_execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
        try:
            yield
        finally:
            await admin_execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        return
    lock = sqlite3.connect(store.url.split(":///", 1)[1], isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        lock.execute("ROLLBACK")
        lock.close()


async def test_a_real_database_outage_loses_nothing_acked(store: Store, make_stage: MakeStage) -> None:
    """Postgres stopped mid-show (connections cut, mid-write too) or SQLite locked: every event is
    stored once the database is back, and no future resolved before its event was stored."""
    stage = await make_stage("show")
    futures: list[asyncio.Future[None]] = []
    async with running(EventWriter(store.archive, batch_size=100, interval=0.005, max_backoff=0.5)) as writer:

        async def publish(until: asyncio.Event) -> None:
            while not until.is_set():
                futures.extend(writer.submit(make_event(stage.id, len(futures) + 1)) for _ in range(20))
                await asyncio.sleep(0.01)

        stop = asyncio.Event()
        publisher = asyncio.create_task(publish(stop))
        await wait_until(lambda: sum(f.done() for f in futures) >= 200)
        async with database_outage(store):
            # SQLite waits out its 5 s busy timeout before failing, Postgres fails at once.
            await wait_until(lambda: writer.failures >= 1, timeout=20)
            await asyncio.sleep(0.3)
            assert not writer.healthy and writer.backlog > 0
            resolved = sum(f.done() for f in futures)
            stored = await asyncio.get_running_loop().run_in_executor(None, count_rows, store, stage.id)
            assert stored is None or stored == resolved
        await asyncio.sleep(0.2)
        stop.set()
        await publisher
        async with asyncio.timeout(30):
            await asyncio.gather(*futures)
        assert writer.healthy and writer.backlog == 0
    assert [e.seq for e in await store.archive.live_events(stage.id)] == list(range(1, len(futures) + 1))


def count_rows(store: Store, stage_id: int) -> int | None:
    """Events stored, read past the outage on SQLite (None on Postgres, which refuses us too)."""
    if store.dialect != "sqlite":
        return None
    with contextlib.closing(sqlite3.connect(store.url.split(":///", 1)[1])) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM events WHERE stage_id = ?", (stage_id,)).fetchone()[0])


async def test_a_snapshot_waits_for_its_events_and_only_the_newest_is_kept(
    store: Store, make_stage: MakeStage
) -> None:
    one, two = await make_stage("one"), await make_stage("two")
    flaky = FlakyArchive(store.archive)
    async with running(EventWriter(flaky, batch_size=10, interval=0.005, max_backoff=0.1)) as writer:
        flaky.down = True
        for n in range(1, 31):
            writer.submit(make_event(one.id, n))
        writer.submit_snapshot(one.id, "e", 20, {"old": True}, 1)
        writer.submit_snapshot(one.id, "e", 30, {"new": True}, 2)
        writer.submit_snapshot(two.id, "e", 0, {"two": True}, 3)
        await wait_until(lambda: writer.failures >= 2)
        assert await store.archive.load_snapshot(one.id) is None
        flaky.down = False
        async with asyncio.timeout(10):
            await writer.flush()

    snapshot = await store.archive.load_snapshot(one.id)
    assert snapshot is not None and (snapshot.seq, snapshot.state) == (30, {"new": True})
    assert present(await store.archive.load_snapshot(two.id)).state == {"two": True}
    order = [(kind, what) for kind, what in flaky.log]
    saved_one = order.index(("snapshot", (one.id, 30)))
    written_before = [seq for kind, batch in order[:saved_one] if kind == "events" for _, seq in batch]
    assert sorted(written_before) == list(range(1, 31))
    assert ("snapshot", (one.id, 20)) not in order


async def test_flush_waits_for_everything_submitted(store: Store, make_stage: MakeStage) -> None:
    stage = await make_stage("show")
    writer = EventWriter(store.archive, batch_size=10_000, interval=60.0)
    with pytest.raises(StoreError):
        await writer.flush()  # not started
    async with running(writer):
        futures = [writer.submit(make_event(stage.id, n)) for n in range(1, 101)]
        writer.submit_snapshot(stage.id, "e", 100, {"s": 1}, 0)
        async with asyncio.timeout(10):
            await writer.flush()
        assert all(f.done() for f in futures) and writer.backlog == 0
        assert len(await store.archive.live_events(stage.id)) == 100
        snapshot = await store.archive.load_snapshot(stage.id)
        assert snapshot is not None and (snapshot.seq, snapshot.state) == (100, {"s": 1})


async def test_close_writes_everything_then_refuses(store: Store, make_stage: MakeStage) -> None:
    stage = await make_stage("show")
    writer = EventWriter(store.archive, interval=60.0)
    writer.start()
    futures = [writer.submit(make_event(stage.id, n)) for n in range(1, 51)]
    await writer.close()
    assert all(f.done() and f.exception() is None for f in futures)
    assert len(await store.archive.live_events(stage.id)) == 50
    with pytest.raises(WriterClosed):
        writer.submit(make_event(stage.id, 51))
    await writer.close()  # closing twice is harmless


async def test_close_gives_up_after_its_timeout_and_says_how_many_were_lost(
    store: Store, make_stage: MakeStage
) -> None:
    stage = await make_stage("show")
    flaky = FlakyArchive(store.archive)
    writer = EventWriter(flaky, batch_size=10, interval=0.005, close_timeout=0.5, max_backoff=0.1)
    writer.start()
    stored = [writer.submit(make_event(stage.id, n)) for n in range(1, 11)]
    await asyncio.gather(*stored)
    flaky.down = True
    lost = [writer.submit(make_event(stage.id, n)) for n in range(11, 36)]
    started = time.monotonic()
    with pytest.raises(EventsUnwritten) as raised:
        await writer.close()
    assert raised.value.count == 25 and time.monotonic() - started < 5
    assert all(isinstance(f.exception(), EventsUnwritten) for f in lost)
    assert len(await store.archive.live_events(stage.id)) == 10
