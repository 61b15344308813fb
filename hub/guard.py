"""Who may connect, and how often anyone may call: limits per connection and per client address.

One machine can open many connections, so every limit that matters exists twice: per connection
(`Connection.bucket`, and a join bucket) and per client address (open connections, calls, joins),
the address taken from the request as `hub/addresses.py` says. Service connections (federation
gateways) have their own connection limit and are not counted per address. `HubServer` asks the
guard about every new Engine.IO connection and every call it cannot decode.
"""

from __future__ import annotations

import logging
from typing import Any

from .config import Settings
from .inbound import Refused
from .logs import Sparse
from .metrics import Metrics
from .node import Connection
from .ratelimit import KeyedBuckets, KeyedCounter, TokenBucket

log = Sparse(logging.getLogger("hub.guard"))
ADDRESS = "hub.address"  # the environ key under which admit() leaves the client's address


class Guard:
    """The limits of docs/security.md, for `HubServer` (the `Gate`) and the socket handlers."""

    def __init__(self, settings: Settings, connections: dict[str, Connection], metrics: Metrics) -> None:
        self.settings = settings
        self.connections = connections
        self.metrics = metrics
        self.calls: frozenset[str] = frozenset()  # the contract's call names, set by SocketHandlers
        self.open_per_address = KeyedCounter(settings.address_connections)
        self.calls_per_address = KeyedBuckets(settings.address_rate_limit, settings.address_rate_burst)
        self.joins_per_address = KeyedBuckets(settings.address_join_rate_limit, settings.address_join_rate_burst)
        self._counted: dict[str, str] = {}  # eio_sid -> address, for the connections counted per address

    # connections

    def admit(self, eio_sid: str, environ: dict[str, Any]) -> str | None:
        """None to accept a new Engine.IO connection, or why it is refused (HTTP 401)."""
        request = environ.get("aiohttp.request")
        address = self.settings.addresses.of_request(request) if request is not None else "unknown"
        environ[ADDRESS] = address
        if not self.open_per_address.acquire(address):
            self.metrics.refused.labels("too_many_connections").inc()
            log.warning("connections", "too many connections from one address", address=address)
            return "too many connections from your address"
        self._counted[eio_sid] = address
        return None

    def not_counted(self, eio_sid: str) -> None:
        """A service connection (a gateway) is not held to the per-address connection limit."""
        address = self._counted.pop(eio_sid, None)
        if address is not None:
            self.open_per_address.release(address)

    def released(self, eio_sid: str) -> None:
        self.not_counted(eio_sid)

    @staticmethod
    def address_of(environ: dict[str, Any]) -> str:
        return str(environ.get(ADDRESS, "unknown"))

    def connection_bucket(self, service: bool) -> TokenBucket:
        settings = self.settings
        if service:
            return TokenBucket(settings.service_rate_limit, settings.service_rate_burst)
        return TokenBucket(settings.rate_limit, settings.rate_burst)

    def join_bucket(self) -> TokenBucket:
        return TokenBucket(self.settings.join_rate_limit, self.settings.join_rate_burst)

    # calls

    def check(self, conn: Connection, call: str) -> None:
        """Spend one call of the connection's and its address's allowance; Refused when over."""
        if not conn.bucket.take():
            raise Refused("rate_limited", "too many calls, slow down")
        if conn.service:
            return
        if not self.calls_per_address.take(conn.address):
            raise Refused("rate_limited", "too many calls from your address, slow down")
        if call == "join" and not (conn.joins.take() and self.joins_per_address.take(conn.address)):
            raise Refused("rate_limited", "too many joins, slow down")

    async def malformed(self, sid: str | None, reason: str) -> dict[str, Any]:
        """The answer to a call that cannot be carried out as sent: counted against the caller's
        limits like any call, logged sparingly (a flood of them must not flood the log)."""
        conn = self.connections.get(sid) if sid is not None else None
        refused = Refused("bad_request", reason)
        if conn is not None:
            try:
                self.check(conn, "malformed")
            except Refused as over:
                refused = over
        self.metrics.refused.labels(refused.code).inc()
        log.warning("malformed", "refused a malformed call", reason=reason, address=conn.address if conn else None)
        return refused.ack()
