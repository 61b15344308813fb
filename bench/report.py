"""Turn generator results into Markdown tables, each figure with its hub ÷ Mosquitto ratio, and the issue-4 targets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.targets import LABELS, SYSTEMS

Result = dict[str, Any]
Column = tuple[str, str, bool]  # (header, figure key, whether a hub ÷ Mosquitto ratio means anything)
P99_LIMIT_MS = 100


def fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) >= 10):
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def ratio(hub: Any, other: Any) -> str:
    if not isinstance(hub, (int, float)) or not isinstance(other, (int, float)):
        return "—"
    if other == 0:
        return "—" if hub == 0 else "∞"
    return f"{hub / other:.2f}×"


def table(
    groups: list[tuple[str, dict[str, Result]]], columns: list[Column], figures: Callable[[Result], Result]
) -> list[str]:
    """One row per system and a `hub ÷ Mosquitto` row per group; a failed run shows its error."""
    lines = ["| | system | " + " | ".join(c[0] for c in columns) + " |", "|---|---|" + "---|" * len(columns)]
    for label, runs in groups:
        shown: dict[str, Result] = {}
        for i, system in enumerate(s for s in SYSTEMS if s in runs):
            run = runs[system]
            head = f"| {label if i == 0 else ''} | {LABELS[system]} | "
            if "error" in run:
                lines.append(head + f"failed: {str(run['error']).splitlines()[0][:120]} |" + " |" * (len(columns) - 1))
                continue
            shown[system] = figures(run)
            lines.append(head + " | ".join(fmt(shown[system].get(key)) for _, key, _ in columns) + " |")
        if len(shown) == 2:
            hub, other = shown["hub"], shown["mosquitto"]
            cells = (ratio(hub.get(k), other.get(k)) if meaningful else "n/a" for _, k, meaningful in columns)
            lines.append("| | hub ÷ Mosquitto | " + " | ".join(cells) + " |")
    return lines


# (a) fan-out


def fanout_figures(run: Result) -> Result:
    steps = run["steps"]
    at10 = next((s for s in steps if s["rate"] == 10), steps[0] if steps else None)
    passing = [s for s in steps if s["pass"]]
    best = max(passing, key=lambda s: s["rate"]) if passing else None
    loss_free = [s for s in steps if s["loss"] == 0]
    sustained = max(loss_free, key=lambda s: s["deliveries_per_s"]) if loss_free else None
    last = steps[-1] if steps else None
    cut_short = last is not None and last["stop"] in ("generator saturated", "generator lagging", "time budget")
    floor = cut_short or (last is not None and last["stop"] is None and last["pass"])
    return {
        "connects": run["connect"]["per_s"],
        "rss": run["rss"]["per_conn_kb"],
        "p50_10": at10 and at10["latency"]["p50"],
        "p99_10": at10 and at10["latency"]["p99"],
        "max_10": at10 and at10["latency"]["max"],
        "best_rate": best["rate"] if best else 0,
        "best_deliveries": best["deliveries_per_s"] if best else 0,
        "best_p99": best and best["latency"]["p99"],
        "best_cpu": best and best["server_cpu"],
        "sustained": sustained and sustained["deliveries_per_s"],
        "sustained_p99": sustained and sustained["latency"]["p99"],
        "gen_cpu": max((s["gen_cpu"] for s in steps), default=None),
        "floor": floor,
    }


FANOUT_COLUMNS: list[Column] = [
    ("connects/s", "connects", True),
    ("RSS per idle conn (KB)", "rss", True),
    ("p50 @10/s (ms)", "p50_10", True),
    ("p99 @10/s (ms)", "p99_10", True),
    ("max @10/s (ms)", "max_10", True),
    (f"best rate at p99 ≤ {P99_LIMIT_MS} ms, no loss (events/s)", "best_rate", True),
    ("deliveries/s there", "best_deliveries", True),
    ("p99 there (ms)", "best_p99", True),
    ("server CPU there (%)", "best_cpu", True),
    ("highest loss-free deliveries/s", "sustained", True),
    ("its p99 (ms)", "sustained_p99", True),
    ("generator CPU max (%)", "gen_cpu", True),
]


def fanout_floors(results: dict[str, dict[str, Result]]) -> list[str]:
    """Runs whose best rate is only a floor: the ramp was cut short (generator, time) or ran out of rates."""
    lines = []
    for n, runs in results.items():
        for system, run in runs.items():
            if "error" not in run and run["steps"] and fanout_figures(run)["floor"]:
                why = run["steps"][-1]["stop"] or "no higher rate in the plan"
                floor = f"best rate is a floor ({why}); the server's limit may be higher"
                lines.append(f"- N={n}, {LABELS[system]}: {floor}.")
    return lines


def fanout_details(label: str, runs: dict[str, Result]) -> list[str]:
    """Every rate step of every system, for reading where each one gave out."""
    lines = []
    for system in (s for s in SYSTEMS if s in runs and "error" not in runs[s]):
        run = runs[system]
        idle, settle = fmt(run["idle_server_cpu"]), fmt(run["settle_seconds"])
        head = f"server CPU 1 s after the last connect {idle}%, idle after {settle} s"
        lines.append(f"{label}, {LABELS[system]} ({head}):")
        lines.append("")
        heads = "rate, sent/s, deliveries/s, p50, p99, max, loss, late, server CPU, gen CPU, gen lag p99, cores busy"
        lines.append("| " + " | ".join(heads.split(", ")) + " | stop |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for s in run["steps"]:
            lat = s["latency"]
            cores = "/".join(fmt(c) for c in s.get("cores_busy", []))
            verdict = s["stop"] or ("pass" if s["pass"] else "fail")
            cells = [s["rate"], s["achieved"], s["deliveries_per_s"], lat["p50"], lat["p99"], lat["max"], s["loss"]]
            cells += [s["late"], s["server_cpu"], s["gen_cpu"], s["gen_loop_p99_ms"], cores, verdict]
            lines.append("| " + " | ".join(fmt(c) for c in cells) + " |")
        lines.append("")
    return lines


# (s) sustained steps


def sustain_groups(label: str, runs: dict[str, Result]) -> list[tuple[str, dict[str, Result]]]:
    """One group per rate ("N=1000, 50/s"), each holding every system's step at that rate."""
    rates: list[float] = []
    for run in runs.values():
        rates += [s["rate"] for s in run.get("steps", []) if s["rate"] not in rates]
    groups = []
    for rate in rates:
        at: dict[str, Result] = {}
        for system, run in runs.items():
            step = next((s for s in run.get("steps", []) if s["rate"] == rate), None)
            at[system] = {"error": run.get("error", "no such step")} if step is None else step
        groups.append((f"{label}, {fmt(rate)}/s", at))
    if not rates:
        groups.append((label, runs))
    return groups


