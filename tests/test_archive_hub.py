"""The hub's event archive end to end: every acked event stored, outages, kill -9 and restart,
sweep, recordings, trimming and replay over Socket.IO; on SQLite and on the real Postgres."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
from collections.abc import AsyncIterator
from urllib.parse import urlparse

import asyncpg
import pytest

from client import HubClient, login
from tests.conftest import PASSWORD
from tests.hubproc import HubProcess

FAST = dict(rate_limit=100_000.0, rate_burst=100_000)


async def stage_id(hub, slug: str = "show") -> int:
    return (await hub.store.get_stage(slug)).id


async def test_ten_thousand_events_are_stored_in_seq_order(database_url, make_hub):
    hub = await make_hub(database_url=database_url, **FAST)
    await hub.stage("show", owner="olivia", players=("pat",))
    pat = await hub.joined("pat")
    in_flight = asyncio.Semaphore(300)

    async def move(i: int) -> int:
        async with in_flight:
            ack = await pat.publish("board", {"type": "moveTo", "object": {"id": f"o{i % 7}", "x": i}})
            assert ack["ok"], ack
            return ack["seq"]

    acked = await asyncio.gather(*(move(i) for i in range(10_000)))
    stored = await hub.store.archive.live_events(await stage_id(hub))
    assert sorted(acked) == list(range(1, 10_001))
    assert [e.seq for e in stored] == list(range(1, 10_001))
    assert stored[-1].payload["object"]["x"] == next(i for i, s in enumerate(acked) if s == 10_000)


@contextlib.asynccontextmanager
async def database_outage(database_url: str) -> AsyncIterator[None]:
    """Make the database refuse the hub for a while: Postgres refuses connections and drops the
    hub's; SQLite is held under an exclusive lock by another connection."""
    if database_url.startswith("sqlite"):
        locker = sqlite3.connect(database_url.split(":///", 1)[1], timeout=5, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        return
    name = urlparse(database_url).path.lstrip("/")
    admin = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="postgres")
    try:
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
        yield
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        await admin.close()


async def test_a_database_outage_loses_nothing_acked_and_refuses_only_past_the_bound(database_url, make_hub):
    hub = await make_hub(database_url=database_url, write_buffer=40, **FAST)
    await hub.stage("show", owner="olivia", players=("pat",))
    pat, watcher = await hub.connect("pat"), await hub.connect()
    await pat.join("show")
    await watcher.join("show")
    assert (await pat.publish("chat", {"message": "before"}))["ok"]
    async with database_outage(database_url):
        sends = [asyncio.create_task(pat.publish("chat", {"message": f"during {i}"})) for i in range(60)]
        await asyncio.sleep(1.5)
        assert not any(t.done() and t.result()["ok"] for t in sends), "an ack must mean the event is stored"
        await watcher.wait_for(lambda c: len(c.events) >= 41)  # delivery goes on during the outage
    results = await asyncio.gather(*sends)
    accepted = [r["seq"] for r in results if r["ok"]]
    refused = [r["error"]["code"] for r in results if not r["ok"]]
    assert len(accepted) >= 40 and set(refused) == {"unavailable"} and len(refused) == 60 - len(accepted)
    stored = [e.seq for e in await hub.store.archive.live_events(await stage_id(hub))]
    assert stored == [1, *sorted(accepted)]
    assert (await pat.publish("chat", {"message": "after"}))["ok"]


async def state_of(url: str) -> dict:
    client = await HubClient(url).connect()
    ack = await client.join("show")
    await client.close()
    return ack


@pytest.mark.parametrize("how", ["kill -9", "SIGTERM"])
async def test_restart_rebuilds_the_live_state(tmp_path, database_url, how):
    hub = HubProcess(tmp_path, database_url, snapshot_every="25", rate_limit="100000", rate_burst="100000")
    await hub.seed("pat")
    try:
        await hub.start()
        pat = await hub.performer("pat")
        for i in range(60):
            assert (await pat.publish("board", {"type": "placeObjectOnStage", "object": {"id": f"o{i % 9}", "x": i}}))["ok"]
            assert (await pat.publish("draw", {"type": "newLine", "command": {"i": i}}))["ok"]
        assert (await pat.publish("background", {"type": "setBackdropColor", "color": "#abcdef"}))["ok"]
        assert (await pat.publish("chat", {"message": "last words", "id": "w1", "at": 1}))["ok"]
        before = await state_of(hub.url)
        await hub.stop(signal.SIGKILL if how == "kill -9" else signal.SIGTERM)
        await hub.start()
        after = await state_of(hub.url)
        assert after["seq"] == before["seq"] == 122
        assert after["state"] == before["state"]
        if how == "kill -9":
            assert after["epoch"] != before["epoch"], "after a crash the epoch must change"
        else:
            assert after["epoch"] == before["epoch"], "after a clean stop the epoch continues"
            back = await HubClient(hub.url).connect()
            resumed = await back.join("show", since={"epoch": before["epoch"], "seq": 100})
            assert resumed["recovered"] is True and [e["seq"] for e in resumed["events"]] == list(range(101, 123))
            await back.close()
        assert (await (await hub.performer("pat")).publish("chat", {"message": "still here"}))["ok"]
    finally:
        hub.close()


