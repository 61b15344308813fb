"""The event archive: each stage's live log, its periodic snapshot, and the performances made from it.

Bulk appends take each driver's fastest path (COPY on Postgres, one executemany on SQLite); every
operation of more than one statement runs in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
from databases import Database
from databases.core import Connection
from databases.interfaces import Record

from .gaps import compress_gaps
from .jsontext import dump_json, load_json, without_nul
from .records import DuplicateError, Event, NotFoundError, NothingToArchive, Performance, Snapshot, StoreError
from .transactions import transaction, unbind_if_stuck
from .users import in_list

EVENT_COLUMNS = ("seq", "topic", "payload", "at", "sender", "audience", "target_session")
LIVE_COLUMNS = ("stage_id", *EVENT_COLUMNS)
KEPT_COLUMNS = ("performance_id", *EVENT_COLUMNS)
_EVENT_LIST = ", ".join(EVENT_COLUMNS)
_PERFORMANCE_COLUMNS = (
    "stage_id", "stage_slug", "name", "description", "kind", "recording", "start_seq", "started_at", "saved_at",
)  # fmt: skip
_NO_END = 2**62  # "no upper bound" for a seq window
DECODE_CHUNK = 2000  # performance events decoded per event-loop turn


def now_ms() -> int:
    return int(time.time() * 1000)


class Archive:
    """Stage events and performances over one `databases.Database` (`dialect`: sqlite or postgresql)."""

    def __init__(self, db: Database, dialect: str) -> None:
        self.db = db
        self.dialect = dialect

    # the live log

    async def append(self, events: Sequence[Event]) -> None:
        """Store a batch of accepted events in one transaction; rows already stored are skipped,
        so a batch retried after an unknown outcome neither fails nor doubles."""
        if not events:
            return
        rows = [_row(event.stage_id, event) for event in events]
        try:
            async with self._transaction() as conn:
                await self._bulk_insert(conn, "events", LIVE_COLUMNS, rows)
        except asyncpg.UniqueViolationError:
            # COPY cannot skip duplicates: redo the batch as one pipelined INSERT ... ON CONFLICT.
            async with self._transaction() as conn:
                await conn.raw_connection.executemany(self._insert_sql("events", LIVE_COLUMNS), rows)

    async def append_one_by_one(self, events: Sequence[Event]) -> None:
        """The original UpStage design, one INSERT and commit per event; kept for the benchmark."""
        names = ", ".join(f":{column}" for column in LIVE_COLUMNS)
        sql = f"INSERT INTO events ({', '.join(LIVE_COLUMNS)}) VALUES ({names})"
        for event in events:
            await self.db.execute(sql, dict(zip(LIVE_COLUMNS, _row(event.stage_id, event), strict=True)))

    async def live_events(
        self, stage_id: int, after_seq: int = 0, upto_seq: int | None = None, limit: int | None = None
    ) -> list[Event]:
        """The stage's live (not yet swept) events with after_seq < seq <= upto_seq, in seq order,
        at most `limit` of them (the first ones)."""
        bounds = {"s": stage_id, "after": after_seq, "upto": _NO_END if upto_seq is None else upto_seq}
        rows = await self.db.fetch_all(
            f"SELECT {_EVENT_LIST} FROM events WHERE stage_id = :s AND seq > :after AND seq <= :upto "
            f"ORDER BY seq{'' if limit is None else ' LIMIT :limit'}",
            bounds if limit is None else {**bounds, "limit": limit},
        )
        return [_event(stage_id, row) for row in rows]

    async def last_seq(self, stage_id: int) -> int:
        """The highest seq in the stage's live log, 0 when it is empty."""
        value = await self.db.fetch_val("SELECT MAX(seq) FROM events WHERE stage_id = :s", {"s": stage_id})
        return int(value or 0)

    # snapshots and flags

    async def save_snapshot(self, stage_id: int, epoch: str, seq: int, state: dict[str, Any], at: int) -> None:
        """Keep this as the stage's snapshot (replacing the previous one)."""
        await self.db.execute(
            "INSERT INTO snapshots (stage_id, epoch, seq, state, at) VALUES (:s, :epoch, :seq, :state, :at) "
            "ON CONFLICT (stage_id) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq, "
            "state = excluded.state, at = excluded.at",
            {"s": stage_id, "epoch": epoch, "seq": seq, "state": dump_json(state), "at": at},
        )

    async def load_snapshot(self, stage_id: int) -> Snapshot | None:
        row = await self.db.fetch_one("SELECT * FROM snapshots WHERE stage_id = :s", {"s": stage_id})
        if row is None:
            return None
        return Snapshot(row["stage_id"], row["epoch"], row["seq"], load_json(row["state"]), row["at"])

    async def set_meta(self, key: str, value: str) -> None:
        await self.db.execute(
            "INSERT INTO hub_meta (key, value) VALUES (:k, :v) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            {"k": key, "v": value},
        )

    async def get_meta(self, key: str) -> str | None:
        value = await self.db.fetch_val("SELECT value FROM hub_meta WHERE key = :k", {"k": key})
        return None if value is None else str(value)

    # sweeps and recordings

    async def sweep(self, stage_id: int, stage_slug: str, name: str, description: str = "") -> Performance:
        """Move the whole live log into a new performance (kind 'archive'), in one transaction.

        An open recording first receives its window of the log, and stays open. Events appended
        while the sweep runs stay in the live log for the next one.
        """
        async with self._transaction():
            span = await self.db.fetch_one(
                "SELECT MIN(seq) AS lo, MAX(seq) AS hi, MIN(at) AS began FROM events WHERE stage_id = :s",
                {"s": stage_id},
            )
            if span is None or span["hi"] is None or await self._only_a_blank_scene(stage_id, span):
                raise NothingToArchive(f"stage {stage_slug!r} has no live events to archive")
            open_recording = await self.open_recording(stage_id)
            if open_recording is not None:
                await self._copy_live(open_recording.id, stage_id, open_recording.start_seq, span["hi"])
            performance_id = await self._insert_performance(
                stage_id, stage_slug, name, description, "archive", span["lo"] - 1, span["began"], now_ms()
            )
            await self._copy_live(performance_id, stage_id, 0, span["hi"])
            await self.db.execute(
                "DELETE FROM events WHERE stage_id = :s AND seq <= :hi", {"s": stage_id, "hi": span["hi"]}
            )
        return await self._get(performance_id)

    async def _only_a_blank_scene(self, stage_id: int, span: Record) -> bool:
        """Whether the live log is just the blank scene a sweep begins with: nothing was performed."""
        if span["lo"] != span["hi"]:
            return False
        row = await self.db.fetch_one(
            "SELECT topic, payload FROM events WHERE stage_id = :s AND seq = :q", {"s": stage_id, "q": span["hi"]}
        )
        if row is None or row["topic"] != "background":
            return False
        payload = load_json(row["payload"])
        return isinstance(payload, dict) and payload.get("type") == "blankScene"

    async def start_recording(
        self, stage_id: int, stage_slug: str, name: str, start_seq: int, started_at: int, description: str = ""
    ) -> Performance:
        """Open a recording: the stage's events after `start_seq` belong to it until it is saved."""
        already = DuplicateError(f"a recording is already open on stage {stage_slug!r}")
        try:
            async with self._transaction():
                if await self.open_recording(stage_id) is not None:
                    raise already
                performance_id = await self._insert_performance(
                    stage_id, stage_slug, name, description, "recording", start_seq, started_at, None
                )
        except (asyncpg.UniqueViolationError, sqlite3.IntegrityError) as exc:  # a concurrent start won
            raise already from exc
        return await self._get(performance_id)

    async def save_recording(self, performance_id: int, end_seq: int | None = None) -> Performance:
        """Close a recording with the live events of its window (after start_seq, up to end_seq);
        the live log is left as it is. Raises NothingToArchive when the window is empty."""
        async with self._transaction():
            recording = await self._get(performance_id)
            if not recording.recording:
                raise StoreError(f"performance {performance_id} is not an open recording")
            if not await self._fill_recording(recording, end_seq):
                raise NothingToArchive(f"recording {performance_id} has no events yet")
            await self._close_recording(performance_id)
        return await self._get(performance_id)

    async def open_recording(self, stage_id: int) -> Performance | None:
        row = await self.db.fetch_one(
            "SELECT * FROM performances WHERE stage_id = :s AND recording", {"s": stage_id}
        )
        return _performance(row) if row else None

    async def detach_stage(self, stage_id: int) -> None:
        """Before a stage is deleted: drop its live log and snapshot, close any open recording
        (kept if it holds events), and keep its performances under their slug, without the id."""
        async with self._transaction():
            recording = await self.open_recording(stage_id)
            if recording is not None:
                if await self._fill_recording(recording, None):
                    await self._close_recording(recording.id)
                else:
                    await self._delete(recording.id)
            await self.db.execute("DELETE FROM events WHERE stage_id = :s", {"s": stage_id})
            await self.db.execute("DELETE FROM snapshots WHERE stage_id = :s", {"s": stage_id})
            await self.db.execute("UPDATE performances SET stage_id = NULL WHERE stage_id = :s", {"s": stage_id})

    # performances

    async def performances(self, stage_id: int | None = None) -> list[Performance]:
        """All performances, or one stage's, newest first."""
        where, values = ("WHERE stage_id = :s ", {"s": stage_id}) if stage_id is not None else ("", {})
        rows = await self.db.fetch_all(f"SELECT * FROM performances {where}ORDER BY id DESC", values)
        return [_performance(row) for row in rows]

    async def performances_of_stages(self, stage_ids: Sequence[int]) -> dict[int, list[Performance]]:
        """Each stage's performances, newest first, for many stages in one query."""
        placeholders, values = in_list("s", stage_ids)
        found: dict[int, list[Performance]] = {}
        sql = f"SELECT * FROM performances WHERE stage_id IN {placeholders} ORDER BY id DESC"
        for row in await self.db.fetch_all(sql, values):
            found.setdefault(row["stage_id"], []).append(_performance(row))
        return found

    async def get_performance(self, performance_id: int) -> Performance | None:
        return (await self.performances_by_id([performance_id])).get(performance_id)

    async def performances_by_id(self, performance_ids: Sequence[int]) -> dict[int, Performance]:
        """The performances with these ids (unknown ones left out), in one query."""
        placeholders, values = in_list("p", performance_ids)
        rows = await self.db.fetch_all(f"SELECT * FROM performances WHERE id IN {placeholders}", values)
        return {row["id"]: _performance(row) for row in rows}

    async def update_performance(
        self, performance_id: int, name: str | None = None, description: str | None = None
    ) -> Performance:
        """Rename and/or redescribe; fields left None keep their value."""
        changes = {k: v for k, v in (("name", name), ("description", description)) if v is not None}
        async with self._transaction():
            await self._get(performance_id)
            if changes:
                assignments = ", ".join(f"{column} = :{column}" for column in changes)
                await self.db.execute(
                    f"UPDATE performances SET {assignments} WHERE id = :id", {**changes, "id": performance_id}
                )
        return await self._get(performance_id)

    async def delete_performance(self, performance_id: int) -> None:
        async with self._transaction():
            await self._get(performance_id)
            await self._delete(performance_id)

    async def event_count(self, performance_id: int) -> int:
        return (await self.event_counts([performance_id])).get(performance_id, 0)

    async def event_counts(self, performance_ids: Sequence[int]) -> dict[int, int]:
        """How many events each performance holds (those with none left out), in one query."""
        placeholders, values = in_list("p", performance_ids)
        rows = await self.db.fetch_all(
            "SELECT performance_id, COUNT(*) AS n FROM performance_events "
            f"WHERE performance_id IN {placeholders} GROUP BY performance_id",
            values,
        )
        return {row["performance_id"]: int(row["n"]) for row in rows}

    async def performance_events(self, performance_id: int) -> list[Event]:
        """A performance's events in seq order; their `stage_id` is the performance's stage (0 once
        the stage is deleted). A replay holds a whole performance, so the rows come from the
        driver as plain tuples (the `databases` row wrapper costs more than the decoding), are
        decoded a chunk per event-loop turn, and what repeats on every event is shared: one
        (read-only) `sender` dict per sender, interned topic and audience strings."""
        performance = await self._get(performance_id)
        stage_id = performance.stage_id or 0
        rows = await self._kept_tuples(performance_id)
        events: list[Event] = []
        senders: dict[str | bytes, Any] = {}
        for start in range(0, len(rows), DECODE_CHUNK):
            events += [_decoded(stage_id, row, senders) for row in rows[start : start + DECODE_CHUNK]]
            await asyncio.sleep(0)
        return events

    async def trim(self, performance_id: int, min_gap_seconds: float, name: str) -> Performance:
        """A new performance (kind 'trim') of the same events with every gap longer than
        `min_gap_seconds` shortened to exactly that; the original is kept as it is."""
        if min_gap_seconds < 0:
            raise StoreError("the gap to keep cannot be negative")
        async with self._transaction() as conn:
            original = await self._get(performance_id)
            if original.recording:
                raise StoreError(f"recording {performance_id} is still open: save it before trimming")
            events = [_event(0, row) for row in await self._kept_rows(performance_id)]
            if not events:
                raise NothingToArchive(f"performance {performance_id} has no events")
            trimmed = compress_gaps(events, round(min_gap_seconds * 1000))
            trimmed_id = await self._insert_performance(
                original.stage_id, original.stage_slug, name, original.description, "trim",
                original.start_seq, trimmed[0].at, now_ms(),
            )  # fmt: skip
            rows = [_row(trimmed_id, event) for event in trimmed]
            await self._bulk_insert(conn, "performance_events", KEPT_COLUMNS, rows)
        return await self._get(trimmed_id)

    # helpers

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Keep this task's connection open until the block ends, for a task that writes often
        (the event writer). Only SQLite needs it: there `databases` opens a new connection for
        every transaction that finds none open on its task (a new thread, the file opened and its
        schema read), which cost the writer ~3 ms of CPU per batch; Postgres has its pool."""
        if self.dialect != "sqlite":
            yield
            return
        conn = self.db.connection()
        try:
            async with conn:
                yield
        finally:
            unbind_if_stuck(self.db, conn)

    def _transaction(self) -> contextlib.AbstractAsyncContextManager[Connection]:
        return transaction(self.db, self.dialect)

    async def _bulk_insert(self, conn: Connection, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        """Insert many rows inside the caller's transaction by the driver's fastest path."""
        raw = conn.raw_connection
        if self.dialect == "postgresql":
            await raw.copy_records_to_table(table, records=rows, columns=list(columns))
        else:
            await raw.executemany(self._insert_sql(table, columns), rows)

    def _insert_sql(self, table: str, columns: Sequence[str]) -> str:
        """A raw-driver INSERT of one row that skips a row whose key is already stored."""
        if self.dialect == "postgresql":
            marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
        else:
            marks = ", ".join("?" for _ in columns)
        return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT DO NOTHING"

    async def _insert_performance(
        self, stage_id: int | None, stage_slug: str, name: str, description: str, kind: str,
        start_seq: int, started_at: int, saved_at: int | None,
    ) -> int:  # fmt: skip
        """A new performance row; it is an open recording when of kind 'recording' and not saved."""
        recording = kind == "recording" and saved_at is None
        values = (stage_id, stage_slug, name, description, kind, recording, start_seq, started_at, saved_at)
        marks = ", ".join(f":{column}" for column in _PERFORMANCE_COLUMNS)
        sql = f"INSERT INTO performances ({', '.join(_PERFORMANCE_COLUMNS)}) VALUES ({marks}) RETURNING id"
        return int(await self.db.execute(sql, dict(zip(_PERFORMANCE_COLUMNS, values, strict=True))))

    async def _copy_live(self, performance_id: int, stage_id: int, after_seq: int, upto_seq: int | None) -> None:
        """Copy the stage's live events with after_seq < seq <= upto_seq into the performance."""
        await self.db.execute(
            f"INSERT INTO performance_events (performance_id, {_EVENT_LIST}) "
            f"SELECT CAST(:p AS BIGINT), {_EVENT_LIST} FROM events "
            "WHERE stage_id = :s AND seq > :after AND seq <= :upto "
            "ON CONFLICT DO NOTHING",
            {"p": performance_id, "s": stage_id, "after": after_seq, "upto": _NO_END if upto_seq is None else upto_seq},
        )

    async def _fill_recording(self, recording: Performance, end_seq: int | None) -> int:
        """Give a recording its window of the live log (it may already hold part of it from a
        sweep), drop anything past `end_seq`; returns how many events it now holds."""
        if recording.stage_id is not None:
            await self._copy_live(recording.id, recording.stage_id, recording.start_seq, end_seq)
        if end_seq is not None:
            await self.db.execute(
                "DELETE FROM performance_events WHERE performance_id = :p AND seq > :end",
                {"p": recording.id, "end": end_seq},
            )
        count = await self.db.fetch_val(
            "SELECT COUNT(*) FROM performance_events WHERE performance_id = :p", {"p": recording.id}
        )
        return int(count)

    async def _close_recording(self, performance_id: int) -> None:
        await self.db.execute(
            "UPDATE performances SET recording = FALSE, saved_at = :now WHERE id = :id",
            {"now": now_ms(), "id": performance_id},
        )

    async def _delete(self, performance_id: int) -> None:
        # Explicit rather than ON DELETE CASCADE: SQLite enforces foreign keys only when asked to.
        await self.db.execute("DELETE FROM performance_events WHERE performance_id = :p", {"p": performance_id})
        await self.db.execute("DELETE FROM performances WHERE id = :p", {"p": performance_id})

    async def _get(self, performance_id: int) -> Performance:
        performance = await self.get_performance(performance_id)
        if performance is None:
            raise NotFoundError(f"no performance {performance_id}")
        return performance

    async def _kept_tuples(self, performance_id: int) -> Sequence[Sequence[Any]]:
        """A performance's event rows as the driver gives them (values in EVENT_COLUMNS order)."""
        sql = f"SELECT {_EVENT_LIST} FROM performance_events WHERE performance_id = {{}} ORDER BY seq"
        async with self.db.connection() as conn:
            raw = conn.raw_connection
            if self.dialect == "postgresql":
                return await raw.fetch(sql.format("$1"), performance_id)
            async with raw.execute(sql.format("?"), (performance_id,)) as cursor:
                return await cursor.fetchall()

    async def _kept_rows(self, performance_id: int) -> list[Record]:
        return await self.db.fetch_all(
            f"SELECT {_EVENT_LIST} FROM performance_events WHERE performance_id = :p ORDER BY seq",
            {"p": performance_id},
        )


