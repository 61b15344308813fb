"""The calls a hub is handling, so that a SIGTERM answers every one before the transports close
(issue 15, item 9): calls in flight finish (or are answered `unavailable`), calls that arrive
after shutdown began are answered `unavailable` at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable

from aiohttp import web

from .config import Settings

log = logging.getLogger("hub.shutdown")
GRACE = 0.2  # seconds to answer calls already on the wire when shutdown began
SETTLE = 0.05  # for the last acks to reach their transports' buffers


class CallsInFlight:
    """The tasks handling contract calls now; `drain()` at shutdown waits for them, then ends
    the ones that are stuck (their handler answers `unavailable` when cancelled while stopping)."""

    def __init__(self) -> None:
        self.stopping = False
        self._tasks: set[asyncio.Task[object]] = set()

    def enter(self) -> asyncio.Task[object] | None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        return task

    def leave(self, task: asyncio.Task[object] | None) -> None:
        if task is not None:
            self._tasks.discard(task)

    async def drain(self, window: float, grace: float = GRACE) -> None:
        """Stop taking calls, give those in flight up to `window` seconds to finish (at least
        `grace`, so that calls already sent are read and answered), then cancel the rest."""
        if self.stopping:
            return
        self.stopping = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(window, grace)
        if grace > 0:
            await asyncio.sleep(grace)
        pending: set[asyncio.Task[object]] = set()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=max(0.0, deadline - loop.time()))
        if pending:
            log.warning("calls still running at shutdown answered unavailable", extra={"calls": len(pending)})
            for task in pending:
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait(pending, timeout=1.0)
        await asyncio.sleep(SETTLE)


CALLS: web.AppKey[CallsInFlight] = web.AppKey("calls_in_flight", CallsInFlight)


def drain_window(settings: Settings) -> float:
    """Seconds calls in flight get at SIGTERM: half the shutdown timeout, at most 2."""
    return min(2.0, settings.shutdown_timeout / 2)


def answer_then_exit(window: float) -> Callable[[web.Application], Awaitable[None]]:
    """An on_startup hook for `python -m hub serve` (run with `handle_signals=False`): SIGTERM and
    SIGINT drain the calls in flight while the connections still read (aiohttp stops reading
    them as soon as its own shutdown begins), then exit the way aiohttp's own handler does."""

    async def install(app: web.Application) -> None:
        loop = asyncio.get_running_loop()
        calls = app[CALLS]
        draining: list[asyncio.Future[None]] = []  # the drain task, kept referenced

        async def drain_then_exit() -> None:
            try:
                await calls.drain(window)
            finally:
                loop.call_soon(_graceful_exit)

        def on_signal() -> None:
            if not calls.stopping:
                draining.append(asyncio.ensure_future(drain_then_exit()))
            else:
                _graceful_exit()  # a second signal: stop now

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal)

    return install


def _graceful_exit() -> None:
    raise web.GracefulExit()
