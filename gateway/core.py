"""The gateway: bridges a hub's stages to `<namespace>/<slug>/<topic>` on an MQTT broker and back.

Outbound, every event of a bridged stage is published with its original payload and MQTT v5
user properties (origin hub, event id, hops). Inbound, messages of other origins go through
the hub's own validation as relayed publishes. Loops and duplicates stop at the edge: no-local
subscriptions, own origin dropped, a bounded cache of seen event ids, a hop limit.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web

from client import HubClient, login

from .backoff import Backoff
from .bridge import StageBridge
from .config import GatewayConfig
from .dedupe import SeenCache
from .legacy import EchoGuard, LegacyLimits
from .metrics import GatewayMetrics, serve_metrics, worth_logging
from .mqtt import MqttLink
from .position import PositionFile
from .receipts import HELLO, REWIND, Confirmations
from .stats import Statistics
from .tasks import stop
from .wire import HUB_OWNED, STATISTICS, BadMessage, Provenance, decode, encode, relay_role, split_topic, stage_topic

log = logging.getLogger("gateway")
LEGACY_ORIGIN = "legacy"
MAX_NICKNAME = 40


class Gateway:
    """One hub, one broker, one namespace. `start()` connects both sides; `close()` stops."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.metrics = GatewayMetrics()
        self.seen = SeenCache(config.seen_cache)
        self.legacy_limits = LegacyLimits(config.legacy_rate, config.legacy_burst, config.legacy_stage_rate,
                                          config.legacy_stage_burst)
        self.echoes = EchoGuard(config.echo_window)
        self._warned_echo = False
        self.bridges: dict[str, StageBridge] = {}
        self.hub_id = ""
        self.link: MqttLink | None = None
        self.stats: Statistics | None = None
        self.positions: PositionFile | None = None
        self.confirm: Confirmations | None = None
        self.forwarded = SeenCache(config.seen_cache)  # relayed events this gateway published
        self._control: HubClient | None = None
        self._poller: asyncio.Task[None] | None = None
        self._metrics_runner: web.AppRunner | None = None

    async def access_token(self) -> str:
        """The service token: the configured one, or a fresh login with the configured password."""
        if self.config.token:
            return self.config.token
        assert self.config.username is not None
        return str((await login(self.config.hub_url, self.config.username, self.config.password or ""))["access_token"])

    async def start(self) -> None:
        """Learn the hub's id and stages (retrying until the hub answers), then open the broker side."""
        cfg = self.config
        backoff = Backoff(cfg.backoff_min, cfg.backoff_max)
        while True:
            try:
                listing = await self._list_stages()
                break
            except Exception as exc:
                delay = backoff.next()
                log.warning("hub not reachable yet", extra={"error": str(exc)[:200], "retry_in": round(delay, 2)})
                await asyncio.sleep(delay)
        self.hub_id = listing["hub"]
        client_id = cfg.broker.client_id or f"upstage-gw-{self.hub_id}-{cfg.namespace.replace('/', '-')}"
        self.link = MqttLink(cfg.broker, client_id, self.broker_message, self.metrics, cfg.buffer,
                             Backoff(cfg.backoff_min, cfg.backoff_max), cfg.max_message)
        self.stats = Statistics(self.hub_id, cfg.namespace, self.link.publish)
        self.positions = PositionFile(cfg.state_dir, client_id)
        self.confirm = Confirmations(self.hub_id, cfg.namespace, self.positions.receipts_saved, self.positions.changed)
        self.positions.receipts = self.confirm.saved
        self.positions.start()
        self.link.on_connect = self._hellos
        if cfg.inbound and cfg.stages is None:
            self.link.subscribe(f"{cfg.namespace}/#")
        elif cfg.stages is None:  # out only: still hear the peers' hellos, to rewind for them
            self.link.subscribe(f"{cfg.namespace}/+/{HELLO}/+")
        self._add_stages(cfg.stages if cfg.stages is not None else listing["stages"])
        self.link.start()
        if cfg.stages is None:
            self._poller = asyncio.create_task(self._poll_stages(), name="gateway-stages")
        if cfg.metrics_port:
            self._metrics_runner = await serve_metrics(self.metrics, cfg.metrics_host, cfg.metrics_port)
        log.info("gateway started", extra={"hub": self.hub_id, "stages": sorted(self.bridges), "client_id": client_id})

    async def close(self) -> None:
        if self._poller is not None:
            await stop([self._poller])
        await asyncio.gather(*(bridge.close() for bridge in self.bridges.values()))
        if self._control is not None and self._control.connected:
            await self._control.close()
        if self.link is not None:
            await self.link.close()
        if self.positions is not None:
            await self.positions.close()
        if self._metrics_runner is not None:
            await self._metrics_runner.cleanup()

    async def ready(self, timeout: float = 30.0) -> None:
        """Wait until the broker and every bridged stage are connected (for tests and the bench)."""
        assert self.link is not None
        waits = [self.link.connected.wait(), *(bridge.ready.wait() for bridge in self.bridges.values())]
        async with asyncio.timeout(timeout):
            await asyncio.gather(*waits)

    # stages

    async def _list_stages(self) -> dict[str, Any]:
        if self._control is None or not self._control.connected:
            control = HubClient(self.config.hub_url, token=await self.access_token(), keep_events=False)
            self._control = await control.connect()
        return await self._control.stages()

    async def _poll_stages(self) -> None:
        """Bridge stages created after the start (HUB_GATEWAY_STAGES=*). A hub away or without its
        database fails every poll: said once (and when it answers again), not at every poll."""
        failing = 0
        while True:
            await asyncio.sleep(self.config.stage_poll)
            try:
                self._add_stages((await self._list_stages())["stages"])
            except Exception as exc:  # the hub is away; the bridges reconnect on their own
                failing += 1
                log.log(logging.WARNING if failing == 1 else logging.DEBUG, "cannot list stages now",
                        extra={"error": str(exc)[:200], "failures": failing})
                continue
            if failing:
                log.info("listing stages again", extra={"failures": failing})
                failing = 0

    def _add_stages(self, slugs: Any) -> None:
        assert self.link is not None
        for slug in slugs:
            if slug in self.bridges:
                continue
            bridge = self.bridges[slug] = StageBridge(self, slug)
            if self.config.inbound and self.config.stages is not None:
                self.link.subscribe(stage_topic(self.config.namespace, slug, "#"))
            elif self.config.stages is not None:
                self.link.subscribe(stage_topic(self.config.namespace, slug, f"{HELLO}/+"))
            if self.link.connected.is_set():
                self._hellos([slug])
            bridge.start()
        self.metrics.stages.set(len(self.bridges))

    # hub → broker

    def hub_event(self, slug: str, epoch: str, event: dict[str, Any], done: Callable[[], None]) -> None:
        """Publish one hub event to the broker, unless it came from this broker or is past the hop
        limit; `done` is called when the broker confirmed it, or at once when it is not published."""
        assert self.link is not None
        bridge = self.bridges.get(slug)
        if bridge is not None and not bridge.exposed:  # in rehearsal or hidden: kept at home
            self.metrics.drop("out", "not_public")
            done()
            return
        sender = event.get("from") or {}
        topic = event["topic"]
        if sender.get("origin") is None:
            event_id, origin, hops = f"{self.hub_id}:{epoch}:{event['seq']}", self.hub_id, 1
        else:
            event_id, origin, hops = str(sender.get("eventId")), str(sender["origin"]), int(sender.get("hops", 0)) + 1
            if event_id in self.seen and event_id not in self.forwarded:  # forwarded before: a replay
                self.metrics.drop("out", "from_broker")
                done()
                return
            if hops > self.config.hop_limit:
                self.metrics.drop("out", "hop_limit")
                done()
                return
            self.seen.add(event_id)
            self.forwarded.add(event_id)
        provenance = Provenance(origin, event_id, hops, str(sender.get("role", "audience")),
                                sender.get("nickname"), sender.get("session"), f"{self.hub_id}:{epoch}:{event['seq']}")
        mqtt_topic, raw = stage_topic(self.config.namespace, slug, topic), encode(topic, event["payload"])
        self.echoes.published(mqtt_topic, raw)
        self.link.publish(mqtt_topic, raw, provenance.properties(), done=done)
        self.metrics.published.labels(topic).inc()

    def hub_presence(self, slug: str, presence: dict[str, Any]) -> None:
        if self.config.outbound and self.stats is not None:
            self.stats.local_counts(slug, presence)

    # broker → hub

    def broker_message(self, mqtt_topic: str, raw: bytes, properties: dict[str, Any]) -> None:
        """Check one broker message and queue it for its stage; every drop is counted and logged."""
        try:
            self._inbound(mqtt_topic, raw, properties)
        except BadMessage as bad:
            count = self.metrics.drop("in", bad.reason)
            level = logging.WARNING if worth_logging(count) else logging.DEBUG
            log.log(level, "dropped a broker message",
                    extra={"topic": mqtt_topic[:200], "reason": str(bad)[:200], "count": count})

    def _inbound(self, mqtt_topic: str, raw: bytes, properties: dict[str, Any]) -> None:
        cfg = self.config
        if len(raw) > cfg.max_message:
            raise BadMessage("too_large", f"{len(raw)} bytes, the limit is {cfg.max_message}")
        slug, levels = split_topic(cfg.namespace, mqtt_topic)
        bridge = self.bridges.get(slug)
        if bridge is None:
            raise BadMessage("unbridged_stage", slug[:100])
        if levels[0] == STATISTICS and self.stats is not None:
            self.stats.heard(slug, levels, raw)
            return
        if levels[0] in (HELLO, REWIND) and len(levels) == 2 and self.confirm is not None:
            self._receipt(slug, bridge, levels[0], levels[1], raw)
            return
        if len(levels) != 1:
            raise BadMessage("foreign_topic", mqtt_topic[:100])
        if properties.get("retain"):
            # A retained stage message is an old one the broker hands every new subscription:
            # taken, it would be played again at each (re)subscribe (the original archivers
            # skipped them too). Retained statistics are wanted: they are the peers' counts.
            raise BadMessage("retained", mqtt_topic[:100])
        provenance = Provenance.of(properties)
        token = self.confirm.arrived(slug, provenance.pos) if provenance is not None and self.confirm else None
        try:
            self._stage_message(slug, bridge, mqtt_topic, levels[0], raw, provenance, token.done if token else None)
        except BadMessage:
            if token is not None:
                token.done()  # handled: a dropped message must not hold its publisher's mark back
            raise

    def _stage_message(
        self, slug: str, bridge: StageBridge, mqtt_topic: str, topic: str, raw: bytes,
        provenance: Provenance | None, done: Callable[[], None] | None,
    ) -> None:
        """Check a stage message further and queue it for the hub (`done` once the hub is through with it)."""
        cfg = self.config
        if provenance is not None and provenance.origin == self.hub_id:
            raise BadMessage("own_origin")
        if topic in HUB_OWNED:
            raise BadMessage("hub_owned", topic)
        if provenance is None and self.echoes.echo(mqtt_topic, raw):
            self._bridge_echo(mqtt_topic)
        payload = decode(topic, raw)
        if provenance is None:
            if not self.legacy_limits.allow(slug, payload):
                raise BadMessage("rate_limited", slug[:100])
            relay = self._legacy_relay(payload)
        else:
            if provenance.hops > cfg.hop_limit:
                raise BadMessage("hop_limit")
            relay = {"origin": provenance.origin, "id": provenance.event_id, "hops": provenance.hops,
                     "as": relay_role(provenance.role, cfg.peer_trust)}
            relay.update(_identity(provenance.nickname, provenance.session))
        if not self.seen.add(relay["id"]):
            raise BadMessage("duplicate")
        bridge.relay(topic, payload, relay, done)

    def _receipt(self, slug: str, bridge: StageBridge, kind: str, hub: str, raw: bytes) -> None:
        """A peer's hello (answered once: a marker, then everything after its mark again) or a
        publisher's rewind marker for our hello (receipts.py)."""
        assert self.confirm is not None
        if kind == REWIND:
            if self.confirm.rewound(slug, hub, raw):
                log.info("a publisher rewound for us", extra={"stage": slug, "publisher": hub})
            return
        hello = self.confirm.to_answer(slug, hub, raw) if self.config.outbound else None
        if hello is None or hello.mark is None or self.link is None:
            return
        self.link.publish(*self.confirm.marker(slug, hello), [("origin", self.hub_id)])
        self.metrics.rewinds.inc()
        bridge.rewind(*hello.mark)

    def _hellos(self, slugs: Any = None) -> None:
        """Say hello for every bridged stage (each connect to the broker): what we hold of each
        publisher, which answers with everything after it (receipts.py)."""
        if self.confirm is None or self.link is None or not self.config.inbound:
            return
        for slug in self.bridges if slugs is None else slugs:
            topic, payload = self.confirm.hello(slug)
            self.link.publish(topic, payload, [("origin", self.hub_id)], retain=True)

    def _bridge_echo(self, mqtt_topic: str) -> None:
        """Refuse one of this gateway's own messages back without properties (warned about once)."""
        if not self._warned_echo:
            self._warned_echo = True
            log.warning("a message this gateway published came back without its MQTT v5 properties: a bridge "
                        "(MQTT 3.1.1?) strips them, so hop counts cannot stop a cycle; bridge with MQTT v5",
                        extra={"topic": mqtt_topic[:200]})
        raise BadMessage("bridge_echo", mqtt_topic[:100])

    def _legacy_relay(self, payload: Any) -> dict[str, Any]:
        """A legacy client's message: a fresh id, the configured trust, the name its chat claims.

        Its `session` claim is not taken: nothing vouches for it, and it could name a session of
        this hub (sessions are in every event). The hub stamps the gateway's own session instead.
        """
        user = payload.get("user") if isinstance(payload, dict) else None
        return {"origin": LEGACY_ORIGIN, "id": f"{LEGACY_ORIGIN}:{uuid.uuid4().hex}", "hops": 1,
                "as": self.config.legacy_trust, **_identity(user, None)}


def _identity(nickname: Any, session: Any) -> dict[str, Any]:
    """The relay's nickname and session when usable (the hub checks them again)."""
    fields: dict[str, Any] = {}
    if isinstance(nickname, str) and nickname.split():
        fields["nickname"] = " ".join(nickname.split())[:MAX_NICKNAME]
    if isinstance(session, str) and session:
        fields["session"] = session
    return fields