def _row(key: int, event: Event) -> tuple:
    """An event as a row of `events` (key = stage id) or `performance_events` (key = performance id)."""
    text, json = without_nul, dump_json
    return (key, event.seq, text(event.topic), json(event.payload), event.at, json(event.sender),
            text(event.audience), text(event.target_session))  # fmt: skip


def _event(stage_id: int, row: Record) -> Event:
    return _decoded(stage_id, [row[column] for column in EVENT_COLUMNS])


def _decoded(stage_id: int, values: Sequence[Any], senders: dict[str | bytes, Any] | None = None) -> Event:
    """An event from its column values; with `senders` (JSON text -> decoded), equal senders
    share one dict and the repeated strings are interned."""
    seq, topic, payload, at, sender, audience, target_session = values
    if senders is not None and isinstance(sender, (str, bytes)):
        text = sender
        sender = senders.get(text)
        if sender is None:
            sender = senders[text] = load_json(text)
        topic, audience = sys.intern(topic), sys.intern(audience)
    else:
        sender = load_json(sender)
    return Event(stage_id, seq, topic, load_json(payload), at, sender, audience, target_session)


def _performance(row: Record) -> Performance:
    values = {field.name: row[field.name] for field in dataclasses.fields(Performance)}
    return Performance(**{**values, "recording": bool(values["recording"])})
