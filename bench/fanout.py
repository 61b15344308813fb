"""Fan-out against Mosquitto (issue 4): scenarios (a)-(d) and sustained steps (s), the hub and Mosquitto one after
the other in one run.

Each scenario runs the same Node load generator (bench/loadgen, pinned to CPU 1) against a fresh
hub and then a fresh Mosquitto (each pinned to CPU 0), and reports every figure with its
hub ÷ Mosquitto ratio, so the comparison holds on this machine at this moment. See bench/README.md.

  .venv/bin/python -m bench.fanout                 # everything, ~8 minutes (bounded at 19)
  .venv/bin/python -m bench.fanout --quick         # small N, short steps, ~40 s
  .venv/bin/python -m bench.fanout --scenarios a --n 1000
  .venv/bin/python -m bench.fanout --sustain 8 --rates 10,50,100 --n 1000   # (s) sustained steps, ~1 minute
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import report
from bench.generator import ROOT, GeneratorError, run_generator
from bench.proc import GENERATOR_CPU, SERVER_CPU, ProcessError, cores_busy, wait_quiet
from bench.results import record
from bench.targets import LABELS, SYSTEMS, hub_source_at, started

SCENARIOS = {"a": "fan-out", "b": "chat", "c": "join storm", "d": "reconnect storm", "s": "sustained fan-out"}
RUN_BUDGET_S = 19 * 60  # the whole run stops starting scenarios past this
SLACK_S = 60  # per generator run, beyond what its plan needs (connecting thousands, draining)
Results = dict[str, dict[str, dict[str, Any]]]  # scenario -> audience -> system -> generator result


@dataclasses.dataclass(frozen=True)
class Plan:
    """What one run measures; FULL is the issue's, QUICK a small version for checking the bench itself."""

    scenarios: tuple[str, ...] = ("a", "b", "c", "d")
    n: tuple[int, ...] = (100, 1000, 3000)  # (a) audience sizes
    rates: tuple[float, ...] = (10, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1000, 1500, 2000, 3000)
    step_seconds: float = 3.0
    drain_seconds: float = 2.0
    ramp_budget: float = 90.0  # (a) no new rate step after this many seconds
    audience: int = 1000  # (b), (c), (d)
    publishers: int = 20
    chat_rate: float = 2.0
    chat_seconds: float = 10.0
    storm_seconds: float = 5.0  # (c) joins spread over this; (d) reconnects spread over 3/5 of it
    drop_seconds: float = 1.0
    concurrency: int = 100
    # (s) sustained steps: every rate for sustain_seconds, latency over the steady part (after warmup_seconds)
    sustain_n: tuple[int, ...] = (1000,)
    sustain_rates: tuple[float, ...] = (10, 50, 100)
    sustain_seconds: float = 8.0
    warmup_seconds: float = 1.0


FULL = Plan()
QUICK = Plan(
    n=(100,),
    rates=(10, 50, 200),
    step_seconds=1.0,
    drain_seconds=1.0,
    ramp_budget=15.0,
    audience=100,
    publishers=5,
    chat_seconds=2.0,
    storm_seconds=1.0,
    drop_seconds=0.5,
    sustain_n=(100,),
    sustain_rates=(10, 50),
    sustain_seconds=2.0,
    warmup_seconds=0.5,
)


def runs_of(plan: Plan) -> Iterator[tuple[str, int, dict[str, Any], float]]:
    """(scenario, audience, generator options, seconds the plan needs) for every generator run."""
    common = {"drain-seconds": plan.drain_seconds, "concurrency": plan.concurrency}
    if "a" in plan.scenarios:
        for n in plan.n:
            opts = {"scenario": "fanout", "n": n, "rates": list(plan.rates), "step-seconds": plan.step_seconds}
            yield "a", n, {**common, **opts, "budget": plan.ramp_budget}, plan.ramp_budget + plan.step_seconds
    if "b" in plan.scenarios:
        opts = {"scenario": "chat", "n": plan.audience, "publishers": plan.publishers, "chat-rate": plan.chat_rate}
        yield "b", plan.audience, {**common, **opts, "step-seconds": plan.chat_seconds}, plan.chat_seconds
    if "c" in plan.scenarios:
        opts = {"scenario": "joinstorm", "n": plan.audience, "storm-seconds": plan.storm_seconds}
        yield "c", plan.audience, {**common, **opts}, plan.storm_seconds + 15
    if "d" in plan.scenarios:
        storm = round(plan.storm_seconds * 3 / 5, 2)
        opts = {"scenario": "reconnect", "n": plan.audience, "storm-seconds": storm, "drop-seconds": plan.drop_seconds}
        yield "d", plan.audience, {**common, **opts}, plan.drop_seconds + storm + 20
    if "s" in plan.scenarios:
        for n in plan.sustain_n:
            opts = {"scenario": "sustain", "n": n, "rates": list(plan.sustain_rates)}
            opts |= {"step-seconds": plan.sustain_seconds, "warmup-seconds": plan.warmup_seconds}
            each = plan.sustain_seconds + 2 * plan.drain_seconds + 1  # a step, its drain, the acks, the gap
            yield "s", n, {**common, **opts}, 30 + len(plan.sustain_rates) * each


