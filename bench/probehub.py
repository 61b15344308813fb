"""`python -m bench.probehub serve`: the hub with timing probes, for finding where its latency goes.

`bench.fanout --probe` runs the hub this way. The probes measure the hub in place, from the
inside, with as little cost as they can:

- every garbage collection's pause, by generation (`gc.callbacks`);
- the event loop's lag: how late a timer due every `LAG_INTERVAL` seconds runs;
- the fan-out flushes: how many, their duration, and sockets written per flush;
- the event writer's rounds (database batches): how many, their duration;
- the process's CPU time split into the main thread's and every other thread's;
- each second, what the second took: CPU of the main thread and of the others, GC pauses, flush
  and writer time, the worst loop lag (`series`, to read the steady part of a step);
- with PROBE_PROFILE=1, a cProfile of the whole run (costly: for shares, never for figures).

When the hub stops, everything goes to the JSON file named by PROBE_OUT (and the profile's top
functions to PROBE_OUT + ".prof.txt").
"""

from __future__ import annotations

import asyncio
import atexit
import cProfile
import gc
import io
import json
import os
import pstats
import sys
import threading
import time
from typing import Any

LAG_INTERVAL = 0.005


class Durations:
    """Count, total, max and a coarse log-scale histogram of durations in ms."""

    EDGES = (0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000)

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.max = 0.0
        self.buckets = [0] * (len(self.EDGES) + 1)
        self.samples: list[float] = []

    def add(self, ms: float) -> None:
        self.count += 1
        self.total += ms
        self.max = max(self.max, ms)
        self.buckets[next((i for i, e in enumerate(self.EDGES) if ms <= e), len(self.EDGES))] += 1
        if len(self.samples) < 200_000:
            self.samples.append(ms)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.samples)
        q = lambda f: round(ordered[min(len(ordered) - 1, int(f * len(ordered)))], 3) if ordered else None  # noqa: E731
        labels = [f"≤{e:g}" for e in self.EDGES] + [f">{self.EDGES[-1]:g}"]
        histogram = {label: n for label, n in zip(labels, self.buckets, strict=True) if n}
        return {
            "count": self.count, "total_ms": round(self.total, 1), "max_ms": round(self.max, 3),
            "p50_ms": q(0.5), "p99_ms": q(0.99), "histogram_ms": histogram,
        }  # fmt: skip


GC: dict[int, Durations] = {0: Durations(), 1: Durations(), 2: Durations()}
LAG = Durations()
FLUSH = Durations()
FLUSH_SOCKETS = Durations()  # sockets written per flush (not ms)
WRITER = Durations()
_gc_started = 0.0
_cpu_at_start: dict[str, float] = {}
SERIES: list[dict[str, float]] = []


def _on_gc(phase: str, info: dict[str, int]) -> None:
    global _gc_started
    if phase == "start":
        _gc_started = time.perf_counter()
    else:
        GC[info["generation"]].add((time.perf_counter() - _gc_started) * 1000)


def _thread_cpu() -> dict[str, float]:
    """CPU seconds of the process, of the main thread, and of the rest (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")

    def ticks(path: str) -> float:
        with open(path) as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    whole = ticks("/proc/self/stat")
    main = ticks(f"/proc/self/task/{threading.main_thread().native_id}/stat")
    return {"process_s": whole, "main_thread_s": main, "other_threads_s": whole - main}


async def _lag() -> None:
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + LAG_INTERVAL
        await asyncio.sleep(LAG_INTERVAL)
        LAG.add(max(0.0, loop.time() - due) * 1000)


def _totals() -> dict[str, float]:
    cpu = _thread_cpu()
    return {
        "main_cpu_ms": cpu["main_thread_s"] * 1000,
        "other_cpu_ms": cpu["other_threads_s"] * 1000,
        "gc_ms": sum(d.total for d in GC.values()),
        "gc2_ms": GC[2].total,
        "flush_ms": FLUSH.total,
        "flushes": FLUSH.count,
        "writer_ms": WRITER.total,
        "writer_rounds": WRITER.count,
        "lag_max_ms": LAG.max,
    }


async def _series() -> None:
    """Each second: the counters' growth over it (the worst loop lag since the start, as is)."""
    before = _totals()
    began = time.monotonic()
    while True:
        await asyncio.sleep(1.0)
        now = _totals()
        delta = {k: round(now[k] - before[k], 1) for k in now if k != "lag_max_ms"}
        SERIES.append({"t": round(time.monotonic() - began), **delta, "lag_max_ms": round(now["lag_max_ms"], 1)})
        LAG.max = 0.0
        before = _totals()


def _probe_fanout() -> None:
    from hub import fanout

    flush = fanout.Fanout.flush

    def timed_flush(self: fanout.Fanout) -> None:
        sockets = len(self._dirty)
        began = time.perf_counter()
        flush(self)
        FLUSH.add((time.perf_counter() - began) * 1000)
        FLUSH_SOCKETS.add(sockets)

    fanout.Fanout.flush = timed_flush  # type: ignore[method-assign]


def _probe_writer() -> None:
    from storage import writer

    write_round = writer.EventWriter._write_round

    async def timed_round(self: writer.EventWriter) -> None:
        began = time.perf_counter()
        await write_round(self)
        WRITER.add((time.perf_counter() - began) * 1000)

    writer.EventWriter._write_round = timed_round  # type: ignore[method-assign]


def _report(profile: cProfile.Profile | None, out: str) -> None:
    if profile is not None:
        profile.disable()
        text = io.StringIO()
        stats = pstats.Stats(profile, stream=text)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(40)
        with open(out + ".prof.txt", "w") as fh:
            fh.write(text.getvalue())
    cpu = {k: round(v - _cpu_at_start.get(k, 0.0), 2) for k, v in _thread_cpu().items()}
    report = {
        "gc": {f"gen{g}": d.summary() for g, d in GC.items()},
        "gc_threshold": gc.get_threshold(),
        "loop_lag": LAG.summary(),
        "flush": FLUSH.summary(),
        "flush_sockets": FLUSH_SOCKETS.summary(),
        "writer_round": WRITER.summary(),
        "cpu": cpu,
        "threads": [t.name for t in threading.enumerate()],
        "series": [s for s in SERIES if s["main_cpu_ms"] or s["other_cpu_ms"]],
    }
    with open(out, "w") as fh:
        json.dump(report, fh, indent=1)


def install() -> None:
    from hub import app as hub_app

    out = os.environ.get("PROBE_OUT", os.path.join(os.environ.get("HUB_VAR_DIR", "."), "probe.json"))
    profile = cProfile.Profile() if os.environ.get("PROBE_PROFILE") == "1" else None
    gc.callbacks.append(_on_gc)
    _probe_fanout()
    _probe_writer()
    create_app = hub_app.create_app

    def probed_app(*args: Any, **kwargs: Any) -> Any:
        app = create_app(*args, **kwargs)

        async def start(app: Any) -> None:
            _cpu_at_start.update(_thread_cpu())
            app["probe-lag"] = asyncio.create_task(_lag(), name="probe-lag")
            app["probe-series"] = asyncio.create_task(_series(), name="probe-series")
            if profile is not None:
                profile.enable()

        app.on_startup.append(start)
        return app

    hub_app.create_app = probed_app
    atexit.register(_report, profile, out)


if __name__ == "__main__":
    install()
    from hub.cli import main

    sys.exit(main(sys.argv[1:]))
