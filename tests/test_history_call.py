"""The hub's `history` call for gateways (issue 15, item 3): the joined stage's archived events in
a seq range, paged, for service connections only, every field checked."""

from __future__ import annotations

from typing import Any

from tests.gateway_support import SERVICE_USER, SLUG, seeded_hub


async def test_history_pages_through_the_stored_range(make_hub):
    hub = await seeded_hub(make_hub, "olivia")
    owner = await hub.joined("olivia", SLUG)
    seqs = [(await owner.publish("chat", {"message": f"m{n}"}))["seq"] for n in range(5)]
    service = await hub.connect(SERVICE_USER)
    await service.join(SLUG)

    first = await service.history(seqs[0], seqs[4], limit=2)  # after < seq <= upto
    assert [e["seq"] for e in first["events"]] == seqs[1:3] and first["more"] is True
    assert first["events"][0]["payload"]["message"] == "m1" and first["events"][0]["topic"] == "chat"
    assert set(first["events"][0]) == {"seq", "topic", "payload", "at", "from"}  # the `event` shape
    rest = await service.history(seqs[2], seqs[4], limit=2)
    assert [e["seq"] for e in rest["events"]] == seqs[3:5] and rest["more"] is False
    whole = await service.history(0, seqs[4])
    assert [e["payload"]["message"] for e in whole["events"]] == [f"m{n}" for n in range(5)]
    assert (await service.history(seqs[4], seqs[2]))["events"] == []  # an empty range


async def test_history_is_for_joined_service_connections_only(make_hub):
    hub = await seeded_hub(make_hub, "olivia")
    owner = await hub.joined("olivia", SLUG)
    assert (await owner.call("history", {"after": 0, "upto": 5}))["error"]["code"] == "forbidden"
    viewer = await hub.joined(None, SLUG)
    assert (await viewer.call("history", {"after": 0, "upto": 5}))["error"]["code"] == "forbidden"
    service = await hub.connect(SERVICE_USER)
    assert (await service.call("history", {"after": 0, "upto": 5}))["error"]["code"] == "not_joined"


async def test_history_fields_are_checked(make_hub):
    hub = await seeded_hub(make_hub, "olivia")
    service = await hub.connect(SERVICE_USER)
    await service.join(SLUG)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"upto": 5}, "after"), ({"after": "0", "upto": 5}, "after"), ({"after": -1, "upto": 5}, "after"),
        ({"after": True, "upto": 5}, "after"), ({"after": 0}, "upto"), ({"after": 0, "upto": 2**70}, "upto"),
        ({"after": 0, "upto": 5, "limit": 0}, "limit"), ({"after": 0, "upto": 5, "limit": 1001}, "limit"),
        ({"after": 0, "upto": 5, "limit": 1.5}, "limit"),
    ]
    for data, field in bad:
        ack = await service.call("history", data)
        assert ack["error"]["code"] == "bad_request", data
        assert field in ack["error"]["message"], data
    assert (await service.call("history", [1]))["error"]["code"] == "bad_request"  # type: ignore[arg-type]
