"""Two hub nodes on one in-memory stage log and one database: two processes of one site, in one.

Whichever node a client lands on, it sees the same events in the same order, and a joiner gets
the same state; a sweep on one node reaches the other's sockets (issue 14, item 2).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from client import HubClient
from hub.roster import MemoryRoster
from hub.stagelog import MemoryStageLog
from tests.conftest import Hub

MakeHub = Callable[..., Awaitable[Hub]]


async def two_nodes(make_hub: MakeHub, tmp_path: Path) -> tuple[Hub, Hub]:
    log, roster = MemoryStageLog(), MemoryRoster("one")
    database = f"sqlite:///{tmp_path / 'site.db'}"
    first = await make_hub(stage_log=log, roster=roster, database_url=database)
    second = await make_hub(stage_log=log.sibling(), roster=roster.sibling("two"), database_url=database)
    await first.stage("show", "ada", players=("bob",))
    return first, second


def seen(client: HubClient) -> list[tuple[int, str, Any]]:
    return [(e["seq"], e["topic"], e["payload"]) for e in client.events]


async def test_both_nodes_deliver_the_same_events_in_the_same_order(make_hub: MakeHub, tmp_path: Path) -> None:
    a, b = await two_nodes(make_hub, tmp_path)
    ada, bob = await a.joined("ada"), await b.joined("bob")
    watch_a, watch_b = await a.joined(), await b.joined()

    async def moves(client: HubClient, name: str) -> None:
        placed = {"id": name, "type": "prop", "x": 0, "y": 0, "src": f"/m/{name}.png"}
        assert (await client.publish("board", {"type": "placeObjectOnStage", "object": placed}))["ok"]
        for n in range(1, 40):
            ack = await client.publish("board", {"type": "moveTo", "object": {"id": name, "x": n, "y": 1}})
            assert ack["ok"], ack

    await asyncio.gather(moves(ada, "a"), moves(bob, "b"))  # concurrent publishers on two nodes
    last = max(ada.seq, bob.seq)
    for watcher in (watch_a, watch_b):
        await watcher.wait_for(lambda c: c.seq >= last)
    assert len(watch_a.events) == 80
    assert seen(watch_a) == seen(watch_b)
    assert [s for s, _, _ in seen(watch_a)] == list(range(watch_a.events[0]["seq"], last + 1))
    assert a.node.rooms[1].state == b.node.rooms[1].state

    late_a, late_b = await a.connect(), await b.connect()
    ack_a, ack_b = await late_a.join("show"), await late_b.join("show")
    assert (ack_a["epoch"], ack_a["seq"]) == (ack_b["epoch"], ack_b["seq"]) == (watch_a.epoch, last)
    assert ack_a["state"] == ack_b["state"]
    assert {o["id"]: o["x"] for o in ack_a["state"]["board"]["objects"]} == {"a": 39, "b": 39}


async def test_a_reconnect_on_the_other_node_gets_exactly_what_it_missed(make_hub: MakeHub, tmp_path: Path) -> None:
    a, b = await two_nodes(make_hub, tmp_path)
    ada = await a.joined("ada")
    audience = await a.joined()
    await ada.publish("chat", {"message": "one"})
    await audience.wait_for(lambda c: len(c.events) == 1)
    since: dict[str, Any] = {"epoch": audience.epoch, "seq": audience.seq}
    await audience.close()
    for n in range(3):
        await ada.publish("chat", {"message": f"missed {n}"})
    back = await b.connect()
    ack = await back.join("show", since=since)
    assert ack["recovered"] is True, ack
    assert [e["payload"]["message"] for e in ack["events"]] == ["missed 0", "missed 1", "missed 2"]
    assert ack["seq"] == since["seq"] + 3
    await ada.publish("chat", {"message": "after"})
    await back.wait_for(lambda c: any(e["payload"]["message"] == "after" for e in c.events))


async def test_a_sweep_on_one_node_gives_the_other_nodes_sockets_the_new_epoch(make_hub: MakeHub, tmp_path: Path) -> None:
    a, b = await two_nodes(make_hub, tmp_path)
    ada = await a.joined("ada")
    audience = await b.joined()
    placed = {"id": "o", "type": "prop", "x": 0.5, "y": 0.5, "src": "/m/o.png"}
    await ada.publish("board", {"type": "placeObjectOnStage", "object": placed})
    await audience.wait_for(lambda c: len(c.events) == 1)
    old = audience.epoch
    ack = await ada.call("sweep", {"name": "Night one"})
    assert ack["ok"], ack
    await audience.wait_for(lambda c: c.epoch == ack["epoch"] and c.events[-1]["payload"].get("type") == "blankScene")
    assert audience.epoch != old
    assert not b.node.rooms[1].state["board"]["objects"]
    assert b.node.rooms[1].state == a.node.rooms[1].state
    fresh = await b.connect()
    joined = await fresh.join("show")
    assert joined["epoch"] == ack["epoch"] and not joined["state"]["board"]["objects"]


async def test_presence_counts_and_avatars_span_both_nodes(make_hub: MakeHub, tmp_path: Path) -> None:
    a, b = await two_nodes(make_hub, tmp_path)
    ada, bob = await a.joined("ada"), await b.joined("bob")
    watchers = [await a.joined(), await b.joined(), await b.joined()]
    everyone = {"ada", "bob"}

    def settled(client: HubClient) -> bool:
        p = client.presence or {}
        return p.get("audience") == 3 and {e["nickname"] for e in p.get("roster", [])} == everyone

    for client in (ada, bob, *watchers):
        await client.wait_for(settled)
    assert (await ada.set_presence(avatarId="bird"))["ok"]
    await bob.wait_for(lambda c: any(e["avatarId"] == "bird" for e in (c.presence or {})["roster"]))
    assert (await bob.set_presence(avatarId="bird"))["ok"], "the newest claim wins, on any node"

    def bobs(client: HubClient) -> bool:
        holders = {e["nickname"]: e["avatarId"] for e in (client.presence or {}).get("roster", [])}
        return holders == {"ada": None, "bob": "bird"}

    for client in (ada, *watchers):
        await client.wait_for(bobs)
    await watchers[2].close()
    await ada.wait_for(lambda c: (c.presence or {}).get("audience") == 2)
    late = await a.connect()
    ack = await late.join("show")
    assert ack["presence"]["audience"] == 3 and ack["presence"]["players"] == 2, ack["presence"]