async def test_sweep_archives_the_live_log_and_starts_a_new_epoch(database_url, make_hub):
    hub = await make_hub(database_url=database_url, **FAST)
    await hub.stage("show", owner="olivia", players=("pat",))
    owner, pat, ann = await hub.connect("olivia"), await hub.connect("pat"), await hub.connect()
    for client in (owner, pat, ann):
        await client.join("show")
    await pat.publish("board", {"type": "placeObjectOnStage", "object": {"id": "tree"}})
    await pat.publish("chat", {"message": "first show"})
    assert (await pat.call("sweep", {"name": "Night 1"}))["error"]["code"] == "forbidden"
    assert (await ann.call("sweep", {"name": "Night 1"}))["error"]["code"] == "forbidden"
    old_epoch = ann.epoch
    swept = await owner.call("sweep", {"name": "Night 1"})
    assert swept["ok"] and swept["performance"]["name"] == "Night 1"
    await ann.wait_for(lambda c: c.events[-1]["payload"] == {"type": "blankScene"})
    assert ann.epoch == swept["epoch"] != old_epoch
    assert ann.events[-1]["seq"] == 3
    fresh = await (await hub.connect()).join("show")
    assert fresh["state"]["board"]["objects"] == [] and fresh["state"]["chat"]["messages"] == []
    live = await hub.store.archive.live_events(await stage_id(hub))
    assert [e.payload for e in live] == [{"type": "blankScene"}]
    archived = await hub.store.archive.performance_events(swept["performance"]["id"])
    assert [e.topic for e in archived] == ["board", "chat"]
    stale = await (await hub.connect()).join("show", since={"epoch": old_epoch, "seq": 1})
    assert stale["recovered"] is False
    listed = await ann.call("performances", {})
    assert [p["name"] for p in listed["performances"]] == ["Night 1"]


async def test_recording_trim_and_replay_with_timing_and_seek(database_url, make_hub):
    hub = await make_hub(database_url=database_url, **FAST)
    await hub.stage("show", owner="olivia", players=("pat",))
    owner, pat = await hub.connect("olivia"), await hub.connect("pat")
    await owner.join("show")
    await pat.join("show")
    await pat.publish("board", {"type": "placeObjectOnStage", "object": {"id": "moon", "x": 0.1}})
    started = await owner.call("startRecording", {"name": "Act 1"})
    assert started["ok"] and started["performance"]["recording"] is True
    assert (await owner.call("startRecording", {"name": "again"}))["error"]["code"] == "bad_request"
    await pat.publish("board", {"type": "moveTo", "object": {"id": "moon", "x": 0.2}})
    await asyncio.sleep(0.3)
    await pat.publish("board", {"type": "moveTo", "object": {"id": "moon", "x": 0.3}})
    await asyncio.sleep(1.2)
    await pat.publish("board", {"type": "moveTo", "object": {"id": "moon", "x": 0.4}})
    saved = await owner.call("saveRecording", {"id": started["performance"]["id"]})
    assert saved["ok"], saved
    events = await hub.store.archive.performance_events(saved["performance"]["id"])
    assert [e.payload.get("type") for e in events] == ["recordingSnapshot", "moveTo", "moveTo", "moveTo"]
    await pat.publish("reaction", "👏")  # reactions are archived too (the original dropped them)
    assert (await hub.store.archive.live_events(await stage_id(hub)))[-1].payload == "👏"
    assert events[0].payload["snapshot"]["board"]["objects"][0]["id"] == "moon"

    trimmed = await owner.call("trimPerformance", {"id": saved["performance"]["id"], "gap": 0.5, "name": "Act 1 short"})
    assert trimmed["ok"]
    short = await hub.store.archive.performance_events(trimmed["performance"]["id"])
    assert short[-1].at - short[0].at < events[-1].at - events[0].at - 600

    viewer = await hub.joined()
    loop = asyncio.get_running_loop()
    asked = loop.time()
    ack = await viewer.call("replay", {"performance": saved["performance"]["id"], "speed": 2})
    assert ack["ok"] and ack["status"]["duration"] == events[-1].at - events[0].at
    await viewer.wait_for(lambda c: len(c.events) == 4)
    assert viewer.replay_updates[0]["state"]["board"]["objects"] == []
    assert [e["seq"] for e in viewer.events] == [e.seq for e in events]
    arrived = [t - viewer.arrivals[0] for t in viewer.arrivals]
    expected = [(e.at - events[0].at) / 2000 for e in events]
    assert all(abs(a - b) < 0.15 for a, b in zip(arrived, expected, strict=True)), (arrived, expected)
    assert viewer.arrivals[0] - asked < 0.5

    seek = await viewer.call("replayControl", {"action": "seek", "value": events[2].at - events[0].at + 1})
    assert seek["ok"]
    await viewer.wait_for(lambda c: "state" in c.replay_updates[-1] and len(c.replay_updates) >= 2)
    assert viewer.replay_updates[-1]["state"]["board"]["objects"][0]["x"] == 0.3
    assert (await viewer.call("replayControl", {"action": "speed", "value": 64}))["error"]["code"] == "bad_request"