@dataclasses.dataclass(frozen=True)
class Setup:
    """How the systems run: pinned or not, which hub code and HUB_* settings, how long to wait for quiet."""

    systems: tuple[str, ...] = SYSTEMS
    pin: bool = True
    hub_source: Path | None = None
    hub_settings: tuple[tuple[str, str], ...] = ()
    quiet_wait: float = 0.0  # before each run, wait up to this long for other work on the machine to stop
    probe: Path | None = None  # run the hub as bench.probehub, its reports in this directory
    profile: bool = False  # with probe: also a cProfile of the hub


def measure(plan: Plan, setup: Setup) -> Results:
    """results[scenario][audience][system]: the generator's result, or {"error": ...}."""
    results: Results = {}
    server_cpu, gen_cpu = (SERVER_CPU, GENERATOR_CPU) if setup.pin else (None, None)
    run_started = time.monotonic()
    for scenario, n, options, needs in runs_of(plan):
        for system in setup.systems:
            slot = results.setdefault(scenario, {}).setdefault(str(n), {})
            left = RUN_BUDGET_S - (time.monotonic() - run_started)
            if left < needs:
                slot[system] = {"error": "skipped: the run's time budget is spent"}
                continue
            label = f"({scenario}) {SCENARIOS[scenario]}, N={n}, {LABELS[system]}"
            busy = wait_quiet(min(setup.quiet_wait, left - needs)) if setup.quiet_wait > 0 else None
            print(f"bench: {label} ...", file=sys.stderr, flush=True)
            began = time.monotonic()
            try:
                module, env = "hub", None
                if system == "hub" and setup.probe is not None:
                    out = setup.probe / f"probe-{scenario}-{n}.json"
                    module, env = "bench.probehub", {"PROBE_OUT": str(out), "PROBE_PROFILE": str(int(setup.profile))}
                    env["PYTHONPATH"] = str(ROOT)  # bench.probehub, after --hub-ref's hub and storage
                settings = dict(setup.hub_settings)
                with started(system, server_cpu, setup.hub_source, settings, module, env) as target:
                    slot[system] = run_generator({**target.flags, **options}, gen_cpu, min(needs + SLACK_S, left))
                    slot[system]["busy_before"] = busy
            except (GeneratorError, ProcessError, OSError) as exc:
                slot[system] = {"error": str(exc)}
            status = "failed: " + slot[system]["error"].splitlines()[0] if "error" in slot[system] else "done"
            print(f"bench: {label} {status} in {time.monotonic() - began:.1f} s", file=sys.stderr, flush=True)
    return results


def background_note(results: Results, at_start: list[float], quiet_wait: float) -> str:
    """How busy other work kept the cores: at the start, or (waiting for quiet) at worst as each run began."""
    readings = [r.get("busy_before") for by_n in results.values() for runs in by_n.values() for r in runs.values()]
    worst = [max(cores) for cores in zip(*[r for r in readings if r], strict=True)]
    if quiet_wait > 0 and worst:
        busy = ", ".join(f"CPU{i} {b:.0f}%" for i, b in enumerate(worst))
        waited = f"after waiting up to {quiet_wait:g} s for quiet"
        return f"Cores busy with other work as each run began ({waited}): at most {busy}."
    busy = ", ".join(f"CPU{i} {b:.0f}%" for i, b in enumerate(at_start))
    return f"Cores busy with other work before the run: {busy}."


