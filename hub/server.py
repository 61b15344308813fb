"""The hub's Socket.IO server: python-socketio's, with the door kept.

python-socketio trusts what arrives: a packet it cannot decode raises (no ack, a traceback per
packet), a binary packet may announce billions of attachments that it buffers until they all
arrive, and an event may name any handler (`connect` and `disconnect` included) or none.
`HubServer` checks every packet before python-socketio acts on it:

- an Engine.IO connection is refused (HTTP 401) past `HUB_ADDRESS_CONNECTIONS` per address;
- a call that cannot be decoded, is not `[name, data...]`, or names no call of the contract is
  answered through `Gate.malformed` (a `bad_request` ack, counted against the caller's limits);
- binary packets are refused: answered `bad_request`, and their attachments dropped unread; a
  binary frame nobody announced, or too many, closes the connection;
- a CONNECT to a namespace other than `/` is refused with CONNECT_ERROR saying so (python-socketio
  refuses it, and a second CONNECT on a connected session, with no message a client shows);
- a long-polling POST body is read whole, within `body_timeout`: Engine.IO's aiohttp driver
  decodes whatever part has arrived, which cuts a large message sent in several TCP segments
  and lets a client hold a request open by sending its body slowly.

Everything else takes python-socketio's own path. The packet dispatch below mirrors
`socketio.AsyncServer._handle_eio_message` (python-socketio 5.x; the conformance tests gate an
upgrade, see pyproject's version bounds).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import socketio
from aiohttp import web
from engineio import packet as eio_packet
from engineio import payload as eio_payload
from engineio.exceptions import EngineIOError
from socketio import packet

from .jsonwire import BadJson
from .logs import Sparse

not_engine_io = Sparse(logging.getLogger("hub.server"))  # bodies a client may send again and again

MAX_ATTACHMENTS = 16
# type, attachments, namespace, ack id: enough of a packet to answer it when its data is bad. Read
# as python-socketio reads a header (`int()`, so any Unicode decimal digit; an ack id of up to 100
# digits, more and there is none), so a refusal answers the id a well-formed call would get.
_HEADER = re.compile(r"^(\d)(?:\d+-)?(?:(/[^,]*),)?(?:(\d{1,100})(?!\d))?")
# What a client sends over long-polling: CLOSE, PONG, MESSAGE, UPGRADE (Engine.IO raises on the
# rest, or holds the request until a poll takes the CLOSE it queues).
POLLING_TYPES = frozenset({eio_packet.CLOSE, eio_packet.PONG, eio_packet.MESSAGE, eio_packet.UPGRADE})


class WirePacket(packet.Packet):
    """Socket.IO packets of a protocol without binary: python-socketio otherwise walks every value
    of every packet it sends looking for bytes (the whole stage state, for a join ack)."""

    uses_binary_events = False


class Gate(Protocol):
    """The hub's policy for what `HubServer` refuses (implemented by `sockets.SocketHandlers`)."""

    calls: frozenset[str]

    def admit(self, eio_sid: str, environ: dict[str, Any]) -> str | None:
        """None to accept a new Engine.IO connection, or why it is refused."""
        ...

    def released(self, eio_sid: str) -> None:
        """The Engine.IO connection admitted as `eio_sid` has closed."""
        ...

    async def malformed(self, sid: str | None, reason: str) -> dict[str, Any]:
        """The ack for a call that cannot be carried out as sent (counted, logged sparingly)."""
        ...


