"""Three real hub processes on one Postgres database and one Redis (issue 14): one site.

Whichever process a client lands on, every event arrives exactly once and in the same `seq` order,
a client of a killed process recovers exactly on another, nothing acked is missing from the
archive, and a sweep on one process reaches every process's sockets.
"""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from client import HubClient, login
from hub.state import apply, view
from tests.conftest import PASSWORD
from tests.hubproc import HubProcess, shared_site
from tests.test_live_state import mixed_events

PRESENCE_TTL = 1.5  # seconds a dead process's sessions stay counted (15 by default)


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[list[HubProcess]]:
    unlimited = {"rate_limit": "100000", "rate_burst": "100000"}  # performers publish in bursts
    async with shared_site(tmp_path, 3, presence_ttl=str(PRESENCE_TTL), **unlimited) as hubs:
        await hubs[0].seed("ada")
        await hubs[0].seed("ada", "duet", players=("bob",))
        await asyncio.gather(*(hub.start() for hub in hubs))
        yield hubs


async def audience(hub: HubProcess, slug: str = "show", **join: Any) -> HubClient:
    client = await HubClient(hub.url).connect()
    ack = await client.join(slug, **join)
    assert ack["ok"], ack
    return client


def seen(client: HubClient) -> list[tuple[int, str, Any]]:
    return [(e["seq"], e["topic"], e["payload"]) for e in client.events]


async def stored_seqs(hub: HubProcess, stage_slug: str) -> set[int]:
    connection = await asyncpg.connect(hub.env["HUB_DATABASE_URL"])
    try:
        rows = await connection.fetch(
            "SELECT e.seq FROM events e JOIN stages s ON s.id = e.stage_id WHERE s.slug = $1", stage_slug
        )
    finally:
        await connection.close()
    return {row["seq"] for row in rows}


async def test_every_event_once_in_one_order_on_every_process(site: list[HubProcess]) -> None:
    one, two, three = site
    ada, bob = await one.performer("ada", "duet"), await two.performer("bob", "duet")
    watchers = [await audience(hub, "duet") for hub in (two, three, three)]
    try:

        async def chat(client: HubClient, name: str) -> list[int]:
            seqs = []
            for n in range(30):
                ack = await client.publish("chat", {"message": f"{name} {n}"})
                assert ack["ok"], ack
                seqs.append(ack["seq"])
            return seqs

        from_ada, from_bob = await asyncio.gather(chat(ada, "ada"), chat(bob, "bob"))  # on two processes
        acked = sorted(from_ada + from_bob)
        assert len(set(acked)) == 60, "no seq was given twice"
        for watcher in watchers:
            await watcher.wait_for(lambda c: c.seq >= acked[-1])
        first = seen(watchers[0])
        assert [seq for seq, _, _ in first] == acked, "every event exactly once, in seq order"
        assert all(seen(w) == first for w in watchers[1:]), "the same order on every process"
        for who, seqs in (("ada", from_ada), ("bob", from_bob)):
            messages = [payload["message"] for seq, _, payload in first if seq in seqs]
            assert messages == [f"{who} {n}" for n in range(30)], "each connection's publishes in its order"
        joins = [await (await HubClient(hub.url).connect()).join("duet") for hub in site]
        assert len({(j["epoch"], j["seq"]) for j in joins}) == 1
        assert joins[0]["state"] == joins[1]["state"] == joins[2]["state"]
    finally:
        for client in (ada, bob, *watchers):
            await client.close()


