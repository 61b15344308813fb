"""Closing a gateway ends its loops even when a cancellation was lost on the way (Python 3.11's
`wait_for` can drop one that arrives as its inner call completes; a reconnect loop then sleeps on)."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any, cast

from client import HubError
from gateway.config import GatewayConfig
from gateway.core import Gateway
from gateway.mqtt import MqttLink
from gateway.tasks import stop


async def test_stop_cancels_again_a_loop_that_swallowed_the_first_cancellation():
    swallowed = asyncio.Event()

    async def stubborn_loop() -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed.is_set():
                    raise
                swallowed.set()  # as a lost cancellation: the loop goes on to its next sleep

    task = asyncio.create_task(stubborn_loop())
    await asyncio.sleep(0)
    async with asyncio.timeout(10):
        await stop([task])
    assert swallowed.is_set() and task.cancelled()


async def test_stop_of_finished_and_no_tasks_returns_at_once():
    done = asyncio.create_task(asyncio.sleep(0))
    await done
    async with asyncio.timeout(1):
        await stop([done])
    async with asyncio.timeout(1):
        await stop([])


async def test_a_hub_that_cannot_list_stages_is_logged_once_not_every_poll(caplog):
    """A database outage makes the hub answer `stages` unavailable at every poll: the gateway says
    so once, and once more when the hub answers again (issue 15, item 9)."""
    gateway = Gateway(GatewayConfig(token="t", stage_poll=0.01))
    gateway.link = cast(MqttLink, SimpleNamespace(subscribe=lambda *_: None))
    answers: list[Exception | None] = [HubError("unavailable", "the database is unreachable")] * 20 + [None]

    async def list_stages() -> dict[str, Any]:
        answer = answers.pop(0) if answers else None
        if answer is not None:
            raise answer
        return {"hub": "h", "stages": []}

    gateway._list_stages = list_stages  # type: ignore[method-assign]
    caplog.set_level(logging.INFO, logger="gateway")
    poller = asyncio.create_task(gateway._poll_stages())
    while answers:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    await stop([poller])
    said = [r.getMessage() for r in caplog.records if r.name == "gateway" and r.levelno >= logging.INFO]
    assert said == ["cannot list stages now", "listing stages again"], said