class HubServer(socketio.AsyncServer):
    """`socketio.AsyncServer` that checks every inbound packet first (see the module docstring)."""

    def __init__(self, body_timeout: float = 15.0, **kwargs: Any) -> None:
        super().__init__(serializer=WirePacket, **kwargs)
        translate = self.eio._async["translate_request"]
        whole = _whole_bodies(translate, body_timeout, self.close_now)
        self.eio._async = {**self.eio._async, "translate_request": whole}
        self.gate: Gate | None = None
        self._discard: dict[str, int] = {}  # eio_sid -> binary attachments still to drop

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        refusal = self.gate.admit(eio_sid, environ) if self.gate is not None else None
        if refusal is not None:
            return refusal  # Engine.IO answers the handshake 401 with this message
        await super()._handle_eio_connect(eio_sid, environ)
        return None

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        self._discard.pop(eio_sid, None)
        try:
            await super()._handle_eio_disconnect(eio_sid, reason)
        finally:
            if self.gate is not None:
                self.gate.released(eio_sid)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        if isinstance(data, (bytes, bytearray)):
            await self._binary_frame(eio_sid)
            return
        if not isinstance(data, str):  # Engine.IO decodes a JSON message ("4-6", "4null") before us
            await self._refuse(eio_sid, None, "a Socket.IO packet is text that starts with its type digit")
            return
        try:
            pkt = self.packet_class(encoded_packet=data)
        except (ValueError, TypeError, RecursionError) as exc:
            if _is_connect(data):  # a CONNECT whose auth is not JSON: answered, or the client waits
                await self._connect_error(eio_sid, _namespace(data), _why(exc))
            else:
                await self._refuse(eio_sid, _ack_id(data), _why(exc))
            return
        kind, namespace = pkt.packet_type, pkt.namespace or "/"
        if kind == packet.EVENT:
            reason = self._event_problem(pkt.data)
            if reason is not None:
                await self._refuse(eio_sid, pkt.id, reason)
            else:
                await self._handle_event(eio_sid, pkt.namespace, pkt.id, pkt.data)
        elif kind == packet.CONNECT:
            if namespace != "/":  # python-socketio's refusal carries no message a client shows
                reason = f"there is no namespace {namespace[:50]!r}: connect to '/'"
                await self._connect_error(eio_sid, namespace, reason)
            else:
                await self._handle_connect(eio_sid, pkt.namespace, pkt.data)
        elif kind == packet.DISCONNECT:
            await self._handle_disconnect(eio_sid, pkt.namespace, self.reason.CLIENT_DISCONNECT)
        elif kind == packet.ACK:
            await self._handle_ack(eio_sid, pkt.namespace, pkt.id, pkt.data)
        elif kind in (packet.BINARY_EVENT, packet.BINARY_ACK):
            await self._binary_packet_refused(eio_sid, pkt)
        else:
            await self._refuse(eio_sid, None, "a client may not send this packet type")

    def _event_problem(self, data: Any) -> str | None:
        if not isinstance(data, list) or not data or not isinstance(data[0], str):
            return "a call is [name, data]"
        if self.gate is not None and data[0] not in self.gate.calls:
            return f"there is no call {data[0][:50]!r}"
        return None

    async def _binary_packet_refused(self, eio_sid: str, pkt: packet.Packet) -> None:
        """The protocol has no binary: answer the call now and drop its attachments unread."""
        if pkt.attachment_count > MAX_ATTACHMENTS:
            await self._refuse(eio_sid, pkt.id, "binary data is not accepted")
            await self.close_now(eio_sid)
            return
        self._discard[eio_sid] = self._discard.get(eio_sid, 0) + pkt.attachment_count
        await self._refuse(eio_sid, pkt.id, "binary data is not accepted: send JSON")

    async def _binary_frame(self, eio_sid: str) -> None:
        pending = self._discard.get(eio_sid, 0)
        if pending > MAX_ATTACHMENTS or pending <= 0:
            await self._refuse(eio_sid, None, "an unannounced binary frame")
            await self.close_now(eio_sid)
            return
        self._discard[eio_sid] = pending - 1

    async def close_now(self, eio_sid: str) -> None:
        """End an Engine.IO session without waiting for its queue to drain: `eio.disconnect` waits
        for a long-polling client's next GET, which holds the request being answered."""
        socket = self.eio.sockets.get(eio_sid)
        if socket is not None:
            await socket.close(wait=False, reason=self.eio.reason.TRANSPORT_ERROR)

    async def _refuse(self, eio_sid: str, ack_id: int | None, reason: str) -> None:
        """Answer a call the hub will not run (when it carries an ack id), through the gate."""
        sid = self.manager.sid_from_eio_sid(eio_sid, "/")
        ack = await self.gate.malformed(sid, reason) if self.gate is not None else None
        if ack_id is not None and sid is not None and ack is not None:
            await self._send_packet(eio_sid, self.packet_class(packet.ACK, namespace="/", id=ack_id, data=[ack]))

    async def _connect_error(self, eio_sid: str, namespace: str, message: str) -> None:
        await self._send_packet(
            eio_sid, self.packet_class(packet.CONNECT_ERROR, data={"message": message}, namespace=namespace)
        )