async def test_a_killed_process_clients_recover_exactly_on_another(site: list[HubProcess]) -> None:
    one, two, three = site
    ada = await one.performer("ada")
    watcher, other = await audience(three), await audience(three)  # `other` dies with its process
    await ada.wait_for(lambda c: (c.presence or {}).get("audience") == 2)
    acked: list[int] = []
    stop = asyncio.Event()

    async def show() -> None:
        n = 0
        while not stop.is_set():
            ack = await ada.publish("chat", {"message": f"line {n}"})
            if ack.get("ok"):
                acked.append(ack["seq"])
            n += 1
            await asyncio.sleep(0.005)

    running = asyncio.create_task(show())
    try:
        await watcher.wait_for(lambda c: len(c.events) >= 20)
        assert three.proc is not None
        three.proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(three.proc.wait, 10)
        three.proc = None
        since = {"epoch": watcher.epoch, "seq": watcher.seq}
        kept = seen(watcher)
        await asyncio.sleep(0.3)  # the show goes on meanwhile
        back = await HubClient(two.url).connect()
        ack = await back.join("show", since=since)
        assert ack["ok"] and ack["recovered"], ack
        missed = [(e["seq"], e["topic"], e["payload"]) for e in ack["events"]]
        assert missed, "events were published while the client was away"
        await back.wait_for(lambda c: c.seq >= ack["seq"] + 5)
        resumed = kept + missed + seen(back)
        seqs = [seq for seq, _, _ in resumed]
        assert seqs == list(range(seqs[0], seqs[-1] + 1)), "exactly what it missed: no gap, no repeat"
        # The dead process's sessions leave the counts within the bound; the one that came back counts.
        await ada.wait_for(lambda c: (c.presence or {}).get("audience") == 1, timeout=3 * PRESENCE_TTL + 2)
        assert ada.presence is not None and [e["nickname"] for e in ada.presence["roster"]] == ["ada"]
        await back.close()
        assert not other.connected
    finally:
        stop.set()
        await running
        await ada.close()
    await asyncio.sleep(0.5)  # the writers' last batches
    missing = set(acked) - await stored_seqs(one, "show")
    assert not missing, f"acked events missing from the archive: {sorted(missing)[:10]}"


async def test_a_sweep_on_one_process_blanks_the_stage_everywhere(site: list[HubProcess]) -> None:
    one, two, three = site
    ada = await one.performer("ada")
    watchers = [await audience(two), await audience(three)]
    placed = {"id": "tree", "type": "prop", "x": 0.5, "y": 0.5, "src": "/m/tree.png"}
    assert (await ada.publish("board", {"type": "placeObjectOnStage", "object": placed}))["ok"]
    for watcher in watchers:
        await watcher.wait_for(lambda c: len(c.events) == 1)
    swept = await ada.call("sweep", {"name": "Night one"})
    assert swept["ok"], swept
    for watcher in watchers:
        await watcher.wait_for(lambda c: c.epoch == swept["epoch"] and c.events[-1]["payload"].get("type") == "blankScene")
    for hub in site:
        fresh = await HubClient(hub.url).connect()
        joined = await fresh.join("show")
        assert joined["epoch"] == swept["epoch"] and not joined["state"]["board"]["objects"], hub.url
        await fresh.close()
    for client in (ada, *watchers):
        await client.close()


