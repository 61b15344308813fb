"""Replays share what does not depend on the listener: a performance is read once however many
replays start together, its events are held once, the state checkpoints of each view (audience,
performer) are built once, a seek applies fewer than `checkpoint_every` events and never holds
the event loop for more than one step, and the last replay to end releases it all."""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

import pytest

from hub.replay import Replay
from hub.replay_timeline import Timeline
from hub.state import apply, empty_state
from storage import PERFORMERS, Event
from storage.archive import Archive
from tests.replays import archived, counting_reducers, gauges, moves

EVERY = 50  # checkpoint_every in these tests


def naive_state(events: list[Event], count: int) -> dict[str, Any]:
    state = empty_state()
    for event in events[:count]:
        state = apply(state, event.wire())
    return state


def test_every_checkpointed_state_equals_the_state_folded_from_the_start() -> None:
    events = moves(400, spacing_ms=10, secret_every=7)
    for performer in (False, True):
        timeline = Timeline(events, performer=performer, checkpoint_every=13)
        visible = [e for e in events if performer or e.audience == "everyone"]
        for index in [*range(0, len(timeline), 17), len(timeline) - 1, len(timeline)]:
            assert timeline.state_before(index) == naive_state(visible, index), (performer, index)


async def test_a_seek_back_applies_fewer_events_than_a_checkpoint_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    timeline = Timeline(moves(2000, spacing_ms=10), performer=False, checkpoint_every=EVERY)
    replay = Replay(timeline, lambda name, data: None)
    await replay.prepared_seek(timeline.duration)
    with counting_reducers(monkeypatch) as applied:
        for position in (timeline.duration // 2, 15_555, 10, timeline.duration - 5):
            applied.count = 0
            await replay.prepared_seek(position)
            assert applied.count < EVERY, (position, applied.count)


async def test_preparing_a_far_seek_yields_to_the_loop_after_every_step(monkeypatch: pytest.MonkeyPatch) -> None:
    timeline = Timeline(moves(3000, spacing_ms=10), performer=False, checkpoint_every=EVERY)
    with counting_reducers(monkeypatch) as applied:
        most = await most_applied_per_loop_turn(applied, timeline.prepare(len(timeline)))
        assert applied.count >= 3000 - EVERY and timeline.checkpoints == 3000 // EVERY + 1
    assert most <= EVERY


async def test_of_overlapping_seeks_the_last_asked_wins() -> None:
    timeline = Timeline(moves(2000, spacing_ms=10), performer=False, checkpoint_every=EVERY)
    sent: list[dict[str, Any]] = []
    replay = Replay(timeline, lambda name, data: sent.append(data))
    far = asyncio.create_task(replay.prepared_seek(timeline.duration))  # needs 40 steps first
    await asyncio.sleep(0)
    await replay.prepared_seek(100)  # needs none
    await far
    assert replay.status()["position"] == 100
    assert [m["position"] for m in sent if "state" in m] == [100]


async def most_applied_per_loop_turn(applied: Any, work: Any) -> int:
    """Run `work` while a ticker notes the reducer applications between its turns; the most."""
    most, done = 0, False

    async def tick() -> None:
        nonlocal most
        last = applied.count
        while not done:
            await asyncio.sleep(0)
            most, last = max(most, applied.count - last), applied.count

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    await work
    done = True
    await ticker
    return most


async def test_a_read_performance_is_the_events_stored_with_one_dict_per_sender(store: Any, make_stage: Any) -> None:
    stage = await make_stage("show")
    stored = moves(5000, spacing_ms=10, stage_id=stage.id, secret_every=9)
    stored[-1] = Event(stage.id, 5000, "stream_health", {"hostId": "s-host"}, stored[-1].at, {"session": "s-b"}, PERFORMERS, "s-host")
    await store.archive.append(stored)
    performance = await store.archive.sweep(stage.id, "show", "night")
    read = await store.archive.performance_events(performance.id)
    assert read == stored
    assert len({id(e.sender) for e in read}) == 2 and len({id(e.topic) for e in read}) == 3


# --- through the hub ---------------------------------------------------------------------------

SHARED = dict(replay_checkpoint_every=EVERY, replay_keep_idle=0, replays_per_address=100, rate_limit=10_000.0, rate_burst=10_000)


@pytest.fixture
def archive_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The performance ids every hub of the test reads from its archive (patched before it starts)."""
    reads: list[int] = []
    read = Archive.performance_events

    async def counted(self: Archive, performance_id: int) -> list[Event]:
        reads.append(performance_id)
        await asyncio.sleep(0.05)  # a slow database: every replay below starts while it loads
        return await read(self, performance_id)

    monkeypatch.setattr(Archive, "performance_events", counted)
    return reads


async def test_replays_started_together_read_the_performance_once(make_hub: Any, archive_reads: list[int]) -> None:
    hub = await make_hub(**SHARED)
    await hub.stage("show", owner="olivia", players=("pat",))
    performance = await archived(hub, "show", count=20, spacing_ms=20, secret_every=4)
    audience = [await hub.connect() for _ in range(12)]
    performers = [await hub.connect("pat") for _ in range(3)]
    acks = await asyncio.gather(*(c.call("replay", {"performance": performance, "speed": 4}) for c in audience + performers))
    assert all(ack["ok"] for ack in acks), acks
    assert archive_reads == [performance]
    await asyncio.gather(*(c.wait_for(lambda c: c.replay_updates[-1]["ended"]) for c in audience + performers))
    for client in audience:  # the shared copy still gives each view its own events
        assert "secret" not in json.dumps([client.events, client.replay_updates])
        assert len(client.events) == 15
    assert all(len(client.events) == 20 for client in performers)


async def test_the_events_are_held_once_however_many_replay_them(make_hub: Any) -> None:
    hub = await make_hub(**SHARED)
    await hub.stage("show", owner="olivia")
    performance = await archived(hub, "show", count=500, spacing_ms=60_000)
    first = await hub.connect()
    assert (await first.call("replay", {"performance": performance}))["ok"]
    with_one = held_events()
    others = [await hub.connect() for _ in range(20)]
    for client in others:
        assert (await client.call("replay", {"performance": performance}))["ok"]
    assert held_events() - with_one < 50, "each replay holds its own copy of the events"
    assert (await gauges(hub))["hub_replay_events"] == 500


def held_events() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) is Event)


async def test_a_seek_through_the_hub_is_bounded_work_per_loop_turn(make_hub: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = await make_hub(**SHARED)
    await hub.stage("show", owner="olivia")
    performance = await archived(hub, "show", count=3000, spacing_ms=1000)
    viewer = await hub.connect()
    ack = await viewer.call("replay", {"performance": performance})
    assert ack["ok"]
    end = ack["status"]["duration"]
    assert (await viewer.call("replayControl", {"action": "pause"}))["ok"]  # only the seeks send states
    with counting_reducers(monkeypatch) as applied:
        most = await most_applied_per_loop_turn(applied, viewer.call("replayControl", {"action": "seek", "value": end}))
        await viewer.wait_for(lambda c: c.replay_updates[-1].get("state", {}).get("board", {}).get("objects"))
        assert viewer.replay_updates[-1]["state"]["board"]["objects"][0]["x"] == 2999
        assert most <= EVERY, most
        applied.count = 0
        assert (await viewer.call("replayControl", {"action": "seek", "value": end // 2 + 500}))["ok"]
        await viewer.wait_for(lambda c: c.replay_updates[-1].get("position") == end // 2 + 500)
        assert viewer.replay_updates[-1]["state"]["board"]["objects"][0]["x"] == 1500  # seq 1501 is at the position, not before it
        assert applied.count < EVERY, f"a seek back applied {applied.count} events"


async def test_the_last_replay_to_end_releases_the_performance(make_hub: Any) -> None:
    hub = await make_hub(**SHARED)
    await hub.stage("show", owner="olivia")
    performance = await archived(hub, "show", count=30)
    other = await archived(hub, "show", count=5)  # (a second sweep of the same stage's new events)
    leaving, joining, switching = await hub.connect(), await hub.connect(), await hub.connect()
    for client in (leaving, joining, switching):
        assert (await client.call("replay", {"performance": performance}))["ok"]
    running = await gauges(hub)
    assert (running["hub_replays"], running["hub_replay_performances"], running["hub_replay_events"]) == (3, 1, 30)
    await leaving.close()
    assert (await joining.join("show"))["ok"]  # joining a stage ends the socket's replay
    assert (await switching.call("replay", {"performance": other}))["ok"]  # a new replay replaces the old
    running = await gauges(hub)
    assert (running["hub_replays"], running["hub_replay_performances"], running["hub_replay_events"]) == (1, 1, 5)
    await switching.close()
    await asyncio.sleep(0.1)  # the hub sees the disconnect
    assert await gauges(hub) == {
        "hub_replays": 0, "hub_replay_performances": 0, "hub_replay_events": 0, "hub_replay_bytes": 0, "hub_replay_checkpoints": 0,
    }  # fmt: skip


async def test_an_idle_performance_waits_in_a_small_lru(make_hub: Any, archive_reads: list[int]) -> None:
    hub = await make_hub(**{**SHARED, "replay_keep_idle": 1})
    await hub.stage("show", owner="olivia")
    first, second = await archived(hub, "show"), await archived(hub, "show")
    viewer = await hub.connect()
    for performance in (first, first, second, second, first):
        assert (await viewer.call("replay", {"performance": performance}))["ok"]
    assert archive_reads == [first, second, first]  # a replay again is no read; the LRU keeps one idle
    assert (await gauges(hub))["hub_replay_performances"] == 2
