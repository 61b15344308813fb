"""Closing a gateway ends its loops even when a cancellation was lost on the way (Python 3.11's
`wait_for` can drop one that arrives as its inner call completes; a reconnect loop then sleeps on)."""

from __future__ import annotations

import asyncio

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
    await asyncio.wait_for(stop([task]), 10)
    assert swallowed.is_set() and task.cancelled()


async def test_stop_of_finished_and_no_tasks_returns_at_once():
    done = asyncio.create_task(asyncio.sleep(0))
    await done
    await asyncio.wait_for(stop([done]), 1)
    await asyncio.wait_for(stop([]), 1)
