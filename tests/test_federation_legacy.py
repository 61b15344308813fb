"""Broker input without `origin`, with real hub, gateway and Mosquitto processes and
`mosquitto_pub` as the legacy client (issue 15, items 6 and 9): legacy floods are held to the
per-client and per-stage limits, a slow chatter is not, and this gateway's own message coming
back without properties (a bridge that strips MQTT v5 properties) is refused."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time
from pathlib import Path

from tests.fedproc import Federation, GatewayProcess, federation, stored_chats
from tests.gateway_support import SLUG

RATE_LIMITED = 'gateway_dropped_total{direction="in",reason="rate_limited"}'
RELAYED = 'gateway_relayed_total{topic="chat"}'


def legacy_publish(port: int, topic: str, payloads: list[str]) -> float:
    """Publish `payloads` as one legacy client at full speed (MQTT 3.1.1, QoS 1); seconds taken."""
    started = time.monotonic()
    subprocess.run(["mosquitto_pub", "-p", str(port), "-V", "mqttv311", "-q", "1", "-t", topic, "-l"],
                   input="\n".join(payloads) + "\n", text=True, check=True, timeout=60)
    return time.monotonic() - started


def limited(tmp_path: Path) -> contextlib.AbstractAsyncContextManager[Federation]:
    """Hub `a`, its gateway with the default legacy limits said out loud, and a private Mosquitto."""
    return federation(tmp_path, names=("a",), legacy_rate="20", legacy_burst="40", legacy_stage_rate="100",
                      legacy_stage_burst="200")


def chat(user: str, tag: str) -> str:
    return json.dumps({"user": user, "message": tag, "id": tag})


async def settled(gateway: GatewayProcess, total: int, timeout: float = 30.0) -> None:
    """Wait until the gateway has either relayed or rate-limited `total` chats."""
    for _ in range(int(timeout * 10)):
        if await gateway.metric(RELAYED) + await gateway.metric(RATE_LIMITED) >= total:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not settled: {await gateway.metrics()}")


async def test_a_legacy_flood_is_held_to_the_client_limit(tmp_path):
    async with limited(tmp_path) as fed:
        gateway, hub = fed.gateways["a"], fed.hubs["a"]
        topic = f"fed/{SLUG}/chat"
        took = await asyncio.to_thread(legacy_publish, fed.broker.port, topic,
                                       [chat("flooder", f"flood-{n}") for n in range(500)])
        await settled(gateway, 500)
        await asyncio.sleep(1)
        stored = stored_chats(hub, "flood")
        assert len(stored) <= 40 + 20 * took + 2, (len(stored), took)
        assert len(stored) >= 40
        assert await gateway.metric(RATE_LIMITED) == 500 - len(stored)
        # A slow chatter (5/s) is not held back, even right after the flood.
        for n in range(15):
            await asyncio.to_thread(legacy_publish, fed.broker.port, topic, [chat("calm", f"calm-{n}")])
            await asyncio.sleep(0.2)
        await settled(gateway, 515)
        await asyncio.sleep(1)
        assert stored_chats(hub, "calm") == [f"calm-{n}" for n in range(15)]


async def test_many_legacy_names_are_held_to_the_stage_limit(tmp_path):
    async with limited(tmp_path) as fed:
        gateway, hub = fed.gateways["a"], fed.hubs["a"]
        took = await asyncio.to_thread(legacy_publish, fed.broker.port, f"fed/{SLUG}/chat",
                                       [chat(f"user{n}", f"crowd-{n}") for n in range(600)])
        await settled(gateway, 600)
        await asyncio.sleep(1)
        stored = stored_chats(hub, "crowd")
        assert 200 <= len(stored) <= 200 + 100 * took + 5, (len(stored), took)
        assert await gateway.metric(RATE_LIMITED) == 600 - len(stored)


async def test_an_own_message_back_without_properties_is_refused(tmp_path):
    async with federation(tmp_path, names=("a",)) as fed:
        gateway, hub = fed.gateways["a"], fed.hubs["a"]
        topic = f"fed/{SLUG}/chat"
        listener = subprocess.Popen(["mosquitto_sub", "-p", str(fed.broker.port), "-t", topic, "-C", "1", "-W", "30"],
                                    stdout=subprocess.PIPE)
        await asyncio.sleep(0.5)
        performer = await hub.performer("owner-a")
        try:
            assert (await performer.publish("chat", {"message": "echo-0", "id": "echo-0"}))["ok"]
        finally:
            await performer.close()
        published = (await asyncio.to_thread(listener.communicate, None, 30))[0].rstrip(b"\n").decode()
        assert "echo-0" in published
        # What a property-stripping (MQTT 3.1.1) bridge hands back: the same topic and bytes, no properties.
        await asyncio.to_thread(legacy_publish, fed.broker.port, topic, [published, chat("legacy", "echo-1")])
        for _ in range(100):
            if await gateway.metric(RELAYED) >= 1:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)
        assert await gateway.metric('gateway_dropped_total{direction="in",reason="bridge_echo"}') == 1
        assert stored_chats(hub, "echo") == ["echo-0", "echo-1"]
        assert "strips" in gateway.log.read_text()
