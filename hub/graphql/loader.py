"""Request-level batching (graphql-core has no DataLoader): every parent's lookup of one field in
a request goes to the database as one query for all the parents, and each key is fetched once.

graphql-core resolves the items of a list concurrently (one task each), so the lookups of one
field for all the items of a list arrive within a few turns of the event loop. A `Loader` holds
the keys asked for until a turn of the loop adds no new key and no other fetch of the request is
under way (its results may ask for more keys: the stages of a second foyer alias), then fetches
them all at once.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")

# A batch goes after this many turns of the event loop in a row added no key (graphql-core takes a
# turn or two between resolving a list and calling its items' resolvers), or after MAX_TURNS.
QUIET_TURNS = 3
MAX_TURNS = 64


class Batches:
    """The fetches of one request under way; a batch waits for them before it goes."""

    def __init__(self) -> None:
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def fetch(self, work: Awaitable[T]) -> T:
        """Await `work` (a store call), counted as under way meanwhile."""
        self._busy += 1
        self._idle.clear()
        try:
            return await work
        finally:
            self._busy -= 1
            if not self._busy:
                self._idle.set()

    async def settle(self, pending: Callable[[], int]) -> None:
        """Return once `QUIET_TURNS` turns of the loop add no key (`pending()` stays the same) and
        no fetch is under way."""
        while True:
            seen, quiet = pending(), 0
            for _ in range(MAX_TURNS):
                await asyncio.sleep(0)
                quiet = quiet + 1 if pending() == seen else 0
                seen = pending()
                if quiet >= QUIET_TURNS:
                    break
            if not self._busy:
                return
            await self._idle.wait()


class Loader(Generic[K, V]):
    """Load values by key in batches through `fetch(keys) -> {key: value}`; a key `fetch` leaves
    out gets `missing()`. Values are kept for the loader's life: one request."""

    def __init__(
        self, fetch: Callable[[list[K]], Awaitable[Mapping[K, V]]], missing: Callable[[], V], batches: Batches
    ) -> None:
        self._fetch, self._missing, self._batches = fetch, missing, batches
        self._futures: dict[K, asyncio.Future[V]] = {}
        self._pending: list[K] = []
        self._dispatches: set[asyncio.Task[None]] = set()  # held until done (the loop keeps weak references)

    def load(self, key: K) -> asyncio.Future[V]:
        """The value for `key`, fetched with the other keys asked for in the same moment."""
        future = self._futures.get(key)
        if future is None:
            future = self._futures[key] = asyncio.get_running_loop().create_future()
            if not self._pending:
                dispatch = asyncio.get_running_loop().create_task(self._dispatch())
                self._dispatches.add(dispatch)
                dispatch.add_done_callback(self._dispatches.discard)
            self._pending.append(key)
        return future

    async def load_many(self, keys: Iterable[K]) -> list[V]:
        futures = [self.load(key) for key in keys]
        return [await future for future in futures]  # one batch, mostly: the rest are done by then

    def get(self, key: K) -> V | Awaitable[V]:
        """The value itself when it is already fetched (a resolver that returns a plain value
        costs graphql-core far less than one it has to await), else `load(key)`."""
        future = self._futures.get(key)
        if future is not None and future.done() and not future.cancelled() and future.exception() is None:
            return future.result()
        return self.load(key)

    def get_many(self, keys: Iterable[K]) -> list[V] | Awaitable[list[V]]:
        """The values themselves when all are fetched, else `load_many(keys)`."""
        keys = list(keys)
        values = [self.get(key) for key in keys]
        if any(isinstance(value, asyncio.Future) for value in values):
            return self.load_many(keys)
        return values  # type: ignore[return-value]

    async def _dispatch(self) -> None:
        await self._batches.settle(lambda: len(self._pending))
        keys, self._pending = self._pending, []
        try:
            found = await self._batches.fetch(self._fetch(keys))
        except Exception as exc:  # every waiting resolver sees the failure, logged once by `run`
            for key in keys:
                self._futures[key].set_exception(exc)
            return
        except BaseException:  # cancelled with the request: nobody waits any more
            for key in keys:
                self._futures[key].cancel()
            raise
        for key in keys:
            future = self._futures[key]
            if not future.done():
                future.set_result(found[key] if key in found else self._missing())


def mapped(result: T | Awaitable[T], fn: Callable[[T], Any]) -> Any:
    """`fn(result)`: at once when `result` is a value (see `Loader.get`), after awaiting it (and
    what `fn` returns, if that must be awaited too) otherwise."""
    if not inspect.isawaitable(result):
        return fn(result)

    async def later() -> Any:
        value = fn(await result)
        return await value if inspect.isawaitable(value) else value

    return later()
