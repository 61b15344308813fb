"""Official Node socket.io-client (4.8) sockets across restarts of a real `python -m hub serve`:
they reconnect by themselves (socket.io-client's own reconnection; nothing calls `connect()`),
resume their session with the `resume` secret, and join again with `since` as a real client does.
After a clean stop they recover exactly; after a kill -9 they get a new epoch and the state."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from client import login
from hub.auth import hash_password
from storage import Store
from tests.conftest import PASSWORD
from tests.hubproc import HubProcess
from tests.nodeclient import QUICK_RECONNECT, NodeClients, node_clients

SHUTDOWN_TIMEOUT = 5.0  # HUB_SHUTDOWN_TIMEOUT's default
# A client whose transport closed reconnects by itself; one the hub sent away ("io server
# disconnect") would not, which is what clients got before restarts ended transports.
RECONNECTING = {"transport close", "transport error"}
AUDIENCE: dict[str, dict[str, Any]] = {
    "default": {},  # long-polling first, then upgraded to WebSocket
    "websocket": {"transports": ["websocket"]},
    "polling": {"transports": ["polling"]},
}


async def seeded_hub(tmp_path: Path) -> HubProcess:
    """A hub process (not started) whose database has the player pat owning the stage `show`."""
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    store = Store(url)
    await store.connect()
    try:
        await store.migrate()
        pat = await store.create_user("pat", hash_password(PASSWORD))
        await store.create_stage("show", "Show", pat.id)
    finally:
        await store.close()
    return HubProcess(tmp_path, url)


Show = tuple[HubProcess, NodeClients, dict[str, dict]]


@contextlib.asynccontextmanager
async def a_show(tmp_path: Path, messages: list[str]) -> AsyncIterator[Show]:
    """A running hub whose stage has pat (a performer, over WebSocket) and one audience client per
    transport setting, joined and having received pat's `messages`: (hub, clients, first acks)."""
    hub = await seeded_hub(tmp_path)
    try:
        await hub.start()
        token = (await login(hub.url, "pat", PASSWORD))["access_token"]
        async with node_clients() as node:
            await node.open("pat", hub.url, stage="show", token=token, transports=["websocket"], **QUICK_RECONNECT)
            for name, options in AUDIENCE.items():
                await node.open(name, hub.url, stage="show", **options, **QUICK_RECONNECT)
            first = {name: await node.joined(name) for name in ("pat", *AUDIENCE)}
            for message in messages:
                await node.publish("pat", "chat", {"message": message})
            await node.wait(lambda: all(len(chats(node, name)) == len(messages) for name in first), "the events")
            yield hub, node, first
    finally:
        hub.close()


def chats(node: NodeClients, name: str) -> list[tuple[int, str]]:
    return [(e["seq"], e["payload"]["message"]) for e in node.delivered(name) if e["topic"] == "chat"]


async def test_clients_reconnect_by_themselves_across_a_clean_restart_and_recover_exactly(tmp_path):
    before = [f"before {i}" for i in range(3)]
    async with a_show(tmp_path, before) as (hub, node, first):
        await node.first(lambda r: r["name"] == "default" and r["report"] == "upgrade", "the upgrade")
        began = time.monotonic()
        assert await hub.stop() == 0
        stopped = time.monotonic() - began
        assert stopped < SHUTDOWN_TIMEOUT / 2, f"the hub took {stopped:.2f} s to stop"
        await hub.start()
        python_pat = await hub.performer("pat")  # publishes while the Node clients come back
        for i in range(2):
            assert (await python_pat.publish("chat", {"message": f"while away {i}"}))["ok"]
        again = {name: await node.joined(name, count=2) for name in first}
        for i in range(2):
            await node.publish("pat", "chat", {"message": f"after {i}"})

        expected = [*before, "while away 0", "while away 1", "after 0", "after 1"]
        await node.wait(lambda: all(len(chats(node, name)) >= len(expected) for name in first), "every event")
        for name in first:
            assert chats(node, name) == list(enumerate(expected, start=1)), name
            assert node.of(name, "joined")[1]["since"] == {"epoch": first[name]["epoch"], "seq": 3}, name
            assert again[name]["recovered"] is True and again[name]["epoch"] == first[name]["epoch"], name
            assert again[name]["session"] == first[name]["session"], f"{name} lost its session"
            reasons = {r["reason"] for r in node.of(name, "disconnect")}
            assert reasons and reasons <= RECONNECTING, f"{name}: {reasons}"
            assert node.of(name, "reconnect_attempt"), name
        await python_pat.close()


async def test_after_a_kill_the_clients_come_back_to_a_new_epoch_with_every_acked_event(tmp_path):
    acked = [f"acked {i}" for i in range(4)]
    async with a_show(tmp_path, acked) as (hub, node, first):
        await hub.stop(signal.SIGKILL)
        await hub.start()
        again = {name: await node.joined(name, count=2) for name in first}
        await node.publish("pat", "chat", {"message": "after"})
        for name in first:
            ack = again[name]
            assert node.of(name, "joined")[1]["since"] == {"epoch": first[name]["epoch"], "seq": 4}, name
            assert ack["recovered"] is False and ack["epoch"] != first[name]["epoch"], name
            assert [m["message"] for m in ack["state"]["chat"]["messages"]] == acked, name
            assert ack["session"] == first[name]["session"], f"{name} lost its session"
            assert {r["reason"] for r in node.of(name, "disconnect")} <= RECONNECTING, name
        await node.wait(
            lambda: all([m for _, m in chats(node, name)] == [*acked, "after"] for name in first),
            "the event after the restart, once each",
        )