def sustain_figures(step: Result) -> Result:
    steady, whole = step["steady"], step["latency"]
    return {
        "sent": step["achieved"],
        "delivered": step["deliveries_per_s"],
        "p50": steady["p50"],
        "p99": steady["p99"],
        "max": steady["max"],
        "whole_p99": whole["p99"],
        "loss": step["loss"],
        "late": step["late"],
        "cpu": step["server_cpu"],
        "gen_cpu": step["gen_cpu"],
        "gen_lag": step["gen_loop_p99_ms"],
    }


SUSTAIN_COLUMNS: list[Column] = [
    ("sent/s", "sent", True),
    ("deliveries/s", "delivered", True),
    ("steady p50 (ms)", "p50", True),
    ("steady p99 (ms)", "p99", True),
    ("steady max (ms)", "max", True),
    ("whole-step p99 (ms)", "whole_p99", True),
    ("loss", "loss", False),
    ("late", "late", False),
    ("server CPU (%)", "cpu", True),
    ("gen CPU (%)", "gen_cpu", True),
    ("gen lag p99 (ms)", "gen_lag", True),
]


def sustain_details(label: str, runs: dict[str, Result]) -> list[str]:
    """p50 / p99 of each second of sending (by send time), per rate and system: a plateau or a climb."""
    lines = []
    for system in (s for s in SYSTEMS if s in runs and "error" not in runs[s]):
        steps = runs[system]["steps"]
        seconds = max((len(s["per_second"]) for s in steps), default=0)
        lines += [f"{label}, {LABELS[system]}:", ""]
        lines += ["| rate | " + " | ".join(f"{i}–{i + 1} s" for i in range(seconds)) + " |"]
        lines += ["|---|" + "---|" * seconds]
        for s in steps:
            cells = [f"{fmt(h['p50'])} / {fmt(h['p99'])}" if h else "—" for h in s["per_second"]]
            lines.append(f"| {fmt(s['rate'])} | " + " | ".join(cells + ["—"] * (seconds - len(cells))) + " |")
        lines.append("")
    return lines


