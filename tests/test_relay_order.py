"""The hub keeps one connection's relays in the order they came (issue 15, items 4 and 8): they
are numbered in arrival order, a refused one is not overtaken by later ones, and a relay whose
`(origin, eventId)` the stage already holds is answered `duplicate` and not applied again."""

from __future__ import annotations

import asyncio

from hub.ratelimit import TokenBucket
from tests.gateway_support import SERVICE_USER, SLUG, seeded_hub


def relay(n: int) -> dict:
    return {"origin": "hub-b", "id": f"hub-b:e1:{n}", "hops": 1, "as": "player"}


async def test_concurrent_relays_are_numbered_in_arrival_order(make_hub):
    hub = await seeded_hub(make_hub, "olivia")
    service = await hub.connect(SERVICE_USER)
    await service.join(SLUG)
    acks = await asyncio.gather(*(service.publish("chat", {"message": str(n)}, relay=relay(n)) for n in range(200)))
    seqs = [ack["seq"] for ack in acks]
    assert all(ack["ok"] for ack in acks) and seqs == sorted(seqs)


async def test_a_relay_refused_for_now_is_not_overtaken(make_hub):
    """Relay 3 is rate limited; relay 4, sent before 3 comes again, must wait: it is refused
    `unavailable` until 3 is sent again, and then both land in their order."""
    hub = await seeded_hub(make_hub, "olivia", service_rate_limit=0.001, service_rate_burst=4)
    service = await hub.connect(SERVICE_USER)
    await service.join(SLUG)  # one call of the burst
    first = [await service.publish("chat", {"message": str(n)}, relay=relay(n)) for n in range(4)]
    assert [ack["ok"] for ack in first] == [True, True, True, False]
    assert first[3]["error"]["code"] == "rate_limited"
    service_conn = next(c for c in hub.node.connections.values() if c.service)
    service_conn.bucket = TokenBucket(1000, 1000)  # the bucket refills
    overtaking = await service.publish("chat", {"message": "4"}, relay=relay(4))
    assert overtaking["error"]["code"] == "unavailable"
    again = [await service.publish("chat", {"message": str(n)}, relay=relay(n)) for n in (3, 4)]
    assert all(ack["ok"] for ack in again) and again[0]["seq"] < again[1]["seq"]


async def test_a_relay_the_stage_holds_is_a_duplicate(make_hub):
    """Two gateways of one hub relay the same event: the second is answered `duplicate`."""
    hub = await seeded_hub(make_hub, "olivia")
    owner = await hub.joined("olivia", SLUG)
    one, two = await hub.connect(SERVICE_USER), await hub.connect(SERVICE_USER)
    await one.join(SLUG)
    await two.join(SLUG)
    first = await one.publish("chat", {"message": "once"}, relay=relay(1))
    second = await two.publish("chat", {"message": "once"}, relay=relay(1))
    assert first["ok"] and "duplicate" not in first
    assert second == {"ok": True, "seq": first["seq"], "duplicate": True}
    barrier = await one.publish("chat", {"message": "after"}, relay=relay(2))
    await owner.wait_for(lambda c: any(e["seq"] == barrier["seq"] for e in c.events))
    assert [e["payload"]["message"] for e in owner.events] == ["once", "after"]
