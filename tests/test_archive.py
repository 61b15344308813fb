"""The event archive on SQLite and Postgres: live log, snapshots, sweeps, recordings, trims, detaching."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from storage import (
    PERFORMERS,
    Archive,
    DuplicateError,
    Event,
    NotFoundError,
    NothingToArchive,
    Stage,
    Store,
    StoreError,
)
from tests.dbs import make_event
from tests.present import present

MakeStage = Callable[[str], Awaitable[Stage]]


def seqs(events: list[Event]) -> list[int]:
    return [event.seq for event in events]


async def live(store: Store, stage: Stage, *numbers: int) -> list[Event]:
    """Append events with these seqs to the stage's live log; returns them."""
    events = [make_event(stage.id, n) for n in numbers]
    await store.archive.append(events)
    return events


async def test_append_round_trips_every_field_and_reads_after_seq(store: Store, make_stage: MakeStage) -> None:
    stage = await make_stage("show")
    odd: list[Event] = [
        make_event(stage.id, 1, payload="a legacy bare string"),
        make_event(stage.id, 2, "board", {"type": "moveTo", "object": {"id": "a", "x": 0.25, "y": -3}}),
        Event(stage.id, 3, "chat", {"message": "psst", "isPrivate": True, "ünï": "☃"}, 5, {"s": 1}, PERFORMERS),
        Event(stage.id, 4, "stream_health", {"ok": None, "n": [1, [2, {}]]}, 6, {}, PERFORMERS, "host-session"),
    ]
    await store.archive.append(odd)
    await live(store, stage, *range(5, 11))

    everything = await store.archive.live_events(stage.id)
    assert everything[:4] == odd
    assert seqs(everything) == list(range(1, 11))
    assert seqs(await store.archive.live_events(stage.id, after_seq=7)) == [8, 9, 10]
    assert await store.archive.last_seq(stage.id) == 10
    assert await store.archive.live_events(stage.id + 1) == []
    assert await store.archive.last_seq(stage.id + 1) == 0


async def test_a_retried_batch_neither_fails_nor_doubles(store: Store, make_stage: MakeStage) -> None:
    stage = await make_stage("show")
    events = [make_event(stage.id, n) for n in range(1, 21)]
    await store.archive.append(events[:12])
    await store.archive.append(events[5:])  # overlaps rows already stored (an unknown-outcome retry)
    await store.archive.append(events)
    assert await store.archive.live_events(stage.id) == events


async def test_nul_characters_cannot_poison_a_batch(store: Store, make_stage: MakeStage) -> None:
    stage = await make_stage("show")
    event = make_event(stage.id, 1, payload={"message": "a\x00b", "k\x00": ["\x00"]})
    await store.archive.append([event, make_event(stage.id, 2)])
    stored = await store.archive.live_events(stage.id)
    assert stored[0].payload == {"message": "a\ufffdb", "k\ufffd": ["\ufffd"]}
    assert seqs(stored) == [1, 2]


async def test_one_by_one_path_stores_the_same_rows(store: Store, make_stage: MakeStage) -> None:
    stage = await make_stage("show")
    events = [make_event(stage.id, n) for n in range(1, 30)]
    await store.archive.append_one_by_one(events)
    assert await store.archive.live_events(stage.id) == events


async def test_snapshots_upsert_per_stage(store: Store, make_stage: MakeStage) -> None:
    one, two, three = [await make_stage(slug) for slug in ("one", "two", "three")]
    archive = store.archive
    assert await archive.load_snapshot(one.id) is None
    await archive.save_snapshot(one.id, "e1", 10, {"chat": {"messages": ["x"]}}, 111)
    await archive.save_snapshot(one.id, "e2", 25, {"board": {}}, 222)
    snapshot = await archive.load_snapshot(one.id)
    assert snapshot is not None
    assert (snapshot.stage_id, snapshot.epoch, snapshot.seq, snapshot.state, snapshot.at) == (
        one.id, "e2", 25, {"board": {}}, 222,
    )  # fmt: skip
    await archive.save_snapshot(two.id, "e9", 3, {"other": True}, 333)
    assert present(await archive.load_snapshot(one.id)).epoch == "e2"  # a stage's snapshot is its own
    assert await archive.load_snapshot(three.id) is None


async def test_meta_flags(store: Store) -> None:
    assert await store.archive.get_meta("clean_shutdown") is None
    await store.archive.set_meta("clean_shutdown", "0")
    await store.archive.set_meta("clean_shutdown", "1")
    assert await store.archive.get_meta("clean_shutdown") == "1"


