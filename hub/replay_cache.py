"""Performances loaded for replay, one copy each, shared by every replay of them.

A performance is read from the archive once, however many replays start at the same moment
(they await the same load), and kept while any replay holds it; then it waits, idle, in a small
LRU (`keep_idle`) in case someone replays it again. Each loaded performance builds a `Timeline`
per kind of listener (audience, performer, a performer an event was aimed at), so replays share
the events and the state checkpoints too. Sizes are accounted as the payloads' JSON bytes (Python
holds 5 to 10 times that), and no new performance is loaded while the loaded ones pass `memory`
(`CacheFull`).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field

import orjson

from storage import Event, Performance

from .replay_timeline import DEFAULT_CHECKPOINT_EVERY, Timeline
from .state import DEFAULT_LIMITS, Limits

Load = Callable[[int], Awaitable[Sequence[Event]]]
# A performance's events can change only while it is an open recording (saving fills them), so
# the key names the saved version.
Key = tuple[int, bool, "int | None"]
SIZE_CHUNK = 5000
MAX_TIMELINES = 8  # views kept per loaded performance (audience, performer, a few stage colours)


class CacheFull(Exception):
    """Loading one more performance would pass the memory bound."""


@dataclass(eq=False)
class LoadedPerformance:
    """One performance's events in memory, and the timelines built from them."""

    key: Key
    events: tuple[Event, ...]
    size: int  # the payloads' JSON bytes: what the memory bound counts
    limits: Limits
    checkpoint_every: int
    users: int = 0
    timelines: OrderedDict[Hashable, Timeline] = field(default_factory=OrderedDict)

    def __post_init__(self) -> None:
        self._targets = frozenset(e.target_session for e in self.events if e.target_session is not None)

    def timeline(self, performer: bool, session: str, default_color: str) -> Timeline:
        """The shared timeline for a listener: keyed by what it may see, so every audience replay
        (and every performer one without events aimed at its session) shares one."""
        own = session if performer and session in self._targets else None
        key = (performer, own, default_color)
        found = self.timelines.get(key)
        if found is None:
            found = Timeline(
                self.events, performer=performer, session=own, default_color=default_color,
                limits=self.limits, checkpoint_every=self.checkpoint_every,
            )  # fmt: skip
            if len(self.timelines) >= MAX_TIMELINES:  # replays holding the oldest keep it, unshared
                self.timelines.popitem(last=False)
            self.timelines[key] = found
        else:
            self.timelines.move_to_end(key)
        return found


class PerformanceCache:
    """Loads performances for replay once, shares them and forgets them when unused."""

    def __init__(
        self,
        load: Load,
        *,
        memory: int,
        keep_idle: int,
        limits: Limits = DEFAULT_LIMITS,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    ) -> None:
        self._load = load
        self.memory = memory
        self.keep_idle = keep_idle
        self._limits = limits
        self._checkpoint_every = checkpoint_every
        self._loaded: dict[Key, LoadedPerformance] = {}
        self._idle: OrderedDict[Key, LoadedPerformance] = OrderedDict()
        self._loading: dict[Key, asyncio.Task[LoadedPerformance]] = {}
        self.size = 0  # JSON bytes of every loaded performance, in use or idle

    @property
    def events(self) -> int:
        """Events held by every loaded performance."""
        return sum(len(loaded.events) for loaded in self._loaded.values())

    @property
    def checkpoints(self) -> int:
        """State checkpoints built by every timeline of every loaded performance."""
        return sum(t.checkpoints for loaded in self._loaded.values() for t in loaded.timelines.values())

    def __len__(self) -> int:
        return len(self._loaded)

    async def acquire(self, performance: Performance) -> LoadedPerformance:
        """The loaded performance, counted as in use until `release`; loads it if nobody has.
        Raises CacheFull when it is not loaded and the loaded ones already fill `memory`."""
        key: Key = (performance.id, performance.recording, performance.saved_at)
        loaded = self._loaded.get(key)
        if loaded is None:
            task = self._loading.get(key)
            if task is None:
                self._trim(self.keep_idle)
                if self.size >= self.memory:
                    raise CacheFull(f"replays hold {self.size} bytes of performances, the bound is {self.memory}")
                task = self._loading[key] = asyncio.create_task(self._read(key))
            # shield: a caller that goes away does not cancel the load the others wait for
            loaded = await asyncio.shield(task)
        loaded.users += 1
        self._register(loaded)  # (again, if it was evicted between its load and this caller)
        self._idle.pop(key, None)
        return loaded

    def release(self, loaded: LoadedPerformance) -> None:
        """One replay of it ended; the last one leaves it idle (and the oldest idle ones go)."""
        loaded.users -= 1
        if loaded.users <= 0 and self._loaded.get(loaded.key) is loaded:
            self._idle[loaded.key] = loaded
            self._trim(self.keep_idle)

    async def _read(self, key: Key) -> LoadedPerformance:
        try:
            events = tuple(await self._load(key[0]))
            size = 0
            for start in range(0, len(events), SIZE_CHUNK):  # a chunk per loop turn, as they were read
                size += sum(len(orjson.dumps(e.payload)) for e in events[start : start + SIZE_CHUNK])
                await asyncio.sleep(0)
            loaded = LoadedPerformance(key, events, size, self._limits, self._checkpoint_every)
            self._register(loaded)
            self._idle[key] = loaded  # until its first user takes it
            return loaded
        finally:
            del self._loading[key]

    def _register(self, loaded: LoadedPerformance) -> None:
        if loaded.key not in self._loaded:
            self._loaded[loaded.key] = loaded
            self.size += loaded.size

    def _trim(self, keep: int) -> None:
        """Forget the least recently used idle performances beyond `keep`, and while the loaded
        ones fill the memory bound."""
        while self._idle and (len(self._idle) > keep or self.size >= self.memory):
            key, loaded = self._idle.popitem(last=False)
            del self._loaded[key]
            self.size -= loaded.size
