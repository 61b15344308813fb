"""Prometheus metrics of one hub process, in a registry of its own (so tests can run several hubs)."""

from __future__ import annotations

import asyncio
import sys
import tracemalloc
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # process_resident_memory_bytes, process_open_fds, CPU seconds: what a soak watches.
        ProcessCollector(registry=self.registry)
        tasks = Gauge("hub_asyncio_tasks", "asyncio tasks alive in the hub's event loop", registry=self.registry)
        tasks.set_function(_tasks_alive)
        # Python's own view of its live memory (RSS keeps freed arenas): cheap enough to scrape.
        blocks = Gauge(
            "hub_python_allocated_blocks", "Memory blocks Python's allocator holds", registry=self.registry
        )
        blocks.set_function(sys.getallocatedblocks)
        traced = Gauge(
            "hub_python_traced_bytes",
            "Live bytes allocated by Python when tracemalloc runs (PYTHONTRACEMALLOC=N), else 0",
            registry=self.registry,
        )
        traced.set_function(_traced_bytes)
        self.connections = Gauge("hub_connections", "Open Socket.IO connections", registry=self.registry)
        self.stages = Gauge("hub_stages_active", "Stages with at least one member here", registry=self.registry)
        self.accepted = Counter(
            "hub_events_accepted", "Publishes accepted, by topic", ["topic"], registry=self.registry
        )
        self.refused = Counter(
            "hub_calls_refused", "Inbound calls refused, by error code", ["code"], registry=self.registry
        )
        self.deliveries = Counter("hub_deliveries", "Events written to sockets", registry=self.registry)
        self.slow_consumers = Counter(
            "hub_slow_consumers", "Times a socket's write buffer passed the soft limit", registry=self.registry
        )
        self.slow_consumers_dropped = Counter(
            "hub_slow_consumers_dropped", "Sockets disconnected past the hard write limit", registry=self.registry
        )
        self.coalesced = Counter(
            "hub_coalesced_moves", "Superseded moveTo frames dropped for slow sockets", registry=self.registry
        )
        self.stagelog_failures = Counter(
            "hub_stagelog_failures", "Calls refused because the stage log could not be reached", registry=self.registry
        )
        self.replica_rebuilds = Counter(
            "hub_replica_rebuilds", "Stage replicas rebuilt after losing continuity", registry=self.registry
        )
        self.presence_updates = Counter(
            "hub_presence_updates", "Coalesced presence messages sent to stages", registry=self.registry
        )

    def watch_writer(self, writer: Any) -> None:
        """Export the archive writer's backlog and health, read when /metrics is scraped."""
        backlog = Gauge("hub_archive_backlog", "Accepted events not yet stored", registry=self.registry)
        backlog.set_function(lambda: writer.backlog)
        failures = Gauge("hub_archive_failures", "Failed archive writes since start", registry=self.registry)
        failures.set_function(lambda: writer.failures)

    def watch_control(self, outbox: Any) -> None:
        """Export the control channel's refused and given-up messages (hub/control/outbox.py)."""
        failures = Gauge("hub_control_failures", "Control messages the channel refused", registry=self.registry)
        failures.set_function(lambda: outbox.failures)
        dropped = Gauge("hub_control_dropped", "Control messages given up on", registry=self.registry)
        dropped.set_function(lambda: outbox.dropped)
        waiting = Gauge("hub_control_waiting", "Control messages waiting to be sent again", registry=self.registry)
        waiting.set_function(lambda: len(outbox.waiting))

    content_type = CONTENT_TYPE_LATEST

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _tasks_alive() -> int:
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:  # scraped outside the event loop
        return 0


def _traced_bytes() -> int:
    return tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
