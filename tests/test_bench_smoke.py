"""The fan-out bench end to end with tiny N against a real hub and a real Mosquitto, recording nothing.

It proves the load generator and the orchestration work (both systems measured, every event
delivered once, latencies sane); it measures nothing worth keeping. Without node, the ws
package (`make install`) or mosquitto it fails: a skipped test would hide a broken bench.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.generator import missing_requirements
from bench.mosquitto import mosquitto_binary
from tests.conftest import SERIAL

pytestmark = SERIAL

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
AUDIENCE, RATE, SECONDS = 5, 20, 1.5


def _require_tools() -> None:
    missing = missing_requirements() + ([] if mosquitto_binary() else ["mosquitto (apt-get install mosquitto)"])
    if not missing:
        return
    pytest.fail("the bench needs " + "; ".join(missing))


def test_quick_fanout_measures_hub_and_mosquitto(tmp_path: Path) -> None:
    _require_tools()
    out = tmp_path / "fanout.json"
    results_before = RESULTS.read_bytes() if RESULTS.exists() else None
    command = [sys.executable, "-m", "bench.fanout", "--scenarios", "a", "--n", str(AUDIENCE), "--rates", str(RATE)]
    command += ["--step-seconds", str(SECONDS), "--drain-seconds", "1", "--no-record", "--json", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=90)

    assert done.returncode == 0, done.stderr[-3000:]
    assert (RESULTS.read_bytes() if RESULTS.exists() else None) == results_before, "--no-record wrote RESULTS.md"
    assert "hub ÷ Mosquitto" in done.stdout
    runs = json.loads(out.read_text())["results"]["a"][str(AUDIENCE)]
    assert set(runs) == {"hub", "mosquitto"}
    for system, run in runs.items():
        assert "error" not in run, (system, run.get("error"))
        assert run["connect"]["opened"] == AUDIENCE and run["connect"]["errors"] == 0, system
        (step,) = run["steps"]
        sent = round(RATE * SECONDS)
        assert step["sent"] == sent, system
        assert step["expected"] == step["received"] == sent * AUDIENCE, system
        assert step["loss"] == 0 and step["late"] == 0, system
        latency = step["latency"]
        assert 0 < latency["min"] <= latency["p50"] <= latency["p99"] <= latency["max"] < 2000, (system, latency)
        integrity = run["integrity"]
        assert integrity["missing"] == 0 and integrity["duplicates"] == 0, (system, integrity)
        assert integrity["clients_complete"] == AUDIENCE and integrity["lost_connections"] == 0, (system, integrity)
        assert integrity["publishes_refused"] == 0, (system, integrity)
        assert step["server_cpu"] is not None and step["server_cpu"] >= 0, system
        assert run["rss"]["before_kb"] > 0 and run["rss"]["after_kb"] > 0, system


def test_quick_gateway_bench_bridges_every_event_once() -> None:
    if not mosquitto_binary():
        pytest.fail("the gateway bench needs mosquitto (apt-get install mosquitto)")
    results_before = RESULTS.read_bytes() if RESULTS.exists() else None
    command = [sys.executable, "-m", "bench.gateway", "--rate", "40", "--seconds", "1", "--burst", "100", "--no-record"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert (RESULTS.read_bytes() if RESULTS.exists() else None) == results_before, "--no-record wrote RESULTS.md"
    assert "Paced events received on B: 40/40, duplicates: 0." in done.stdout
    assert "| added by the bridge |" in done.stdout


def test_sustained_steps_report_the_steady_part(tmp_path: Path) -> None:
    _require_tools()
    out = tmp_path / "sustain.json"
    command = [sys.executable, "-m", "bench.fanout", "--sustain", str(SECONDS), "--rates", str(RATE)]
    command += ["--n", str(AUDIENCE), "--warmup-seconds", "0.5", "--drain-seconds", "1", "--no-record"]
    done = subprocess.run(command + ["--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=90)

    assert done.returncode == 0, done.stderr[-3000:]
    assert "### (s) sustained" in done.stdout and "hub ÷ Mosquitto" in done.stdout
    runs = json.loads(out.read_text())["results"]["s"][str(AUDIENCE)]
    assert set(runs) == {"hub", "mosquitto"}
    for system, run in runs.items():
        assert "error" not in run, (system, run.get("error"))
        (step,) = run["steps"]
        assert step["loss"] == 0 and step["received"] == step["sent"] * AUDIENCE, system
        # the steady part leaves out the events of the first half second, and no second is missing
        assert 0 < step["steady"]["count"] < step["latency"]["count"], (system, step["steady"])
        assert sum(second["count"] for second in step["per_second"]) == step["received"], system


def test_scaleout_spreads_the_audience_over_two_processes(tmp_path: Path) -> None:
    """Two hub processes on a throw-away Postgres database and Redis prefix (the machine's own services)."""
    if missing_requirements():
        pytest.fail("the bench needs " + "; ".join(missing_requirements()))
    out = tmp_path / "scaleout.json"
    command = [sys.executable, "-m", "bench.scaleout", "--runs", "redis-2", "--n", "4", "--rates", str(RATE)]
    command += ["--step-seconds", "1", "--drain-seconds", "1", "--no-record", "--json", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=90)

    assert done.returncode == 0, done.stderr[-3000:]
    assert "| redis-2 | 0/0 |" in done.stdout
    run = json.loads(out.read_text())["results"]["redis-2"]
    (step,) = run["steps"]
    assert step["loss"] == 0 and step["received"] == step["sent"] * 4
    assert step["received_by_url"] == [step["sent"] * 2, step["sent"] * 2], "each process delivers to its half"
    assert len(step["server_cpu_each"]) == 2 and step["redis_cpu"] is not None
    assert run["integrity"]["missing"] == 0 and run["integrity"]["duplicates"] == 0
    assert run["log_problems"] == {}, run["log_problems"]