# (b) chat


def chat_figures(run: Result) -> Result:
    chat = run["chat"]
    return {
        "offered": chat["rate"] * run["n"],
        "delivered": chat["deliveries_per_s"],
        "p50": chat["latency"]["p50"],
        "p99": chat["latency"]["p99"],
        "max": chat["latency"]["max"],
        "loss": chat["loss"],
        "dups": run["integrity"]["duplicates"],
        "cpu": chat["server_cpu"],
        "gen_cpu": chat["gen_cpu"],
    }


CHAT_COLUMNS: list[Column] = [
    ("offered deliveries/s", "offered", True),
    ("deliveries/s", "delivered", True),
    ("p50 (ms)", "p50", True),
    ("p99 (ms)", "p99", True),
    ("max (ms)", "max", True),
    ("loss", "loss", False),
    ("duplicates", "dups", False),
    ("server CPU (%)", "cpu", True),
    ("generator CPU (%)", "gen_cpu", True),
]


# (c) join storm


def storm_figures(run: Result) -> Result:
    connect, events, integrity = run["connect"], run["events"], run["integrity"]
    return {
        "joined": connect["opened"],
        "errors": connect["errors"],
        "p50": connect["latency"]["p50"],
        "p99": connect["latency"]["p99"],
        "max": connect["latency"]["max"],
        "connects": connect["per_s"],
        "event_p99": events["latency"]["p99"],
        "missing": integrity["missing"],
        "dups": integrity["duplicates"],
        "cpu": events["server_cpu"],
    }


STORM_COLUMNS: list[Column] = [
    ("joined", "joined", False),
    ("errors", "errors", False),
    ("join-to-state p50 (ms)", "p50", True),
    ("join-to-state p99 (ms)", "p99", True),
    ("max (ms)", "max", True),
    ("connects/s", "connects", True),
    ("event p99 during the storm (ms)", "event_p99", True),
    ("events missed after joining", "missing", False),
    ("duplicates", "dups", False),
    ("server CPU (%)", "cpu", True),
]


# (d) reconnect storm


def reconnect_figures(run: Result) -> Result:
    back, integrity = run["reconnect"], run["integrity"]
    return {
        "clients": run["n"],
        "back": back["opened"],
        "p50": back["latency"]["p50"],
        "p99": back["latency"]["p99"],
        "max": back["latency"]["max"],
        "recovered": back["recovered"] if run["system"] == "hub" else "cannot: QoS 0, clean session",
        "replayed": integrity["replayed"],
        "complete": integrity["clients_complete"],
        "missing": integrity["missing"],
        "dups": integrity["duplicates"],
        "down": run["down_seconds"],
    }


RECONNECT_COLUMNS: list[Column] = [
    ("clients", "clients", False),
    ("reconnected", "back", False),
    ("reconnect-to-recovered p50 (ms)", "p50", True),
    ("p99 (ms)", "p99", True),
    ("max (ms)", "max", True),
    ("recovered with since", "recovered", False),
    ("events replayed in acks", "replayed", False),
    ("clients with every event exactly once", "complete", False),
    ("events missed", "missing", False),
    ("duplicates", "dups", False),
    ("seconds away", "down", True),
]


