"""Gateway faults: the broker restarted mid-show, the hub restarted, and `python -m gateway`
run as its own process configured only by environment variables."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import aiohttp

from bench.proc import free_port
from tests.conftest import SERIAL, TEST_SECRET
from tests.gateway_support import (
    SERVICE_USER,
    SLUG,
    SYSTEM_BROKER_PORT,
    arrives_once,
    matching,
    require_mosquitto,
    seeded_hub,
    until,
)
from tests.hubproc import HubProcess

pytestmark = SERIAL


def chat(i: int, tag: str) -> dict:
    return {"message": f"{tag} {i}", "id": f"{tag}-{i}"}


def chat_ids(client, tag: str) -> list[str]:
    return [e["payload"]["id"] for e in client.events if e["topic"] == "chat" and e["payload"]["id"].startswith(tag)]


async def test_broker_restart_mid_show_delivers_the_outage_once(make_hub, make_gateway, namespace, private_broker):
    hub_a = await seeded_hub(make_hub, "alice", hub_id="hub-a")
    hub_b = await seeded_hub(make_hub, "bob", hub_id="hub-b")
    gw_a = await make_gateway(hub_a.url, namespace, port=private_broker.port)
    gw_b = await make_gateway(hub_b.url, namespace, port=private_broker.port)
    player_a, viewer_b = await hub_a.joined("alice", SLUG), await hub_b.joined(None, SLUG)

    assert (await player_a.publish("chat", chat(0, "before")))["ok"]
    await arrives_once(viewer_b, "chat", "id", "before-0", settle=0.2)

    private_broker.stop()
    await until(lambda: not gw_a.link.connected.is_set() and not gw_b.link.connected.is_set())
    for i in range(5):
        assert (await player_a.publish("chat", chat(i, "outage")))["ok"]  # the hub takes them meanwhile
    await until(lambda: len(gw_a.link.outbox) == 5)
    private_broker.start()
    await viewer_b.wait_for(lambda c: len(chat_ids(c, "outage")) >= 5, timeout=60)
    assert (await player_a.publish("chat", chat(0, "after")))["ok"]
    await arrives_once(viewer_b, "chat", "id", "after-0", settle=1.5)
    assert chat_ids(viewer_b, "outage") == [f"outage-{i}" for i in range(5)]
    assert gw_a.metrics.broker_connects._value.get() >= 2 and gw_a.metrics.overflow._value.get() == 0


async def test_outbound_buffer_is_bounded_and_says_so(make_hub, make_gateway, namespace, private_broker):
    hub = await seeded_hub(make_hub, "alice", hub_id="hub-buf")
    gateway = await make_gateway(hub.url, namespace, port=private_broker.port, buffer=3)
    player = await hub.joined("alice", SLUG)
    private_broker.stop()
    await until(lambda: not gateway.link.connected.is_set())
    for i in range(5):
        assert (await player.publish("chat", chat(i, "flood")))["ok"]
    await until(lambda: gateway.metrics.overflow._value.get() == 2)
    assert [m.payload for m in gateway.link.outbox][-1].find(b"flood-4") > 0 and len(gateway.link.outbox) == 3
    rendered = gateway.metrics.render().decode()
    assert "gateway_outbound_overflow_total 2.0" in rendered


async def test_hub_restart_gateway_rejoins_with_since_and_misses_nothing(make_hub, make_gateway, namespace, tmp_path):
    require_mosquitto()
    proc = HubProcess(tmp_path / "a", f"sqlite:///{tmp_path / 'a.db'}", id="hub-p")
    (tmp_path / "a").mkdir()
    await proc.seed("alice")
    await proc.add_user(SERVICE_USER, "service")
    await proc.start()
    try:
        hub_b = await seeded_hub(make_hub, "bob", hub_id="hub-b")
        gw_a = await make_gateway(proc.url, namespace)
        await make_gateway(hub_b.url, namespace)
        player_b, viewer_b = await hub_b.joined("bob", SLUG), await hub_b.joined(None, SLUG)
        player_a = await proc.performer("alice")
        assert (await player_a.publish("chat", chat(0, "first")))["ok"]
        await arrives_once(viewer_b, "chat", "id", "first-0", settle=0.2)
        await player_a.close()

        await proc.stop()
        await until(lambda: not gw_a.bridges[SLUG].ready.is_set())
        for i in range(3):  # B speaks while A is down: A's gateway holds it until A is back
            assert (await player_b.publish("chat", chat(i, "while-down")))["ok"]
        await proc.start()
        player_a = await proc.performer("alice")  # likely before the gateway's rejoin: `since` recovers these
        for i in range(3):
            assert (await player_a.publish("chat", chat(i, "restarted")))["ok"]
        viewer_a = await proc.performer("alice")
        await viewer_b.wait_for(lambda c: len(chat_ids(c, "restarted")) >= 3, timeout=60)
        await asyncio.sleep(1.0)
        assert chat_ids(viewer_b, "restarted") == [f"restarted-{i}" for i in range(3)]
        assert gw_a.metrics.hub_connects.labels("true")._value.get() >= 1
        assert gw_a.metrics.dropped_count("out", "history_gap") == 0

        async def relayed_while_down() -> list[str]:
            state = (await viewer_a.join(SLUG))["state"]
            return [m["id"] for m in state["chat"]["messages"] if str(m.get("id")).startswith("while-down")]

        for _ in range(150):
            if len(await relayed_while_down()) >= 3:
                break
            await asyncio.sleep(0.2)
        assert await relayed_while_down() == [f"while-down-{i}" for i in range(3)]
        await player_a.close()
        await viewer_a.close()
    finally:
        proc.close()


async def test_python_m_gateway_runs_from_environment_only(make_hub, make_gateway, namespace, tmp_path):
    require_mosquitto()
    hub_a = await seeded_hub(make_hub, "alice", hub_id="hub-env")
    hub_b = await seeded_hub(make_hub, "bob", hub_id="hub-b")
    root = Path(__file__).resolve().parent.parent
    hub_env = {**os.environ, "HUB_DATABASE_URL": hub_a.store.url, "HUB_SECRET_KEY": TEST_SECRET, "HUB_VAR_DIR": str(tmp_path)}
    minted = subprocess.run([sys.executable, "-m", "hub", "token", "--username", SERVICE_USER],
                            env=hub_env, capture_output=True, text=True, cwd=root)
    assert minted.returncode == 0, minted.stderr
    metrics_port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HUB_")},
        "HUB_GATEWAY_HUB_URL": hub_a.url,
        "HUB_GATEWAY_TOKEN": minted.stdout.strip().splitlines()[-1],
        "HUB_GATEWAY_BROKER_URL": f"mqtt://127.0.0.1:{SYSTEM_BROKER_PORT}",
        "HUB_GATEWAY_NAMESPACE": namespace,
        "HUB_GATEWAY_STAGES": SLUG,
        "HUB_GATEWAY_METRICS_PORT": str(metrics_port),
        "HUB_GATEWAY_SESSION_EXPIRY": "60",
    }
    log = (tmp_path / "gateway.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "gateway"], env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT)
    try:
        await make_gateway(hub_b.url, namespace)
        player_a, viewer_b = await hub_a.joined("alice", SLUG), await hub_b.joined(None, SLUG)
        player_b, viewer_a = await hub_b.joined("bob", SLUG), await hub_a.joined(None, SLUG)
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        async with aiohttp.ClientSession() as http:
            for _ in range(300):  # the process is up and has joined once its metrics say so
                try:
                    async with http.get(metrics_url) as resp:
                        if 'gateway_hub_joins_total{recovered="false"} 1.0' in await resp.text():
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # its subscription reaches the broker
            assert (await player_a.publish("board", {"type": "moveTo", "object": {"id": "env-a", "x": 3}}))["ok"]
            await arrives_once(viewer_b, "board", "object.id", "env-a")
            assert (await player_b.publish("board", {"type": "moveTo", "object": {"id": "env-b", "x": 4}}))["ok"]
            await arrives_once(viewer_a, "board", "object.id", "env-b")
            async with http.get(metrics_url) as resp:
                text = await resp.text()
        assert 'gateway_published_total{topic="board"} 1.0' in text
        assert 'gateway_relayed_total{topic="board"} 1.0' in text
        assert not matching(viewer_a, "board", "object.id", "env-a")[1:]
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0, (tmp_path / "gateway.log").read_text()[-3000:]
