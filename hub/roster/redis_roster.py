"""The Redis roster: several hub processes share each stage's presence (`scripts.py` has the layout).

Every write is one Lua script (sweep, change, notice), so parts, holds and notices never disagree
and the newest avatar claim wins across processes. Every Redis error (refused, reset, timed out)
is raised as `RosterUnavailable`; the client library's retries are off, as in the stage log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from . import scripts
from .base import Beating, Notice, Part, RosterUnavailable, assemble, decode, encode

log = logging.getLogger(__name__)
T = TypeVar("T")


class RedisRoster(Beating):
    """A roster in Redis at `url`; every key and channel starts with `prefix`. `node_id` names this
    process's parts (random when empty); `ttl` is how long a part outlives its last heartbeat,
    `grace` how long a hold outlives its session's last live part, `timeout` bounds every command."""

    def __init__(
        self,
        url: str,
        prefix: str = "upstage:",
        node_id: str = "",
        *,
        ttl: float = 15.0,
        grace: float = 30.0,
        timeout: float = 5.0,
        connections: int = 8,
    ) -> None:
        self.prefix = prefix
        self.node_id = node_id or secrets.token_hex(6)
        self.ttl, self.grace, self.timeout = ttl, grace, timeout
        self._ttl_ms, self._grace_ms = max(1, int(ttl * 1000)), max(1, int(grace * 1000))
        self._keep_ms = 2 * (self._ttl_ms + self._grace_ms)
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max(2, connections),  # one is the pub/sub connection, held for good
            timeout=timeout,
            decode_responses=False,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            client_name=f"{prefix}roster",
        )
        self._redis = aioredis.Redis.from_pool(pool)
        self._touch_script = self._redis.register_script(scripts.TOUCH)
        self._snapshot_script = self._redis.register_script(scripts.SNAPSHOT)
        self._hold_script = self._redis.register_script(scripts.HOLD)
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._watchers: dict[bytes, tuple[int, Notice]] = {}
        self._subscribing: dict[bytes, asyncio.Future[None]] = {}
        self._start_beating()

    # names

    def _keys(self, stage_id: int) -> list[str]:
        return [f"{self.prefix}roster:{{{stage_id}}}:{name}" for name in ("parts", "alive", "holds", "grace")]

    def channel(self, stage_id: int) -> bytes:
        """The stage's notice channel (one per stage: a process hears only the stages it watches)."""
        return f"{self.prefix}roster:{stage_id}".encode()

    def _args(self, stage_id: int) -> list[Any]:
        return [self._grace_ms, self._keep_ms, self.channel(stage_id), self.node_id]

    async def _call(self, command: Callable[[], Awaitable[T]]) -> T:
        """Run one Redis command; any Redis or socket failure becomes RosterUnavailable."""
        try:
            return await command()
        except (RedisError, OSError) as exc:
            raise RosterUnavailable(f"the roster cannot be reached: {exc}") from exc

    # the roster

    async def _touch(self, stage_id: int, part: Part | None) -> None:
        if part is None:
            args = [*self._args(stage_id), "sweep", "", self._ttl_ms]
        else:
            args = [*self._args(stage_id), "set", b"" if part.empty else encode(part), self._ttl_ms]
        await self._call(lambda: self._touch_script(keys=self._keys(stage_id), args=args))

    async def hold(self, stage_id: int, session: str, avatar_id: str | None) -> None:
        if self._closed:
            raise RosterUnavailable("the roster is closed")
        args = [*self._args(stage_id), session, avatar_id or ""]
        await self._call(lambda: self._hold_script(keys=self._keys(stage_id), args=args))

    async def snapshot(self, stage_id: int) -> dict[str, Any]:
        args = self._args(stage_id)
        parts, holds = await self._call(lambda: self._snapshot_script(keys=self._keys(stage_id), args=args))
        by_node = sorted(zip(parts[::2], parts[1::2], strict=True))
        held = {s.decode(): a.decode() for s, a in zip(holds[::2], holds[1::2], strict=True)}
        return assemble((decode(body) for _, body in by_node), held)

    # notices

    async def watch(self, stage_id: int, notice: Notice) -> None:
        if self._closed:
            raise RosterUnavailable("the roster is closed")
        channel = self.channel(stage_id)
        self._watchers[channel] = (stage_id, notice)
        if self._pubsub is None:
            self._pubsub = self._redis.pubsub()
        pubsub = self._pubsub
        subscribed = self._subscribing[channel] = asyncio.get_running_loop().create_future()
        try:
            await self._call(lambda: pubsub.subscribe(channel))
            if self._reader is None:
                self._reader = asyncio.create_task(self._read_notices(pubsub), name="roster-reader")
            try:  # after Redis's confirmation, every later change is sure to be noticed
                await asyncio.wait_for(asyncio.shield(subscribed), self.timeout)
            except TimeoutError:
                raise RosterUnavailable(f"no subscription confirmed for stage {stage_id}") from None
        except BaseException:
            self._watchers.pop(channel, None)
            raise
        finally:
            self._subscribing.pop(channel, None)
        self._watched.add(stage_id)
        self._ensure_beating()

    async def unwatch(self, stage_id: int) -> None:
        channel = self.channel(stage_id)
        self._watched.discard(stage_id)
        self._watchers.pop(channel, None)
        if self._pubsub is not None:
            pubsub = self._pubsub
            await self._call(lambda: pubsub.unsubscribe(channel))

    async def _read_notices(self, pubsub: PubSub) -> None:
        """The reader task: call each notice's watcher. After a cut redis-py reconnects and
        resubscribes; each resubscribed watcher is then told once, for the notices it missed."""
        while True:
            try:
                message = await pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, RuntimeError) as exc:
                log.warning("roster subscription broken; reconnecting", extra={"error": repr(exc)})
                await asyncio.sleep(0.5)
                continue
            if message is None:
                continue
            kind, channel = message["type"], message["channel"]
            if kind == "subscribe":
                future = self._subscribing.get(channel)
                if future is not None and not future.done():
                    future.set_result(None)
                    continue
                # redis-py resubscribed after a cut: whatever changed meanwhile was not noticed,
                # so the watcher is told once that something may have.
            elif kind != "message":
                continue
            if (watcher := self._watchers.get(channel)) is not None:
                stage_id, notice = watcher
                try:
                    notice(stage_id)
                except Exception:  # one watcher's failure must not stop the others
                    log.exception("roster watcher failed", extra={"stage_id": stage_id})

    async def close(self, withdraw: bool = True) -> None:
        await self._stop_beating(withdraw)
        self._watchers.clear()
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
