"""Scale-out over Redis (issue 14): one site of K hub processes on one Postgres and one Redis.

One performer publishes board moves to a stage on process 1; N audience sockets are spread
round-robin over the K processes; the rate is stepped up as in `bench.fanout` (a) until p99
passes 100 ms, loss, or the generator is the limit. Every run gets a throw-away Postgres database
and Redis prefix (bench/site.py). The hub CPU is summed over the site's processes, Redis's CPU is
redis-server's own (/proc), both per step; see bench/README.md, "Scale-out".

  .venv/bin/python -m bench.scaleout                                  # memory-1, redis-1, redis-2, redis-2:shared
  .venv/bin/python -m bench.scaleout --runs redis-2 --n 20 --rates 20 --step-seconds 1 --no-record   # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from bench import scaleout_report
from bench.generator import GeneratorError, run_generator
from bench.hubproc import PASSWORD, HubProcess, hub_site
from bench.proc import GENERATOR_CPU, SERVER_CPU, ProcessError, cores_busy
from bench.results import record
from bench.site import Site, redis_cpu_seconds, throwaway_site
from bench.targets import OWNER, STAGE
from client import login

DEFAULT_RUNS = ("memory-1", "redis-1", "redis-2", "redis-2:shared")
RATES = (10, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1000)
SLACK_S = 60  # per generator run, beyond the ramp: connecting, settling, draining
LOG_PROBLEM = re.compile(r"Traceback|\bERROR\b|\bCRITICAL\b|\bWARNING\b")


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One configuration: the stage log (memory or redis), K processes, and where they run.

    Layout `apart`: every hub process on CPU 0, the generator alone on CPU 1. Layout `shared`:
    hub process i on CPU i mod 2, so process 2 shares CPU 1 with the generator. Postgres and Redis
    are the machine's services, never pinned: the kernel runs them on either core.
    """

    log: str
    processes: int
    layout: str = "apart"

    @classmethod
    def parse(cls, text: str) -> RunSpec:
        """`memory-1`, `redis-2`, `redis-2:shared`."""
        match = re.fullmatch(r"(memory|redis)-(\d+)(?::(apart|shared))?", text)
        if not match or int(match[2]) < 1 or (match[1] == "memory" and int(match[2]) > 1):
            raise ValueError(f"bad run {text!r}: memory-1, redis-K or redis-K:shared")
        return cls(match[1], int(match[2]), match[3] or "apart")

    @property
    def name(self) -> str:
        return f"{self.log}-{self.processes}" + (":shared" if self.layout == "shared" else "")

    @property
    def cpus(self) -> list[int]:
        if self.layout == "apart":
            return [SERVER_CPU] * self.processes
        return [(SERVER_CPU + i) % 2 for i in range(self.processes)]


@dataclasses.dataclass(frozen=True)
class Plan:
    n: int = 1000
    rates: tuple[float, ...] = RATES
    step_seconds: float = 3.0
    drain_seconds: float = 2.0
    ramp_budget: float = 60.0

    def generator_options(self) -> dict[str, Any]:
        return {
            "scenario": "fanout",
            "n": self.n,
            "rates": list(self.rates),
            "step-seconds": self.step_seconds,
            "drain-seconds": self.drain_seconds,
            "budget": self.ramp_budget,
        }


def log_problems(hubs: list[HubProcess]) -> dict[str, list[str]]:
    """Warnings, errors and tracebacks in each hub's log (process number -> lines, the first 5)."""
    found = {}
    for i, hub in enumerate(hubs, 1):
        lines = [line for line in hub.log.read_text(errors="replace").splitlines() if LOG_PROBLEM.search(line)]
        if lines:
            found[str(i)] = [f"{len(lines)} line(s)", *lines[:5]]
    return found


def run_one(spec: RunSpec, plan: Plan, site: Site) -> dict[str, Any]:
    """Start the site's K hubs, run the ramp against them, and return the generator's result."""
    settings = site.redis_settings() if spec.log == "redis" else {}
    with hub_site({STAGE: OWNER}, spec.cpus, site.database_url, settings=settings) as hubs:
        token = asyncio.run(login(hubs[0].url, OWNER, PASSWORD))["access_token"]
        flags = {
            "system": "hub",
            "url": ",".join(hub.ws_url for hub in hubs),
            "stage": STAGE,
            "token": token,
            "server-pid": ",".join(str(hub.pid) for hub in hubs),
            "redis-pid": str(site.redis_pid),
        }
        redis_before = redis_cpu_seconds(site.redis_url)
        result = run_generator({**flags, **plan.generator_options()}, GENERATOR_CPU, plan.ramp_budget + SLACK_S)
        result["redis_info_cpu_seconds"] = round(redis_cpu_seconds(site.redis_url) - redis_before, 3)
        result["log_problems"] = log_problems(hubs)
    result["spec"] = dataclasses.asdict(spec) | {"cpus": spec.cpus}
    return result


def measure(specs: list[RunSpec], plan: Plan) -> dict[str, dict[str, Any]]:
    """Every run in turn, each on a fresh database and Redis prefix; a failed run keeps its error."""
    results: dict[str, dict[str, Any]] = {}
    for spec in specs:
        print(f"bench: scale-out {spec.name}, N={plan.n} ...", file=sys.stderr, flush=True)
        began = time.monotonic()
        try:
            with throwaway_site() as site:
                results[spec.name] = run_one(spec, plan, site)
        except (GeneratorError, ProcessError, OSError) as exc:
            results[spec.name] = {"error": str(exc), "spec": dataclasses.asdict(spec)}
        status = "failed" if "error" in results[spec.name] else "done"
        print(f"bench: scale-out {spec.name} {status} in {time.monotonic() - began:.1f} s", file=sys.stderr)
    return results


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default=",".join(DEFAULT_RUNS), help="memory-1, redis-K, redis-K:shared, ...")
    parser.add_argument("--n", type=int, default=Plan.n, help="audience connections, spread over the processes")
    parser.add_argument("--rates", help="events/s per step, e.g. 10,50,100")
    parser.add_argument("--step-seconds", type=float, default=Plan.step_seconds)
    parser.add_argument("--drain-seconds", type=float, default=Plan.drain_seconds)
    parser.add_argument("--budget", type=float, default=Plan.ramp_budget, help="no new rate step after this (s)")
    parser.add_argument("--label", help="words for the section title")
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to bench/RESULTS.md")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    try:
        args.specs = [RunSpec.parse(item) for item in args.runs.split(",") if item]
    except ValueError as exc:
        parser.error(str(exc))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rates = tuple(float(r) for r in args.rates.split(",")) if args.rates else RATES
    plan = Plan(args.n, rates, args.step_seconds, args.drain_seconds, args.budget)
    busy = cores_busy(1.0)
    began = time.monotonic()
    results = measure(args.specs, plan)
    seconds = time.monotonic() - began
    if args.json:
        args.json.write_text(json.dumps({"plan": dataclasses.asdict(plan), "results": results}, indent=1))
    lines = scaleout_report.section(results, plan.n, busy, seconds)
    title = "Scale-out: K hub processes over Redis" + (f" ({args.label})" if args.label else "")
    if args.no_record:
        print("\n".join([f"## {title}", "", *lines]))
    else:
        record(title, "bench.scaleout", lines)
    failed = [name for name, run in results.items() if "error" in run]
    if failed:
        print(f"bench: failed runs: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
