"""Replay cost: archive reads, memory per replay and seek cost, shared replays against the old
per-replay ones, in one process and one run.

A performance of `--events` events (moves, chat, some private chat, whiteboard lines) is written
to a throw-away SQLite archive. The old behaviour is `hub/replay.py` as it was at `--baseline`
(read with `git show`), started as the old handler did: its own archive read and its own copy
per replay. The new one goes through `PerformanceCache` and a shared `Timeline`. Both then run
the same seeks back and forth on `--seekers` replays while a ticker measures how long the event
loop is held (what `/healthz` latency felt).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import subprocess
import tempfile
import time
import tracemalloc
import types
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import orjson

from bench.results import record
from hub.replay import Replay
from hub.replay_cache import PerformanceCache
from hub.replay_timeline import DEFAULT_CHECKPOINT_EVERY
from storage import EVERYONE, PERFORMERS, Event, Store

ROOT = Path(__file__).resolve().parent.parent
SENDER = {"session": "s-performer", "nickname": "Ann", "role": "owner"}
SEEKS = (0.9, 0.1, 0.8, 0.2, 0.95, 0.05, 0.5, 0.99, 0.3, 0.7)


def show(count: int, stage_id: int) -> list[Event]:
    """A show of `count` events 100 ms apart: 20 props placed, then mostly moves, with chat."""
    rng = random.Random(7)
    events = []
    payload: dict[str, Any]
    for seq in range(1, count + 1):
        at = 1_721_980_000_000 + seq * 100
        prop = f"prop-{seq % 20}"
        audience = EVERYONE
        if seq <= 20:
            placed = {"id": prop, "type": "prop", "src": f"/media/{prop}.png", "x": 0.1, "y": 0.1, "w": 0.1, "h": 0.1}
            topic, payload = "board", {"type": "placeObjectOnStage", "object": placed}
        elif seq % 50 == 0:
            topic, audience = "chat", PERFORMERS
            payload = {"message": f"cue {seq}: ready", "id": f"p{seq}", "isPrivate": True}
        elif seq % 10 == 0:
            topic, payload = "chat", {"message": f"what a scene, line {seq}", "id": f"m{seq}", "user": "Guest"}
        elif seq % 97 == 0:
            points = [[round(rng.random(), 3), round(rng.random(), 3)] for _ in range(12)]
            line = {"type": "line", "points": points, "color": "#000", "size": 3}
            topic, payload = "draw", {"type": "newLine", "command": line}
        else:
            x, y = round(rng.random(), 4), round(rng.random(), 4)
            moved = {"id": prop, "x": x, "y": y, "rotation": 0, "opacity": 1}
            topic, payload = "board", {"type": "moveTo", "object": moved}
        events.append(Event(stage_id, seq, topic, payload, at, SENDER, audience))
    return events


def baseline_replay(commit: str) -> Any:
    """The `Replay` class of `hub/replay.py` at `commit`."""
    source = subprocess.run(
        ["git", "show", f"{commit}:hub/replay.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    module = types.ModuleType("hub._replay_baseline")
    module.__package__ = "hub"
    exec(compile(source, f"{commit}:hub/replay.py", "exec"), module.__dict__)
    return module.Replay


def send(name: str, data: Any) -> None:
    orjson.dumps(data)  # what the hub spends on a message before the socket


async def start_old(store: Store, old_replay: Any, performance_id: int) -> Any:
    events = await store.archive.performance_events(performance_id)
    return old_replay(events, send, performer=False, session="s-listener")


async def start_new(cache: PerformanceCache, performance: Any) -> Any:
    loaded = await cache.acquire(performance)
    return Replay(loaded.timeline(False, "s-listener", "#30ac45"), send, on_close=lambda: cache.release(loaded))


async def started(
    count: int, start: Callable[[], Any], traced: bool
) -> tuple[list[Any], list[float], float, float, float]:
    """`count` replays: one, then the others at once; each start's time, the longest loop stall
    while they started, and with `traced` the bytes the first holds and those each further one
    adds (tracemalloc slows the starts, so the times come from an untraced run)."""
    gc.collect()
    if traced:
        tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    times: list[float] = []

    async def one() -> Any:
        began = time.perf_counter()
        replay = await start()
        times.append((time.perf_counter() - began) * 1000)
        return replay

    async with Stalls() as stalls:
        replays = [await one()]
    gc.collect()
    first = tracemalloc.get_traced_memory()[0] - before
    async with Stalls() as more_stalls:
        replays += await asyncio.gather(*(one() for _ in range(count - 1)))
    gc.collect()
    further = (tracemalloc.get_traced_memory()[0] - before - first) / max(count - 1, 1)
    tracemalloc.stop()
    return replays, times, max(stalls.longest, more_stalls.longest), first, further


def closed(replays: list[Any]) -> None:
    for replay in replays:
        replay.close()
    replays.clear()
    gc.collect()


async def first_starts(store: Store, old_replay: Any, performance: Any, rounds: int = 3) -> tuple[float, float]:
    """The median time to start a replay nobody else holds (a read of its own), old and new in
    turn, so neither gains from running second."""
    old, new = [], []
    for _ in range(rounds):
        began = time.perf_counter()
        (await start_old(store, old_replay, performance.id)).close()
        old.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        cache = PerformanceCache(store.archive.performance_events, memory=1 << 40, keep_idle=0)
        (await start_new(cache, performance)).close()
        new.append((time.perf_counter() - began) * 1000)
        gc.collect()
    return statistics.median(old), statistics.median(new)


class Stalls:
    """While open, a ticker notes the longest the event loop went without giving it a turn (ms)."""

    async def __aenter__(self) -> Stalls:
        self.longest, self._done = 0.0, False
        self._ticker = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *_: Any) -> None:
        self._done = True
        await self._ticker

    async def _tick(self) -> None:
        last = time.perf_counter()
        while not self._done:
            await asyncio.sleep(0)
            now = time.perf_counter()
            self.longest, last = max(self.longest, (now - last) * 1000), now


async def seeking(replays: list[Any], seek: Callable[[Any, float], Any]) -> tuple[list[float], float]:
    """Every replay seeks back and forth through SEEKS, interleaved; each seek's time and the
    longest the loop was held while they ran."""

    async def one(replay: Any) -> list[float]:
        times = []
        for fraction in SEEKS:
            began = time.perf_counter()
            await seek(replay, fraction * replay.status()["duration"])
            times.append((time.perf_counter() - began) * 1000)
            await asyncio.sleep(0)  # each seek is a call of its own
        return times

    async with Stalls() as stalls:
        per_replay = await asyncio.gather(*(one(replay) for replay in replays))
    return [t for times in per_replay for t in times], stalls.longest


async def old_seek(replay: Any, position: float) -> None:
    replay.seek(position)


async def run(events: int, replays: int, seekers: int, checkpoint_every: int, baseline: str) -> None:
    old_replay = baseline_replay(baseline)
    gc.set_threshold(50_000, 20, 100)  # as the hub runs (HUB_GC_THRESHOLD)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        await store.connect()
        await store.migrate()
        owner = await store.create_user("bench", "x")
        stage = await store.create_stage("show", "Show", owner.id)
        await store.archive.append(show(events, stage.id))
        performance = await store.archive.sweep(stage.id, "show", "night")
        json_bytes = sum(len(orjson.dumps(e.payload)) for e in await store.archive.performance_events(performance.id))

        old_first_start, new_first_start = await first_starts(store, old_replay, performance)
        reads = {"old": 0, "new": 0}
        read = store.archive.performance_events

        def counted(side: str) -> Callable[[int], Coroutine[Any, Any, list[Event]]]:
            async def load(performance_id: int) -> list[Event]:
                reads[side] += 1
                return await read(performance_id)
            return load

        # Patched on the instance to count reads; mypy compares it with the unbound method (self included).
        store.archive.performance_events = counted("old")  # type: ignore[method-assign, assignment]

        def one_old() -> Any:
            return start_old(store, old_replay, performance.id)

        untraced, old_start, old_start_stall, _, _ = await started(replays, one_old, False)
        closed(untraced)
        old, _, _, old_first, old_further = await started(replays, one_old, True)
        old_seeks, old_stall = await seeking(old[:seekers], old_seek)
        closed(old)
        cache = PerformanceCache(counted("new"), memory=1 << 40, keep_idle=0, checkpoint_every=checkpoint_every)
        def one_new() -> Any:
            return start_new(cache, performance)

        untraced, new_start, new_start_stall, _, _ = await started(replays, one_new, False)
        closed(untraced)
        new, _, _, new_first, new_further = await started(replays, one_new, True)
        new_seeks, new_stall = await seeking(new[:seekers], lambda r, p: r.prepared_seek(p))
        checkpoints = new[0].timeline.checkpoints
        closed(new)
        await store.close()

    def row(name: str, old_value: float, new_value: float, digits: int = 1) -> str:
        ratio = f"{new_value / old_value:.3f}x" if old_value else "—"
        return f"| {name} | {old_value:,.{digits}f} | {new_value:,.{digits}f} | {ratio} |"

    p50 = statistics.median
    lines = [
        f"A performance of {events:,} events ({json_bytes / 1e6:.1f} MB of payload JSON); {replays} replays "
        f"started (one, then the rest at once); {seekers} of them seek {len(SEEKS)} times back and forth at once; "
        f"checkpoint every {checkpoint_every} events ({checkpoints} built). Old: `hub/replay.py` at {baseline}, "
        "each replay with its own read, as its handler did; both sides read through today's "
        "`storage/archive.py` (whose shared senders already made each old copy smaller).",
        "",
        "| | old | new | new ÷ old |",
        "|---|---|---|---|",
        row(f"archive reads ({replays} replays started twice)", reads["old"], reads["new"], 0),
        row("memory held by the first replay (MB, tracemalloc)", old_first / 1e6, new_first / 1e6),
        row("memory each further replay adds (KB)", old_further / 1e3, new_further / 1e3),
        row(f"memory held by {replays} replays (MB)", (old_first + (replays - 1) * old_further) / 1e6,
            (new_first + (replays - 1) * new_further) / 1e6),
        row("first replay start (ms, median of 3 taken in turn)", old_first_start, new_first_start),
        row("further replay start p50 (ms, started at once)", p50(old_start[1:]), p50(new_start[1:]), 2),
        row("longest event-loop stall while they start (ms)", old_start_stall, new_start_stall, 2),
        row("seek p50 (ms)", p50(old_seeks), p50(new_seeks), 2),
        row("seek max (ms, wall time: waits for shared steps included)", max(old_seeks), max(new_seeks), 2),
        row("longest event-loop stall while seeking (ms)", old_stall, new_stall, 2),
    ]
    title = "Replay cost: shared performances and checkpointed seeks against per-replay copies"
    record(title, "bench.replay_cost", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--replays", type=int, default=30)
    parser.add_argument("--seekers", type=int, default=10)
    parser.add_argument("--checkpoint-every", type=int, default=DEFAULT_CHECKPOINT_EVERY)
    parser.add_argument("--baseline", default="9266872", help="commit whose hub/replay.py is the old behaviour")
    args = parser.parse_args()
    asyncio.run(run(args.events, args.replays, args.seekers, args.checkpoint_every, args.baseline))


if __name__ == "__main__":
    main()
