"""A bound on concurrent work: at most `slots` requests at work, at most `queue` more waiting
(each for at most `wait` seconds), and at most `per_key` of one key (a client address) at work
or waiting; any other request is turned away at once, so that a flood never piles up.
"""

from __future__ import annotations

import asyncio
from collections import deque

from ..ratelimit import KeyedCounter


class Gate:
    def __init__(self, slots: int, queue: int, wait: float, per_key: int) -> None:
        self.slots, self.queue, self.wait = max(1, slots), max(0, queue), wait
        self.busy = 0
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._keys = KeyedCounter(max(1, per_key))

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def enter(self, key: str) -> bool:
        """Take a slot for `key`, waiting for one if the queue has room; False: turned away (nothing
        is held). Every True must be followed by one `leave(key)`."""
        if not self._keys.acquire(key):
            return False
        try:
            admitted = await self._slot()
        except BaseException:
            self._keys.release(key)
            raise
        if not admitted:
            self._keys.release(key)
        return admitted

    def leave(self, key: str) -> None:
        self._keys.release(key)
        self._hand_on()

    async def _slot(self) -> bool:
        if self.busy < self.slots and not self._waiting:
            self.busy += 1
            return True
        if len(self._waiting) >= self.queue:
            return False
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            async with asyncio.timeout(self.wait):
                await asyncio.shield(waiter)
        except TimeoutError:
            pass
        except BaseException:  # the request was cancelled while it waited
            self._give_up(waiter)
            raise
        if waiter.done():
            return True
        self._give_up(waiter)
        return False

    def _give_up(self, waiter: asyncio.Future[None]) -> None:
        """Leave the queue; a slot handed over meanwhile is handed on."""
        if waiter.done():
            self._hand_on()
        else:
            waiter.cancel()
            self._waiting.remove(waiter)

    def _hand_on(self) -> None:
        """A slot is free: it goes to the request that waited longest, if any."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)  # `busy` stays: the slot passes on
                return
        self.busy -= 1
