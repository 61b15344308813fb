"""Append a benchmark's result to bench/RESULTS.md with the command, date and machine."""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import sys
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def record(title: str, module: str, lines: list[str]) -> None:
    """Print the result and append it as a section of RESULTS.md; `module` is the scenario run."""
    command = " ".join([".venv/bin/python -m", module, *map(shlex.quote, sys.argv[1:])])
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    section = [
        f"## {title}", "", f"- command: `{command}`", f"- date: {stamp}", f"- machine: {machine}", "", *lines, "",
    ]  # fmt: skip
    text = "\n".join(section)
    print(text)
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nEach section was appended by the command it names.\n\n")
    with RESULTS.open("a") as fh:
        fh.write(text + "\n")
