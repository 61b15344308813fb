"""The Redis stage log: several hub processes share each stage's seq, history and fan-out.

One Lua script per append does the idempotency check, the seq increment, the history append
(a capped stream with ids derived from seq) and the PUBLISH on the stage's channel, so no
process can see a seq without its event or an event out of order (`scripts.py` has the layout).

Failures: every Redis error (refused, reset, timed out) is raised as `LogUnavailable`. Commands
are never retried by the client library: a retried append after a timeout could append twice.
An append that raised may still have happened; the caller retries it with its idempotency key.

Appends are pipelined: those made while one round trip is under way go together in the next, on
one connection, in the order they were made (one performer's publishes need not wait for each
other's replies, and keep their order).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any, NamedTuple

from redis.exceptions import NoScriptError

from storage import Event

from ..redislink import RedisLink
from . import scripts
from .base import (
    Appended,
    Deliver,
    Draft,
    Fenced,
    FenceTimeout,
    LogUnavailable,
    Position,
    Restarted,
    Unseeded,
    decode,
    draft_of,
    encode,
    fresh_epoch,
)

log = logging.getLogger(__name__)


class _Follower(NamedTuple):
    stage_id: int
    deliver: Deliver
    restarted: Restarted | None
    resumed: Callable[[], None] | None


class RedisStageLog:
    """A stage log in Redis at `url`; every key and channel starts with `prefix`.

    `history_size` events and `history_age` seconds bound each stage's history (and how long an
    idempotency key is remembered), as HUB_HISTORY_SIZE and HUB_HISTORY_AGE do in memory.
    `timeout` bounds every command (connecting, and waiting for one of `connections` pooled
    connections too), so an unreachable or saturated Redis fails fast.
    """

    def __init__(
        self,
        url: str,
        prefix: str = "upstage:",
        history_size: int = 2000,
        history_age: float = 600.0,
        *,
        timeout: float = 5.0,
        fence_ttl: float = 15.0,
        connections: int = 16,
        create_unknown: bool = False,
    ) -> None:
        self.prefix = prefix
        self.create_unknown = create_unknown
        self.timeout = timeout
        self.history_size = history_size
        self.history_age_ms = max(1, int(history_age * 1000))
        self.fence_ttl_ms = max(1, int(fence_ttl * 1000))
        self._link = RedisLink(
            url,
            prefix,
            "stagelog",  # CLIENT LIST tells which connections are the log's
            what="the stage log",
            error=LogUnavailable,
            timeout=timeout,
            on_message=self._on_message,
            on_resubscribed=self._on_resubscribed,
            connections=connections,
        )
        self._redis = self._link.redis
        self._queued: list[tuple[list[str], list[bytes | str | int], asyncio.Future[Any]]] = []
        self._sender: asyncio.Task[None] | None = None
        self._append_loaded = False
        self._append = self._redis.register_script(scripts.APPEND)
        self._read = self._redis.register_script(scripts.READ)
        self._seed = self._redis.register_script(scripts.SEED)
        self._new_epoch = self._redis.register_script(scripts.NEW_EPOCH)
        self._renew = self._redis.register_script(scripts.RENEW)
        self._release = self._redis.register_script(scripts.RELEASE)
        self._followers: dict[bytes, _Follower] = {}
        self._closed = False

    shared = True  # other processes may append to the same Redis

    # names

    def _key(self, stage_id: int, name: str) -> str:
        return f"{self.prefix}stage:{{{stage_id}}}:{name}"

    def channel(self, stage_id: int) -> bytes:
        """The stage's pub/sub channel (one per stage: a process hears only the stages it follows)."""
        return f"{self.prefix}stage:{stage_id}".encode()

    # the log

    async def append(
        self, stage_id: int, draft: Draft, key: str | None = None, fence: str | None = None
    ) -> Appended:
        keys = [
            self._key(stage_id, "meta"),
            self._key(stage_id, "log"),
            self._key(stage_id, f"key:{key or ''}"),
            self._key(stage_id, "fence"),
        ]
        args: list[bytes | str | int] = [
            encode(draft),
            self.history_size,
            self.history_age_ms,
            self.channel(stage_id),
            fresh_epoch() if self.create_unknown else "",
            "0" if key is None else "1",
            fence or "",
        ]
        reply = await self._appending(keys, args)
        if int(reply[0]) == 2:
            raise Unseeded(f"the stage log holds nothing of stage {stage_id}")
        if int(reply[0]) == 3:
            raise Fenced(f"stage {stage_id} is fenced (a sweep)")
        event, epoch = _parse_message(stage_id, reply[1])
        assert event is not None, "an append's message carries its event"
        return Appended(event, epoch, duplicate=int(reply[0]) == 1)

    async def recall(self, stage_id: int, key: str) -> Appended | None:
        message = await self._link.call(lambda: self._redis.get(self._key(stage_id, f"key:{key}")))
        if not message:
            return None
        event, epoch = _parse_message(stage_id, message if isinstance(message, bytes) else message.encode())
        return None if event is None else Appended(event, epoch, duplicate=True)

    def _appending(self, keys: list[str], args: list[bytes | str | int]) -> asyncio.Future[Any]:
        """Queue one append (at once, in call order) for the sender task, which sends everything
        queued as one pipeline on one connection: Redis runs them in that order, so appends made
        one after another keep their order without each waiting for the one before."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queued.append((keys, args, future))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_appends(), name="stagelog-appends")
        return future

    async def _send_appends(self) -> None:
        while self._queued:
            batch, self._queued = self._queued, []
            try:
                if not self._append_loaded:  # a new Redis, or one that restarted empty
                    await self._link.call(lambda: self._redis.script_load(scripts.APPEND))
                    self._append_loaded = True
                pipe = self._redis.pipeline(transaction=False)
                for keys, args, _ in batch:
                    pipe.evalsha(self._append.sha, len(keys), *keys, *args)
                replies = await self._link.call(functools.partial(pipe.execute, raise_on_error=False))
            except LogUnavailable as exc:  # each append may or may not have happened
                replies = [exc] * len(batch)
            for (_, _, future), reply in zip(batch, replies, strict=True):
                if isinstance(reply, NoScriptError):  # this one did not run: the caller may retry
                    self._append_loaded = False
                    reply = LogUnavailable("the stage log's script was not loaded; try again")
                if future.done():  # its caller gave up waiting
                    continue
                if isinstance(reply, Exception):
                    future.set_exception(reply if isinstance(reply, LogUnavailable) else LogUnavailable(str(reply)))
                else:
                    future.set_result(reply)

    async def read(self, stage_id: int, since: Position, most: int = 0) -> list[Event] | None:
        keys = [self._key(stage_id, "meta"), self._key(stage_id, "log")]
        args = [since.seq, self.history_size, most]
        reply: list[Any] = await self._link.call(lambda: self._read(keys=keys, args=args))
        if not reply or int(reply[4]):
            return None
        epoch, seq, now, entries = reply[0].decode(), int(reply[1]), int(reply[2]), reply[3]
        if epoch != since.epoch or not 0 <= since.seq <= seq:
            return None
        if since.seq == seq:
            return []
        if len(entries) != seq - since.seq:  # trimmed (by size or age) or never held (seeded short)
            return None
        horizon = now - self.history_age_ms
        events = []
        for expected, (entry_id, fields) in enumerate(entries, since.seq + 1):
            values = dict(zip(fields[::2], fields[1::2], strict=True))
            if entry_id != f"{expected}-0".encode() or int(values[b"t"]) < horizon:
                return None
            events.append(decode(stage_id, expected, values[b"d"]))
        return events

    async def position(self, stage_id: int) -> Position | None:
        epoch, seq = await self._link.call(lambda: self._redis.hmget(self._key(stage_id, "meta"), ["e", "s"]))
        return None if epoch is None else Position(_text(epoch), int(seq or 0))

    async def seed(
        self, stage_id: int, position: Position, recent: list[Event], keys: dict[int, str] | None = None
    ) -> Position:
        kept: dict[int, Event] = {e.seq: e for e in recent if 0 < e.seq <= position.seq}
        args: list[Any] = [
            position.epoch, position.seq, self.history_size, self.history_age_ms, self._key(stage_id, "key:"),
        ]  # fmt: skip
        for seq in sorted(kept)[-self.history_size :] if self.history_size else []:
            args += [seq, kept[seq].at, encode(draft_of(kept[seq])), (keys or {}).get(seq, "")]
        names = [self._key(stage_id, "meta"), self._key(stage_id, "log")]
        epoch, seq = await self._link.call(lambda: self._seed(keys=names, args=args))
        return Position(_text(epoch), int(seq))

    async def new_epoch(self, stage_id: int, epoch: str) -> Position:
        keys = [self._key(stage_id, "meta"), self._key(stage_id, "log")]
        seq = await self._link.call(lambda: self._new_epoch(keys=keys, args=[epoch, self.channel(stage_id)]))
        return Position(epoch, int(seq))

    # followers

    async def follow(
        self,
        stage_id: int,
        deliver: Deliver,
        restarted: Restarted | None = None,
        resumed: Callable[[], None] | None = None,
    ) -> None:
        if self._closed:
            raise LogUnavailable("the stage log is closed")
        channel = self.channel(stage_id)
        self._followers[channel] = _Follower(stage_id, deliver, restarted, resumed)
        try:
            await self._link.subscribe(channel, f"no subscription confirmed for stage {stage_id}")
        except BaseException:
            self._followers.pop(channel, None)
            raise

    async def unfollow(self, stage_id: int) -> None:
        channel = self.channel(stage_id)
        self._followers.pop(channel, None)
        await self._link.unsubscribe(channel)

    async def _on_message(self, channel: bytes, data: bytes) -> None:
        """A message to its stage's follower, in arrival order (Redis delivers a channel's
        messages in publish order, which is seq order)."""
        follower = self._followers.get(channel)
        if follower is None:
            return  # unfollowed meanwhile
        try:
            event, epoch = _parse_message(follower.stage_id, data)
            if event is not None:
                follower.deliver(event, epoch)
            elif follower.restarted is not None:
                follower.restarted(Position(epoch, _seq_of(data)))
        except Exception:  # one bad message or follower must not stop the others
            log.exception("stage log follower failed", extra={"stage_id": follower.stage_id})

    async def _on_resubscribed(self, channel: bytes, since: int | None) -> None:
        """redis-py subscribed again after a reconnect: the follower reads what it missed."""
        follower = self._followers.get(channel)
        if follower is not None and follower.resumed is not None:
            try:
                follower.resumed()
            except Exception:
                log.exception("stage log follower failed", extra={"stage_id": follower.stage_id})

    # fence

    @contextlib.asynccontextmanager
    async def fence(self, stage_id: int, timeout: float = 10.0) -> AsyncIterator[str]:
        key, token = self._key(stage_id, "fence"), secrets.token_hex(16)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await self._link.call(lambda: self._redis.set(key, token, nx=True, px=self.fence_ttl_ms)):
            if loop.time() >= deadline:
                raise FenceTimeout(f"stage {stage_id} is fenced by another holder")
            await asyncio.sleep(0.02)
        released = asyncio.Event()
        renewer = asyncio.create_task(self._keep_fence(key, token, released), name="stagelog-fence")
        try:
            yield token
        finally:
            released.set()  # a cancel a library swallows (3.11's wait_for) still ends the renewer's loop
            renewer.cancel()
            await asyncio.wait({renewer})
            if not renewer.cancelled() and renewer.exception() is not None:
                log.error("stage log fence renewer failed", exc_info=renewer.exception(),
                          extra={"stage_id": stage_id})
            try:
                await self._link.call(lambda: self._release(keys=[key], args=[token]))
            except LogUnavailable:  # the TTL ends it
                log.warning("stage log fence not released; it expires", extra={"stage_id": stage_id})

    async def _keep_fence(self, key: str, token: str, released: asyncio.Event) -> None:
        """Renew the fence while its holder is inside (a holder that dies lets it expire)."""
        while not released.is_set():
            await asyncio.sleep(self.fence_ttl_ms / 3000)
            if released.is_set():
                return
            try:
                await self._link.call(lambda: self._renew(keys=[key], args=[token, self.fence_ttl_ms]))
            except LogUnavailable:
                log.warning("stage log fence not renewed", extra={"key": key})

    async def drop(self, stage_id: int) -> None:
        names = [self._key(stage_id, "meta"), self._key(stage_id, "log")]
        await self._link.call(lambda: self._redis.delete(*names))

    async def ping(self) -> None:
        await self._link.call(self._redis.ping)

    async def close(self) -> None:
        self._closed = True
        self._followers.clear()
        await self._link.close()


def _parse_message(stage_id: int, message: bytes) -> tuple[Event | None, str]:
    """An event and its epoch from a published message (`<seq>\\n<epoch>\\n<event JSON>`); no
    event for a new epoch's marker (an empty body)."""
    seq, epoch, body = message.split(b"\n", 2)
    return (decode(stage_id, int(seq), body) if body else None), epoch.decode()


def _seq_of(message: bytes) -> int:
    return int(message.split(b"\n", 1)[0])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