def timeless(events: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The show with its tracks paused: a view then does not depend on when it is taken."""
    return [(t, {**p, "isPlaying": False}) if t == "audio" else (t, p) for t, p in events]


@pytest.mark.parametrize("seed", [3, 11])
async def test_late_joiners_on_any_process_see_what_an_early_client_built(site: list[HubProcess], seed: int) -> None:
    """Random shows published from two processes, audiences joining at random points on random
    processes (some with `since`): each ends with exactly the early client's stage."""
    rng = random.Random(seed)
    ada, bob = await site[0].performer("ada", "duet"), await site[1].performer("bob", "duet")
    early = await HubClient(site[2].url).connect()
    first = await early.join("duet")
    built = early_state = first["state"]
    joiners: list[tuple[HubClient, dict[str, Any]]] = []
    for n, (topic, payload) in enumerate(timeless(mixed_events(240, seed))):
        ack = await rng.choice((ada, bob)).publish(topic, payload)
        assert ack["ok"], ack
        if rng.random() < 0.04:
            late = await HubClient(rng.choice(site).url).connect()
            joined = await late.join("duet")
            assert joined["ok"], joined
            joiners.append((late, joined["state"]))
        if rng.random() < 0.02 and early.events:  # a client that left comes back with `since`
            cut = rng.randrange(len(early.events))
            back = await HubClient(rng.choice(site).url).connect()
            state = early_state
            for event in early.events[:cut]:
                state = apply(state, event)
            since = {"epoch": early.epoch, "seq": early.events[cut - 1]["seq"] if cut else first["seq"]}
            resumed = await back.join("duet", since=since)
            assert resumed["ok"], resumed
            if resumed["recovered"]:
                for event in resumed["events"]:
                    state = apply(state, event)
            else:
                state = resumed["state"]
            joiners.append((back, state))
        assert n < 240
    last = max(ada.seq, bob.seq)
    await early.wait_for(lambda c: c.seq >= last)
    for event in early.events:
        built = apply(built, event)
    expected = view(built, 0, audience=True)
    assert built["board"]["objects"], "the show should leave objects on the board"
    for late, state in joiners:
        await late.wait_for(lambda c: c.seq >= last)
        for event in late.events:
            state = apply(state, event)
        assert view(state, 0, audience=True) == expected, late.url
        await late.close()
    assert len(joiners) >= 3
    for client in (ada, bob, early):
        await client.close()


async def graphql_as(hub: HubProcess, username: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    token = (await login(hub.url, username, PASSWORD))["access_token"]
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{hub.url}/graphql", json={"query": query, "variables": variables},
                  headers={"Authorization": f"Bearer {token}"}) as response,  # fmt: skip
    ):
        result = dict(await response.json())
    assert not result.get("errors"), result
    return result


async def row_id(hub: HubProcess, table: str, column: str, value: str) -> str:
    connection = await asyncpg.connect(hub.env["HUB_DATABASE_URL"])
    try:
        return str(await connection.fetchval(f"SELECT id FROM {table} WHERE {column} = $1", value))
    finally:
        await connection.close()


async def test_graphql_on_one_process_reaches_the_sockets_of_another(site: list[HubProcess]) -> None:
    """Access changes, a stage going into rehearsal and a deactivated account, made through GraphQL
    on process 1, take effect on sockets held by processes 2 and 3."""
    one, two, three = site
    await asyncio.to_thread(one.cli, "user", "add", "--username", "root", "--password", PASSWORD, "--role", "admin")
    bob = await two.performer("bob", "duet")
    watcher = await audience(three, "duet")
    duet = await row_id(one, "stages", "slug", "duet")
    update_stage = "mutation($id: ID!, $in: StageInput!) { updateStage(id: $id, input: $in) { slug } }"
    await graphql_as(one, "ada", update_stage, {"id": duet, "in": {"players": []}})
    await bob.wait_for(lambda c: bool(c.closed))
    assert bob.closed[-1]["message"] == "your role on this stage changed", bob.closed
    again = await bob.join("duet")
    assert again["ok"] and again["role"] == "audience", again

    await graphql_as(one, "ada", update_stage, {"id": duet, "in": {"status": "rehearsal"}})
    await watcher.wait_for(lambda c: bool(c.closed))
    assert watcher.closed[-1]["status"] == "rehearsal"
    refused = await (await HubClient(three.url).connect()).join("duet")
    assert refused["error"]["code"] == "forbidden", refused

    update_user = "mutation($id: ID!, $active: Boolean) { updateUser(id: $id, active: $active) { id } }"
    await graphql_as(one, "root", update_user, {"id": await row_id(one, "users", "username", "bob"), "active": False})
    for _ in range(100):
        if not bob.connected:
            break
        await asyncio.sleep(0.05)
    assert not bob.connected, "a deactivated account's socket on another process is ended"
    await watcher.close()