def section(results: Results, plan: Plan, background: str, seconds: float) -> list[str]:
    """The Markdown section for bench/RESULTS.md."""
    lines = [
        f"Hub and Mosquitto each pinned to CPU {SERVER_CPU}, the Node load generator to CPU {GENERATOR_CPU}; loopback; "
        f"~150-byte board moves; every ratio is hub ÷ Mosquitto (see bench/README.md for which way is better). "
        f"{background} Run took {seconds / 60:.1f} min.",
        "",
    ]
    groups = lambda key: [(f"N={n}", runs) for n, runs in results.get(key, {}).items()]  # noqa: E731
    if "a" in results:
        rates = ", ".join(f"{r:g}" for r in plan.rates)
        each = f"{plan.step_seconds:g} s each"
        lines += [f"### (a) one performer → N audience, rate stepped {rates} events/s, {each}", ""]
        lines += report.table(groups("a"), report.FANOUT_COLUMNS, report.fanout_figures)
        floors = report.fanout_floors(results["a"])
        lines += ["", *floors] if floors else []
        lines += ["", "<details><summary>every step</summary>", ""]
        for n, runs in results["a"].items():
            lines += report.fanout_details(f"N={n}", runs)
        lines += ["</details>", ""]
    if "s" in results:
        rates = ", ".join(f"{r:g}" for r in plan.sustain_rates)
        steady = f"latency over the steady part (events sent {plan.warmup_seconds:g} s or more into the step)"
        each = f"{plan.sustain_seconds:g} s each"
        lines += [f"### (s) sustained: one performer → N audience, {rates} events/s, {each}", ""]
        lines += [f"Every rate runs whatever happened at the one before; {steady}.", ""]
        for n, runs in results["s"].items():
            lines += report.table(report.sustain_groups(f"N={n}", runs), report.SUSTAIN_COLUMNS, report.sustain_figures)
            lines += [""]
        lines += ["<details><summary>p50 / p99 (ms) per second of sending</summary>", ""]
        for n, runs in results["s"].items():
            lines += report.sustain_details(f"N={n}", runs)
        lines += ["</details>", ""]
    if "b" in results:
        each = f"{plan.chat_rate:g} messages/s each, {plan.chat_seconds:g} s"
        lines += [f"### (b) {plan.publishers} performers chatting ({each}) → N audience", ""]
        lines += report.table(groups("b"), report.CHAT_COLUMNS, report.chat_figures) + [""]
    if "c" in results:
        lines += [f"### (c) join storm: N audience joining within {plan.storm_seconds:g} s, 10 events/s flowing", ""]
        lines += report.table(groups("c"), report.STORM_COLUMNS, report.storm_figures) + [""]
        lines += ["Join-to-state: WebSocket opened → join ack with the live state (hub); → SUBACK (Mosquitto).", ""]
    if "d" in results:
        lines += ["### (d) reconnect storm: all N audience drop at once, 10 events/s flowing, then return", ""]
        lines += report.table(groups("d"), report.RECONNECT_COLUMNS, report.reconnect_figures) + [""]
        lines += [
            "Hub clients rejoin with `since: {epoch, seq}` and must get every missed event exactly once. Mosquitto "
            "clients reconnect with a clean session: QoS 0 cannot recover what was published while they were away, "
            "so its missed events are expected; its time is reconnect → SUBACK.",
            "",
        ]
    busy_runs = report.busy_notes(results)
    if busy_runs:
        lines += ["Other work on the machine (after waiting up to --quiet-wait):", "", *busy_runs, ""]
    targets = report.target_lines(results)
    if targets:
        lines += ["### Issue 4 targets (hub, this run)", "", *targets, ""]
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    numbers = lambda cast: lambda text: tuple(cast(x) for x in text.split(",") if x)  # noqa: E731
    parser.add_argument("--quick", action="store_true", help="small N and short steps (checks the bench, < 1 minute)")
    parser.add_argument(
        "--scenarios", type=lambda t: tuple(t.split(",")), help="any of a,b,c,d,s (default a,b,c,d; s with --sustain)"
    )
    parser.add_argument("--n", type=numbers(int), help="(a), (s) audience sizes, e.g. 100,1000,3000")
    parser.add_argument("--rates", type=numbers(float), help="(a), (s) events/s per step, e.g. 10,20,50")
    parser.add_argument(
        "--sustain", type=float, metavar="SECONDS", help="(s) seconds per sustained step (runs only (s) by default)"
    )
    parser.add_argument("--warmup-seconds", type=float, help="(s) the steady part starts this long into a step")
    parser.add_argument("--step-seconds", type=float, help="(a) seconds per rate step")
    parser.add_argument("--drain-seconds", type=float, help="wait for late deliveries after sending stops")
    parser.add_argument("--audience", type=int, help="(b), (c), (d) audience size")
    parser.add_argument("--publishers", type=int, help="(b) performers chatting")
    parser.add_argument("--chat-seconds", type=float, help="(b) duration")
    parser.add_argument("--storm-seconds", type=float, help="(c) spread of the joins")
    parser.add_argument("--systems", type=lambda t: tuple(t.split(",")), default=SYSTEMS, help="hub,mosquitto")
    parser.add_argument("--hub-ref", help="run the hub as committed at this git ref instead of the working tree")
    parser.add_argument("--hub-source", type=Path, help="run the hub from this directory (holding hub/ and storage/)")
    parser.add_argument(
        "--hub-setting", action="append", default=[], metavar="KEY=VALUE", help="a HUB_* setting, e.g. fanout=stock"
    )
    parser.add_argument("--label", help="words for the section title, e.g. which broadcast path the hub runs")
    parser.add_argument(
        "--quiet-wait", type=float, default=0.0, help="before each run, wait up to this long (s) for a quiet machine"
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and generator to CPUs")
    parser.add_argument(
        "--probe", type=Path, metavar="DIR", help="run the hub with timing probes (bench/probehub.py), reports in DIR"
    )
    parser.add_argument("--profile", action="store_true", help="with --probe: also cProfile the hub (slows it)")
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to bench/RESULTS.md")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    if args.scenarios and not set(args.scenarios) <= set(SCENARIOS):
        parser.error(f"--scenarios takes any of {','.join(SCENARIOS)}")
    if not set(args.systems) <= set(SYSTEMS):
        parser.error(f"--systems takes any of {','.join(SYSTEMS)}")
    if any("=" not in item for item in args.hub_setting):
        parser.error("--hub-setting takes KEY=VALUE, e.g. fanout=stock")
    return args


def plan_of(args: argparse.Namespace) -> Plan:
    plan = QUICK if args.quick else FULL
    scenarios = args.scenarios or (("s",) if args.sustain is not None else None)
    overrides = {
        "scenarios": scenarios,
        "n": args.n,
        "rates": args.rates,
        "step_seconds": args.step_seconds,
        "drain_seconds": args.drain_seconds,
        "audience": args.audience,
        "publishers": args.publishers,
        "chat_seconds": args.chat_seconds,
        "storm_seconds": args.storm_seconds,
        "sustain_n": args.n,
        "sustain_rates": args.rates,
        "sustain_seconds": args.sustain,
        "warmup_seconds": args.warmup_seconds,
    }
    return dataclasses.replace(plan, **{k: v for k, v in overrides.items() if v is not None})


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = plan_of(args)
    background = cores_busy(1.0)
    began = time.monotonic()
    hub_settings = tuple((key, value) for key, value in (item.split("=", 1) for item in args.hub_setting))
    setup = Setup(args.systems, not args.no_pin, args.hub_source, hub_settings, args.quiet_wait)
    setup = dataclasses.replace(setup, probe=args.probe, profile=args.profile)
    if args.probe:
        args.probe.mkdir(parents=True, exist_ok=True)
    if args.hub_ref:
        with hub_source_at(args.hub_ref) as source:
            results = measure(plan, dataclasses.replace(setup, hub_source=source))
    else:
        results = measure(plan, setup)
    seconds = time.monotonic() - began
    if args.json:
        raw = {"plan": dataclasses.asdict(plan), "seconds": seconds, "results": results}
        args.json.write_text(json.dumps(raw, indent=1))
    lines = section(results, plan, background_note(results, background, args.quiet_wait), seconds)
    which = f"hub at {args.hub_ref}" if args.hub_ref else (f"hub from {args.hub_source}" if args.hub_source else "")
    settings = ", ".join(f"HUB_{k.upper()}={v}" for k, v in hub_settings)
    notes = ", ".join(x for x in ("quick" if args.quick else "", which, settings, args.label or "") if x)
    title = f"Fan-out: hub vs Mosquitto{f' ({notes})' if notes else ''}"
    if args.no_record:
        print("\n".join([f"## {title}", "", *lines]))
    else:
        record(title, "bench.fanout", lines)
    failed = [
        f"({scenario}) N={n} {system}"
        for scenario, by_n in results.items()
        for n, runs in by_n.items()
        for system, run in runs.items()
        if "error" in run
    ]
    if failed:
        print(f"bench: failed runs: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
