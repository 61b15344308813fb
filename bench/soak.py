"""Soak: 1,000 audience and 5 performers for minutes, with joins, leaves and reconnects the whole time.

A real hub process (BENCH_SETTINGS: per-address limits lifted, everything else the defaults) and
the Node load in `bench/loadgen/soak.mjs`: performers publish board moves and chat at a steady
rate while the audience churns (leave and join again, drop the connection, close it, go for good
and be replaced by a newcomer), every return a join with `since` and the session's resume
secret. The hub is sampled throughout from `/metrics` (RSS, Python's allocated blocks, asyncio
tasks, open fds, connections). Checked at the end:

- memory flat after warm-up: the slope of RSS (and of Python's allocated blocks) over the
  churn after warm-up is under `--slope-limit` MB/min (blocks: `--blocks-limit` per minute);
- no task or handle leaks: with everyone back after the churn, tasks and fds are where they were
  with everyone connected before it; with everyone gone, where they were before anyone came;
- no event lost: every client's events are contiguous in `seq` across all its reconnects, every
  return recovered (no state instead of the missed events), and every acked publish reached
  every watcher (the audience that never churns).

`--trace` runs the hub under tracemalloc (`bench/tracehub.py`) and prints the allocations that
grew between the end of warm-up and the end of the churn, by traceback: what to read for a leak.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.generator import ROOT, missing_requirements, node_binary
from bench.hubproc import PASSWORD, HubProcess, hub_process
from bench.proc import GENERATOR_CPU, SERVER_CPU, pinned
from bench.results import record
from client import HubClient, login

SOAK = ROOT / "bench" / "loadgen" / "soak.mjs"
STAGE, OWNER = "soak", "performer"
MB = 1024 * 1024
METRICS = {
    "process_resident_memory_bytes": "rss",
    "process_open_fds": "fds",
    "hub_asyncio_tasks": "tasks",
    "hub_connections": "connections",
    "hub_python_allocated_blocks": "blocks",
    "hub_python_traced_bytes": "traced",
    "hub_deliveries_total": "deliveries",
}


@dataclass
class Sample:
    at: float  # time.time()
    values: dict[str, float]
    tag: str = ""

    def __getitem__(self, key: str) -> float:
        return self.values.get(key, 0.0)


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)  # mark -> time.time()
    result: dict[str, Any] = field(default_factory=dict)
    tagged: dict[str, Sample] = field(default_factory=dict)
    trace: list[str] = field(default_factory=list)


def scrape(hub: HubProcess) -> dict[str, float]:
    with urllib.request.urlopen(f"{hub.url}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in METRICS:
            values[METRICS[name]] = float(value)
    return values


def sample(hub: HubProcess, run: Run, tag: str = "") -> Sample:
    taken = Sample(time.time(), scrape(hub), tag)
    run.samples.append(taken)
    if tag:
        run.tagged[tag] = taken
    return taken


def slope_per_min(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (time s, value) points, per minute."""
    if len(points) < 3:
        return None
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    if var == 0:
        return None
    return 60 * sum((t - mt) * (v - mv) for t, v in points) / var


def read_lines(stream: Any, out: queue.Queue[dict[str, Any] | None]) -> None:
    for line in stream:
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                out.put(json.loads(line))
    out.put(None)


def trace_snapshot(hub: HubProcess, var: Path, n: int) -> Path:
    os.kill(hub.pid, signal.SIGUSR1)
    done = var / f"trace-{n}.done"
    deadline = time.monotonic() + 120
    while not done.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the hub wrote no tracemalloc snapshot")
        time.sleep(0.2)
    return var / f"trace-{n}.snap"


