"""The Redis control channel: every hub process of a site on one pub/sub channel, `<prefix>control`.

Control messages are rare (an admin's action), so one channel for all of them is enough: every
process hears every message and skips its own (by the `node` tag). A broken subscription is
reconnected by redis-py, which subscribes again; messages published meanwhile are lost, so the
handler then gets a `RESYNC` message and checks its sockets against the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from .base import RESYNC, ControlUnavailable, Handler, Message, decode, encode, new_node_id, wall_ms

log = logging.getLogger(__name__)
T = TypeVar("T")
RECONNECT_PAUSE = 0.5


class RedisControl:
    """The control channel on the Redis at `url`; its channel is `<prefix>control`. `timeout`
    bounds every command (and connecting), so an unreachable Redis fails fast."""

    def __init__(self, url: str, prefix: str = "upstage:", node_id: str | None = None, *, timeout: float = 5.0) -> None:
        self.node_id = node_id or new_node_id()
        self.channel = f"{prefix}control".encode()
        self.timeout = timeout
        self._redis = aioredis.Redis.from_url(
            url,
            decode_responses=False,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),  # a failure is reported at once; `Outbox` retries
            client_name=f"{prefix}control",
        )
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._handler: Handler | None = None
        self._subscribed: asyncio.Future[None] | None = None
        self._broken_since: int | None = None

    async def _call(self, command: Callable[[], Awaitable[T]]) -> T:
        """Run one Redis command; any Redis or socket failure becomes ControlUnavailable."""
        try:
            return await command()
        except (RedisError, OSError) as exc:
            raise ControlUnavailable(f"the control channel cannot be reached: {exc}") from exc

    async def start(self, handler: Handler) -> None:
        self._handler = handler
        pubsub = self._pubsub = self._redis.pubsub()
        self._subscribed = asyncio.get_running_loop().create_future()
        await self._call(lambda: pubsub.subscribe(self.channel))
        self._reader = asyncio.create_task(self._read(pubsub), name="control-reader")
        try:  # messages published after Redis confirms are sure to reach us
            await asyncio.wait_for(asyncio.shield(self._subscribed), self.timeout)
        except TimeoutError:
            raise ControlUnavailable("the control channel's subscription was not confirmed") from None

    async def publish(self, message: Message) -> None:
        data = encode(message, self.node_id)
        await self._call(lambda: self._redis.publish(self.channel, data))

    async def _read(self, pubsub: PubSub) -> None:
        """The reader task: hand each other process's message to the handler, in arrival order."""
        while True:
            try:
                raw = await pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, RuntimeError) as exc:  # redis-py reconnects and resubscribes
                if self._broken_since is None:
                    self._broken_since = wall_ms()
                    log.warning("control subscription broken; reconnecting", extra={"error": repr(exc)})
                await asyncio.sleep(RECONNECT_PAUSE)
                continue
            if raw is None:
                continue
            if raw["type"] == "subscribe":
                await self._subscribed_again()
            elif raw["type"] == "message":
                message = decode(raw["data"])
                if message is None:
                    log.warning("control message not understood", extra={"data": raw["data"][:200]})
                elif message["node"] != self.node_id:
                    await self._handle(message)

    async def _subscribed_again(self) -> None:
        """A subscription confirmed: the first one, or one after a break (then resynchronise)."""
        if self._subscribed is not None and not self._subscribed.done():
            self._subscribed.set_result(None)
        if self._broken_since is not None:
            since, self._broken_since = self._broken_since, None
            log.warning("control subscription back; resynchronising", extra={"since": since})
            await self._handle({"kind": RESYNC, "node": self.node_id, "since": since})

    async def _handle(self, message: Message) -> None:
        if self._handler is None:
            return
        try:
            await self._handler(message)
        except Exception:  # one bad message must not stop the others
            log.exception("control handler failed", extra={"kind": message.get("kind")})

    async def close(self) -> None:
        self._handler = None
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.aclose()
            self._pubsub = None
        with contextlib.suppress(RedisError, OSError):
            await self._redis.aclose()
