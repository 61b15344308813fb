"""Replays are bounded and their inputs checked: replays per client address and on the hub, a
rate for replay calls, the memory of loaded performances; ids and control values that are not
what the contract says answer `bad_request` naming the field (or `not_found`), never a
traceback, on SQLite and Postgres."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from hub.app import SIO
from storage.archive import Archive
from tests.conftest import Hub
from tests.replays import archived, gauges

FREE = dict(rate_limit=10_000.0, rate_burst=10_000, replay_rate_limit=10_000.0, replay_rate_burst=10_000)


async def show(make_hub: Any, **settings: Any) -> tuple[Hub, int]:
    hub = await make_hub(**{**FREE, **settings})
    await hub.stage("show", owner="olivia")
    return hub, await archived(hub, "show", count=5, spacing_ms=60_000)


async def test_replays_per_address_are_bounded(make_hub: Any) -> None:
    hub, performance = await show(make_hub, replays_per_address=2)
    first, second, third = [await hub.connect() for _ in range(3)]  # all from 127.0.0.1
    for client in (first, second):
        assert (await client.call("replay", {"performance": performance}))["ok"]
    assert (await first.call("replay", {"performance": performance}))["ok"]  # a replacement is no extra replay
    refused = await third.call("replay", {"performance": performance})
    assert refused["error"]["code"] == "rate_limited" and "address" in refused["error"]["message"], refused
    await first.close()
    await asyncio.sleep(0.1)
    assert (await third.call("replay", {"performance": performance}))["ok"]


async def test_replays_on_the_hub_are_bounded(make_hub: Any) -> None:
    hub, performance = await show(make_hub, replays_total=2)
    first, second, third = [await hub.connect() for _ in range(3)]
    for client in (first, second):
        assert (await client.call("replay", {"performance": performance}))["ok"]
    refused = await third.call("replay", {"performance": performance})
    assert refused["error"]["code"] == "unavailable" and "replays" in refused["error"]["message"], refused
    assert (await second.join("show"))["ok"]  # joining a stage ends its replay and frees the slot
    assert (await third.call("replay", {"performance": performance}))["ok"]
    assert (await gauges(hub))["hub_replays"] == 2


async def test_replay_calls_have_their_own_rate(make_hub: Any) -> None:
    hub, performance = await show(make_hub, replay_rate_limit=0.001, replay_rate_burst=4)
    viewer = await hub.connect()
    assert (await viewer.call("replay", {"performance": performance}))["ok"]
    answers = [await viewer.call("replayControl", {"action": "seek", "value": 1000 * i}) for i in range(5)]
    assert [a["ok"] for a in answers] == [True, True, True, False, False]  # the replay call spent one
    assert answers[-1]["error"]["code"] == "rate_limited"
    assert (await viewer.call("presence", {}))["error"]["code"] == "not_joined"  # other calls go on as before


async def test_a_closed_connections_replay_bucket_goes_with_it(make_hub: Any) -> None:
    """The replay call buckets are per connection: a connection that closed must not keep one
    (they were forgotten only past 100,000 of them, a slow leak of every replaying connection)."""
    hub, performance = await show(make_hub)
    replay = hub.server.app[SIO].handlers["/"]["replay"]
    slots = replay.__wrapped__.__self__.slots  # the PerformanceHandlers' ReplaySlots
    for _ in range(5):
        viewer = await hub.connect()
        assert (await viewer.call("replay", {"performance": performance}))["ok"]
        assert (await viewer.call("replayControl", {"action": "pause"}))["ok"]
        await viewer.close()
    for _ in range(100):
        if not hub.node.connections:
            break
        await asyncio.sleep(0.02)
    assert not hub.node.connections
    assert len(slots._calls) == 0 and slots.running == 0


async def test_no_new_performance_loads_past_the_memory_bound(make_hub: Any) -> None:
    hub, first = await show(make_hub, replay_memory=1, replay_keep_idle=0)
    second = await archived(hub, "show", count=3)
    holding, asking = await hub.connect(), await hub.connect()
    assert (await holding.call("replay", {"performance": first}))["ok"]
    assert (await asking.call("replay", {"performance": first}))["ok"]  # loaded already: shared, no more memory
    refused = await asking.call("replay", {"performance": second})
    assert refused["error"]["code"] == "unavailable", refused
    assert (await gauges(hub))["hub_replays"] == 1  # the refused call holds no slot
    await holding.close()
    await asyncio.sleep(0.1)
    assert (await asking.call("replay", {"performance": second}))["ok"]


async def served(hub: Hub, client: Any, call: str, data: Any) -> dict[str, Any]:
    """Make a call as the server's handler receives it, with values JSON cannot carry (NaN,
    integers past 64 bits); the answer is the ack the client would get."""
    return await hub.server.app[SIO].handlers["/"][call](client.sio.get_sid("/"), data)


async def control(hub: Hub, client: Any, data: Any) -> dict[str, Any]:
    return await served(hub, client, "replayControl", data)


BAD_IDS = [
    (2**63, "not_found"), (2**64, "not_found"), (10**30, "not_found"), (1e30, "bad_request"), (-1, "not_found"), (0, "not_found"),
    (1.5, "bad_request"), (1.0, "bad_request"), ("1", "bad_request"), (True, "bad_request"), (None, "bad_request"),
    ([1], "bad_request"), ({"id": 1}, "bad_request"),
]  # fmt: skip


async def test_ids_outside_the_database_range_are_refused_cleanly(database_url: str, make_hub: Any, caplog: Any) -> None:
    hub, performance = await show(make_hub, database_url=database_url)
    owner = await hub.joined("olivia")
    viewer = await hub.connect()
    caplog.set_level(logging.WARNING)
    assert (await viewer.call("replay", {"performance": 2**63}))["error"]["code"] == "not_found"  # over the wire
    for value, code in BAD_IDS:
        ack = await served(hub, viewer, "replay", {"performance": value})
        assert ack["error"]["code"] == code, (value, ack)
        assert code != "bad_request" or "performance" in ack["error"]["message"]
        for call in ("saveRecording", "updatePerformance", "deletePerformance", "trimPerformance"):
            ack = await served(hub, owner, call, {"id": value, "gap": 1})
            assert ack["error"]["code"] == code, (call, value, ack)
            assert code != "bad_request" or "id" in ack["error"]["message"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], caplog.text
    assert (await viewer.call("replay", {"performance": performance}))["ok"]


BAD_CONTROLS = [
    ({"action": "seek", "value": float("nan")}, "value"),
    ({"action": "seek", "value": float("inf")}, "value"),
    ({"action": "seek", "value": -float("inf")}, "value"),
    ({"action": "seek", "value": 10**400}, "value"),
    ({"action": "seek", "value": 1e300}, "value"),
    ({"action": "seek", "value": -5}, "value"),
    ({"action": "seek", "value": "100"}, "value"),
    ({"action": "seek", "value": True}, "value"),
    ({"action": "seek"}, "value"),
    ({"action": "speed", "value": 64}, "value"),
    ({"action": "speed", "value": 0}, "value"),
    ({"action": "speed", "value": float("nan")}, "value"),
    ({"action": "speed", "value": 10**400}, "value"),
    ({"action": "loop", "value": "yes"}, "value"),
    ({"action": "explode"}, "action"),
    ({"action": ["seek"]}, "action"),
    ({}, "action"),
]


async def test_control_values_are_checked_and_named(make_hub: Any, caplog: Any) -> None:
    hub, performance = await show(make_hub)
    viewer = await hub.connect()
    assert (await viewer.call("replay", {"performance": performance}))["ok"]
    before = (await control(hub, viewer, {"action": "pause"}))["status"]
    caplog.set_level(logging.WARNING)
    for data, field in BAD_CONTROLS:
        ack = await control(hub, viewer, data)
        assert ack["error"]["code"] == "bad_request", (data, ack)
        assert ack["error"]["message"].startswith(field), (data, ack)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], caplog.text
    after = (await control(hub, viewer, {"action": "pause"}))["status"]
    assert after == before  # nothing refused changed the replay
    for bad in ({"performance": performance, "speed": 100}, {"performance": performance, "loop": "yes"}):
        ack = await viewer.call("replay", bad)
        assert ack["error"]["code"] == "bad_request" and ack["error"]["message"].split()[0] in bad, ack


@pytest.mark.parametrize("value", [0, 150_000, 10**12])
async def test_seeks_in_range_and_past_the_end_work(make_hub: Any, value: int) -> None:
    hub, performance = await show(make_hub)
    viewer = await hub.connect()
    duration = (await viewer.call("replay", {"performance": performance}))["status"]["duration"]
    ack = await viewer.call("replayControl", {"action": "seek", "value": value})
    assert ack["ok"] and ack["status"]["position"] == pytest.approx(min(value, duration), abs=50)


async def test_a_performance_deleted_as_its_replay_starts_is_not_found(make_hub: Any, monkeypatch: Any, caplog: Any) -> None:
    read = Archive.performance_events

    async def deleted_first(self: Archive, performance_id: int) -> Any:
        await self.delete_performance(performance_id)
        return await read(self, performance_id)

    monkeypatch.setattr(Archive, "performance_events", deleted_first)  # before the hub binds it
    hub, performance = await show(make_hub)
    viewer = await hub.connect()
    caplog.set_level(logging.WARNING)
    ack = await viewer.call("replay", {"performance": performance})
    assert ack["error"] == {"code": "not_found", "message": "no such performance"}, ack
    assert not caplog.records, caplog.text
    assert (await gauges(hub))["hub_replays"] == 0
