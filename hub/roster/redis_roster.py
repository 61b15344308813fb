"""The Redis roster: several hub processes share each stage's presence (`scripts.py` has the layout).

Every write is one Lua script (sweep, change, notice), so parts, holds and notices never disagree
and the newest avatar claim wins across processes. Every Redis error (refused, reset, timed out)
is raised as `RosterUnavailable`; the client library's retries are off, as in the stage log.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from ..redislink import RedisLink
from . import scripts
from .base import Beating, Notice, Part, RosterUnavailable, assemble, decode, encode

log = logging.getLogger(__name__)


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
        self._link = RedisLink(
            url,
            prefix,
            "roster",
            what="the roster",
            error=RosterUnavailable,
            timeout=timeout,
            on_message=self._on_message,
            on_resubscribed=self._on_resubscribed,
            connections=connections,
        )
        self._redis = self._link.redis
        self._touch_script = self._redis.register_script(scripts.TOUCH)
        self._snapshot_script = self._redis.register_script(scripts.SNAPSHOT)
        self._hold_script = self._redis.register_script(scripts.HOLD)
        self._watchers: dict[bytes, tuple[int, Notice]] = {}
        self._start_beating()

    # names

    def _keys(self, stage_id: int) -> list[str]:
        return [f"{self.prefix}roster:{{{stage_id}}}:{name}" for name in ("parts", "alive", "holds", "grace")]

    def channel(self, stage_id: int) -> bytes:
        """The stage's notice channel (one per stage: a process hears only the stages it watches)."""
        return f"{self.prefix}roster:{stage_id}".encode()

    def _args(self, stage_id: int) -> list[Any]:
        return [self._grace_ms, self._keep_ms, self.channel(stage_id), self.node_id]

    # the roster

    async def _touch(self, stage_id: int, part: Part | None) -> None:
        if part is None:
            args = [*self._args(stage_id), "sweep", "", self._ttl_ms]
        else:
            args = [*self._args(stage_id), "set", b"" if part.empty else encode(part), self._ttl_ms]
        await self._link.call(lambda: self._touch_script(keys=self._keys(stage_id), args=args))

    async def hold(self, stage_id: int, session: str, avatar_id: str | None) -> None:
        if self._closed:
            raise RosterUnavailable("the roster is closed")
        args = [*self._args(stage_id), session, avatar_id or ""]
        await self._link.call(lambda: self._hold_script(keys=self._keys(stage_id), args=args))

    async def snapshot(self, stage_id: int) -> dict[str, Any]:
        args = self._args(stage_id)
        parts, holds = await self._link.call(lambda: self._snapshot_script(keys=self._keys(stage_id), args=args))
        by_node = sorted(zip(parts[::2], parts[1::2], strict=True))
        held = {s.decode(): a.decode() for s, a in zip(holds[::2], holds[1::2], strict=True)}
        return assemble((decode(body) for _, body in by_node), held)

    # notices

    async def watch(self, stage_id: int, notice: Notice) -> None:
        if self._closed:
            raise RosterUnavailable("the roster is closed")
        channel = self.channel(stage_id)
        self._watchers[channel] = (stage_id, notice)
        try:  # after Redis's confirmation, every later change is sure to be noticed
            await self._link.subscribe(channel, f"no subscription confirmed for stage {stage_id}")
        except BaseException:
            self._watchers.pop(channel, None)
            raise
        self._watched.add(stage_id)
        self._ensure_beating()

    async def unwatch(self, stage_id: int) -> None:
        channel = self.channel(stage_id)
        self._watched.discard(stage_id)
        self._watchers.pop(channel, None)
        await self._link.unsubscribe(channel)

    async def _on_message(self, channel: bytes, data: bytes) -> None:
        self._notify(channel)

    async def _on_resubscribed(self, channel: bytes, since: int | None) -> None:
        # redis-py resubscribed after a cut: whatever changed meanwhile was not noticed, so the
        # watcher is told once that something may have.
        self._notify(channel)

    def _notify(self, channel: bytes) -> None:
        """Call the channel's watcher (a notice carries no data: the stage changed)."""
        if (watcher := self._watchers.get(channel)) is not None:
            stage_id, notice = watcher
            try:
                notice(stage_id)
            except Exception:  # one watcher's failure must not stop the others
                log.exception("roster watcher failed", extra={"stage_id": stage_id})

    async def close(self, withdraw: bool = True) -> None:
        await self._stop_beating(withdraw)
        self._watchers.clear()
        await self._link.close()
