"""Garbage published on the machine's Mosquitto reaches a real gateway: each message is dropped
with a counted reason (or refused by the hub, counted too), a 10 MB message never reaches the
gateway at all (it tells the broker its maximum packet size), and the gateway carries on."""

from __future__ import annotations

import uuid

import gmqtt
import orjson

from tests.gateway_support import SLUG, SYSTEM_BROKER_PORT, arrives_once, require_mosquitto, seeded_hub, until

EXPECTED_DROPS = {
    "too_large": 1, "not_utf8": 1, "unbridged_stage": 1, "bad_properties": 2, "refused_bad_request": 3,
    "refused_too_large": 0, "internal": 0,
}


async def test_garbage_from_the_broker_is_counted_and_the_gateway_carries_on(make_hub, make_gateway, namespace):
    require_mosquitto()
    hub = await seeded_hub(make_hub, "alice", hub_id="hub-g")
    gateway = await make_gateway(hub.url, namespace)
    viewer = await hub.joined(None, SLUG)
    sender = gmqtt.Client(f"garbage-{uuid.uuid4().hex[:8]}")
    await sender.connect("127.0.0.1", SYSTEM_BROKER_PORT)
    stage = f"{namespace}/{SLUG}"

    def send(topic: str, raw: bytes, **properties: str) -> None:
        extra = {"user_property": list(properties.items())} if properties else {}
        sender.publish(topic, raw, qos=1, **extra)

    try:
        send(f"{stage}/chat", orjson.dumps({"message": "x" * 10_000_000}))  # past the maximum packet size
        send(f"{stage}/chat", orjson.dumps({"message": "y" * 150_000}))  # past HUB_GATEWAY_MAX_MESSAGE
        send(f"{stage}/chat", b"\xff\xfe not utf-8")
        send(f"{stage}/chat", b"[1, 2, 3]")  # JSON, of the wrong type: the hub's schema refuses it
        send(f"{stage}/chat", b'{"message": 12}')
        send(f"{stage}/nonsense", b'{"message": "hi"}')  # no such topic on the hub
        send(f"{namespace}/{'z' * 60_000}/chat", b'{"message": "hi"}')
        send(f"{stage}/chat", b'{"message": "hi"}', origin="hub-q", hops="1")  # an origin without an event id
        send(f"{stage}/chat", b'{"message": "hi"}', origin="hub-q", eventId="hub-q:e:1", hops="lots")
        send(f"{stage}/chat", orjson.dumps({"message": "still here", "id": "after-garbage", "user": "Old"}))

        event = await arrives_once(viewer, "chat", "id", "after-garbage")
        assert event["payload"]["user"] == "Old"
        def dropped() -> dict[str, int]:
            return {reason: gateway.metrics.dropped_count("in", reason) for reason in EXPECTED_DROPS}

        await until(lambda: dropped() == EXPECTED_DROPS, explain=lambda: (dropped(), viewer.events))
        assert [e["payload"]["id"] for e in viewer.events if e["topic"] == "chat"] == ["after-garbage"]
        assert gateway.metrics.broker_connects._value.get() == 1 and gateway.link.connected.is_set()
    finally:
        await sender.disconnect()
