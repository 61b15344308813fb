"""Hostile and unlucky clients of a site of several hub processes on one Redis (issue 14).

Each test is a finding: it fails while the behaviour it describes is broken. Two `create_app`
processes share one database and one Redis prefix (`tests.test_control_hubs.open_site`, the
Redis engines for the stage log, the roster and control), which is what real processes share.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from client import HubClient
from tests.gql import data
from tests.redisdb import REDIS_URL
from tests.test_control_hubs import DELETE_STAGE, Site, open_site

BOARD = "board"


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with open_site("redis", tmp_path) as opened:
        yield opened


def placed(n: int, who: str) -> dict[str, Any]:
    return {
        "type": "placeObjectOnStage",
        "object": {"id": f"{who}{n}", "type": "prop", "x": 0.5, "y": 0.5, "src": "/m/p.png"},
    }


async def test_an_event_published_on_another_process_during_a_sweep_is_not_wiped_by_its_blank_scene(site: Site) -> None:
    """Observed: process 1 releases the fence before it publishes the sweep's `blankScene`, so a
    publish retried on process 2 lands first in the new epoch, is acked, and is then wiped by the
    blankScene (its object is gone from every state). Expected: the blankScene is the new epoch's
    first event (or it is published inside the fence)."""
    await site.one.stage("show", "helen", players=("pete",))
    helen = await site.one.joined("helen")
    epochs = record_epochs(helen)
    petes = [await site.two.joined("pete") for _ in range(3)]
    stop = asyncio.Event()
    acked: list[tuple[int, str]] = []

    async def spam(pete: HubClient, who: str) -> None:
        n = 0
        while not stop.is_set():
            ack = await pete.publish(BOARD, placed(n, who))
            if ack.get("ok"):
                acked.append((ack["seq"], f"{who}{n}"))
            n += 1

    tasks = [asyncio.create_task(spam(pete, f"p{k}-")) for k, pete in enumerate(petes)]
    try:
        results = []
        for _ in range(12):
            await asyncio.sleep(0.05)
            swept = await helen.call("sweep", {"name": "night"})
            assert swept["ok"], swept
            results.append(swept)
            await helen.wait_for(blanked(epochs, swept["epoch"]))
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    wiped = []
    for swept in results:
        start = epochs[swept["epoch"]]
        blank = min(e["seq"] for e in helen.events if e["seq"] > start and e["payload"].get("type") == "blankScene")
        wiped += [name for seq, name in acked if start < seq < blank]
    assert not wiped, f"acked placements wiped by a sweep's blankScene: {wiped}"


def blanked(epochs: dict[str, int], epoch: str) -> Callable[[HubClient], bool]:
    """The client has seen the blankScene of the sweep that began `epoch`."""
    return lambda c: (
        epoch in epochs and any(e["payload"].get("type") == "blankScene" and e["seq"] > epochs[epoch] for e in c.events)
    )


def record_epochs(client: HubClient) -> dict[str, int]:
    """epoch -> the seq it began after, from the client's `epoch` messages."""
    epochs: dict[str, int] = {}

    def listen(kind: str, data: Any) -> None:
        if kind == "epoch":
            epochs[data["epoch"]] = data["seq"]

    client.listeners.append(listen)
    return epochs


async def test_a_client_that_rejoins_at_once_is_not_left_on_a_deleted_stage(site: Site) -> None:
    """Observed: deleteStage tells every process (stageClosed, rooms forgotten) before it deletes
    the stage from the store, so a client that joins again on receiving stageClosed is let back in
    (the stage still reads as existing) and stays on the deleted stage, which its process now
    hosts with no further message to end it. Expected: once deleteStage returned, nobody is on
    the stage on any process."""
    await site.one.stage("show", "helen")
    stage_id = await site.stage_id("show")
    await site.one.user("ada", role="admin")
    hostile = [await site.two.joined() for _ in range(5)] + [await site.one.joined() for _ in range(5)]

    def rejoin(client: HubClient) -> None:
        def listen(kind: str, _: Any) -> None:
            if kind == "stageClosed":
                asyncio.get_running_loop().create_task(client.join("show"))

        client.listeners.append(listen)

    for client in hostile:
        rejoin(client)
    await data(site.one, DELETE_STAGE, {"id": stage_id}, user="ada")
    await asyncio.sleep(1.0)
    left_on = [
        hub.url for hub in (site.one, site.two)
        for conn in hub.node.connections.values() if conn.room is not None and conn.room.stage_id == int(stage_id)
    ]  # fmt: skip
    published = await hostile[0].publish("chat", {"message": "still here"})
    assert not left_on, f"{len(left_on)} sockets still on the deleted stage; a publish there: {published}"