def trace_diff(first: Path, second: Path, top: int = 15) -> list[str]:
    """The allocations that grew most from `first` to `second`, by traceback (hub frames first)."""
    noise = (
        tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>")
    )
    old = tracemalloc.Snapshot.load(str(first)).filter_traces(noise)
    new = tracemalloc.Snapshot.load(str(second)).filter_traces(noise)
    lines = []
    for stat in new.compare_to(old, "traceback")[:top]:
        lines.append(f"{stat.size_diff / 1024:+.0f} KB in {stat.count_diff:+d} blocks (now {stat.size / 1024:.0f} KB):")
        frames = [f for f in stat.traceback if "/hub/" in f.filename or "/storage/" in f.filename]
        for frame in (frames or list(stat.traceback))[-6:]:
            lines.append(f"    {frame.filename.split('/site-packages/')[-1]}:{frame.lineno}")
    return lines


def run_soak(args: argparse.Namespace) -> Run:
    run = Run()
    settings = dict(kv.split("=", 1) for kv in args.hub_setting)
    env = {"TRACE_FRAMES": str(args.trace)} if args.trace else {}
    module = "bench.tracehub" if args.trace else "hub"
    cpu = None if args.no_pin else SERVER_CPU
    with hub_process({STAGE: OWNER}, cpu=cpu, settings=settings, module=module, env=env, ready=120) as hub:
        var = hub.log.parent
        token = asyncio.run(prime(hub.url))
        sample(hub, run, "primed")
        # The primer's ping task ends within a ping interval: then the hub is at rest.
        ping = float(settings.get("ping_interval", 25.0))
        idle = settle_tasks(hub, run, "idle", lambda s: False, ping + 2)
        node = node_binary()
        assert node is not None
        flags = {
            "url": hub.ws_url, "stage": STAGE, "token": token, "audience": args.audience,
            "performers": args.performers, "seconds": round(args.minutes * 60), "move-rate": args.move_rate,
            "chat-rate": args.chat_rate, "hold": args.hold, "deadline": round(args.minutes * 60 + 600),
        }  # fmt: skip
        if args.churn is not None:
            flags["churn"] = args.churn
        command = [node, str(SOAK), *(f"--{k}={v}" for k, v in flags.items())]
        gen = subprocess.Popen(
            pinned(command, None if args.no_pin else GENERATOR_CPU), cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        assert gen.stdout is not None
        threading.Thread(target=read_lines, args=(gen.stdout, lines), daemon=True).start()
        settle = min(args.hold * 0.6, args.hold - 0.5)
        snapshots: list[Path] = []
        warm_trace_due: float | None = None
        try:
            next_sample = time.monotonic()
            while True:
                if warm_trace_due is not None and time.time() >= warm_trace_due:
                    snapshots.append(trace_snapshot(hub, var, 1))
                    warm_trace_due = None
                try:
                    line = lines.get(timeout=max(0.05, next_sample - time.monotonic()))
                except queue.Empty:
                    sample(hub, run)
                    next_sample = time.monotonic() + args.interval
                    continue
                if line is None:
                    break
                if "result" in line:
                    run.result = line["result"]
                    continue
                name = str(line.get("mark"))
                run.marks[name] = time.time()
                progress(f"{name} ({', '.join(f'{k}={v}' for k, v in line.items() if k not in ('mark', 'at'))})")
                if name == "connected":
                    time.sleep(settle)
                    sample(hub, run, name)
                elif name == "settled":  # closed connections' ping tasks end within a ping interval
                    limit = run.tagged["connected"]["tasks"] + args.task_slack
                    settle_tasks(hub, run, name, lambda s, limit=limit: s["tasks"] <= limit, args.hold - 1)
                    if name == "settled" and args.trace:
                        snapshots.append(trace_snapshot(hub, var, 2))
                elif name == "churn":
                    sample(hub, run, "churn")
                    if args.trace:
                        warm_trace_due = time.time() + warmup_seconds(args)
                elif name == "churn-end":
                    sample(hub, run, "churn-end")
            gen.wait(timeout=60)
        finally:
            if gen.poll() is None:
                gen.kill()
                gen.wait()
        # Everyone is gone: give the hub a ping interval to close them all, then the "after" sample.
        def gone(s: Sample) -> bool:
            return s["connections"] == 0 and s["tasks"] <= idle["tasks"] and s["fds"] <= idle["fds"]

        settle_tasks(hub, run, "after", gone, ping + 10)
        if len(snapshots) == 2:
            run.trace = trace_diff(snapshots[0], snapshots[1])
    return run


async def prime(url: str) -> str:
    """Log in, and join and leave once as audience: the hub starts the tasks it keeps for good on
    first use (Engine.IO's client monitor, the idle-stage unloader) before the baseline is taken."""
    token = str((await login(url, OWNER, PASSWORD))["access_token"])
    client = await HubClient(url).connect()
    await client.join(STAGE)
    await client.close()
    return token


def settle_tasks(hub: HubProcess, run: Run, tag: str, done: Any, seconds: float) -> Sample:
    """Sample every second until `done(sample)` or `seconds` pass; the last sample gets `tag`."""
    deadline = time.monotonic() + seconds
    while True:
        taken = sample(hub, run)
        if done(taken) or time.monotonic() > deadline:
            taken.tag = tag
            run.tagged[tag] = taken
            return taken
        time.sleep(1)


def warmup_seconds(args: argparse.Namespace) -> float:
    """Half the churn, but at least until the stage's history (HUB_HISTORY_SIZE, 2,000 events) is
    full plus 30 s: until then the hub is meant to grow."""
    rate = args.performers * (args.move_rate + args.chat_rate)
    fill = 2000 / rate if rate > 0 else 0.0
    return max(args.minutes * 60 / 2, min(fill + 30, args.minutes * 60 * 0.75))


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


@dataclass
class Verdict:
    figures: dict[str, Any]
    failures: list[str]


def judge(run: Run, args: argparse.Namespace) -> Verdict:
    result, tagged = run.result, run.tagged
    failures: list[str] = []
    if not result.get("ok"):
        return Verdict({}, [f"the load failed: {result.get('error', 'no result')}"])
    start, end = run.marks["churn"], run.marks["churn-end"]
    warm = start + warmup_seconds(args)
    late = [s for s in run.samples if warm <= s.at <= end]
    rss_slope = slope_per_min([(s.at, s["rss"] / MB) for s in late])
    blocks_slope = slope_per_min([(s.at, s["blocks"]) for s in late])
    traced_slope = slope_per_min([(s.at, s["traced"] / MB) for s in late]) if args.trace else None
    idle, connected, settled, after = (tagged[k] for k in ("idle", "connected", "settled", "after"))
    at_warm = late[0] if late else None
    figures: dict[str, Any] = {
        "churn_minutes": round((end - start) / 60, 2),
        "warmup_minutes": round(warmup_seconds(args) / 60, 2),
        "samples_after_warmup": len(late),
        "rss_slope_mb_per_min": rss_slope,
        "blocks_slope_per_min": blocks_slope,
        "traced_slope_mb_per_min": traced_slope,
        "rss_mb": {k: round(s["rss"] / MB, 1) for k, s in tagged.items()},
        "rss_at_warmup_mb": round(at_warm["rss"] / MB, 1) if at_warm else None,
        "blocks": {k: int(s["blocks"]) for k, s in tagged.items()},
        "traced_mb": {k: round(s["traced"] / MB, 1) for k, s in tagged.items()} if args.trace else None,
        "tasks": {k: int(s["tasks"]) for k, s in tagged.items()},
        "fds": {k: int(s["fds"]) for k, s in tagged.items()},
        "connections": {k: int(s["connections"]) for k, s in tagged.items()},
        "load": result,
    }
    if rss_slope is None:
        failures.append("too few samples after warm-up for a memory slope (a longer run or a shorter --interval)")
    elif args.slope_limit is not None and rss_slope > args.slope_limit:
        failures.append(f"RSS grows {rss_slope:.2f} MB/min after warm-up (limit {args.slope_limit})")
    if blocks_slope is not None and args.blocks_limit is not None and blocks_slope > args.blocks_limit:
        failures.append(f"Python blocks grow {blocks_slope:.0f}/min after warm-up (limit {args.blocks_limit})")
    expected = args.audience + args.performers
    if connected["connections"] != expected or settled["connections"] != expected:
        counts = f"{connected['connections']:.0f} / {settled['connections']:.0f}"
        failures.append(f"connections before / after the churn {counts}, expected {expected}")
    if settled["tasks"] > connected["tasks"] + args.task_slack:
        failures.append(f"tasks after churn {settled['tasks']:.0f} > {connected['tasks']:.0f} before it")
    if settled["fds"] > connected["fds"] + args.fd_slack:
        failures.append(f"fds after churn {settled['fds']:.0f} > {connected['fds']:.0f} before it")
    if after["connections"] != 0:
        failures.append(f"{after['connections']:.0f} connections left after everyone went")
    if after["tasks"] > idle["tasks"] + args.task_slack:
        failures.append(f"tasks after everyone went {after['tasks']:.0f} > {idle['tasks']:.0f} before anyone came")
    if after["fds"] > idle["fds"] + args.fd_slack:
        failures.append(f"fds after everyone went {after['fds']:.0f} > {idle['fds']:.0f} before anyone came")
    failures += event_faults(result)
    return Verdict(figures, failures)


def event_faults(result: dict[str, Any]) -> list[str]:
    faults = []
    for group in ("watchers", "churners", "performers", "retired"):
        g = result[group]
        if g["missing"] or g["duplicates"]:
            faults.append(f"{group}: {g['missing']} events missing, {g['duplicates']} duplicated")
    if result["watchers"]["acked_before_join"]:
        faults.append("some acked publishes were published before a watcher joined (the check is void)")
    if not result["caught_up"]:
        faults.append("not every client caught up with the last acked publish")
    if result["unrecovered"]:
        faults.append(f"{result['unrecovered']} returns got the state instead of the missed events")
    if len(result["epochs"]) != 1:
        faults.append(f"epochs seen: {result['epochs']}")
    if not result["sessions_kept"]:
        faults.append("a client got a new session when it resumed")
    published = result["published"]
    if published["refused"] or not published["acked"]:
        faults.append(f"publishes: {published['acked']} acked, {published['refused']} refused {published['errors']}")
    if result["op_errors"]:
        faults.append(f"{result['op_errors']} churn operations failed: {result['error_samples']}")
    return faults


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def report(verdict: Verdict, args: argparse.Namespace, run: Run) -> list[str]:
    f = verdict.figures
    if not f:
        return [f"**failed**: {'; '.join(verdict.failures)}"]
    load = f["load"]
    ops = load["ops"]
    rate = args.performers * (args.move_rate + args.chat_rate)
    churn = load["config"]["churn"]
    keys = ["idle", "connected", "churn", "churn-end", "settled", "after"]
    lines = [
        f"{args.audience} audience and {args.performers} performers (one owner account, each claiming an avatar) on "
        f"one stage for {f['churn_minutes']} min of publishing ({args.move_rate} board moves + {args.chat_rate} chat "
        f"lines/s per performer, {rate:g} events/s in all) and churn ({churn:g} operations/s on the "
        f"{load['churners']['clients']} churning audience; {load['watchers']['clients']} watchers never churn; "
        f"a performer drops and returns every {load['config']['performerChurn']} s). Hub pinned to CPU 0, the Node "
        "load to CPU 1; the bench settings (per-address limits lifted), every other setting the default.",
        "",
        f"Churn done: {ops.get('rejoin', 0):,} leave+join, {ops.get('drop', 0):,} drops, {ops.get('close', 0):,} "
        f"clean closes, {ops.get('replace', 0):,} replaced by newcomers, {ops.get('performer', 0)} performer "
        f"drops; {load['joins']:,} joins in all, {load['recovered']:,} of them recovered with `since`, "
        f"{load['sessions']:,} sessions.",
        "",
        "| | " + " | ".join(keys) + " |",
        "|---|" + "---|" * len(keys),
    ]
    for label, key, scale in [
        ("RSS (MB)", "rss", MB), ("Python blocks (k)", "blocks", 1000), ("asyncio tasks", "tasks", 1),
        ("open fds", "fds", 1), ("connections", "connections", 1),
    ] + ([("traced Python (MB)", "traced", MB)] if args.trace else []):  # fmt: skip
        cells = [fmt(run.tagged[k][key] / scale, 1 if scale != 1 else 0) if k in run.tagged else "—" for k in keys]
        if scale == 1:
            cells = [fmt(int(run.tagged[k][key])) if k in run.tagged else "—" for k in keys]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    published = load["published"]
    lines += [
        "",
        "(*idle*: before anyone connected; *connected*: everyone joined, before the churn; *churn*/*churn-end*: "
        "its start and end; *settled*: everyone back and caught up; *after*: everyone gone.)",
        "",
        f"- memory after warm-up (the churn's last {f['churn_minutes'] - f['warmup_minutes']:.1f} min, "
        f"{f['samples_after_warmup']} samples): RSS **{fmt(f['rss_slope_mb_per_min'])} MB/min**, Python blocks "
        f"{fmt(f['blocks_slope_per_min'], 0)}/min"
        + (f", traced Python {fmt(f['traced_slope_mb_per_min'])} MB/min" if args.trace else "")
        + f"; RSS {fmt(f['rss_at_warmup_mb'], 1)} MB at the end of warm-up, "
        f"{f['rss_mb'].get('churn-end', 0):.1f} MB at the end of the churn",
        f"- events: {published['acked']:,} publishes acked (last seq {published['last_seq']:,}); watchers: "
        f"{load['watchers']['missing']} missing, {load['watchers']['duplicates']} duplicated; churning audience: "
        f"{load['churners']['missing']} missing, {load['churners']['duplicates']} duplicated; returns that got "
        f"the state instead of their missed events: {load['unrecovered']}; hub-closed connections: "
        f"{load['unexpected_closes']}",
        f"- verdict: **{'pass' if not verdict.failures else 'FAIL: ' + '; '.join(verdict.failures)}**",
    ]
    if run.trace:
        lines += ["", "Allocations that grew from the end of warm-up to the end of the churn (tracemalloc):", ""]
        lines += ["```", *run.trace, "```"]
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=6.0, help="publishing and churn time (default 6)")
    parser.add_argument("--audience", type=int, default=1000)
    parser.add_argument("--performers", type=int, default=5)
    parser.add_argument("--move-rate", type=float, default=2.0, help="board moves/s per performer")
    parser.add_argument("--chat-rate", type=float, default=0.2, help="chat lines/s per performer")
    parser.add_argument("--churn", type=float, default=None, help="churn operations/s (default audience / 50)")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--hold", type=float, default=30.0, help="seconds the load holds still to be sampled")
    parser.add_argument("--slope-limit", type=float, default=1.0, help="RSS MB/min allowed after warm-up")
    parser.add_argument("--blocks-limit", type=float, default=None, help="Python blocks/min allowed after warm-up")
    parser.add_argument("--task-slack", type=int, default=2, help="tasks allowed above the baselines")
    parser.add_argument("--fd-slack", type=int, default=2, help="fds allowed above the baselines")
    parser.add_argument("--trace", type=int, default=0, help="run the hub under tracemalloc with N frames")
    parser.add_argument("--hub-setting", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--label", default="")
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--no-record", action="store_true", help="print, do not append to RESULTS.md")
    parser.add_argument("--json", type=Path, help="write the figures and the load's result here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = missing_requirements()
    if missing:
        print("the soak needs " + "; ".join(missing), file=sys.stderr)
        return 2
    run = run_soak(args)
    verdict = judge(run, args)
    lines = report(verdict, args, run)
    if args.json:
        samples = [{"at": s.at, "tag": s.tag, **s.values} for s in run.samples]
        args.json.write_text(json.dumps({"figures": verdict.figures, "failures": verdict.failures,
                                         "marks": run.marks, "samples": samples, "trace": run.trace}, indent=1))
    title = "Soak: 1,000 audience with churn" if args.audience == 1000 else f"Soak: {args.audience} audience with churn"
    if args.label:
        title += f" ({args.label})"
    if args.no_record:
        print("\n".join([f"## {title}", "", *lines]))
    else:
        record(title, "bench.soak", lines)
    return 1 if verdict.failures else 0


if __name__ == "__main__":
    sys.exit(main())