class WholeBody:
    """A request body read whole within a deadline, else the Engine.IO session ends (HTTP 400)."""

    def __init__(self, request: web.Request, timeout: float, close: Callable[[str], Awaitable[None]]) -> None:
        self._request = request
        self._timeout = timeout
        self._close = close

    async def read(self, length: int | None = None) -> bytes:
        content = self._request.content
        try:
            if length is None:
                async with asyncio.timeout(self._timeout):
                    body = await content.read()
            else:
                async with asyncio.timeout(self._timeout):
                    body = await content.readexactly(length)
        except (asyncio.IncompleteReadError, TimeoutError) as exc:
            await self._refuse("the request body did not arrive whole in time")
            raise EngineIOError("incomplete body") from exc
        if not _is_engine_io(body):
            await self._refuse("a request body that is not Engine.IO")
            raise EngineIOError("not Engine.IO")
        return body

    async def _refuse(self, why: str) -> None:
        """End the session (HTTP 400 follows) with one sparse log line, never a traceback."""
        not_engine_io.warning("polling", f"ended a long-polling session: {why}")
        await self._close(self._request.query.get("sid", ""))


def _whole_bodies(
    translate: Callable[[web.Request], dict[str, Any]], timeout: float, close: Callable[[str], Awaitable[None]]
) -> Callable[[web.Request], dict[str, Any]]:
    def translate_request(request: web.Request) -> dict[str, Any]:
        environ = translate(request)
        environ["wsgi.input"] = WholeBody(request, timeout, close)
        return environ

    return translate_request


def engine_io_packet(frame: str | bytes) -> eio_packet.Packet | None:
    """One WebSocket frame as an Engine.IO packet of a known type, or None (Engine.IO itself
    raises from deep inside, and the traceback reaches the log)."""
    try:
        pkt = eio_packet.Packet(encoded_packet=frame)
    except (ValueError, TypeError, IndexError):
        return None
    return pkt if 0 <= pkt.packet_type < len(eio_packet.packet_names) else None


def _is_engine_io(body: bytes) -> bool:
    """Whether a long-polling body decodes as Engine.IO packets of the types a client sends."""
    try:
        packets = eio_payload.Payload(encoded_payload=body.decode("utf-8")).packets
    except (ValueError, TypeError, IndexError):  # UnicodeDecodeError is a ValueError
        return False
    return all(pkt.packet_type in POLLING_TYPES for pkt in packets)


def _ack_id(encoded: str) -> int | None:
    match = _HEADER.match(encoded)
    return int(match.group(3)) if match and match.group(3) else None


def _is_connect(encoded: str) -> bool:
    match = _HEADER.match(encoded)
    return match is not None and int(match.group(1)) == packet.CONNECT


def _namespace(encoded: str) -> str:
    match = _HEADER.match(encoded)
    return (match.group(2) if match and match.group(2) else "/").split("?", 1)[0][:100]


def _why(exc: BaseException) -> str:
    if isinstance(exc, BadJson):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "the data nests too deep"
    return "malformed packet"

