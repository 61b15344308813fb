"""The gateway's Prometheus metrics, in a registry of its own, and a tiny `/metrics` server."""

from __future__ import annotations

import collections

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class GatewayMetrics:
    """Counters for what crossed the gateway each way and why anything was dropped."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.published = Counter(
            "gateway_published", "Hub events published to the broker, by topic", ["topic"], registry=r
        )
        self.relayed = Counter(
            "gateway_relayed", "Broker messages accepted by the hub, by topic", ["topic"], registry=r
        )
        self.dropped = Counter(
            "gateway_dropped", "Messages not carried, by direction and reason", ["direction", "reason"], registry=r
        )
        self.buffered = Gauge("gateway_outbound_buffered", "Messages waiting for the broker", registry=r)
        self.overflow = Counter(
            "gateway_outbound_overflow", "Oldest waiting messages dropped past HUB_GATEWAY_BUFFER", registry=r
        )
        self.broker_up = Gauge("gateway_broker_connected", "1 while connected to the broker", registry=r)
        self.broker_connects = Counter("gateway_broker_connects", "Successful broker connections", registry=r)
        self.hub_connects = Counter(
            "gateway_hub_joins", "Stage joins on the hub (first and after reconnects)", ["recovered"], registry=r
        )
        self.stages = Gauge("gateway_stages", "Stages bridged", registry=r)
        self.rewinds = Counter(
            "gateway_rewinds", "Peers' hellos answered by publishing again from their mark", registry=r
        )
        self._drops: collections.Counter[tuple[str, str]] = collections.Counter()  # what `dropped` holds, readable

    def drop(self, direction: str, reason: str) -> int:
        """Count one drop; returns how many there were for this reason, for `worth_logging`."""
        self.dropped.labels(direction, reason).inc()
        self._drops[direction, reason] += 1
        return self._drops[direction, reason]

    def dropped_count(self, direction: str, reason: str) -> int:
        """How many were dropped for this reason so far (for tests and logs)."""
        return self._drops[direction, reason]

    def render(self) -> bytes:
        return generate_latest(self.registry)


def worth_logging(count: int) -> bool:
    """Log the first drop of a kind and every 100th after it: a flood of garbage must not flood the log."""
    return count == 1 or count % 100 == 0


async def serve_metrics(metrics: GatewayMetrics, host: str, port: int) -> web.AppRunner:
    """Start `GET /metrics` on host:port; the caller cleans the runner up."""

    async def handle(request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
