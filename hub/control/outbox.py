"""Control messages that could not be sent yet: kept and re-sent until the channel is back.

A lost sign-out is a security problem (a deactivated account would keep its sockets on the
other processes), so a message the channel refused is never dropped silently: it is logged as
an error, counted, and re-sent in the background, in order, with a growing pause, until it
goes or is older than `keep_for` seconds (then it is dropped with an error). Every message is
safe to receive late or twice (docs/decisions.md, "Control").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque

from .base import Control, ControlUnavailable, Message

log = logging.getLogger(__name__)


class Outbox:
    """Sends through `control`; keeps up to `size` refused messages for `keep_for` seconds."""

    def __init__(self, control: Control, *, size: int = 10_000, keep_for: float = 600.0, pause: float = 0.5) -> None:
        self.control = control
        self.size, self.keep_for, self.pause = size, keep_for, pause
        self.waiting: deque[tuple[float, Message]] = deque()
        self.failures = 0  # publishes the channel refused (each one logged as an error)
        self.dropped = 0  # messages given up on (too old, or past `size`)
        self._retrier: asyncio.Task[None] | None = None

    async def send(self, message: Message) -> bool:
        """Send now: True when sent; False when kept for a retry (the channel is down, or
        older messages wait: order is kept)."""
        if not self.waiting:
            try:
                await self.control.publish(message)
                return True
            except ControlUnavailable as exc:
                self.failures += 1
                log.error(
                    "control message not sent; retrying until the channel is back",
                    extra={"kind": message.get("kind"), "error": str(exc)},
                )
        self._keep(message)
        return False

    def _keep(self, message: Message) -> None:
        if len(self.waiting) >= self.size:
            _, lost = self.waiting.popleft()
            self.dropped += 1
            log.error("control message dropped: too many waiting", extra={"kind": lost.get("kind")})
        self.waiting.append((time.monotonic(), message))
        if self._retrier is None or self._retrier.done():
            self._retrier = asyncio.create_task(self._retry(), name="control-outbox")

    async def _retry(self) -> None:
        """Re-send the waiting messages in order, pausing longer (up to 10 s) while it fails."""
        pause, sent = self.pause, 0
        while self.waiting:
            await asyncio.sleep(pause)
            while self.waiting and time.monotonic() - self.waiting[0][0] > self.keep_for:
                _, lost = self.waiting.popleft()
                self.dropped += 1
                log.error("control message dropped: the channel stayed down", extra={"kind": lost.get("kind")})
            while self.waiting:
                try:
                    await self.control.publish(self.waiting[0][1])
                except ControlUnavailable:
                    self.failures += 1
                    pause = min(pause * 2, 10.0)
                    break
                self.waiting.popleft()
                pause, sent = self.pause, sent + 1
        if sent:
            log.warning("control messages sent after the channel came back", extra={"count": sent})

    async def flush(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the waiting messages to go; True when none wait."""
        with contextlib.suppress(TimeoutError):
            if self._retrier is not None:
                async with asyncio.timeout(timeout):
                    await asyncio.shield(self._retrier)
        return not self.waiting

    async def close(self) -> None:
        if self.waiting:
            log.error("control messages never sent", extra={"count": len(self.waiting)})
        if self._retrier is not None:
            self._retrier.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retrier
