"""A closed connection is freed when it closes, not at the next full garbage collection.

The hub collects the oldest generation rarely (`gc.freeze` and a high `HUB_GC_THRESHOLD`, see
app.py), and a connection lives long enough to reach it. So a connection whose objects are left
in reference cycles (an exception kept with its traceback, whose frames hold the request, the
Engine.IO socket, its queue, the outlet and the transport) is memory held until such a
collection: under churn, a leak of a few MB a minute that outlives the churn (bench/soak.py).
These tests count the hub's connection objects the collector finds unreachable after
connections closed every way a client closes them: none may be left to it.
"""

from __future__ import annotations

import asyncio
import collections
import gc

from aiohttp import web
from engineio.async_socket import AsyncSocket

from hub.rooms import Connection
from hub.websocket import DirectWebSocket, Outlet, SocketQueue

from .rawsio import RawWebSocket

CYCLES = 20
WATCHED = (DirectWebSocket, Outlet, SocketQueue, AsyncSocket, web.WebSocketResponse, web.Request, Connection)


async def _member(hub) -> RawWebSocket:
    ws = await RawWebSocket(hub.url).open()
    assert (await ws.call(1, "join", {"stage": "show"}))["ok"]
    return ws


async def _gone(hub) -> None:
    """Wait until the hub has no connection left (each close handled)."""
    for _ in range(200):
        if not hub.node.connections:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)  # the handlers' last steps after the disconnect


def _left_to_the_collector() -> collections.Counter[str]:
    """The hub's connection objects that only a garbage collection would free."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        return collections.Counter(type(o).__name__ for o in gc.garbage if isinstance(o, WATCHED))
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.collect()


async def test_connections_dropped_by_the_peer_leave_no_reference_cycles(hub):
    await hub.stage("show", "owner")
    await (await _member(hub)).close()  # first use: whatever the hub creates once
    await _gone(hub)
    gc.collect()
    for _ in range(CYCLES):
        ws = await _member(hub)
        connection = ws.ws._response.connection
        assert connection is not None and connection.transport is not None
        connection.transport.abort()  # a network that vanished: no close frame
        await ws.close()
    await _gone(hub)
    assert _left_to_the_collector() == {}


async def test_connections_closed_cleanly_leave_no_reference_cycles(hub):
    await hub.stage("show", "owner")
    await (await _member(hub)).close()
    await _gone(hub)
    gc.collect()
    for i in range(CYCLES):
        ws = await _member(hub)
        if i % 2:
            await ws.ws.send_str("41")  # the Socket.IO goodbye first
        await ws.close()
    await _gone(hub)
    assert _left_to_the_collector() == {}