async def test_sweep_moves_the_live_log_into_a_performance(store: Store, make_stage: MakeStage) -> None:
    stage, other = await make_stage("show"), await make_stage("other")
    events = await live(store, stage, *range(1, 51))
    await live(store, other, 1, 2)
    await store.archive.save_snapshot(stage.id, "e", 50, {"kept": True}, 1)

    performance = await store.archive.sweep(stage.id, "show", "Opening night", "first run")

    assert (performance.kind, performance.name, performance.description) == ("archive", "Opening night", "first run")
    assert (performance.stage_id, performance.stage_slug, performance.recording) == (stage.id, "show", False)
    assert performance.started_at == events[0].at and performance.saved_at is not None
    assert await store.archive.performance_events(performance.id) == events
    assert await store.archive.live_events(stage.id) == []
    assert await store.archive.last_seq(stage.id) == 0
    assert seqs(await store.archive.live_events(other.id)) == [1, 2]
    assert (await store.archive.load_snapshot(stage.id)) is not None  # the hub writes the next one
    with pytest.raises(NothingToArchive):
        await store.archive.sweep(stage.id, "show", "again")

    # the blank scene the hub publishes after a sweep is not a performance of its own
    blank = make_event(stage.id, 51, "background", {"type": "blankScene"})
    await store.archive.append([blank])
    with pytest.raises(NothingToArchive):
        await store.archive.sweep(stage.id, "show", "only the blank scene")

    later = [blank] + await live(store, stage, 52)
    second = await store.archive.sweep(stage.id, "show", "Second night")
    assert await store.archive.performance_events(second.id) == later
    assert [p.id for p in await store.archive.performances(stage.id)] == [second.id, performance.id]


