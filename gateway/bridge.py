"""One bridged stage: a service connection to the hub that follows the stage (rejoining with
`since` after any disconnect, so nothing is missed) and relays broker messages into it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from client import HubClient

from .backoff import Backoff
from .catchup import catch_up
from .dedupe import SeenCache
from .position import StagePosition
from .relays import RelayPipe
from .tasks import stop

if TYPE_CHECKING:
    from .core import Gateway

log = logging.getLogger("gateway.bridge")


class StageBridge:
    """Hub side of one stage: its events go to the gateway, broker messages come in as relays."""

    def __init__(self, gateway: Gateway, slug: str) -> None:
        self.gateway, self.slug = gateway, slug
        config = gateway.config
        self.client: HubClient | None = None
        # Where the broker confirmed this stage up to (saved across restarts; in memory only for
        # a gateway not started): the first join asks the hub for everything after it.
        positions = gateway.positions
        self.position = positions.stage(slug) if positions is not None else StagePosition(None, lambda: None)
        self.epoch: str | None = self.position.confirmed[0] if self.position.confirmed else None
        self.last_seq = self.position.confirmed[1] if self.position.confirmed else 0
        self.ready = asyncio.Event()
        self.exposed = True  # live and visible on the hub: federated outward (issue 15, item 5)
        self.landed = SeenCache(config.seen_cache)  # relayed ids the hub is known to hold
        self._joining = False
        self._early: list[dict[str, Any]] = []
        self._gone = asyncio.Event()
        self._backoff = Backoff(config.backoff_min, config.backoff_max)
        self._tasks: list[asyncio.Task[None]] = []
        self._closing: asyncio.Future[None] | None = None  # a connection given up for a rewind, closing
        self.relays = RelayPipe(self)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._follow(), name=f"bridge-{self.slug}")]
        if self.gateway.config.inbound:
            self._tasks.append(asyncio.create_task(self.relays.run(), name=f"relay-{self.slug}"))

    async def close(self) -> None:
        await stop(self._tasks)
        if self.client is not None and self.client.connected:
            await self.client.close()

    def relay(self, topic: str, payload: Any, relay: dict[str, Any], done: Callable[[], None] | None = None) -> None:
        """Queue a broker message for the hub (in order, see relays.py); `done` once it is handled."""
        self.relays.put(topic, payload, relay, done)

    def link(self) -> tuple[HubClient | None, asyncio.Event]:
        """The current hub connection and the event set when it is lost."""
        return self.client, self._gone

    def rewind(self, epoch: str, seq: int) -> None:
        """Publish again everything after `(epoch, seq)`: a peer's hello says it lacks it
        (receipts.py). The connection is given up at once, so nothing newer is published before
        the replay, and the rejoin asks the hub for everything after that position."""
        if epoch == self.epoch and seq >= self.last_seq:
            return  # the peer has everything published so far
        self.epoch, self.last_seq = epoch, seq
        stale, self.client = self.client, None
        self._gone.set()
        log.info("rewinding for a peer", extra={"stage": self.slug, "epoch": epoch, "seq": seq})
        if stale is not None:
            self._closing = asyncio.ensure_future(stale.close())

    def check_current(self, client: HubClient) -> None:
        """Raise when `client` was given up meanwhile (a rewind): what it would publish is stale."""
        if client is not self.client:
            raise RuntimeError("the connection was given up for a rewind")

    # following the stage

    async def _follow(self) -> None:
        """Stay joined: connect, join (with `since` after the first time), wait for a disconnect."""
        while True:
            try:
                await self._join()
            except Exception as exc:  # the hub is down or restarting: try again later
                await self._drop_client()
                delay = self._backoff.next()
                log.warning(
                    "cannot join the stage, retrying",
                    extra={"stage": self.slug, "error": str(exc)[:200], "retry_in": round(delay, 2)},
                )
                await asyncio.sleep(delay)
                continue
            self._backoff.reset()
            await self._gone.wait()
            self.ready.clear()
            if self.client is not None:  # None: given up for a rewind, which said so
                log.warning("lost the hub, rejoining", extra={"stage": self.slug, "seq": self.last_seq})
            await self._drop_client()
            await asyncio.sleep(self._backoff.next())

    async def _join(self) -> None:
        client = HubClient(self.gateway.config.hub_url, token=await self.gateway.access_token(), keep_events=False)
        client.listeners.append(lambda kind, data: self._on_hub(client, kind, data))
        self._gone = asyncio.Event()
        self._joining, self._early = True, []
        self.client = client
        await client.connect()
        since = {"epoch": self.epoch, "seq": self.last_seq} if self.epoch is not None else None
        ack = await client.join(self.slug, since=since)
        self.check_current(client)
        if not ack.get("ok"):
            raise RuntimeError(f"join refused: {ack.get('error')}")
        self._exposure(ack["stage"])
        recovered = bool(ack.get("recovered"))
        self.gateway.metrics.hub_connects.labels(str(recovered).lower()).inc()
        if not recovered:
            if since is not None:
                await catch_up(self, client, since, ack)
                self.check_current(client)
            self.last_seq = ack["seq"]  # the archive was read up to here (or a fresh start: not republished)
            self.position.mark(ack["epoch"], ack["seq"])
        self.epoch = ack["epoch"]
        self._joining = False
        for event in [*ack.get("events", []), *self._early]:
            self._event(event)
        self._early = []
        self.gateway.hub_presence(self.slug, ack["presence"])
        self.ready.set()

    def _on_hub(self, client: HubClient, kind: str, data: Any) -> None:
        if client is not self.client:
            return  # a connection already given up
        if kind == "event":
            if self._joining:
                self._early.append(data)
            else:
                self._event(data)
        elif kind == "presence":
            self.gateway.hub_presence(self.slug, data)
        elif kind == "epoch":
            self.epoch = data["epoch"]
            self.position.mark(data["epoch"], data["seq"])  # after the events before it are confirmed
        elif kind == "stageStatus":
            self._exposure(data)
        elif kind == "disconnect":
            self._gone.set()

    def _exposure(self, stage: dict[str, Any]) -> None:
        """Follow the stage's status and visibility: only a live, visible stage is published."""
        exposed = stage.get("status") == "live" and stage.get("visible", True) is not False
        if exposed != self.exposed:
            log.info("stage federation changed", extra={"stage": self.slug, "federated": exposed,
                                                        "status": stage.get("status"), "visible": stage.get("visible")})
        self.exposed = exposed

    def _event(self, event: dict[str, Any], epoch: str | None = None) -> None:
        """Each hub event once, in seq order, to the outbound side (as of `epoch`, by default the
        current one); the position reaches it once the broker confirmed it."""
        if event["seq"] <= self.last_seq:
            return
        self.last_seq = event["seq"]
        event_id = (event.get("from") or {}).get("eventId")
        if event_id:
            self.landed.add(event_id)
        epoch = epoch or self.epoch
        if epoch is None:
            return
        pending = self.position.track(epoch, event["seq"])
        if self.gateway.config.outbound:
            self.gateway.hub_event(self.slug, epoch, event, pending.done)
        else:
            pending.done()

    async def _drop_client(self) -> None:
        client, self.client = self.client, None
        if client is not None and client.connected:
            await client.close()
