"""The Redis control channel: every hub process of a site on one pub/sub channel, `<prefix>control`.

Control messages are rare (an admin's action), so one channel for all of them is enough: every
process hears every message and skips its own (by the `node` tag). A broken subscription is
reconnected by redis-py, which subscribes again; messages published meanwhile are lost, so the
handler then gets a `RESYNC` message and checks its sockets against the store.
"""

from __future__ import annotations

import logging

from ..redislink import RedisLink
from .base import RESYNC, ControlUnavailable, Handler, Message, decode, encode, new_node_id

log = logging.getLogger(__name__)


class RedisControl:
    """The control channel on the Redis at `url`; its channel is `<prefix>control`. `timeout`
    bounds every command (and connecting), so an unreachable Redis fails fast."""

    def __init__(self, url: str, prefix: str = "upstage:", node_id: str | None = None, *, timeout: float = 5.0) -> None:
        self.node_id = node_id or new_node_id()
        self.channel = f"{prefix}control".encode()
        self.timeout = timeout
        self._link = RedisLink(  # a failure is reported at once; `Outbox` retries
            url,
            prefix,
            "control",
            what="the control channel",
            error=ControlUnavailable,
            timeout=timeout,
            on_message=self._on_message,
            on_resubscribed=self._on_resubscribed,
        )
        self._handler: Handler | None = None

    async def start(self, handler: Handler) -> None:
        self._handler = handler
        # messages published after Redis confirms are sure to reach us
        await self._link.subscribe(self.channel, "the control channel's subscription was not confirmed")

    async def publish(self, message: Message) -> None:
        data = encode(message, self.node_id)
        await self._link.call(lambda: self._link.redis.publish(self.channel, data))

    async def _on_message(self, channel: bytes, data: bytes) -> None:
        """Each other process's message to the handler, in arrival order."""
        message = decode(data)
        if message is None:
            log.warning("control message not understood", extra={"data": data[:200]})
        elif message["node"] != self.node_id:
            await self._handle(message)

    async def _on_resubscribed(self, channel: bytes, since: int | None) -> None:
        """Subscribed again after a break: what was sent meanwhile is lost, so resynchronise."""
        if since is not None:
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
        await self._link.close()
