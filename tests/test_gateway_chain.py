"""A chain of hubs across two brokers: A and B share broker 1, B and C share broker 2, and hub B
runs one gateway on each. Every event crosses each broker once, its `hops` counting the brokers,
and the hop limit stops it from going further.

Each broker is a private Mosquitto process of the test, on a free port.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from client import HubClient
from gateway import Gateway
from tests.gateway_support import SLUG, arrives_once, matching, seeded_hub

SETTLE = 2.0  # seconds in which an echo or a duplicate would show up; nothing more may arrive


def move(object_id: str) -> dict:
    return {"type": "moveTo", "object": {"id": object_id, "x": 1, "y": 2}}


@dataclass
class Chain:
    """Hubs a, b, c; gateways a (broker 1), b1 (broker 1), b2 (broker 2), c (broker 2); a player and a viewer on each hub."""

    gateways: dict[str, Gateway]
    players: dict[str, HubClient]
    viewers: dict[str, HubClient]


async def chain(make_hub, make_gateway, make_private_broker, namespace: str, hop_limits: dict[str, int] | None = None) -> Chain:
    """Build the chain; `hop_limits` sets HUB_GATEWAY_HOP_LIMIT of the gateways it names."""
    broker_1, broker_2 = make_private_broker(), make_private_broker()
    hubs = {name: await seeded_hub(make_hub, f"owner-{name}", hub_id=f"chain-{name}") for name in "abc"}
    links = {"a": ("a", broker_1), "b1": ("b", broker_1), "b2": ("b", broker_2), "c": ("c", broker_2)}
    limits = hop_limits or {}
    gateways = {
        name: await make_gateway(hubs[hub].url, namespace, port=broker.port, **({"hop_limit": limits[name]} if name in limits else {}))
        for name, (hub, broker) in links.items()
    }
    players = {name: await hub.joined(f"owner-{name}", SLUG) for name, hub in hubs.items()}
    viewers = {name: await hub.joined(None, SLUG) for name, hub in hubs.items()}
    return Chain(gateways, players, viewers)


def published(gateway: Gateway) -> float:
    return gateway.metrics.published.labels("board")._value.get()


async def test_chain_of_three_hubs_each_way_exactly_once_with_hops_counted(make_hub, make_gateway, make_private_broker, namespace):
    net = await chain(make_hub, make_gateway, make_private_broker, namespace)
    viewers = net.viewers

    assert (await net.players["a"].publish("board", move("from-a")))["ok"]
    at_c = await arrives_once(viewers["c"], "board", "object.id", "from-a", settle=0)
    assert at_c["from"]["origin"] == "chain-a" and at_c["from"]["hops"] == 2 and at_c["from"]["role"] == "player"
    at_b = matching(viewers["b"], "board", "object.id", "from-a")[0]
    assert at_b["from"]["hops"] == 1 and at_c["from"]["eventId"] == at_b["from"]["eventId"]

    assert (await net.players["c"].publish("board", move("from-c")))["ok"]
    at_a = await arrives_once(viewers["a"], "board", "object.id", "from-c", settle=0)
    assert at_a["from"]["origin"] == "chain-c" and at_a["from"]["hops"] == 2
    assert matching(viewers["b"], "board", "object.id", "from-c")[0]["from"]["hops"] == 1

    await asyncio.sleep(SETTLE)  # the settle window: an echo or a loop would deliver again meanwhile
    for name, viewer in viewers.items():
        for object_id in ("from-a", "from-c"):
            assert len(matching(viewer, "board", "object.id", object_id)) == 1, (name, object_id)
    assert "origin" not in matching(viewers["a"], "board", "object.id", "from-a")[0]["from"]  # its own, local
    # each gateway put exactly one event on its broker: A's and C's own, and B's two forwarded ones
    assert {name: published(gw) for name, gw in net.gateways.items()} == {"a": 1, "b1": 1, "b2": 1, "c": 1}
    # B's gateways saw the events they had brought in come back from the hub and kept them off that broker
    assert net.gateways["b1"].metrics.dropped_count("out", "from_broker") == 1
    assert net.gateways["b2"].metrics.dropped_count("out", "from_broker") == 1
    assert all(gw.metrics.dropped_count("in", "duplicate") == 0 for gw in net.gateways.values())


@pytest.mark.parametrize("where", ["forwarding", "receiving"])
async def test_hop_limit_one_stops_a_relayed_event_at_the_next_broker(make_hub, make_gateway, make_private_broker, namespace, where):
    """With a limit of 1, A's event reaches B (1 broker) but not C (2): B's second gateway does not
    forward it (`forwarding`), or C's gateway drops what arrives (`receiving`); either counts it."""
    stopper, direction = ("b2", "out") if where == "forwarding" else ("c", "in")
    net = await chain(make_hub, make_gateway, make_private_broker, namespace, hop_limits={stopper: 1})
    viewers = net.viewers

    assert (await net.players["a"].publish("board", move("limited")))["ok"]
    await arrives_once(viewers["b"], "board", "object.id", "limited", settle=0)
    # B's own event, published after A's, reaches C (1 hop): A's would have come first
    assert (await net.players["b"].publish("board", move("from-b")))["ok"]
    at_c = await arrives_once(viewers["c"], "board", "object.id", "from-b", settle=0)
    assert at_c["from"]["hops"] == 1
    assert not matching(viewers["c"], "board", "object.id", "limited")
    assert net.gateways[stopper].metrics.dropped_count(direction, "hop_limit") == 1
    assert f'gateway_dropped_total{{direction="{direction}",reason="hop_limit"}} 1.0' in net.gateways[stopper].metrics.render().decode()
