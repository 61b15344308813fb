"""Run the Node load generator (bench/loadgen) pinned to its core and return its one-line JSON result."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench.proc import pinned

ROOT = Path(__file__).resolve().parent.parent
MAIN = ROOT / "bench" / "loadgen" / "main.mjs"
GRACE_SECONDS = 30  # on top of the generator's own deadline before it is killed


class GeneratorError(RuntimeError):
    """The generator failed, timed out or printed no result."""


def node_binary() -> str | None:
    return shutil.which("node")


def missing_requirements() -> list[str]:
    """What the generator needs and this machine lacks (empty when it can run)."""
    missing = []
    if node_binary() is None:
        missing.append("node (on Debian: apt-get install nodejs npm)")
    if not (ROOT / "node_modules" / "ws" / "package.json").is_file():
        missing.append("the ws package (run `npm install` or `make install` at the project root)")
    return missing


def run_generator(options: dict[str, Any], cpu: int | None, deadline: float) -> dict[str, Any]:
    """Run one scenario; `options` become `--key value` flags (lists comma-joined)."""
    node = node_binary()
    if node is None or missing_requirements():
        raise GeneratorError("cannot run the load generator: missing " + "; ".join(missing_requirements()))
    flags = [f"--deadline={deadline:g}", f"--clk-tck={os.sysconf('SC_CLK_TCK')}"]
    for key, value in options.items():
        text = ",".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
        flags.append(f"--{key}={text}")
    try:
        done = subprocess.run(
            pinned([node, str(MAIN), *flags], cpu),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=deadline + GRACE_SECONDS,
        )
    except subprocess.TimeoutExpired as exc:
        raise GeneratorError(f"generator killed after {deadline + GRACE_SECONDS:g} s") from exc
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise GeneratorError(f"generator printed no result (exit {done.returncode}):\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    if not result.get("ok"):
        raise GeneratorError(f"generator failed: {result.get('error')}\n{done.stderr[-2000:]}")
    return result
