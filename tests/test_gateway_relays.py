"""The relay pipeline (gateway/relays.py) against a fake hub, fast: relays from one origin are
applied in their order whatever happens to the connection (issue 15, item 4)."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway import Gateway, GatewayConfig
from gateway.bridge import StageBridge
from gateway.relays import WINDOW


class FakeHub:
    """Applies relays once each (its idempotency key is the relay id), in arrival order; after a
    retryable refusal it refuses later relays until a refused one comes again, as the hub does."""

    def __init__(self) -> None:
        self.applied: list[str] = []
        self.refuse_once: set[str] = set()  # refused `rate_limited` the first time they come
        self.held: set[str] | None = None

    def take(self, relay_id: str) -> dict[str, Any]:
        if self.held is not None and relay_id not in self.held:
            self.held.add(relay_id)
            return {"ok": False, "error": {"code": "unavailable", "message": "an earlier relay was refused"}}
        self.held = None
        if relay_id in self.applied:
            return {"ok": True, "seq": self.applied.index(relay_id) + 1, "duplicate": True}
        if relay_id in self.refuse_once:
            self.refuse_once.discard(relay_id)
            self.held = {relay_id}
            return {"ok": False, "error": {"code": "rate_limited", "message": "slow down"}}
        self.applied.append(relay_id)
        return {"ok": True, "seq": len(self.applied)}


class FakeClient:
    """One connection to the fake hub. `stall_after` arrivals, later calls get no answer (the
    hub died or the ack is lost); the first `lose_acks` of those are applied all the same."""

    def __init__(self, hub: FakeHub, stall_after: int | None = None, lose_acks: int = 0) -> None:
        self.hub, self.stall_after, self.lose_acks = hub, stall_after, lose_acks
        self.arrivals: list[str] = []

    async def publish(self, topic: str, payload: Any, relay: dict[str, Any]) -> dict[str, Any]:
        self.arrivals.append(relay["id"])
        arrived = len(self.arrivals)
        stalled = self.stall_after is not None and arrived > self.stall_after
        if stalled and arrived > self.stall_after + self.lose_acks:  # type: ignore[operator]
            await asyncio.Event().wait()  # neither applied nor answered: the hub died first
        ack = self.hub.take(relay["id"])  # applied in arrival order
        if stalled:
            await asyncio.Event().wait()  # applied, but the ack is lost
        await asyncio.sleep(0.001)
        return ack


def connect(bridge: StageBridge, client: FakeClient) -> asyncio.Event:
    """Put `client` in the bridge as its joined connection; returns its `gone` event."""
    bridge.client = client  # type: ignore[assignment]
    bridge._gone = asyncio.Event()
    bridge.ready.set()
    return bridge._gone


def queue(bridge: StageBridge, ids: range) -> list[str]:
    names = [f"hub-b:e:{n}" for n in ids]
    for name in names:
        bridge.relay("chat", {"message": name}, {"origin": "hub-b", "id": name, "hops": 1, "as": "player"})
    return names


def make_bridge() -> StageBridge:
    gateway = Gateway(GatewayConfig(hub_url="http://127.0.0.1:9", username="gateway", password="x"))
    return StageBridge(gateway, "show")


async def until(predicate: Any, timeout: float = 3.0) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.005)
    async with asyncio.timeout(timeout):
        await poll()


async def test_a_lost_connection_resends_the_unacked_first_in_order():
    """The hub dies with a window in flight (some applied, acks lost; one delivered but never
    stored): after the rejoin the unacked go first, in order, then the newer ones; nothing is
    applied twice or out of order, and nothing waits for a call timeout."""
    hub, bridge = FakeHub(), make_bridge()
    first = FakeClient(hub, stall_after=10, lose_acks=5)
    gone = connect(bridge, first)
    runner = asyncio.create_task(bridge.relays.run())
    try:
        names = queue(bridge, range(100))
        await until(lambda: len(first.arrivals) == 10 + WINDOW)
        assert hub.applied == names[:15]
        bridge.landed.add(names[20])  # seen live, then lost with the hub: no proof it is held
        gone.set()
        await until(lambda: not bridge.ready.is_set())  # the pipe gave the connection up at once
        bridge.landed.add(names[12])  # the rejoin's replay shows the hub holds this one
        second = FakeClient(hub)
        connect(bridge, second)
        queue(bridge, range(100, 110))
        await until(lambda: len(hub.applied) == 110)
        assert hub.applied == [*names, *(f"hub-b:e:{n}" for n in range(100, 110))]
        resent = [n for n in names[10:10 + WINDOW] if n != names[12]]
        assert second.arrivals[:len(resent)] == resent  # the unacked first, in their order
        assert names[12] not in second.arrivals
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def test_a_retryable_refusal_is_not_overtaken():
    """Relays refused for now (`rate_limited`, then the hub holds the ones behind them) are sent
    again from the first refused one, in order, once the window has drained: nothing overtakes."""
    hub, bridge = FakeHub(), make_bridge()
    client = FakeClient(hub)
    connect(bridge, client)
    runner = asyncio.create_task(bridge.relays.run())
    try:
        names = [f"hub-b:e:{n}" for n in range(300)]
        hub.refuse_once = {names[25], names[26], names[140]}
        queue(bridge, range(300))
        await until(lambda: len(hub.applied) == 300, timeout=10)
        assert hub.applied == names
        resent = client.arrivals.index(names[25], client.arrivals.index(names[25]) + 1)
        refused_first = client.arrivals.index(names[25])
        assert max(names.index(n) for n in client.arrivals[:resent]) < 25 + WINDOW  # nothing newer meanwhile
        assert client.arrivals[resent] == names[25] and refused_first < resent
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def test_a_duplicate_ack_is_landed_not_relayed():
    """Another gateway of the hub landed it first: `duplicate: true` is taken as landed."""
    hub, bridge = FakeHub(), make_bridge()
    hub.applied.append("hub-b:e:0")
    connect(bridge, FakeClient(hub))
    runner = asyncio.create_task(bridge.relays.run())
    try:
        queue(bridge, range(3))
        await until(lambda: len(hub.applied) == 3)
        await until(lambda: not bridge.relays.unacked)
        metrics = bridge.gateway.metrics
        assert "hub-b:e:0" in bridge.landed
        assert metrics.relayed.labels("chat")._value.get() == 2
        assert metrics.dropped_count("in", "already_landed") == 1
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
