"""The two systems under test behind one interface: start one pinned, and describe it to the generator."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.generator import ROOT
from bench.hubproc import PASSWORD, hub_process
from bench.mosquitto import running_mosquitto
from client import login

SYSTEMS = ("hub", "mosquitto")
LABELS = {"hub": "hub", "mosquitto": "Mosquitto"}
STAGE = "fanout"
OWNER = "performer"


@dataclass(frozen=True)
class Target:
    """A running system: which it is, its pid (for CPU and RSS) and the generator flags to reach it."""

    system: str
    pid: int
    flags: dict[str, str]


@contextlib.contextmanager
def started(
    system: str, cpu: int | None, hub_source: Path | None = None, hub_settings: dict[str, str] | None = None,
    hub_module: str = "hub", hub_env: dict[str, str] | None = None,
) -> Iterator[Target]:
    """Start `system` (hub or mosquitto) on free ports, pinned to `cpu`; stopped on exit.

    The hub gets one stage owned by the performer, whose access token the generator's
    publishers use; audience connect anonymously; `hub_settings` become HUB_* variables.
    Mosquitto gets anonymous access. `hub_module` runs the hub (`bench.probehub` for one with
    timing probes) with `hub_env` added to its environment.
    """
    if system == "hub":
        with hub_process(
            {STAGE: OWNER}, cpu=cpu, source=hub_source, settings=hub_settings, module=hub_module, env=hub_env
        ) as hub:
            token = asyncio.run(login(hub.url, OWNER, PASSWORD))["access_token"]
            flags = {"system": "hub", "url": hub.ws_url, "stage": STAGE, "token": token, "server-pid": str(hub.pid)}
            yield Target(system, hub.pid, flags)
    elif system == "mosquitto":
        with running_mosquitto(cpu) as broker:
            flags = {"system": "mqtt", "url": broker.ws_url, "stage": STAGE, "server-pid": str(broker.pid)}
            yield Target(system, broker.pid, flags)
    else:
        raise ValueError(f"unknown system {system!r}; expected one of {SYSTEMS}")


@contextlib.contextmanager
def hub_source_at(ref: str) -> Iterator[Path]:
    """The `hub` and `storage` packages as committed at git `ref`, extracted to a temporary directory.

    Lets one run compare another commit's hub (e.g. the stock broadcast path) with Mosquitto
    without touching the working tree.
    """
    with tempfile.TemporaryDirectory(prefix="hub-src-") as tmp:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", ref, "hub", "storage"], cwd=ROOT, capture_output=True, check=False
        )
        if archive.returncode:
            raise RuntimeError(f"git archive {ref} failed: {archive.stderr.decode(errors='replace').strip()}")
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        yield Path(tmp)
