"""The WebSocket side of the fast path: a connection served on one task and written to directly.

`DirectWebSocket` is Engine.IO's aiohttp WebSocket without per-message compression; it registers
an `Outlet` (the connection's transport) with the `Fanout`, which writes broadcasts to it, and
`SocketQueue` keeps what Engine.IO queues (acks, pings) in one order with those direct writes.
A frame that is not Engine.IO ends the connection quietly.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode, WSMsgType, web
from engineio import exceptions as engineio_exceptions
from engineio.async_drivers.aiohttp import WebSocket as StockWebSocket

from .logs import Sparse
from .server import engine_io_packet

if TYPE_CHECKING:
    from .fanout import Fanout

not_engine_io = Sparse(logging.getLogger("hub.websocket"))  # frames a client may send again and again
NOT_ENGINE_IO = "ended a connection that sent a frame that is not Engine.IO"


class Outlet:
    """One WebSocket connection that broadcasts write to directly."""

    __slots__ = ("fanout", "eio_socket", "transport", "pending", "backlog", "backlog_bytes")

    def __init__(self, fanout: Fanout, eio_socket: Any, transport: asyncio.Transport) -> None:
        self.fanout = fanout
        self.eio_socket = eio_socket
        self.transport = transport
        self.pending: list[bytes] = []
        self.backlog: OrderedDict[Hashable, bytes] | None = None
        self.backlog_bytes = 0

    def ready(self) -> bool:
        """Whether a broadcast may be written directly now: the WebSocket carries the session and
        nothing Engine.IO queued (an ack, a ping) is still waiting or on its way to the socket."""
        socket = self.eio_socket
        queue = socket.queue
        if queue.direct:
            return True
        return bool(socket.upgraded) and not socket.upgrading and not queue.qsize() and not queue.in_flight


class SocketQueue(asyncio.Queue[Any]):
    """Engine.IO's per-socket send queue, made to keep one order with the direct writes.

    A packet Engine.IO queues (an ack, a ping) goes after every broadcast frame already pending
    for the socket, and no broadcast is written directly while a queued packet is waiting or on
    its way from the queue to the WebSocket (`in_flight`), so a join ack always reaches the
    client before the events that follow it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outlet: Outlet | None = None
        self.in_flight = 0
        self.direct = False  # a WebSocket-only session (`DirectWebSocket.serve`): write, don't queue

    def put_nowait(self, item: Any) -> None:
        outlet = self.outlet
        if self.direct and outlet is not None:
            if item is not None:  # None only wakes a writer task, and there is none
                outlet.fanout.write_packet(outlet, item)
            return
        if outlet is not None and outlet.pending:
            outlet.fanout.flush_outlet(outlet)
        super().put_nowait(item)

    def get_nowait(self) -> Any:
        item = super().get_nowait()
        outlet = self.outlet
        if item is not None and outlet is not None and outlet.eio_socket.upgraded and not self.direct:
            self.in_flight += 1
        return item


class _WebSocketResponse(web.WebSocketResponse):
    """aiohttp's WebSocket response, minus a reference cycle. Closing the WebSocket of a peer that
    is gone fails (aiohttp closes it again after the handler returns), and aiohttp keeps the error
    on the response; the error's traceback holds the frames that hold the response, so every
    dropped connection's objects would wait for a full garbage collection. The error is kept,
    without its traceback."""

    async def close(self, *, code: int = WSCloseCode.OK, message: bytes = b"", drain: bool = True) -> bool:
        try:
            return await super().close(code=code, message=message, drain=drain)
        finally:
            error = self.exception()
            if error is not None:
                error.with_traceback(None)
                error.__context__ = None


class DirectWebSocket(StockWebSocket):
    """Engine.IO's aiohttp WebSocket, without per-message compression, registered as an Outlet."""

    def __init__(self, handler: Any, server: Any, fanout: Fanout) -> None:
        super().__init__(handler, server)
        self.fanout = fanout

    async def __call__(self, environ: dict[str, Any]) -> web.WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = _WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=False)
        eio_socket = self.handler.__self__
        try:
            await self._sock.prepare(request)
        except BaseException:
            # A failed WebSocket handshake (400) would leave its new Engine.IO session, never
            # pinged, in Engine.IO's table and in the per-address count for good.
            await eio_socket.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_ERROR)
            raise
        self.environ = environ
        self.queue: SocketQueue = eio_socket.queue
        outlet = Outlet(self.fanout, eio_socket, request.transport)
        self.fanout.outlets[eio_socket.sid] = outlet
        self.queue.outlet = outlet
        try:
            if eio_socket.connected:  # an upgrade from long-polling: Engine.IO's own handler
                await self.handler(self)
            else:
                await self.serve(eio_socket, outlet)
        finally:
            self.queue.outlet = None
            if self.fanout.outlets.get(eio_socket.sid) is outlet:
                del self.fanout.outlets[eio_socket.sid]
        return self._sock

    async def serve(self, socket: Any, outlet: Outlet) -> None:
        """A WebSocket-only session on one task: read and dispatch packets; every write (acks,
        pings, broadcasts) goes through the outlet in one order, with no writer task or per-read
        task as Engine.IO's own handler keeps. Silence past ping interval + timeout ends it."""
        socket.connected = socket.upgraded = True
        queue = self.queue
        queue.direct = True
        while not queue.empty():  # what Engine.IO queued before the WebSocket was ready
            packet = queue.get_nowait()
            queue.task_done()
            if packet is not None:
                self.fanout.write_packet(outlet, packet)
        server = self.server
        try:
            while True:
                msg = await self._sock.receive(timeout=server.ping_interval + server.ping_timeout)
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                pkt = engine_io_packet(msg.data)
                if pkt is None:
                    not_engine_io.warning("websocket", NOT_ENGINE_IO)
                    break
                try:
                    await socket.receive(pkt)
                except engineio_exceptions.UnknownPacketError:
                    pass
                except engineio_exceptions.SocketIsClosedError:
                    break
        except (TimeoutError, ConnectionError):
            pass
        except asyncio.CancelledError:
            # aiohttp cancels the handler when the peer is gone. Ended by an exception, this
            # connection's whole object graph (request, sockets, queue, outlet, transport) would
            # stay in reference cycles through the traceback's frames until a full garbage
            # collection, which the hub's GC settings make rare: a slow leak under churn. So a
            # connection whose transport is gone ends normally; any other cancellation propagates.
            if not outlet.transport.is_closing():
                raise
        finally:
            await socket.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)
            # Closing the WebSocket of a gone peer fails, and aiohttp keeps that error (with its
            # traceback, another cycle) on the response: there is nobody to say goodbye to.
            if not self._sock.closed and not outlet.transport.is_closing():
                await self._sock.close()

    async def wait(self) -> str | bytes:
        """The next frame, for Engine.IO's own handler (a session upgraded from long-polling): a
        frame that is not Engine.IO ends the session as a closed socket does."""
        frame = await super().wait()
        if engine_io_packet(frame) is None:
            not_engine_io.warning("websocket", NOT_ENGINE_IO)
            eio_socket = self.handler.__self__  # ended now: the WebSocket's closing handshake may take a while
            await eio_socket.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_ERROR)
            raise OSError("not Engine.IO")
        return frame

    async def send(self, message: str | bytes) -> None:
        """Engine.IO's writer hands over a queued packet: it is no longer on its way."""
        if self.queue.in_flight:
            self.queue.in_flight -= 1
        await super().send(message)