async def test_a_deleted_stage_leaves_replays_and_its_slug_starts_clean(tmp_path, database_url):
    hub = HubProcess(tmp_path, database_url)
    await hub.seed("olivia")
    try:
        await hub.start()
        owner = await hub.performer("olivia")
        await owner.publish("board", {"type": "placeObjectOnStage", "object": {"id": "ghost"}})
        swept = await owner.call("sweep", {"name": "Old"})
        await owner.publish("board", {"type": "placeObjectOnStage", "object": {"id": "leftover"}})
        await owner.close()
        await hub.stop()
        hub.cli("stage", "delete", "--slug", "show")
        hub.cli("stage", "add", "--slug", "show", "--name", "New show", "--owner", "olivia")
        hub.cli("user", "add", "--username", "ada", "--password", PASSWORD, "--role", "admin")
        await hub.start()
        assert (await state_of(hub.url))["state"]["board"]["objects"] == []
        # a deleted stage's performances are for admins (roles.may_watch_archive), not its old audience
        anonymous = await HubClient(hub.url).connect()
        refused = await anonymous.call("replay", {"performance": swept["performance"]["id"]})
        assert refused["error"]["code"] == "not_found"
        await anonymous.close()
        viewer = await HubClient(hub.url, token=(await login(hub.url, "ada", PASSWORD))["access_token"]).connect()
        ack = await viewer.call("replay", {"performance": swept["performance"]["id"]})
        assert ack["ok"], ack
        await viewer.wait_for(lambda c: any(e["payload"].get("object", {}).get("id") == "ghost" for e in c.events))
        await viewer.close()
    finally:
        hub.close()


async def test_concurrent_record_buttons_open_one_recording_and_refuse_the_rest(database_url, make_hub):
    """Two owners (or two tabs) pressing record at once: one recording opens, the others are told
    a recording is running, and no refused call publishes anything on the stage."""
    hub = await make_hub(database_url=database_url, **FAST)
    await hub.stage("show", owner="olivia", editors=("eddie",))
    tabs = [await hub.connect(name) for name in ("olivia", "eddie", "olivia", "eddie")]
    for tab in tabs:
        await tab.join("show")
    seq_before = (await hub.node.room(await hub.store.get_stage("show"))).delivered_seq
    acks = await asyncio.gather(*(tab.call("startRecording", {"name": f"take {i}", "blank": True}) for i, tab in enumerate(tabs)))
    assert [a["ok"] for a in acks].count(True) == 1, acks
    assert {a["error"]["code"] for a in acks if not a["ok"]} == {"bad_request"}, acks
    room = await hub.node.room(await hub.store.get_stage("show"))
    assert room.delivered_seq == seq_before + 2  # one blankScene and one recordingSnapshot


async def test_a_retried_publish_is_answered_while_the_write_buffer_is_full(database_url, make_hub):
    """A publish accepted and waiting in a full write buffer, retried (same session and publish id,
    its first ack lost), is answered with its first event once stored; a new one is refused."""
    hub = await make_hub(database_url=database_url, write_buffer=4, **FAST)
    await hub.stage("show", owner="olivia", players=("pat",))
    pat = await hub.joined("pat")

    def line(i: int) -> dict[str, object]:
        return {"topic": "chat", "payload": {"message": f"line {i}"}, "id": f"p{i}"}

    async with database_outage(database_url):
        firsts = [asyncio.ensure_future(pat.call("publish", line(i))) for i in range(4)]
        deadline = asyncio.get_running_loop().time() + 10
        while not hub.node.persistence.full:
            assert asyncio.get_running_loop().time() < deadline, "the write buffer never filled"
            await asyncio.sleep(0.05)
        fresh = await pat.call("publish", line(9))
        assert fresh["ok"] is False and fresh["error"]["code"] == "unavailable", fresh
        retry = asyncio.ensure_future(pat.call("publish", line(0)))
        await asyncio.sleep(0.3)
        assert not retry.done(), retry.result()  # answered only once the first one is stored
    acks = await asyncio.gather(*firsts)
    again = await retry
    assert all(a["ok"] for a in acks), acks
    assert again == {"ok": True, "seq": acks[0]["seq"], "duplicate": True}
    stored = await hub.store.archive.live_events(await stage_id(hub))
    assert [e.payload["message"] for e in stored if e.topic == "chat"] == [f"line {i}" for i in range(4)]
