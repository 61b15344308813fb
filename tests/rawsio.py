"""A raw Socket.IO client for tests that must see the exact bytes: WebSocket or long-polling."""

from __future__ import annotations

import socket
from typing import Any

import aiohttp
import orjson


def small_buffer_socket(addr_info: Any) -> socket.socket:
    """A client socket with a tiny receive buffer, so a client that stops reading backs up fast."""
    family, kind, proto, _, _ = addr_info
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return sock


class RawWebSocket:
    """Speaks Engine.IO v4 / Socket.IO v5 over one WebSocket and records every text frame."""

    def __init__(self, url: str, compress: int = 0, tiny_buffer: bool = False) -> None:
        self.url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.compress = compress
        self.tiny_buffer = tiny_buffer
        self.frames: list[str] = []

    async def open(self, auth: dict[str, Any] | None = None) -> RawWebSocket:
        connector = aiohttp.TCPConnector(socket_factory=small_buffer_socket) if self.tiny_buffer else None
        self.http = aiohttp.ClientSession(connector=connector)
        self.ws = await self.http.ws_connect(self.url, compress=self.compress, autoping=False)
        assert (await self.ws.receive_str()).startswith("0{")
        await self.ws.send_str("40" + (orjson.dumps(auth).decode() if auth else ""))
        assert (await self.ws.receive_str()).startswith("40{")
        return self

    async def call(self, ack_id: int, name: str, data: Any) -> Any:
        await self.ws.send_str(f"42{ack_id}" + orjson.dumps([name, data]).decode())
        while True:
            text = await self.next()
            if text.startswith(f"43{ack_id}["):
                return orjson.loads(text[len(f"43{ack_id}") :])[0]

    async def next(self, timeout: float = 5.0) -> str:
        """The next frame that is not a ping (pings are answered)."""
        while True:
            msg = await self.ws.receive(timeout=timeout)
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"websocket {msg.type.name}")
            if msg.data == "2":
                await self.ws.send_str("3")
                continue
            self.frames.append(msg.data)
            return msg.data

    async def close(self) -> None:
        if not self.ws.closed:
            await self.ws.close()
        await self.http.close()


class RawPolling:
    """Speaks Engine.IO v4 long-polling and records every packet of every poll."""

    def __init__(self, url: str) -> None:
        self.base = url + "/socket.io/?EIO=4&transport=polling"
        self.frames: list[str] = []
        self._buffer: list[str] = []

    async def open(self) -> RawPolling:
        self.http = aiohttp.ClientSession()
        async with self.http.get(self.base) as resp:
            opened = orjson.loads((await resp.text())[1:])
        self.base += "&sid=" + opened["sid"]
        await self._post("40")
        assert (await self.next()).startswith("40{")
        return self

    async def _post(self, body: str) -> None:
        async with self.http.post(self.base, data=body.encode()) as resp:
            assert resp.status == 200

    async def call(self, ack_id: int, name: str, data: Any) -> Any:
        await self._post(f"42{ack_id}" + orjson.dumps([name, data]).decode())
        while True:
            text = await self.next()
            if text.startswith(f"43{ack_id}["):
                return orjson.loads(text[len(f"43{ack_id}") :])[0]

    async def next(self) -> str:
        while not self._buffer:
            async with self.http.get(self.base) as resp:
                for packet in (await resp.text()).split("\x1e"):
                    if packet == "2":
                        await self._post("3")
                    elif packet != "6":
                        self._buffer.append(packet)
        text = self._buffer.pop(0)
        self.frames.append(text)
        return text

    async def close(self) -> None:
        await self._post("1")
        await self.http.close()
