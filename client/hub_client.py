"""A thin asyncio client of the hub's wire contract (docs/protocol.md) over python-socketio."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import socketio


class HubError(Exception):
    """An error answer from the hub: `code` is the contract's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


async def login(base_url: str, username: str, password: str) -> dict[str, Any]:
    """`POST /api/login`; returns the tokens and user, or raises HubError."""
    credentials = {"username": username, "password": password}
    async with aiohttp.ClientSession() as http, http.post(f"{base_url}/api/login", json=credentials) as resp:
        body = await resp.json()
    if not body.get("ok"):
        raise HubError(body["error"]["code"], body["error"]["message"])
    return body


class HubClient:
    """One connection to a hub: join a stage, publish, and collect the events and presence it sends.

    Events are kept in arrival order in `events` (unless `keep_events` is False, for long-running
    users that listen instead); `epoch` and `seq` track the stage position so a reconnect can ask
    for what it missed. `listeners` are called as `listener(kind, data)` for every "event",
    "presence", "epoch", "stageClosed", "stageStatus" and "disconnect", in arrival order.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        session: str | None = None,
        resume: str | None = None,
        transports: list[str] | None = None,
        timeout: float = 10.0,
        keep_events: bool = True,
    ) -> None:
        self.url = url
        self.token = token
        self.session = session
        self.resume = resume  # the secret that lets this client, and only it, resume `session`
        self.transports = transports or ["websocket"]
        self.timeout = timeout
        self.keep_events = keep_events
        self.listeners: list[Callable[[str, Any], None]] = []
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[dict[str, Any]] = []
        self.arrivals: list[float] = []  # loop time at which each of `events` arrived
        self.presence: dict[str, Any] | None = None
        self.presence_updates: list[dict[str, Any]] = []
        self.replay_updates: list[dict[str, Any]] = []
        self.closed: list[dict[str, Any]] = []  # `stageClosed` messages: taken off the stage, and why
        self.stage_status: dict[str, Any] | None = None  # the last `stageStatus`: {stage, status, visible}
        self.epoch: str | None = None
        self.seq = 0
        self._changed = asyncio.Event()
        self.sio.on("event", self._on_event)
        self.sio.on("presence", self._on_presence)
        self.sio.on("connect_error", self._on_connect_error)
        self.sio.on("epoch", self._on_epoch)
        self.sio.on("replay", self._on_replay)
        self.sio.on("stageClosed", self._on_stage_closed)
        self.sio.on("stageStatus", self._on_stage_status)
        self.sio.on("disconnect", self._on_disconnect)
        self._refusal: str | None = None

    async def connect(self) -> HubClient:
        auth: dict[str, Any] = {}
        if self.token:
            auth["token"] = self.token
        if self.session and self.resume:
            auth["session"], auth["resume"] = self.session, self.resume
        try:
            await self.sio.connect(self.url, auth=auth, transports=self.transports, wait_timeout=self.timeout)
        except socketio.exceptions.ConnectionError as exc:
            if self._refusal is not None:
                raise HubError("unauthorized", self._refusal) from exc
            raise
        return self

    async def close(self) -> None:
        await self.sio.disconnect()

    async def call(self, name: str, data: dict[str, Any]) -> dict[str, Any]:
        """Send one contract call and return its ack as the hub sent it."""
        return await self.sio.call(name, data, timeout=self.timeout)

    async def join(
        self, stage: str, nickname: str | None = None, since: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"stage": stage}
        if nickname is not None:
            data["nickname"] = nickname
        if since is not None:
            data["since"] = since
        ack = await self.call("join", data)
        if ack.get("ok"):
            self.session, self.resume = ack["session"], ack.get("resume")
            # An event that raced the ack is already part of what the ack describes.
            kept = [i for i, e in enumerate(self.events) if e["seq"] > ack["seq"]]
            self.events = [self.events[i] for i in kept]
            self.arrivals = [self.arrivals[i] for i in kept]
            self.epoch, self.presence = ack["epoch"], ack["presence"]
            self.seq = max([ack["seq"], *(e["seq"] for e in self.events)])
        return ack

    async def publish(self, topic: str, payload: Any, relay: dict[str, Any] | None = None) -> dict[str, Any]:
        """Publish one event; `relay` (service connections only) names its origin and rights."""
        data: dict[str, Any] = {"topic": topic, "payload": payload}
        if relay is not None:
            data["relay"] = relay
        return await self.call("publish", data)

    async def stages(self) -> dict[str, Any]:
        """`{"hub": id, "stages": [slug...]}` (service connections only); raises HubError when refused."""
        ack = await self.call("stages", {})
        if not ack.get("ok"):
            raise HubError(ack["error"]["code"], ack["error"]["message"])
        return ack

    async def history(self, after: int, upto: int, limit: int | None = None) -> dict[str, Any]:
        """The joined stage's archived events with after < seq <= upto (service connections only):
        `{"ok", "events", "more"}`; raises HubError when refused."""
        data: dict[str, Any] = {"after": after, "upto": upto}
        if limit is not None:
            data["limit"] = limit
        ack = await self.call("history", data)
        if not ack.get("ok"):
            raise HubError(ack["error"]["code"], ack["error"]["message"])
        return ack

    @property
    def connected(self) -> bool:
        return bool(self.sio.connected)

    async def set_presence(self, **fields: Any) -> dict[str, Any]:
        return await self.call("presence", fields)

    async def leave(self) -> dict[str, Any]:
        return await self.call("leave", {})

    async def wait_for(self, predicate: Callable[[HubClient], bool], timeout: float | None = None) -> None:
        """Wait until `predicate(self)` holds after some event or presence arrived."""
        async def until() -> None:
            while not predicate(self):
                self._changed.clear()
                await self._changed.wait()

        async with asyncio.timeout(timeout or self.timeout):
            await until()

    async def _on_event(self, event: dict[str, Any]) -> None:
        if event["seq"] > self.seq:
            self.seq = event["seq"]
        if self.keep_events:
            self.events.append(event)
            self.arrivals.append(asyncio.get_running_loop().time())
        self._tell("event", event)

    async def _on_epoch(self, data: dict[str, Any]) -> None:
        """The stage began a new history (a sweep): later events continue from this position."""
        self.epoch, self.seq = data["epoch"], data["seq"]
        self._tell("epoch", data)

    async def _on_replay(self, data: dict[str, Any]) -> None:
        self.replay_updates.append(data)
        self._changed.set()

    async def _on_stage_closed(self, data: dict[str, Any]) -> None:
        self.closed.append(data)
        self._tell("stageClosed", data)

    async def _on_stage_status(self, data: dict[str, Any]) -> None:
        """The stage's status or visibility was edited (sent to the sockets that stay on it)."""
        self.stage_status = data
        self._tell("stageStatus", data)
        self._changed.set()

    async def _on_connect_error(self, data: Any = None) -> None:
        self._refusal = data.get("message", "refused") if isinstance(data, dict) else str(data)

    async def _on_presence(self, presence: dict[str, Any]) -> None:
        self.presence = presence
        if self.keep_events:
            self.presence_updates.append(presence)
        self._tell("presence", presence)

    async def _on_disconnect(self, *_: Any) -> None:
        self._tell("disconnect", None)

    def _tell(self, kind: str, data: Any) -> None:
        for listener in self.listeners:
            listener(kind, data)
        self._changed.set()