async def test_a_failed_sweep_changes_nothing(
    store: Store, make_stage: MakeStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = await make_stage("show")
    events = await live(store, stage, *range(1, 11))
    copy = Archive._copy_live

    async def copy_then_fail(self: Archive, *args: Any) -> None:
        await copy(self, *args)
        raise RuntimeError("the database went away mid-sweep")

    monkeypatch.setattr(Archive, "_copy_live", copy_then_fail)
    with pytest.raises(RuntimeError):
        await store.archive.sweep(stage.id, "show", "broken")
    monkeypatch.undo()
    assert await store.archive.live_events(stage.id) == events
    assert await store.archive.performances() == []


async def test_a_recording_keeps_exactly_its_window_and_leaves_the_live_log(
    store: Store, make_stage: MakeStage
) -> None:
    stage = await make_stage("show")
    archive = store.archive
    await live(store, stage, 1, 2, 3)
    recording = await archive.start_recording(stage.id, "show", "Take 1", 3, 1234, "rehearsal")
    assert (recording.kind, recording.recording, recording.saved_at) == ("recording", True, None)
    assert await archive.open_recording(stage.id) == recording
    with pytest.raises(DuplicateError):
        await archive.start_recording(stage.id, "show", "Take 2", 3, 1234)
    with pytest.raises(NothingToArchive):
        await archive.save_recording(recording.id)
    assert (await archive.open_recording(stage.id)) == recording

    events = await live(store, stage, *range(4, 13))
    saved = await archive.save_recording(recording.id, end_seq=9)

    assert (saved.recording, saved.started_at, saved.description) == (False, 1234, "rehearsal")
    assert saved.saved_at is not None
    assert await archive.performance_events(recording.id) == events[:6]  # seqs 4..9
    assert seqs(await archive.live_events(stage.id)) == list(range(1, 13))
    assert await archive.open_recording(stage.id) is None
    with pytest.raises(StoreError):
        await archive.save_recording(recording.id)
    with pytest.raises(NotFoundError):
        await archive.save_recording(recording.id + 100)


async def test_a_sweep_during_a_recording_keeps_the_recording_whole(store: Store, make_stage: MakeStage) -> None:
    stage = await make_stage("show")
    archive = store.archive
    await live(store, stage, 1, 2)
    recording = await archive.start_recording(stage.id, "show", "Take", 2, 0)
    before = await live(store, stage, 3, 4, 5)
    swept = await archive.sweep(stage.id, "show", "Night")
    after = await live(store, stage, 6, 7)

    assert seqs(await archive.performance_events(swept.id)) == [1, 2, 3, 4, 5]
    assert (await archive.open_recording(stage.id)) is not None
    saved = await archive.save_recording(recording.id)
    assert await archive.performance_events(saved.id) == before + after
    assert await archive.live_events(stage.id) == after


async def test_list_rename_and_delete_performances(store: Store, make_stage: MakeStage) -> None:
    one, two = await make_stage("one"), await make_stage("two")
    archive = store.archive
    await live(store, one, 1)
    first = await archive.sweep(one.id, "one", "First")
    await live(store, two, 1)
    second = await archive.sweep(two.id, "two", "Second")
    await live(store, one, 2)
    third = await archive.sweep(one.id, "one", "Third")

    assert [p.id for p in await archive.performances()] == [third.id, second.id, first.id]
    assert [p.id for p in await archive.performances(one.id)] == [third.id, first.id]
    assert await archive.get_performance(second.id) == second
    assert await archive.get_performance(9999) is None

    renamed = await archive.update_performance(first.id, name="Premiere")
    assert (renamed.name, renamed.description) == ("Premiere", "")
    described = await archive.update_performance(first.id, description="with guests")
    assert (described.name, described.description) == ("Premiere", "with guests")
    assert renamed.public() == {
        "id": first.id, "stageSlug": "one", "name": "Premiere", "description": "", "kind": "archive",
        "recording": False, "startedAt": first.started_at, "savedAt": first.saved_at,
    }  # fmt: skip

    await archive.delete_performance(first.id)
    assert await archive.get_performance(first.id) is None
    with pytest.raises(NotFoundError):
        await archive.performance_events(first.id)
    with pytest.raises(NotFoundError):
        await archive.delete_performance(first.id)
    with pytest.raises(NotFoundError):
        await archive.update_performance(first.id, name="x")
    count = await store.db.fetch_val("SELECT COUNT(*) FROM performance_events WHERE performance_id = :p", {"p": first.id})
    assert count == 0


async def test_trim_compresses_long_gaps_into_a_new_performance(store: Store, make_stage: MakeStage) -> None:
    stage = await make_stage("show")
    archive = store.archive
    t0 = 1_700_000_000_000
    offsets = [0, 1_000, 10_000, 10_500, 100_000, 100_000, 102_000]
    events = [make_event(stage.id, n + 1, at=t0 + offset) for n, offset in enumerate(offsets)]
    speak = {"type": "speak", "avatar": {"id": "a"}, "speak": {"message": "hi", "at": t0 + 100_000}}
    events[5] = make_event(stage.id, 6, "board", speak, at=t0 + 100_000)
    await archive.append(events)
    original = await archive.sweep(stage.id, "show", "Long night")

    trimmed = await archive.trim(original.id, 2, "Short night")

    assert (trimmed.kind, trimmed.name, trimmed.stage_slug, trimmed.recording) == ("trim", "Short night", "show", False)
    kept = await archive.performance_events(trimmed.id)
    assert [e.at - t0 for e in kept] == [0, 1_000, 3_000, 3_500, 5_500, 5_500, 7_500]
    assert seqs(kept) == seqs(events)
    assert [e.payload["at"] - t0 for e in kept if e.topic == "chat"] == [0, 1_000, 3_000, 3_500, 5_500, 7_500]
    assert kept[5].payload["speak"]["at"] - t0 == 5_500
    assert await archive.performance_events(original.id) == events
    assert [p.id for p in await archive.performances(stage.id)] == [trimmed.id, original.id]

    recording = await archive.start_recording(stage.id, "show", "open", 0, t0)
    with pytest.raises(StoreError):
        await archive.trim(recording.id, 2, "not yet")
    with pytest.raises(NotFoundError):
        await archive.trim(9999, 2, "none")


async def test_detaching_a_deleted_stage_starts_its_slug_clean_and_keeps_replays(
    store: Store, make_stage: MakeStage
) -> None:
    stage = await make_stage("show")
    archive = store.archive
    swept_events = await live(store, stage, 1, 2, 3)
    swept = await archive.sweep(stage.id, "show", "Night")
    recording = await archive.start_recording(stage.id, "show", "Take", 3, 0)
    await live(store, stage, 4, 5)
    await archive.save_snapshot(stage.id, "e", 5, {"x": 1}, 0)

    await archive.detach_stage(stage.id)
    for table in ("stage_access", "stages"):
        column = "id" if table == "stages" else "stage_id"
        await store.db.execute(f"DELETE FROM {table} WHERE {column} = :id", {"id": stage.id})

    reborn = await store.create_stage("show", "Show again", stage.owner_id)
    assert reborn.id != stage.id
    assert await archive.live_events(reborn.id) == [] and await archive.last_seq(reborn.id) == 0
    assert await archive.load_snapshot(reborn.id) is None and await archive.performances(reborn.id) == []
    assert await archive.live_events(stage.id) == [] and await archive.load_snapshot(stage.id) is None
    kept = {p.id: p for p in await archive.performances()}
    assert set(kept) == {swept.id, recording.id}
    assert all(p.stage_id is None and p.stage_slug == "show" and not p.recording for p in kept.values())
    assert seqs(await archive.performance_events(recording.id)) == [4, 5]
    replay = await archive.performance_events(swept.id)
    assert [(e.seq, e.payload, e.at) for e in replay] == [(e.seq, e.payload, e.at) for e in swept_events]
