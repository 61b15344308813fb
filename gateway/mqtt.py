"""The broker side: one gmqtt (MQTT v5) session kept up with backoff and jitter, a bounded outbox
that holds QoS 1 publishes until the broker acknowledges them, and no-local subscriptions.

gmqtt's own reconnect (a fixed delay, and in-flight messages replayed only when the broker kept
the session) is switched off: each attempt uses a fresh gmqtt client, and every message not yet
acknowledged goes back to the head of the outbox, so a broker that lost its state still gets
everything (at least once; receivers drop duplicates by event id).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import gmqtt
from gmqtt.mqtt.constants import MQTTv50
from gmqtt.storage import PersistentStorage

from .backoff import Backoff
from .config import BrokerConfig
from .metrics import GatewayMetrics
from .tasks import stop

log = logging.getLogger("gateway.mqtt")
INFLIGHT = 10  # unacknowledged publishes at once: under the broker's receive maximum (Mosquitto: 20)
NO_RECONNECTS = -2  # below gmqtt's "unlimited" (-1): its reconnect never runs, ours does
CONNECT_TIMEOUT = 10.0
PACKET_HEADROOM = 64 * 1024  # topic and user properties on top of the largest payload taken in
SESSION_TAKEN_OVER = 0x8E  # MQTT v5 DISCONNECT reason: another connection took this client id
# Brokers that do not send 0x8E (Mosquitto 2.0.11 just closes the displaced connection): this many
# connections in a row closed by the broker this soon after connecting, with no failed connect
# between them, is taken for another client with the same id.
FLAPS = 5
FLAP_WINDOW = 10.0
_order = itertools.count()


class _QuietGmqtt(logging.Filter):
    """Hide gmqtt's complaint that its (deliberately disabled) reconnect gave up."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "max number of failed connection attempts" not in record.getMessage()


GMQTT_LOG = logging.getLogger("gateway.gmqtt")
GMQTT_LOG.addFilter(_QuietGmqtt())


@dataclass
class Outgoing:
    """One message for the broker; `order` keeps the outbox in publish order across resends."""

    topic: str
    payload: bytes
    properties: list[tuple[str, str]]
    retain: bool = False
    done: Callable[[], None] | None = None  # called once: the broker acknowledged it (or it was dropped)
    order: int = field(default_factory=lambda: next(_order))


class _AckStorage(PersistentStorage):
    """gmqtt's in-flight store, told which packet id a publish got and when it is acknowledged."""

    def __init__(self, acked: Callable[[int], None]) -> None:
        super().__init__()
        self.acked = acked
        self.last_mid: int | None = None

    def push_message(self, mid: int, raw_package: bytes) -> None:
        super().push_message(mid, raw_package)
        self.last_mid = mid

    def remove_message_by_mid(self, mid: int) -> None:
        super().remove_message_by_mid(mid)
        self.acked(mid)


MessageHandler = Callable[[str, bytes, dict[str, Any]], None]


