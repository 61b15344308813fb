"""Hubs federated through the machine's Mosquitto by real gateways: two hubs, a mesh of three,
and legacy MQTT clients speaking the original topics. Each test has a namespace of its own."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import gmqtt
import orjson

from tests.gateway_support import SLUG, SYSTEM_BROKER_PORT, arrives_once, matching, require_mosquitto, seeded_hub, until


def move(object_id: str, x: int = 1) -> dict:
    return {"type": "moveTo", "object": {"id": object_id, "x": x, "y": 2}}


async def test_two_hubs_one_broker_each_way_exactly_once(make_hub, make_gateway, namespace):
    require_mosquitto()
    hub_a = await seeded_hub(make_hub, "alice", hub_id="hub-a")
    hub_b = await seeded_hub(make_hub, "bob", hub_id="hub-b")
    await make_gateway(hub_a.url, namespace)
    await make_gateway(hub_b.url, namespace)
    player_a, viewer_a = await hub_a.joined("alice", SLUG), await hub_a.joined(None, SLUG)
    player_b, viewer_b = await hub_b.joined("bob", SLUG), await hub_b.joined(None, SLUG)

    assert (await player_a.publish("board", move("avatar-a")))["ok"]
    seen = await arrives_once(viewer_b, "board", "object.id", "avatar-a")
    assert seen["from"]["origin"] == "hub-a" and seen["from"]["hops"] == 1 and seen["from"]["role"] == "player"
    assert seen["payload"] == move("avatar-a")

    assert (await player_b.publish("board", move("avatar-b")))["ok"]
    back = await arrives_once(viewer_a, "board", "object.id", "avatar-b")
    assert back["from"]["origin"] == "hub-b"
    # nothing came back to where it started
    assert len(matching(viewer_a, "board", "object.id", "avatar-a")) == 1
    assert len(matching(viewer_b, "board", "object.id", "avatar-b")) == 1


async def test_mesh_of_three_hubs_every_event_once_everywhere(make_hub, make_gateway, namespace):
    require_mosquitto()
    hubs = [await seeded_hub(make_hub, f"owner{i}", hub_id=f"mesh-{i}") for i in range(3)]
    for hub in hubs:
        await make_gateway(hub.url, namespace)
    players = [await hub.joined(f"owner{i}", SLUG) for i, hub in enumerate(hubs)]
    viewers = [await hub.joined(None, SLUG) for hub in hubs]

    for round_ in range(3):
        for i, player in enumerate(players):
            ack = await player.publish("chat", {"message": f"m{round_}-{i}", "id": f"m{round_}-{i}"})
            assert ack["ok"], ack
    expected = {f"m{r}-{i}" for r in range(3) for i in range(3)}
    for viewer in viewers:
        await viewer.wait_for(lambda c: {e["payload"].get("id") for e in c.events if e["topic"] == "chat"} >= expected,
                              timeout=30)
    await asyncio.sleep(1.5)  # time for any echo or duplicate to show up
    for i, viewer in enumerate(viewers):
        ids = [e["payload"]["id"] for e in viewer.events if e["topic"] == "chat"]
        assert sorted(ids) == sorted(expected), (i, ids)
        # each hub's own messages arrive in the order they were sent, relayed ones in theirs
        for j in range(3):
            assert [x for x in ids if x.endswith(f"-{j}")] == [f"m{r}-{j}" for r in range(3)]


async def legacy_client(namespace: str, received: list) -> gmqtt.Client:
    """A plain MQTT client of the original kind: no user properties, subscribed to the stage."""
    client = gmqtt.Client(f"legacy-{uuid.uuid4().hex[:8]}")

    def on_message(_client: Any, topic: str, payload: bytes, qos: int, props: dict[str, Any]) -> int:
        received.append((topic, payload, props))
        return 0

    client.on_message = on_message
    await client.connect("127.0.0.1", SYSTEM_BROKER_PORT)
    client.subscribe(f"{namespace}/{SLUG}/#", qos=1)
    await asyncio.sleep(0.3)
    return client


async def test_a_retained_legacy_message_is_not_injected_at_each_subscribe(make_hub, make_gateway, namespace):
    """A legacy client left a retained chat on the broker: the broker hands it to every new
    subscription, and a gateway that took it would replay it at every (re)start. It is skipped
    (counted as `retained`); a live chat after it still arrives."""
    require_mosquitto()
    received: list = []
    legacy = await legacy_client(namespace, received)
    try:
        old = {"user": "Old Client", "message": "retained", "id": "legacy-retained"}
        legacy.publish(f"{namespace}/{SLUG}/chat", orjson.dumps(old), qos=1, retain=True)
        await asyncio.sleep(0.3)
        hub = await seeded_hub(make_hub, "alice", hub_id="hub-r")
        gateway = await make_gateway(hub.url, namespace)
        viewer = await hub.joined(None, SLUG)
        await until(lambda: gateway.metrics.dropped_count("in", "retained") >= 1)
        live = {"user": "Old Client", "message": "live", "id": "legacy-live"}
        legacy.publish(f"{namespace}/{SLUG}/chat", orjson.dumps(live), qos=1)
        await arrives_once(viewer, "chat", "id", "legacy-live")
        assert not matching(viewer, "chat", "id", "legacy-retained")
    finally:
        legacy.publish(f"{namespace}/{SLUG}/chat", b"", qos=1, retain=True)  # clear it from the broker
        await asyncio.sleep(0.2)
        await legacy.disconnect()


async def test_legacy_client_chats_as_audience_and_cannot_move_objects(make_hub, make_gateway, namespace):
    require_mosquitto()
    hub = await seeded_hub(make_hub, "alice", hub_id="hub-l")
    gateway = await make_gateway(hub.url, namespace)
    player, viewer = await hub.joined("alice", SLUG), await hub.joined(None, SLUG)
    received: list = []
    legacy = await legacy_client(namespace, received)
    try:
        chat = {"user": "Old Client", "message": "hello from 2021", "behavior": "speak", "isPlayer": True,
                "at": 1721980000123, "id": "legacy-1"}
        legacy.publish(f"{namespace}/{SLUG}/chat", orjson.dumps(chat), qos=1)
        event = await arrives_once(viewer, "chat", "id", "legacy-1")
        assert event["from"]["role"] == "audience" and event["from"]["origin"] == "legacy"
        assert event["payload"]["isPlayer"] is False and event["payload"]["user"] == "Old Client"

        legacy.publish(f"{namespace}/{SLUG}/board", orjson.dumps(move("sneaky")), qos=1)
        legacy.publish(f"{namespace}/{SLUG}/chat", b"{not json", qos=1)
        legacy.publish(f"{namespace}/{SLUG}/counter", orjson.dumps({"id": "x", "isPlayer": True}), qos=1)
        legacy.publish(f"{namespace}/{SLUG}/reaction", "👏".encode(), qos=1)
        await viewer.wait_for(lambda c: any(e["topic"] == "reaction" for e in c.events), timeout=20)
        metrics = gateway.metrics
        await until(lambda: metrics.dropped_count("in", "refused_forbidden") >= 1)
        assert metrics.dropped_count("in", "refused_forbidden") == 1
        assert metrics.dropped_count("in", "bad_json") == 1 and metrics.dropped_count("in", "hub_owned") == 1
        assert not matching(viewer, "board", "object.id", "sneaky")
        assert [e["payload"] for e in viewer.events if e["topic"] == "reaction"] == ["👏"]

        # outbound: the original payload on the original topic, the bare reaction, retained counts
        assert (await player.publish("reaction", "❤️"))["ok"]
        assert (await player.publish("board", move("seen-by-legacy")))["ok"]
        # the legacy client hears its own "sneaky" board too: wait for the hub's (it has properties)
        await until(lambda: any(t.endswith("/board") and props.get("user_property") for t, _p, props in received))
        from_hub = [(t, p, props) for t, p, props in received if props.get("user_property")]
        boards = [orjson.loads(p) for t, p, _ in from_hub if t == f"{namespace}/{SLUG}/board"]
        assert boards == [move("seen-by-legacy")]  # the refused one never entered the hub
        assert ("❤️".encode() in [p for t, p, _ in received if t == f"{namespace}/{SLUG}/reaction"])
        props = dict(next(props for t, p, props in from_hub if t.endswith("/board"))["user_property"])
        assert props["origin"] == "hub-l" and props["hops"] == "1" and props["eventId"].startswith("hub-l:")
        stats = [orjson.loads(p) for t, p, _ in received if t == f"{namespace}/{SLUG}/statistics"]
        assert stats and stats[-1] == {"players": 1, "audiences": 1}
    finally:
        await legacy.disconnect()
