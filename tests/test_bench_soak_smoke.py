"""The soak bench end to end at a tiny size against a real hub, recording nothing.

It proves the soak's load and checks work (every kind of churn done, every event delivered once
across the reconnects, tasks and fds back to their baselines); it asserts no timing and no memory
slope (a few seconds say nothing about either). Without node or the ws package it fails: a
skipped test would hide a broken bench.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.generator import missing_requirements
from tests.conftest import SERIAL

pytestmark = SERIAL

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
AUDIENCE, PERFORMERS = 20, 2


def test_tiny_soak_loses_no_event_and_leaves_no_task(tmp_path: Path) -> None:
    missing = missing_requirements()
    if missing:
        pytest.fail("the soak needs " + "; ".join(missing))
    out = tmp_path / "soak.json"
    results_before = RESULTS.read_bytes() if RESULTS.exists() else None
    command = [sys.executable, "-m", "bench.soak", "--audience", str(AUDIENCE), "--performers", str(PERFORMERS)]
    command += ["--minutes", "0.25", "--churn", "4", "--interval", "0.5", "--hold", "4", "--no-pin"]
    # A short ping interval lets closed connections' ping tasks end within the holds; the slope
    # limit is lifted (no memory verdict from 15 s).
    command += ["--hub-setting", "ping_interval=2", "--slope-limit", "1e9", "--no-record", "--json", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)

    assert (RESULTS.read_bytes() if RESULTS.exists() else None) == results_before, "--no-record wrote RESULTS.md"
    report = json.loads(out.read_text())
    assert report["failures"] == [], (report["failures"], done.stdout[-3000:], done.stderr[-3000:])
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    figures = report["figures"]
    load = figures["load"]
    assert load["ok"]
    # Every kind of churn happened, and every return recovered exactly what it missed.
    ops = load["ops"]
    assert all(ops[op] > 0 for op in ("rejoin", "drop", "close", "replace")), ops
    assert load["joins"] > AUDIENCE + PERFORMERS and load["recovered"] > 0 and load["unrecovered"] == 0
    published = load["published"]
    assert published["acked"] > 0 and published["refused"] == 0
    for group in ("watchers", "churners", "performers", "retired"):
        assert load[group]["missing"] == 0 and load[group]["duplicates"] == 0, (group, load[group])
    assert load["watchers"]["clients"] > 0 and load["watchers"]["acked_before_join"] == 0
    assert load["caught_up"] and load["sessions_kept"] and len(load["epochs"]) == 1
    # Tasks and fds: back where they were once the churn is over, and once everyone is gone.
    tasks, fds, connections = figures["tasks"], figures["fds"], figures["connections"]
    assert connections["connected"] == connections["settled"] == AUDIENCE + PERFORMERS
    assert connections["after"] == 0
    assert tasks["settled"] <= tasks["connected"] + 2 and fds["settled"] <= fds["connected"] + 2, (tasks, fds)
    assert tasks["after"] <= tasks["idle"] and fds["after"] <= fds["idle"], (tasks, fds)
    assert tasks["connected"] > tasks["idle"] and fds["connected"] > fds["idle"], (tasks, fds)  # it measured
