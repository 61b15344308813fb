"""Stopping the gateway's background tasks for good.

Python 3.11's `asyncio.wait_for` can lose a cancellation that arrives as its inner call
completes (fixed in 3.12); a reconnect loop that then goes on to its next `sleep` would keep
`close()` waiting forever. So tasks are cancelled again until they are done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

RECANCEL_EVERY = 0.5  # seconds between cancellations of a task that is still running


async def stop(tasks: Iterable[asyncio.Future[Any]]) -> None:
    """Cancel the tasks and wait until every one has finished, cancelling again those that go on."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=RECANCEL_EVERY)
