"""Markdown for `bench.scaleout`: per run the best rate at p99 ≤ 100 ms, hub CPU per delivery and Redis CPU per
append (at that step, and as the slope over the loss-free steps, which leaves out the idle cost), and every step."""

from __future__ import annotations

import os
from typing import Any

from bench.proc import GENERATOR_CPU
from bench.report import P99_LIMIT_MS, fmt

Result = dict[str, Any]


def per_unit_us(cpu_pct: float | None, per_s: float | None) -> float | None:
    """CPU µs per unit: `cpu_pct` (% of one core) spent on `per_s` units a second."""
    if cpu_pct is None or not per_s:
        return None
    return cpu_pct * 1e4 / per_s


def slope_us(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of CPU (% of a core) against units/s, in µs per unit: the marginal cost."""
    if len({x for x, _ in points}) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    num = sum((x - mean_x) * (y - mean_y) for x, y in points)
    den = sum((x - mean_x) ** 2 for x, _ in points)
    return num / den * 1e4


def figures(run: Result) -> Result:
    """The summary figures of one run (see the table's headers)."""
    steps = run["steps"]
    passing = [s for s in steps if s["pass"]]
    best = max(passing, key=lambda s: s["rate"]) if passing else None
    loss_free = [s for s in steps if s["loss"] == 0]
    top = max(loss_free, key=lambda s: s["deliveries_per_s"]) if loss_free else None
    hub_points = [(s["deliveries_per_s"], s["server_cpu"]) for s in loss_free if s["server_cpu"] is not None]
    redis_points = [(s["achieved"], s["redis_cpu"]) for s in loss_free if s.get("redis_cpu") is not None]
    sent = sum(s["sent"] for s in steps)
    split = best.get("received_by_url") if best else None
    return {
        "best_rate": best["rate"] if best else 0,
        "best_deliveries": best["deliveries_per_s"] if best else 0,
        "best_p99": best and best["latency"]["p99"],
        "hub_cpu": best and best["server_cpu"],
        "hub_cpu_each": best and "/".join(fmt(c) for c in best.get("server_cpu_each", [best["server_cpu"]])),
        "hub_us": best and per_unit_us(best["server_cpu"], best["deliveries_per_s"]),
        "hub_us_slope": slope_us(hub_points),
        "redis_cpu": best and best.get("redis_cpu"),
        "redis_us": best and per_unit_us(best.get("redis_cpu"), best["achieved"]),
        "redis_us_slope": slope_us(redis_points),
        "redis_info_us": run["redis_info_cpu_seconds"] * 1e6 / sent if sent else None,
        "top": top and top["deliveries_per_s"],
        "top_p99": top and top["latency"]["p99"],
        "gen_cpu": max((s["gen_cpu"] for s in steps), default=None),
        "split": "/".join(f"{100 * r / max(1, sum(split)):.0f}%" for r in split) if split else "100%",
        "stop": steps[-1]["stop"] if steps else None,
    }


COLUMNS = [
    ("hub CPUs", "cpus"),
    (f"best rate at p99 ≤ {P99_LIMIT_MS} ms, no loss (events/s)", "best_rate"),
    ("deliveries/s there", "best_deliveries"),
    ("p99 there (ms)", "best_p99"),
    ("hub CPU there (% of a core, sum)", "hub_cpu"),
    ("per process (%)", "hub_cpu_each"),
    ("hub CPU µs/delivery there", "hub_us"),
    ("hub CPU µs/delivery, slope", "hub_us_slope"),
    ("Redis CPU there (%)", "redis_cpu"),
    ("Redis CPU µs/append there", "redis_us"),
    ("Redis CPU µs/append, slope", "redis_us_slope"),
    ("Redis CPU µs/append, whole run (INFO)", "redis_info_us"),
    ("highest loss-free deliveries/s", "top"),
    ("its p99 (ms)", "top_p99"),
    ("deliveries per process at best", "split"),
    ("generator CPU max (%)", "gen_cpu"),
    ("ramp stopped by", "stop"),
]
RATIOS = [("redis-1", "memory-1"), ("redis-2", "redis-1"), ("redis-2:shared", "redis-1")]
RATIO_KEYS = ["best_deliveries", "hub_us", "hub_us_slope", "top"]


def table(results: dict[str, Result]) -> list[str]:
    lines = ["| run | " + " | ".join(head for head, _ in COLUMNS) + " |", "|---|" + "---|" * len(COLUMNS)]
    shown: dict[str, Result] = {}
    for name, run in results.items():
        if "error" in run:
            lines.append(f"| {name} | failed: {str(run['error']).splitlines()[0][:150]} |" + " |" * (len(COLUMNS) - 1))
            continue
        shown[name] = figures(run) | {"cpus": "/".join(str(c) for c in run["spec"]["cpus"])}
        lines.append(f"| {name} | " + " | ".join(fmt(shown[name].get(key)) for _, key in COLUMNS) + " |")
    ratio_lines = []
    for a, b in RATIOS:
        if a in shown and b in shown:
            cells = []
            for key in RATIO_KEYS:
                x, y = shown[a].get(key), shown[b].get(key)
                cells.append(f"{key} {x / y:.2f}×" if isinstance(x, (int, float)) and y else f"{key} —")
            ratio_lines.append(f"- {a} ÷ {b}: " + ", ".join(cells))
    return lines + ([""] + ratio_lines if ratio_lines else [])


def by_rate(results: dict[str, Result]) -> list[str]:
    """Hub CPU µs per delivery and Redis CPU µs per append at each rate every run held without loss: the same load."""
    runs = {name: run for name, run in results.items() if "error" not in run}
    rates = sorted({s["rate"] for run in runs.values() for s in run["steps"] if s["loss"] == 0})
    if not rates:
        return []
    lines = ["| run | " + " | ".join(f"{fmt(r)}/s" for r in rates) + " |", "|---|" + "---|" * len(rates)]
    for name, run in runs.items():
        steps = {s["rate"]: s for s in run["steps"] if s["loss"] == 0}
        cells = []
        for rate in rates:
            s = steps.get(rate)
            hub = s and per_unit_us(s["server_cpu"], s["deliveries_per_s"])
            redis = s and per_unit_us(s.get("redis_cpu"), s["achieved"])
            cells.append("—" if s is None else f"{fmt(hub)} / {fmt(redis)}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return ["Hub CPU µs per delivery / Redis CPU µs per append, at each rate (loss-free steps):", "", *lines, ""]


def details(name: str, run: Result) -> list[str]:
    """Every step of one run, with the CPU of each process and of Redis, and deliveries per process."""
    heads = ["rate", "sent/s", "deliveries/s", "p50", "p99", "max", "loss", "hub CPU", "by process", "Redis CPU"]
    heads += ["received by process", "gen CPU", "gen lag p99", "cores busy", "stop"]
    lines = [f"{name}:", "", "| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for s in run["steps"]:
        lat = s["latency"]
        each = "/".join(fmt(c) for c in s.get("server_cpu_each", []))
        recv = "/".join(fmt(c) for c in s.get("received_by_url", []))
        cores = "/".join(fmt(c) for c in s.get("cores_busy", []))
        cells = [s["rate"], s["achieved"], s["deliveries_per_s"], lat["p50"], lat["p99"], lat["max"], s["loss"]]
        cells += [s["server_cpu"], each, s.get("redis_cpu"), recv, s["gen_cpu"], s["gen_loop_p99_ms"], cores]
        cells += [s["stop"] or ("pass" if s["pass"] else "fail")]
        lines.append("| " + " | ".join(fmt(c) for c in cells) + " |")
    return [*lines, ""]


def section(results: dict[str, Result], n: int, busy: list[float], seconds: float) -> list[str]:
    """The Markdown section for bench/RESULTS.md."""
    before = ", ".join(f"CPU{i} {b:.0f}%" for i, b in enumerate(busy))
    lines = [
        f"{os.cpu_count()} cores. One performer on process 1, {n} audience round-robin over the K processes; "
        f"one Postgres database and one Redis prefix per run (fresh). Layout `apart`: every hub process on CPU 0, "
        f"the Node load generator alone on CPU {GENERATOR_CPU}. `:shared`: hub process i on CPU i mod 2, so "
        f"process 2 shares CPU 1 with the generator. Postgres and redis-server are the machine's services, unpinned "
        f"(either core). Hub CPU is summed over the processes; Redis CPU is redis-server's (/proc), roster "
        f"(presence) traffic included; the slopes leave out the idle cost. Cores busy before the run: {before}. "
        f"Run took {seconds / 60:.1f} min.",
        "",
        *table(results),
        "",
        *by_rate(results),
    ]
    problems = [(name, run["log_problems"]) for name, run in results.items() if run.get("log_problems")]
    if problems:
        lines += ["Hub logs (warnings, errors):", ""]
        for name, found in problems:
            for proc, log in found.items():
                lines += [f"- {name}, process {proc}: " + "; ".join(f"`{line[:200]}`" for line in log)]
        lines += [""]
    lines += ["<details><summary>every step</summary>", ""]
    for name, run in results.items():
        if "error" not in run:
            lines += details(name, run)
    return [*lines, "</details>", ""]
