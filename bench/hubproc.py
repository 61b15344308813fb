"""Start a real hub process on a free port with a throw-away database, for benchmarks."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.proc import ProcessError, free_port, pinned, stop, wait_until

__all__ = ["PASSWORD", "HubProcess", "free_port", "hub_process", "running_hub"]

# Must not contain a username (the hub refuses such passwords) nor be a common one.
PASSWORD = "footlights-and-cues-42"

# What the benches change from the defaults: calls are never rate limited (one performer sends
# thousands of events per second) and the per-address limits are lifted (every simulated client
# comes from 127.0.0.1). Everything else, HUB_PRESENCE_INTERVAL included, is the documented
# default, stated here so a changed default does not silently change the bench.
BENCH_SETTINGS = {
    "demo": "0",
    "rate_limit": "100000",
    "rate_burst": "100000",
    "presence_interval": "0.25",
    "address_connections": "1000000",
    "address_rate_limit": "1000000",
    "address_rate_burst": "1000000",
    "join_rate_limit": "1000000",
    "join_rate_burst": "1000000",
    "address_join_rate_limit": "1000000",
    "address_join_rate_burst": "1000000",
}

# Runs several `python -m hub` CLI commands in one interpreter (saves a start-up per command).
_CLI_BATCH = """
import json, sys
from hub.cli import main
for argv in json.loads(sys.argv[1]):
    if main(argv):
        sys.exit(2)
"""


@dataclass(frozen=True)
class HubProcess:
    """A running hub: its base URL, port and the pid to sample for CPU and memory."""

    url: str
    port: int
    pid: int
    log: Path

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/socket.io/?EIO=4&transport=websocket"


def _healthy(url: str) -> bool:
    with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/healthz", timeout=1) as resp:
        return bool(resp.status == 200)
    return False


@contextlib.contextmanager
def hub_process(
    stages: dict[str, str], cpu: int | None = None, source: Path | None = None,
    users: dict[str, str] | None = None, settings: Mapping[str, str] | None = None, module: str = "hub",
    env: Mapping[str, str] | None = None, ready: float = 20,
) -> Iterator[HubProcess]:
    """A hub serving `stages` (slug -> owner username, password PASSWORD); stopped on exit.
    `users` adds more accounts (username -> global role, e.g. a gateway's `service` user).

    `cpu` pins it with taskset; `source` is a directory holding the `hub` and `storage` packages
    to run instead of the working tree's (e.g. a `git archive` of another commit). `module` is
    what runs `serve` (`bench.tracehub` for a hub that dumps tracemalloc snapshots); `env` adds
    environment variables; `ready` is how long it may take to answer /healthz.
    """
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as var:
        port = free_port()
        extra = env
        env = {
            **os.environ,
            **(extra or {}),
            "HUB_VAR_DIR": var,
            "HUB_DATABASE_URL": f"sqlite:///{var}/bench.db",
            "HUB_PORT": str(port),
            **{f"HUB_{k.upper()}": v for k, v in {**BENCH_SETTINGS, **(settings or {})}.items()},
        }
        if source is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(source), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        cwd = str(source) if source is not None else None
        owners = sorted(set(stages.values()))
        commands = [["user", "add", "--username", owner, "--password", PASSWORD] for owner in owners]
        commands += [
            ["user", "add", "--username", u, "--password", PASSWORD, "--role", r] for u, r in (users or {}).items()
        ]
        commands += [["stage", "add", "--slug", s, "--name", s, "--owner", owner] for s, owner in stages.items()]
        done = subprocess.run(
            [sys.executable, "-c", _CLI_BATCH, json.dumps(commands)], env=env, cwd=cwd, capture_output=True, text=True
        )
        if done.returncode:
            raise ProcessError(f"hub CLI failed: {done.stderr.strip()[-2000:]}")
        log = Path(var) / "hub.log"
        with log.open("wb") as log_fh:
            proc = subprocess.Popen(
                pinned([sys.executable, "-m", module, "serve"], cpu), env=env, cwd=cwd, stdout=log_fh, stderr=log_fh
            )
        hub = HubProcess(f"http://127.0.0.1:{port}", port, proc.pid, log)
        try:
            wait_until(lambda: _healthy(hub.url), proc, "hub", log, timeout=ready)
            yield hub
        finally:
            stop(proc)


@contextlib.contextmanager
def running_hub(stages: dict[str, str], **settings: str) -> Iterator[str]:
    """A hub serving `stages` (slug -> owner username) at the yielded URL; stopped on exit."""
    with hub_process(stages, settings=settings) as hub:
        yield hub.url
