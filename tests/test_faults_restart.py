"""Fault during a show: the hub process is killed (SIGKILL) or stopped (SIGTERM) under publishing
load and started again on the same database and port.

Performers (our Python client, made to reconnect by itself as the web page does) publish chat
lines with ids and retry the ones whose ack they did not see; the audience is our Python client
and the official Node socket.io-client. Nobody reconnects by hand. Afterwards every acked event
is in the archive exactly once (retries were not doubled) and every client's view equals the
hub's state. After SIGTERM every client recovers exactly (`recovered: true`, one continuous
history with every event once); after SIGKILL the epoch changes and each client gets the state.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from client import HubClient, login
from hub.auth import hash_password
from storage import Event, Store
from tests.conftest import PASSWORD, SERIAL
from tests.faults import Member, Segment, Show, check_segment, segments_of, wait_until
from tests.hubproc import HubProcess
from tests.nodeclient import QUICK_RECONNECT, NodeClients, node_clients

pytestmark = SERIAL

PERFORMERS = ("pat", "pia")
NODE_AUDIENCE: dict[str, dict[str, Any]] = {
    "node-websocket": {"transports": ["websocket"]},
    "node-default": {},  # long-polling first, then upgraded to WebSocket
}
RATE = 15.0  # publishes per second per performer


async def seeded(tmp_path: Path, url: str) -> HubProcess:
    store = Store(url)
    await store.connect()
    try:
        await store.migrate()
        owner = await store.create_user("olivia", hash_password(PASSWORD))
        players = [(await store.create_user(name, hash_password(PASSWORD))).id for name in PERFORMERS]
        await store.create_stage("show", "Show", owner.id, players)
    finally:
        await store.close()
    return HubProcess(tmp_path, url, rate_limit="100000", rate_burst="100000")


async def archived(url: str) -> list[Event]:
    store = Store(url)
    await store.connect()
    try:
        stage = await store.get_stage("show")
        assert stage is not None
        return await store.archive.live_events(stage.id)
    finally:
        await store.close()


async def fresh_join(url: str, token: str | None = None) -> dict[str, Any]:
    client = await HubClient(url, token=token).connect()
    try:
        ack = await client.join("show")
        assert ack["ok"], ack
        return ack
    finally:
        await client.close()


def node_segments(node: NodeClients, name: str) -> list[Segment]:
    entries: list[tuple[str, Any]] = []
    for report in node.reports:
        if report["name"] == name and report["report"] == "joined" and report["ack"]:
            entries.append(("joined", report["ack"]))
        elif report["name"] == name and report["report"] == "event":
            entries.append(("event", report["event"]))
    return segments_of(entries)


def last_seq(segments: list[Segment]) -> int:
    last = segments[-1]
    return last.events[-1]["seq"] if last.events else last.seq


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
async def test_the_hub_restarted_under_load_loses_and_doubles_nothing_and_clients_recover(tmp_path, database_url, how):
    url = database_url
    hub = await seeded(tmp_path, url)
    sig = signal.SIGKILL if how == "SIGKILL" else signal.SIGTERM
    members: list[Member] = []
    try:
        await hub.start()
        async with node_clients() as node:
            for name, options in NODE_AUDIENCE.items():
                await node.open(name, hub.url, stage="show", **options, **QUICK_RECONNECT)
            first = {name: await node.joined(name) for name in NODE_AUDIENCE}
            performers = [
                await Member(hub.url, "show", (await login(hub.url, name, PASSWORD))["access_token"], name).open()
                for name in PERFORMERS
            ]
            audience = [await Member(hub.url, "show", name=f"viewer{i}").open() for i in range(2)]
            members = performers + audience
            sessions = {m.name: m.session for m in members}
            epoch = members[0].epoch
            show = Show(performers, RATE, retry_unavailable=True).start()
            await asyncio.sleep(1.5)

            # A burst in flight at the moment of the fault: its acks cannot all have come back.
            burst = [
                asyncio.create_task(performers[0].publish("chat", {"message": f"burst-{i}"}, f"burst-{i}", True))
                for i in range(20)
            ]
            await asyncio.sleep(0.005)
            killed_at = time.monotonic()
            acked_before = {o.pid: o.ack["seq"] for o in show.outcomes if o.ack.get("ok") and o.answered < killed_at}
            await hub.stop(sig)
            await hub.start()
            restarted_at = time.monotonic()
            await asyncio.sleep(2)  # the show goes on after the restart
            await show.stop()
            async with asyncio.timeout(60):
                burst_acks = await asyncio.gather(*burst)

            final = await fresh_join(hub.url)
            backstage = await fresh_join(hub.url, (await login(hub.url, "olivia", PASSWORD))["access_token"])
            total = final["seq"]
            await wait_until(lambda: all(m.joined.is_set() and m.seq == total for m in members), "the members", 30)
            await node.wait(lambda: all(last_seq(node_segments(node, n)) == total for n in NODE_AUDIENCE), "node", 30)
            node_views = {name: node_segments(node, name) for name in NODE_AUDIENCE}
            node_rejoins = {name: node.joins(name)[1:] for name in NODE_AUDIENCE}
        for member in members:
            await member.close()
        members = []
        await hub.stop()
        stored = await archived(url)
    finally:
        for member in members:
            await member.close()
        hub.close()

    # Every publish was acked in the end (retried with its id across the fault), once in the archive.
    outcomes = [(o.pid, o.ack) for o in show.outcomes] + [(f"burst-{i}", a) for i, a in enumerate(burst_acks)]
    assert all(ack["ok"] for _, ack in outcomes), [a for _, a in outcomes if not a["ok"]][:3]
    acked = {pid: ack["seq"] for pid, ack in outcomes}
    assert [e.seq for e in stored] == list(range(1, total + 1))
    assert Counter(e.sender.get("publishId") for e in stored) == Counter(acked.keys())
    assert all(acked[e.sender["publishId"]] == e.seq for e in stored), "an ack's seq is the stored event's"
    for pid, seq in acked_before.items():
        assert acked[pid] == seq, f"{pid} acked before the fault moved"
    retried = [pid for m in performers for pid in m.retried]
    assert retried, "some publishes were in flight at the fault and were sent again"
    expected = [(e.seq, e.sender["publishId"]) for e in stored]

    views: dict[str, list[Segment]] = {m.name: m.segments() for m in performers + audience}
    views.update(node_views)
    rejoins: dict[str, list[dict[str, Any]]] = {m.name: m.rejoins for m in performers + audience}
    rejoins.update(node_rejoins)
    for name, segments in views.items():
        for segment in segments:
            check_segment(segment, name)
        assert rejoins[name], f"{name} never came back by itself"
        hubs = backstage if name in PERFORMERS else final  # performers' state has the private chat too
        assert segments[-1].view() == hubs["state"], f"{name}: the client's stage is not the hub's"
        if sig == signal.SIGTERM:
            assert all(ack["recovered"] for ack in rejoins[name]), name
            assert len(segments) == 1 and segments[0].seq == 0, f"{name}: one continuous history"
            got = [(e["seq"], e["from"]["publishId"]) for e in segments[0].events]
            assert got == expected, f"{name}: every event once, in order"
        else:
            assert len(segments) == 2, f"{name}: a new history after the crash, once"
            old, new = segments
            assert old.epoch != new.epoch == final["epoch"]
            got = [(e["seq"], e["from"]["publishId"]) for e in new.events]
            assert got == expected[new.seq :], f"{name}: every event after the state once, in order"
            # What was stored before the kill, the client had received in that order.
            stored_before = max(acked_before.values())
            prefix = [(e["seq"], e["from"]["publishId"]) for e in old.events if e["seq"] <= stored_before]
            assert prefix == expected[old.seq : stored_before], name
    for member in performers + audience:
        assert member.session == sessions[member.name], f"{member.name} lost its session"
        assert member.epoch == final["epoch"]
    if sig == signal.SIGTERM:
        assert final["epoch"] == epoch, "a clean stop keeps the epoch"
    else:
        assert final["epoch"] != epoch, "after a crash the epoch changes"
    for name, ack in first.items():
        assert node_rejoins[name][-1]["session"] == ack["session"], f"{name} lost its session"
    assert restarted_at - killed_at < 20