async def test_a_deleted_stage_leaves_nothing_in_redis(site: Site) -> None:
    """Observed: the stage log's `stage:{S}:meta` hash never expires and nothing deletes it when the
    stage is deleted, so every deleted stage stays in Redis for good. Expected: deleteStage
    removes the stage's log keys (or they expire)."""
    import redis.asyncio as aioredis

    await site.one.stage("show", "helen")
    await site.one.user("ada", role="admin")
    stage_id = await site.stage_id("show")
    helen = await site.one.joined("helen")
    watcher = await site.two.joined()
    assert (await helen.publish("chat", {"message": "hello"}))["ok"]
    await data(site.one, DELETE_STAGE, {"id": stage_id}, user="ada")
    for client in (helen, watcher):
        await client.close()
    await asyncio.sleep(0.5)
    prefix = site.one.node.log.prefix
    redis = aioredis.Redis.from_url(REDIS_URL)
    try:
        left = [key async for key in redis.scan_iter(match=f"{prefix}*{{{stage_id}}}*")]
    finally:
        await redis.aclose()
    assert not left, left


async def test_a_sweep_cut_off_from_redis_half_way_can_be_retried(site: Site) -> None:
    """Redis goes away between the archive's sweep and the new epoch (simulated: the log's
    new_epoch raises LogUnavailable once). Observed: the sweep answers `unavailable`, but the live
    log was already moved into a performance, so the retry answers "already swept" and the stage
    is never blanked. Expected: a sweep that failed can be retried and blanks the stage."""
    from hub.stagelog import LogUnavailable

    await site.one.stage("show", "helen")
    helen = await site.one.joined("helen")
    for n in range(5):
        assert (await helen.publish(BOARD, placed(n, "h")))["ok"]
    log = site.one.node.log
    real = log.new_epoch
    calls = 0

    async def cut(stage_id: int, epoch: str) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise LogUnavailable("redis went away")
        return await real(stage_id, epoch)

    log.new_epoch = cut
    first = await helen.call("sweep", {"name": "night"})
    assert not first["ok"], first
    second = await helen.call("sweep", {"name": "night"})
    assert second["ok"], (first, second)
    fresh = await site.two.joined()
    assert not fresh.events and fresh.epoch == second["epoch"]


async def test_a_client_away_for_a_busy_chat_can_come_back_with_since(site: Site) -> None:
    """Observed: the join ack carries every missed event (up to HUB_HISTORY_SIZE, 2000, each up
    to the payload limit), built anew for each join, so after 1,000 audience chats of 4,000
    characters the ack is ~4.3 MB (the full state is ~0.4 MB: 100 messages kept), past the
    client's 4 MiB WebSocket message limit: the join never answers and every retry (same `since`)
    fails the same way; each try also makes a process read ~4 MB from Redis. Expected: when the
    missed events weigh more than the state, the ack carries the state (`recovered: false`)."""
    await site.one.stage("show", "helen")
    helen = await site.one.joined("helen")
    chatters = [await site.one.joined() for _ in range(10)]
    since = {"epoch": helen.epoch, "seq": helen.seq}

    async def chat(client: HubClient) -> None:
        for _ in range(100):
            assert (await client.publish("chat", {"message": "x" * 4000}))["ok"]

    await asyncio.gather(*(chat(c) for c in chatters))
    back = await site.two.connect()
    back.timeout = 5.0
    ack = await back.join("show", since=since)
    assert ack["ok"], ack


async def test_one_connections_publishes_in_flight_together_keep_their_order(site: Site) -> None:
    """A performer sends 60 publishes without waiting for acks (as a page does while dragging):
    on Redis they are queued and pipelined, not sent one round trip at a time, and every process
    delivers them in the order they were sent."""
    await site.one.stage("show", "helen")
    helen = await site.one.joined("helen")
    watchers = [await site.one.joined(), await site.two.joined()]
    acks = await asyncio.gather(*(helen.publish("chat", {"message": f"line {n}"}) for n in range(60)))
    assert all(ack["ok"] for ack in acks), [a for a in acks if not a["ok"]][:3]
    for watcher in watchers:
        await watcher.wait_for(lambda c: len(c.events) >= 60)
        assert [e["payload"]["message"] for e in watcher.events] == [f"line {n}" for n in range(60)]
    assert [ack["seq"] for ack in acks] == sorted(ack["seq"] for ack in acks)