class MqttLink:
    """Publishes (QoS 1, buffered while the broker is away) and receives on subscribed filters."""

    def __init__(
        self, config: BrokerConfig, client_id: str, on_message: MessageHandler, metrics: GatewayMetrics,
        buffer: int, backoff: Backoff, max_message: int,
    ) -> None:
        self.config, self.client_id, self.on_message = config, client_id, on_message
        self.metrics, self.buffer, self.backoff = metrics, buffer, backoff
        # Told to the broker at connect (MQTT v5 Maximum Packet Size): it drops bigger messages
        # for this client instead of sending them, so a 10 MB publish never reaches our memory.
        self.max_packet = max_message + PACKET_HEADROOM
        self.outbox: deque[Outgoing] = deque()
        self.inflight: dict[int, Outgoing] = {}
        self.retained: dict[str, Outgoing] = {}
        self.filters: list[str] = []
        self.connected = asyncio.Event()
        self.on_connect: Callable[[], None] | None = None  # after subscribing, before the retained values go
        self.taken_over = asyncio.Event()  # set for good when another client took this client id
        self._flaps = 0  # connections in a row the broker closed within FLAP_WINDOW of connecting
        self.overflowed = 0
        self._client: gmqtt.Client | None = None
        self._storage: _AckStorage | None = None
        self._wake = asyncio.Event()
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gateway-mqtt")

    async def close(self) -> None:
        """Stop reconnecting and disconnect; whatever is still buffered is lost (logged)."""
        if self._task is not None:
            await stop([self._task])
        if self._client is not None:
            await self._disconnect(self._client)
        if self.outbox or self.inflight:
            log.warning("closing with unsent messages", extra={"unsent": len(self.outbox) + len(self.inflight)})

    def publish(
        self, topic: str, payload: bytes, properties: list[tuple[str, str]], retain: bool = False,
        done: Callable[[], None] | None = None,
    ) -> None:
        """Queue one QoS 1 message; a retained one replaces the last for its topic and is re-sent
        at every connect. Past `buffer` waiting messages the oldest is dropped, logged and counted.
        `done` (not for retained messages) is called when the broker acknowledged the message, or
        when it was dropped from a full buffer (counted lost: it must not hold the position back)."""
        message = Outgoing(topic, payload, properties, retain, done)
        if retain:
            self.retained[topic] = message
            if self._client is not None and self.connected.is_set():
                self._send(self._client, message)
            return
        if len(self.outbox) >= self.buffer:
            _finish(self.outbox.popleft())
            self.overflowed += 1
            self.metrics.overflow.inc()
            if self.overflowed == 1 or self.overflowed % 1000 == 0:
                log.warning("outbound buffer full: dropping the oldest messages",
                            extra={"dropped": self.overflowed, "buffer": self.buffer})
        self.outbox.append(message)
        self.metrics.buffered.set(len(self.outbox))
        self._wake.set()

    def subscribe(self, topic_filter: str) -> None:
        """Subscribe (QoS 1, no-local) now and after every reconnect."""
        if topic_filter in self.filters:
            return
        self.filters.append(topic_filter)
        if self._client is not None and self.connected.is_set():
            self._client.subscribe(gmqtt.Subscription(topic_filter, qos=1, no_local=True))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                client = await self._connect()
            except (TimeoutError, OSError, gmqtt.MQTTConnectError) as exc:
                self._flaps = 0  # a broker that is away, not one that takes our session away
                delay = self.backoff.next()
                log.warning(
                    "broker unreachable, retrying", extra={"error": repr(exc)[:200], "retry_in": round(delay, 2)}
                )
                await asyncio.sleep(delay)
                continue
            self.backoff.reset()
            connected_at = loop.time()
            try:
                await self._serve(client)
            finally:
                self._requeue()
                self.connected.clear()
                self.metrics.broker_up.set(0)
                await self._disconnect(client)
            self._flaps = self._flaps + 1 if loop.time() - connected_at < FLAP_WINDOW else 0
            if self.taken_over.is_set() or self._flaps >= FLAPS:
                self._give_up()
                return
            delay = self.backoff.next()
            log.warning(
                "lost the broker, reconnecting", extra={"retry_in": round(delay, 2), "buffered": len(self.outbox)}
            )
            await asyncio.sleep(delay)

    def _give_up(self) -> None:
        """Another client has this client id: reconnecting would take the session back from it, and
        it would take it back again, forever (issue 15, item 8). Stop the broker side for good."""
        why = ("the broker said another client took the session (0x8E)" if self.taken_over.is_set() else
               f"the broker closed the connection within {FLAP_WINDOW:.0f} s of each of {FLAPS} connects in a row")
        self.taken_over.set()
        log.error("another MQTT client uses this gateway's client id; not reconnecting. Give each gateway its "
                  "own HUB_GATEWAY_CLIENT_ID", extra={"client_id": self.client_id, "why": why})

    async def _connect(self) -> gmqtt.Client:
        cfg = self.config
        self._lost = asyncio.Event()
        self._storage = _AckStorage(self._acked)
        client = gmqtt.Client(
            self.client_id, clean_session=False, session_expiry_interval=cfg.session_expiry,
            maximum_packet_size=self.max_packet, persistent_storage=self._storage, logger=GMQTT_LOG,
        )
        client.set_config({"reconnect_retries": NO_RECONNECTS})
        client.on_message = self._on_message
        client.on_disconnect = partial(self._on_disconnect, self._lost)
        if cfg.username:
            client.set_auth_credentials(cfg.username, cfg.password)
        self._client = client
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                await client.connect(cfg.host, cfg.port, ssl=cfg.ssl_context(), keepalive=cfg.keepalive,
                                     version=MQTTv50)
        except BaseException:
            await self._disconnect(client)
            raise
        return client

    async def _serve(self, client: gmqtt.Client) -> None:
        """Subscribe, re-send retained values, then send the outbox until the connection is lost."""
        for topic_filter in self.filters:
            client.subscribe(gmqtt.Subscription(topic_filter, qos=1, no_local=True))
        if self.on_connect is not None:
            self.on_connect()
        for message in list(self.retained.values()):
            self._send(client, message)
        self.connected.set()
        self.metrics.broker_up.set(1)
        self.metrics.broker_connects.inc()
        log.info("connected to the broker", extra={"buffered": len(self.outbox)})
        while not self._lost.is_set():
            while self.outbox and len(self.inflight) < INFLIGHT and not self._lost.is_set():
                if not self._send(client, self.outbox.popleft()):
                    break
            self.metrics.buffered.set(len(self.outbox))
            self._wake.clear()
            waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(self._lost.wait())]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waits:
                    waiter.cancel()

    def _send(self, client: gmqtt.Client, message: Outgoing) -> bool:
        """Hand one message to gmqtt; False (and the message back at the head) if the connection broke."""
        assert self._storage is not None
        self._storage.last_mid = None
        try:
            client.publish(message.topic, message.payload, qos=1, retain=message.retain,
                           user_property=message.properties)
        except Exception as exc:  # the transport closed under us: keep the message for the next connection
            log.info("publish failed, will resend", extra={"error": repr(exc)[:200]})
            if not message.retain:
                self.outbox.appendleft(message)
            self._lost.set()
            return False
        if not message.retain and self._storage.last_mid is not None:
            self.inflight[self._storage.last_mid] = message
        return True

    def _acked(self, mid: int) -> None:
        message = self.inflight.pop(mid, None)
        if message is not None:
            _finish(message)
            self._wake.set()

    def _requeue(self) -> None:
        """Messages the broker never acknowledged go back to the head of the outbox, in order."""
        pending = sorted(self.inflight.values(), key=lambda m: m.order)
        self.inflight.clear()
        self.outbox.extendleft(reversed(pending))
        self.metrics.buffered.set(len(self.outbox))

    def _on_disconnect(self, lost: asyncio.Event, client: Any, packet: Any = None, exc: Any = None) -> None:
        """The connection is gone; a DISCONNECT from the broker with reason 0x8E means another
        client took this client id (gmqtt passes the packet's body: its first byte is the reason)."""
        taken = isinstance(packet, (bytes, bytearray)) and packet[:1] == bytes([SESSION_TAKEN_OVER])
        if taken and client is self._client:
            self.taken_over.set()
        lost.set()

    def _on_message(self, client: Any, topic: str, payload: bytes, qos: int, properties: dict[str, Any]) -> int:
        try:
            self.on_message(topic, payload, properties)
        except Exception:  # a bad message must never stop the gateway
            log.exception("inbound message handler failed", extra={"topic": topic[:200]})
            self.metrics.drop("in", "internal")
        return 0

    @staticmethod
    async def _disconnect(client: gmqtt.Client) -> None:
        with contextlib.suppress(Exception):  # already gone
            async with asyncio.timeout(5):
                await client.disconnect()


def _finish(message: Outgoing) -> None:
    """Tell the publisher, once, that this message is done with (acknowledged or dropped)."""
    done, message.done = message.done, None
    if done is not None:
        done()