def busy_notes(results: dict[str, dict[str, dict[str, Result]]], limit: float = 25.0) -> list[str]:
    """Runs that started while other work kept a core busy (a shared machine): read those figures with care."""
    lines = []
    for scenario, by_n in results.items():
        for n, runs in by_n.items():
            for system, run in runs.items():
                busy = run.get("busy_before")
                if busy and max(busy) >= limit:
                    cores = "/".join(f"{b:.0f}" for b in busy)
                    what = f"({scenario}) N={n}, {LABELS[system]}"
                    lines.append(f"- {what}: cores {cores}% busy with other work when it started.")
    return lines


# issue-4 targets


def _fig(runs: dict[str, Result] | None, figures: Callable[[Result], Result], key: str) -> dict[str, Any]:
    runs = runs or {}
    return {s: figures(r)[key] for s, r in runs.items() if "error" not in r}


def _check(ok: bool | None, text: str) -> str:
    mark = "not measured" if ok is None else ("met" if ok else "**not met**")
    return f"- {text}: {mark}"


def target_lines(results: dict[str, dict[str, dict[str, Result]]]) -> list[str]:
    """The issue's targets, each checked against this run's figures (hub against Mosquitto)."""
    lines = []
    for n, runs in sorted(results.get("a", {}).items(), key=lambda kv: int(kv[0])):
        if int(n) < 1000:
            continue
        best = _fig(runs, fanout_figures, "best_deliveries")
        p99 = _fig(runs, fanout_figures, "p99_10")
        r = ratio(best.get("hub"), best.get("mosquitto"))
        ok = None if len(best) < 2 or not best["mosquitto"] else best["hub"] >= best["mosquitto"]
        text = f"N={n}: best deliveries/s at p99 ≤ 100 ms ≥ 1.0× Mosquitto (aim 2×): {r}"
        none_held = len(best) == 2 and not best["mosquitto"]
        lines.append(_check(ok, text + (" (Mosquitto held no step)" if none_held else "")))
        ok = None if len(p99) < 2 or None in p99.values() else p99["hub"] <= p99["mosquitto"]
        versus = f"{fmt(p99.get('hub'))} vs {fmt(p99.get('mosquitto'))} ms"
        lines.append(_check(ok, f"N={n}: p99 at 10 events/s no worse than Mosquitto's: {versus}"))
    a_runs = [runs for runs in results.get("a", {}).values()]
    rss = [f["hub"] for f in (_fig(r, fanout_figures, "rss") for r in a_runs) if f.get("hub") is not None]
    if rss:
        shown = ", ".join(fmt(v) for v in rss)
        lines.append(_check(max(rss) <= 15, f"memory per idle audience connection ≤ 15 KB: hub {shown} KB"))
    for n, runs in results.get("a", {}).items():
        c = _fig(runs, fanout_figures, "connects")
        if len(c) == 2:
            text = f"N={n}: connects/s at least Mosquitto's: {ratio(c['hub'], c['mosquitto'])}"
            lines.append(_check(c["hub"] >= c["mosquitto"], text))
    for n, runs in results.get("c", {}).items():
        j = _fig(runs, storm_figures, "p99")
        if j.get("hub") is not None:
            lines.append(_check(j["hub"] <= 50, f"join storm of {n}: join-to-state p99 ≤ 50 ms: {fmt(j['hub'])} ms"))
    for n, runs in results.get("d", {}).items():
        if "hub" in runs and "error" not in runs["hub"]:
            f = reconnect_figures(runs["hub"])
            ok = f["complete"] == f["clients"] and f["dups"] == 0
            text = f"reconnect storm of {n}: every client got every event exactly once: {f['complete']}/{f['clients']}"
            lines.append(_check(ok, text))
    return lines
