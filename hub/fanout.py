"""The fast broadcast path: one encoded frame per broadcast, written straight to every socket.

python-socketio keeps the handshake, the transports, acks and everything else. What it does
per recipient on a broadcast (two tasks, a future, a queue put/get and a fresh WebSocket
frame, with per-message compression) is replaced here, because every recipient gets the same
bytes:

- WebSocket connections are served by `DirectWebSocket` (`websocket.py`), which refuses per-message
  compression and registers an `Outlet`: the connection's transport, written to directly.
- `Fanout.send` encodes the packet once, frames it once, and appends the frame to each
  outlet's pending list; a flush writes each socket's pending frames in a single write. A
  flush runs at once on a quiet stage and at most once per `tick` on a busy one, so events
  that arrive close together share a write (and a system call) per socket.
- A socket whose transport buffer passes `soft_limit` is slow: its frames wait in a backlog
  where a newer `moveTo` of the same object replaces the older one, everything else is kept;
  past `hard_limit` bytes it is dropped (it reconnects and recovers with `since`).
- Long-polling sockets (and WebSockets until their upgrade completes) get the same packet
  through Engine.IO's own queue, exactly as the stock path does.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections import OrderedDict
from collections.abc import Hashable
from itertools import count
from typing import Any

import orjson
import socketio
from engineio import packet as eio_packet

from .metrics import Metrics
from .websocket import DirectWebSocket, Outlet, SocketQueue

log = logging.getLogger("hub.fanout")


def text_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A final, unmasked WebSocket frame (RFC 6455 §5.2), as a server sends it: text by default."""
    first = 0x80 | opcode
    size = len(payload)
    if size < 126:
        return bytes((first, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", first, 126, size) + payload
    return struct.pack("!BBQ", first, 127, size) + payload


def binary_frame(payload: bytes) -> bytes:
    return text_frame(payload, opcode=0x2)


def close_frame(code: int, reason: str) -> bytes:
    """A WebSocket close frame (RFC 6455 §5.5.1) with a status code and a short reason."""
    return text_frame(struct.pack("!H", code) + reason.encode()[:120], opcode=0x8)


SERVICE_RESTART = 1012  # RFC 6455 registry: "the server is restarting", clients should reconnect


def release_polling(sio: socketio.AsyncServer, skip: dict[str, Any], only: set[str] | None = None) -> None:
    """Answer the long-polling sockets' waiting requests (a NOOP) so that their next poll finds
    the hub gone and the client reconnects by itself; `skip` names the sockets already released,
    `only` (Engine.IO ids) limits it to some sockets."""
    for eio_sid, socket in list(sio.eio.sockets.items()):
        if eio_sid not in skip and not socket.closed and (only is None or eio_sid in only):
            socket.queue.put_nowait(eio_packet.Packet(eio_packet.NOOP))


def participants(sio: socketio.AsyncServer, room: str | None) -> set[str] | None:
    """The Engine.IO ids of a Socket.IO room's sockets; None (everyone) for no room."""
    if room is None:
        return None
    return {eio_sid for _, eio_sid in sio.manager.get_participants("/", room)}


def socketio_event(name: str, data: Any) -> str:
    """The Socket.IO EVENT packet for the default namespace, as python-socketio encodes it."""
    return '2["' + name + '",' + orjson.dumps(data).decode() + "]"


class Fanout:
    """Writes broadcast packets to the sockets of a Socket.IO room."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        metrics: Metrics,
        soft_limit: int = 256 * 1024,
        hard_limit: int = 4 * 1024 * 1024,
        tick: float = 0.015,
    ) -> None:
        self.sio = sio
        self.metrics = metrics
        self.soft_limit = soft_limit
        self.hard_limit = hard_limit
        self.tick = tick
        self.outlets: dict[str, Outlet] = {}
        self._dirty: list[Outlet] = []
        self._slow: set[Outlet] = set()
        self._flush_handle: asyncio.Handle | None = None
        self._last_flush = 0.0
        self._drain_task: asyncio.Task[None] | None = None
        self._unique = count()
        eio = sio.eio
        eio._async = {**eio._async, "websocket": self._websocket_factory}
        eio.create_queue = SocketQueue

    def _websocket_factory(self, handler: Any, server: Any) -> DirectWebSocket:
        return DirectWebSocket(handler, server, self)

    def send(self, room: str, name: str, data: Any, supersedes: Hashable | None = None) -> int:
        """Broadcast one event to a room; returns how many sockets it was written or queued to.

        `supersedes` names what a newer event with the same key makes obsolete (a `moveTo` of
        one object), so a slow socket's backlog may drop the older one.
        """
        text = socketio_event(name, data)
        frame: bytes | None = None
        queued: eio_packet.Packet | None = None
        recipients = 0
        for _, eio_sid in self.sio.manager.get_participants("/", room):
            outlet = self.outlets.get(eio_sid)
            if outlet is not None and outlet.ready():
                if frame is None:
                    frame = text_frame(b"4" + text.encode())
                self._write(outlet, frame, supersedes)
            else:
                socket = self.sio.eio.sockets.get(eio_sid)
                if socket is None or socket.closed:
                    continue
                if queued is None:
                    queued = eio_packet.Packet(eio_packet.MESSAGE, text)
                socket.queue.put_nowait(queued)
            recipients += 1
        return recipients

    def _write(self, outlet: Outlet, frame: bytes, supersedes: Hashable | None) -> None:
        if outlet.backlog is not None:
            self._to_backlog(outlet, frame, supersedes)
            return
        if not outlet.pending:
            self._dirty.append(outlet)
            if self._flush_handle is None:
                self._schedule_flush()
        outlet.pending.append(frame)

    def _schedule_flush(self) -> None:
        """Flush at once when the last flush is at least a tick ago, else at the end of that tick:
        a quiet stage adds no latency, a busy one writes each socket at most once per tick."""
        loop = asyncio.get_running_loop()
        wait = self._last_flush + self.tick - loop.time()
        if wait > 0:
            self._flush_handle = loop.call_later(wait, self.flush)
        else:
            self._flush_handle = loop.call_soon(self.flush)

    def write_packet(self, outlet: Outlet, packet: eio_packet.Packet) -> None:
        """An Engine.IO packet (an ack, a ping, a close) for one socket: written at once, after the
        broadcast frames already pending for it (a reply must not wait for the next tick)."""
        encoded = packet.encode()
        frame = text_frame(encoded.encode()) if isinstance(encoded, str) else binary_frame(encoded)
        if outlet.backlog is not None:
            self._to_backlog(outlet, frame, None)
        else:
            outlet.pending.append(frame)
            self.flush_outlet(outlet)
        if packet.packet_type == eio_packet.CLOSE:
            outlet.transport.close()  # after the buffered frames have gone out

    def flush(self) -> None:
        """Write every socket's pending frames, one write per socket."""
        self._flush_handle = None
        self._last_flush = asyncio.get_running_loop().time()
        dirty, self._dirty = self._dirty, []
        for outlet in dirty:
            self.flush_outlet(outlet)

    def flush_outlet(self, outlet: Outlet) -> None:
        """Write one socket's pending frames now (also before Engine.IO queues a packet for it)."""
        frames, outlet.pending = outlet.pending, []
        transport = outlet.transport
        if not frames or transport.is_closing():
            return
        transport.write(frames[0] if len(frames) == 1 else b"".join(frames))
        if transport.get_write_buffer_size() > self.soft_limit:
            self._mark_slow(outlet)

    def _mark_slow(self, outlet: Outlet) -> None:
        outlet.backlog = OrderedDict()
        outlet.backlog_bytes = 0
        self._slow.add(outlet)
        self.metrics.slow_consumers.inc()
        if self._drain_task is None or self._drain_task.done():
            self._drain_task = asyncio.create_task(self._drain_slow(), name="fanout-slow-consumers")

    def _to_backlog(self, outlet: Outlet, frame: bytes, supersedes: Hashable | None) -> None:
        backlog = outlet.backlog
        assert backlog is not None
        key = supersedes if supersedes is not None else next(self._unique)
        older = backlog.pop(key, None)
        if older is not None:
            outlet.backlog_bytes -= len(older)
            self.metrics.coalesced.inc()
        backlog[key] = frame
        outlet.backlog_bytes += len(frame)
        if outlet.backlog_bytes + outlet.transport.get_write_buffer_size() > self.hard_limit:
            self._drop(outlet)

    def _drop(self, outlet: Outlet) -> None:
        """Disconnect a socket that fell too far behind; it reconnects and recovers with `since`."""
        log.warning(
            "dropping slow consumer",
            extra={"eio_sid": outlet.eio_socket.sid, "backlog_bytes": outlet.backlog_bytes},
        )
        self.metrics.slow_consumers_dropped.inc()
        self._slow.discard(outlet)
        outlet.backlog = None
        outlet.transport.abort()

    async def _drain_slow(self) -> None:
        """Hand each slow socket its backlog once its transport has drained below half the soft limit."""
        while self._slow:
            await asyncio.sleep(0.02)
            for outlet in list(self._slow):
                transport = outlet.transport
                if transport.is_closing():
                    self._slow.discard(outlet)
                elif transport.get_write_buffer_size() <= self.soft_limit // 2 and outlet.backlog is not None:
                    frames = b"".join(outlet.backlog.values())
                    outlet.backlog, outlet.backlog_bytes = None, 0
                    self._slow.discard(outlet)
                    transport.write(frames)

    def release(self, room: str | None = None) -> None:
        """For a restart (or a stage replica that lost continuity, for one Socket.IO room): end
        connections at the transport, never with a Socket.IO or Engine.IO disconnect (official
        clients take those as "the server sent me away" and stop retrying). A WebSocket gets its
        pending frames, a close frame "service restart" and a closed socket; a long-polling socket
        has its waiting request answered. Either way the client sees its transport close and
        reconnects by itself, with `since`."""
        only = participants(self.sio, room)
        for eio_sid, outlet in list(self.outlets.items()):
            transport = outlet.transport
            if transport.is_closing() or (only is not None and eio_sid not in only):
                continue
            pending = outlet.pending + list((outlet.backlog or {}).values())
            outlet.pending, outlet.backlog = [], None
            transport.write(b"".join(pending) + close_frame(SERVICE_RESTART, "the hub is restarting"))
            transport.close()
        release_polling(self.sio, self.outlets, only)

    def close(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        if self._drain_task is not None:
            self._drain_task.cancel()


class StockFanout:
    """python-socketio's own `emit`, one broadcast at a time: the baseline the fast path is measured
    and checked against (`HUB_FANOUT=stock`)."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio
        self._queue: asyncio.Queue[tuple[str, str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def send(self, room: str, name: str, data: Any, supersedes: Hashable | None = None) -> int:
        if self._task is None:
            self._task = asyncio.create_task(self._emit_in_order(), name="stock-fanout")
        self._queue.put_nowait((room, name, data))
        return sum(1 for _ in self.sio.manager.get_participants("/", room))

    async def _emit_in_order(self) -> None:
        while True:
            room, name, data = await self._queue.get()
            try:
                await self.sio.emit(name, data, to=room)
            except Exception:
                log.exception("stock emit failed", extra={"room": room})

    def release(self, room: str | None = None) -> None:
        """The reference path only answers long-polls; its WebSockets end at the shutdown deadline."""
        release_polling(self.sio, {}, participants(self.sio, room))

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
