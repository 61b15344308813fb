"""Broker messages relayed into one bridged stage, in origin order.

The hub numbers one connection's publishes in the order they arrive, so relays sent in order
are applied in order as long as none is overtaken. Up to `WINDOW` are sent before their acks
come back; the ones not yet answered for good are kept in order (`unacked`). When the hub
connection is lost, calls in flight are abandoned at once and, after the rejoin, the unacked
ones are sent again first, in their order, before anything newer. A retryable refusal stops new
sends until the window has drained, then everything unacked is sent again from the refused one.
Sending one twice is harmless: the hub answers a relay whose `(origin, eventId)` it holds with
`duplicate: true` (its stage log's idempotency key), which counts as landed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from .metrics import worth_logging
from .tasks import stop

if TYPE_CHECKING:
    from client import HubClient

    from .bridge import StageBridge

log = logging.getLogger("gateway.relays")
RETRY_CODES = frozenset({"unavailable", "rate_limited"})  # the hub may take it a moment later
WINDOW = 32  # relayed publishes awaiting their ack at once
RETRY_DELAY = 0.5


@dataclass(eq=False)
class Relay:
    """One broker message on its way into the hub."""

    topic: str
    payload: Any
    relay: dict[str, Any]
    done: Callable[[], None] | None = None  # called once it is handled for good (landed or refused)

    def settle(self) -> None:
        done, self.done = self.done, None
        if done is not None:
            done()

    @property
    def id(self) -> str:
        return str(self.relay["id"])


class Round(Enum):
    """How a round of sends on one connection ended."""

    LOST = "lost"  # the connection is gone: wait for the rejoin
    REFUSED = "refused"  # a retryable refusal: the window drained, send again after a pause


class RelayPipe:
    """The inbound queue and the in-flight window of one stage; `run()` relays until cancelled."""

    def __init__(self, bridge: StageBridge) -> None:
        self.bridge = bridge
        self.metrics = bridge.gateway.metrics
        self.queue: asyncio.Queue[Relay] = asyncio.Queue(bridge.gateway.config.buffer)
        self.unacked: deque[Relay] = deque()  # taken from the queue, not answered for good; in order

    def put(self, topic: str, payload: Any, relay: dict[str, Any], done: Callable[[], None] | None = None) -> None:
        """Queue a broker message for the hub; past the bound it is dropped and counted."""
        message = Relay(topic, payload, relay, done)
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            message.settle()  # lost, and counted: it must not hold the receipts' mark back
            count = self.metrics.drop("in", "buffer_full")
            if worth_logging(count):
                log.warning("inbound buffer full, dropping", extra={"stage": self.bridge.slug, "dropped": count})

    async def run(self) -> None:
        """Relay on each connection the bridge holds, round after round."""
        bridge = self.bridge
        while True:
            await bridge.ready.wait()
            client, gone = bridge.link()
            outcome = Round.LOST if client is None or gone.is_set() else await self._round(client, gone)
            if outcome is Round.REFUSED:
                await asyncio.sleep(RETRY_DELAY)
                continue
            # What the hub was seen to hold before the loss is not proof it kept it (a crash loses
            # what was delivered but not yet stored): only the rejoin tells, and resends are safe.
            for relay in self.unacked:
                self.bridge.landed.discard(relay.id)
            if bridge.link()[1] is gone:
                bridge.ready.clear()  # the bridge is about to rejoin: wait for it

    async def _round(self, client: HubClient, gone: asyncio.Event) -> Round:
        """Send the unacked relays again in order, then new ones, until the connection is lost or
        a retryable refusal has drained the window."""
        backlog = deque(self.unacked)
        flights: dict[asyncio.Future[Any], Relay] = {}
        lost: asyncio.Future[Any] = asyncio.ensure_future(gone.wait())
        taking: asyncio.Future[Relay] | None = None
        halted = False
        try:
            while True:
                while not halted and backlog and len(flights) < WINDOW:
                    relay = backlog.popleft()
                    if relay.id in self.bridge.landed:
                        self.unacked.remove(relay)  # the rejoin showed the hub holds it
                        relay.settle()
                        continue
                    sending = client.publish(relay.topic, relay.payload, relay=relay.relay)
                    flights[asyncio.ensure_future(sending)] = relay
                if halted and not flights:
                    return Round.REFUSED
                if not halted and not backlog and len(flights) < WINDOW and taking is None:
                    taking = asyncio.ensure_future(self.queue.get())
                waits: set[asyncio.Future[Any]] = {lost, *flights}
                if taking is not None:
                    waits.add(taking)
                done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                if lost in done:
                    return Round.LOST
                if taking is not None and taking in done:
                    relay, taking = taking.result(), None
                    self.unacked.append(relay)
                    backlog.append(relay)
                for flight in done & flights.keys():
                    verdict = self._answered(flights.pop(flight), flight)
                    if verdict is Round.LOST:
                        gone.set()  # a call failed on this connection: the bridge rejoins
                        return Round.LOST
                    halted = halted or verdict is Round.REFUSED
        finally:
            await stop([lost, *flights])
            if taking is not None:
                if taking.done() and not taking.cancelled():
                    self.unacked.append(taking.result())  # taken as the round ended: next in order
                else:
                    taking.cancel()

    def _answered(self, relay: Relay, flight: asyncio.Future[Any]) -> Round | None:
        """Settle one answered relay; a Round when it ends the round (lost, or to be retried)."""
        exc = flight.exception()
        if exc is not None:  # disconnected or timed out: the rejoin tells what landed
            log.info("relay interrupted, sending again after the rejoin",
                     extra={"stage": self.bridge.slug, "error": repr(exc)[:200]})
            return Round.LOST
        ack = flight.result()
        if ack.get("ok"):
            self.bridge.landed.add(relay.id)
            if ack.get("duplicate"):  # another gateway of this hub, or an earlier try, landed it
                self.metrics.drop("in", "already_landed")
            else:
                self.metrics.relayed.labels(relay.topic).inc()
            self.unacked.remove(relay)
            relay.settle()
            return None
        error = ack.get("error") or {}
        code = error.get("code", "unknown")
        if code in RETRY_CODES:
            return Round.REFUSED
        self.unacked.remove(relay)
        relay.settle()
        self.metrics.drop("in", f"refused_{code}")
        log.warning("the hub refused a relayed message", extra={
            "stage": self.bridge.slug, "topic": relay.topic, "code": code, "detail": error.get("message"),
            "origin": relay.relay["origin"]})
        return None
