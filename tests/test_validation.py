"""Every inbound call is checked: shape, topic, size, schema, joined, rights, rate limit, token."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import jwt
import pytest

from client import HubClient, HubError

CHAT = {"message": "hello"}


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


async def refused_code(ack):
    assert ack["ok"] is False, ack
    assert isinstance(ack["error"]["message"], str) and ack["error"]["message"]
    return ack["error"]["code"]


async def test_malformed_calls_get_bad_request_and_reach_nobody(hub):
    await hub.stage("show", owner="olivia", players=("pat",))
    pat, ann = await hub.connect("pat"), await hub.connect()
    await pat.join("show")
    await ann.join("show")
    cases = [
        {"topic": "counter", "payload": {"id": "x"}},  # original presence topic: the hub owns presence
        {"topic": "statistics", "payload": {"players": 99}},
        {"topic": "board", "payload": {"type": "teleport", "object": {"id": "a"}}},
        {"topic": "board", "payload": {"type": "moveTo"}},
        {"topic": "board", "payload": {"type": "moveTo", "object": {"id": ["not", "an", "id"]}}},
        {"topic": "draw", "payload": {"type": "undo", "index": "last"}},
        {"topic": "audio_master", "payload": {"volume": 7}},
        {"topic": "chat", "payload": {"text": "no message field"}},
        {"topic": 12, "payload": {}},
        {"payload": {}},
        {"topic": "chat"},
        {"topic": "chat", "payload": {"message": "deep", "extra": nested(70)}},
    ]
    for data in cases:
        assert await refused_code(await pat.call("publish", data)) == "bad_request", data
    assert await refused_code(await pat.call("publish", ["not", "an", "object"])) == "bad_request"
    assert await refused_code(await pat.call("join", {"stage": 5})) == "bad_request"
    assert await refused_code(await pat.call("presence", {"nickname": ""})) == "bad_request"
    assert await refused_code(await pat.call("presence", {"nickname": "x" * 41})) == "bad_request"
    await pat.publish("chat", {"message": "marker"})
    await ann.wait_for(lambda c: len(c.events) == 1)
    assert ann.events[0]["payload"]["message"] == "marker" and ann.events[0]["seq"] == 1


async def test_oversized_payload_is_too_large(hub):
    await hub.stage("show", owner="olivia", players=("pat",))
    pat = await hub.joined("pat")
    big = {"type": "placeObjectOnStage", "object": {"id": "a", "blob": "x" * (64 * 1024)}}
    assert await refused_code(await pat.publish("board", big)) == "too_large"
    assert await refused_code(await pat.publish("chat", {"message": "y" * 9000})) == "too_large"
    assert await refused_code(await pat.publish("reaction", "z" * 300)) == "too_large"
    assert (await pat.publish("reaction", "❤️"))["ok"]


async def test_publish_before_join_is_not_joined(hub):
    await hub.stage("show", owner="olivia")
    ann = await hub.connect()
    assert await refused_code(await ann.publish("chat", CHAT)) == "not_joined"
    assert await refused_code(await ann.set_presence(nickname="Ann")) == "not_joined"
    await ann.join("show")
    await ann.leave()
    assert await refused_code(await ann.publish("chat", CHAT)) == "not_joined"


async def test_rate_limit_refuses_the_excess_only(make_hub):
    hub = await make_hub(rate_limit=1.0, rate_burst=5)
    await hub.stage("show", owner="olivia")
    ann, watcher = await hub.connect(), await hub.connect()
    await ann.join("show")  # the join spends one token
    await watcher.join("show")
    acks = [await ann.publish("chat", {"message": f"m{i}"}) for i in range(8)]
    codes = [a["error"]["code"] if not a["ok"] else "ok" for a in acks]
    assert codes[:4] == ["ok"] * 4
    assert codes[4:] == ["rate_limited"] * 4
    await watcher.wait_for(lambda c: len(c.events) == 4)
    await asyncio.sleep(1.1)
    assert (await ann.publish("chat", {"message": "later"}))["ok"]


async def test_metrics_count_refusals_by_code(hub):
    await hub.stage("show", owner="olivia")
    ann = await hub.joined()
    await ann.publish("board", {"type": "destroy", "object": {"id": "a"}})
    await ann.publish("nope", {})
    await ann.publish("chat", CHAT)
    async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/metrics") as resp:
        text = await resp.text()
    assert 'hub_calls_refused_total{code="forbidden"} 1.0' in text
    assert 'hub_calls_refused_total{code="bad_request"} 1.0' in text
    assert 'hub_events_accepted_total{topic="chat"} 1.0' in text
    assert "hub_connections 1.0" in text
    assert "hub_deliveries_total 1.0" in text


@pytest.mark.parametrize("kind", ["garbage", "wrong-key", "expired", "refresh"])
async def test_bad_token_is_refused_at_connect(hub, kind):
    await hub.user("pat")
    now = int(time.time())
    claims = {"sub": "1", "name": "pat", "role": "player", "typ": "access", "iat": now, "exp": now + 60}
    key = "test-secret-key-that-is-long-enough-for-hs256"
    token = {
        "garbage": "not-a-jwt",
        "wrong-key": jwt.encode(claims, "another-key-of-sufficient-length-for-hs256!!", algorithm="HS256"),
        "expired": jwt.encode({**claims, "exp": now - 10}, key, algorithm="HS256"),
        "refresh": jwt.encode({**claims, "typ": "refresh"}, key, algorithm="HS256"),
    }[kind]
    client = HubClient(hub.url, token=token)
    with pytest.raises(HubError) as caught:
        await client.connect()
    expected = {"garbage": "invalid token", "wrong-key": "invalid token", "expired": "token expired"}
    assert caught.value.code == "unauthorized"
    assert str(caught.value) == "unauthorized: " + expected.get(kind, "not an access token")
    assert not client.sio.connected


async def test_long_polling_transport_joins_and_publishes(make_hub):
    # python-engineio's server answers a long-poll still held at close only after ping_timeout:
    # a short one keeps the test's teardown quick (browsers simply drop the request).
    hub = await make_hub(ping_interval=1.0, ping_timeout=1.0)
    await hub.stage("show", owner="olivia", players=("pat",))
    pat = await hub.connect("pat", transports=["polling"])
    ann = await hub.connect(transports=["polling"])
    assert pat.sio.transport() == "polling"
    assert (await pat.join("show"))["role"] == "player"
    assert (await ann.join("show"))["ok"]
    ack = await pat.publish("board", {"type": "placeObjectOnStage", "object": {"id": "a"}})
    await ann.wait_for(lambda c: len(c.events) == 1)
    assert ann.events[0]["seq"] == ack["seq"]
    await ann.wait_for(lambda c: c.presence["players"] == 1 and c.presence["audience"] == 1)


async def test_metrics_show_memory_open_files_and_tasks(hub):
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/metrics") as resp:
        text = await resp.text()
    values = {line.split()[0]: float(line.split()[1]) for line in text.splitlines() if line and not line.startswith("#")}
    assert values["process_resident_memory_bytes"] > 1e6
    assert values["process_open_fds"] > 0
    assert values["hub_asyncio_tasks"] >= 1
