"""One engine's link to Redis: its client, its commands' failures and its pub/sub subscription.

The three Redis engines (the stage log, the roster, the control channel) connect the same way and
listen the same way; only their keys, channels and what a message means differ. `RedisLink` is
what they share, so a fix to the plumbing (a timeout, a reconnect) is made once:

- the client: every command and connection attempt bounded by `timeout`, the library's retries
  off (a retried append after a timeout could append twice; a failure is reported at once and the
  caller decides), named `<prefix><name>` so CLIENT LIST tells whose each connection is;
- `call`: any Redis or socket failure of a command becomes the engine's own error;
- one pub/sub connection with one reader task, started by the first `subscribe`. When the
  connection breaks, redis-py reconnects and subscribes again by itself; messages published
  meanwhile are lost, so each channel's confirmation after a break is handed to `resubscribed`
  (with when the break was noticed), for the engine to catch up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from .clock import now_ms

log = logging.getLogger(__name__)
T = TypeVar("T")
RECONNECT_PAUSE = 0.5
"""Seconds between attempts to read a broken subscription (each attempt also reconnects)."""

OnMessage = Callable[[bytes, bytes], Awaitable[None]]
"""A message's channel and data, in arrival order (Redis keeps a channel's publish order)."""
OnResubscribed = Callable[[bytes, int | None], Awaitable[None]]
"""A channel subscribed again by redis-py after a reconnect, and when the break was noticed
(wall-clock ms; given to the first channel confirmed after the break, None to the others)."""


class RedisLink:
    """The client for `url` and the subscription of one engine, called `name` in its client name
    and reader task. A command that fails raises `error` ("`what` cannot be reached: ..."); a
    subscription not confirmed within `timeout` raises `error` too. `connections` bounds a
    blocking pool (a burst waits up to `timeout` for a connection, where the default pool
    refuses); without it the client's default pool is used."""

    def __init__(
        self,
        url: str,
        prefix: str,
        name: str,
        *,
        what: str,
        error: type[Exception],
        timeout: float,
        on_message: OnMessage,
        on_resubscribed: OnResubscribed,
        connections: int | None = None,
    ) -> None:
        self.name, self.what, self.error, self.timeout = name, what, error, timeout
        self._on_message, self._on_resubscribed = on_message, on_resubscribed
        options: dict[str, Any] = {
            "decode_responses": False,
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "retry": Retry(NoBackoff(), 0),
            "client_name": f"{prefix}{name}",
        }
        if connections is None:
            self.redis: aioredis.Redis = aioredis.Redis.from_url(url, **options)
        else:
            pool = aioredis.BlockingConnectionPool.from_url(
                url,
                max_connections=max(2, connections),  # one is the pub/sub connection, held for good
                timeout=timeout,
                **options,
            )
            self.redis = aioredis.Redis.from_pool(pool)
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._confirming: dict[bytes, asyncio.Future[None]] = {}
        self._broken_since: int | None = None

    async def call(self, command: Callable[[], Awaitable[T]]) -> T:
        """Run one Redis command; any Redis or socket failure becomes the engine's error."""
        try:
            return await command()
        except (RedisError, OSError) as exc:
            raise self.error(f"{self.what} cannot be reached: {exc}") from exc

    async def subscribe(self, channel: bytes, unconfirmed: str) -> None:
        """Subscribe to `channel` and return once Redis confirms it: whatever is published after
        that is sure to reach `on_message`. Not confirmed in time: `error(unconfirmed)`."""
        if self._pubsub is None:
            self._pubsub = self.redis.pubsub()
        pubsub = self._pubsub
        confirmed = self._confirming[channel] = asyncio.get_running_loop().create_future()
        try:
            await self.call(lambda: pubsub.subscribe(channel))
            if self._reader is None:
                self._reader = asyncio.create_task(self._read(pubsub), name=f"{self.name}-reader")
            try:
                async with asyncio.timeout(self.timeout):
                    await asyncio.shield(confirmed)
            except TimeoutError:
                raise self.error(unconfirmed) from None
        finally:
            self._confirming.pop(channel, None)

    async def unsubscribe(self, channel: bytes) -> None:
        if self._pubsub is not None:
            pubsub = self._pubsub
            await self.call(lambda: pubsub.unsubscribe(channel))

    async def _read(self, pubsub: PubSub) -> None:
        """The reader task: each message to `on_message`, each unexpected confirmation (a
        resubscription after a break) to `on_resubscribed`; a break is logged once and retried."""
        while True:
            try:
                message = await pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, RuntimeError) as exc:  # redis-py reconnects and resubscribes
                if self._broken_since is None:
                    self._broken_since = now_ms()
                    log.warning(f"{self.what}'s subscription broken; reconnecting", extra={"error": repr(exc)})
                await asyncio.sleep(RECONNECT_PAUSE)
                continue
            if message is None:
                continue
            kind, channel = message["type"], message["channel"]
            if kind == "message":
                await self._on_message(channel, message["data"])
            elif kind == "subscribe":
                confirmed = self._confirming.get(channel)
                if confirmed is not None and not confirmed.done():
                    confirmed.set_result(None)
                else:
                    since, self._broken_since = self._broken_since, None
                    await self._on_resubscribed(channel, since)

    async def close(self) -> None:
        """Stop the reader, then close the subscription and the client (failures ignored)."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                async with asyncio.timeout(self.timeout):
                    await self._pubsub.aclose()
            self._pubsub = None
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(self.timeout):
                await self.redis.aclose()
