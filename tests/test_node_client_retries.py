"""socket.io-client's `retries` option re-sends a call whose ack is late (after `ackTimeout`). The
publish ack waits for the archive, so a slow database makes acks late for real; the publish `id`
is what keeps those retries from becoming several events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from client import login
from tests.conftest import PASSWORD
from tests.nodeclient import NodeClients, node_clients
from tests.test_archive_hub import database_outage

RETRYING: dict[str, Any] = dict(transports=["websocket"], retries=20, ackTimeout=250)
OUTAGE = 1.2  # seconds the database is locked: several ack timeouts, well within the retries


@contextlib.asynccontextmanager
async def pat_and_watcher(hub) -> AsyncIterator[NodeClients]:
    """Node clients on the stage: pat, a player retrying its calls, and an audience watcher."""
    await hub.stage("show", owner="olivia", players=("pat",))
    token = (await login(hub.url, "pat", PASSWORD))["access_token"]
    async with node_clients() as node:
        await node.open("pat", hub.url, stage="show", token=token, **RETRYING)
        await node.open("watcher", hub.url, stage="show", transports=["websocket"])
        await node.joined("pat")
        await node.joined("watcher")
        yield node


async def publish_during_an_outage(hub, node: NodeClients, payload: dict, **extra) -> dict:
    """Publish from the retrying client while the database is locked; its `ack` report."""
    async with database_outage(hub.store.url):
        data = {"topic": "chat", "payload": payload, **extra}
        call = asyncio.create_task(node.call("pat", "publish", data, timeout=8))
        await asyncio.sleep(OUTAGE)
    done = await call
    assert done["ack"] and done["ack"]["ok"], done
    assert done["sent"] >= 3, f"the ack was not late enough for retries: {done}"
    return done


async def chats_before_barrier(node: NodeClients, name: str, barrier: str) -> list[dict]:
    """The chat events `name` got before the barrier message (events arrive in seq order)."""
    await node.wait(lambda: any(e["payload"].get("message") == barrier for e in node.delivered(name)), barrier)
    events = node.delivered(name)
    return events[: next(i for i, e in enumerate(events) if e["payload"].get("message") == barrier)]


async def test_retried_publishes_with_an_id_make_one_event(hub):
    async with pat_and_watcher(hub) as node:
        done = await publish_during_an_outage(hub, node, {"message": "once"}, id="msg-1")
        assert done["ack"]["duplicate"] is True, "the ack that arrives is a retry's"
        await node.publish("pat", "chat", {"message": "barrier"})
        chats = await chats_before_barrier(node, "watcher", "barrier")
        assert [(e["seq"], e["payload"]["message"]) for e in chats] == [(done["ack"]["seq"], "once")]
        stored = await hub.store.archive.live_events((await hub.store.get_stage("show")).id)
        assert [e.payload["message"] for e in stored] == ["once", "barrier"]


async def test_retried_publishes_without_an_id_become_several_events(hub):
    """Why the `id` exists: the hub cannot tell a retry from a second message without it."""
    async with pat_and_watcher(hub) as node:
        done = await publish_during_an_outage(hub, node, {"message": "again"})
        assert "duplicate" not in done["ack"]
        await node.publish("pat", "chat", {"message": "barrier"})
        chats = await chats_before_barrier(node, "watcher", "barrier")
        assert [e["payload"]["message"] for e in chats] == ["again"] * done["sent"]
