"""Start a real hub process on a free port with a throw-away database, for benchmarks."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.proc import Child, ProcessError, free_port, pinned

__all__ = ["PASSWORD", "HubProcess", "free_port", "hub_process", "hub_site", "restartable_hub", "running_hub"]

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


def _hub_env(
    var: str, port: int, database_url: str, settings: Mapping[str, str] | None, extra: Mapping[str, str] | None,
    source: Path | None,
) -> dict[str, str]:
    """The environment of a bench hub: the bench settings over the caller's, its var dir, database and port."""
    env = {
        **os.environ,
        **(extra or {}),
        "HUB_VAR_DIR": var,
        "HUB_DATABASE_URL": database_url,
        "HUB_PORT": str(port),
        **{f"HUB_{k.upper()}": v for k, v in {**BENCH_SETTINGS, **(settings or {})}.items()},
    }
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(source), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _seed(stages: dict[str, str], users: dict[str, str] | None, env: Mapping[str, str], cwd: str | None) -> None:
    """Create the stage owners, `users` and `stages` through the hub CLI (one interpreter for all)."""
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


@contextlib.contextmanager
def _serving(
    env: Mapping[str, str], cwd: str | None, cpu: int | None, module: str, log: Path, ready: float
) -> Iterator[tuple[HubProcess, Child]]:
    """`python -m <module> serve` with `env` (its HUB_PORT) pinned to `cpu`, healthy; stopped on exit."""
    port = int(env["HUB_PORT"])
    url = f"http://127.0.0.1:{port}"
    command = pinned([sys.executable, "-m", module, "serve"], cpu)
    child = Child("hub", command, env, log, lambda: _healthy(url), cwd, ready)
    try:
        child.start()
        assert child.proc is not None
        yield HubProcess(url, port, child.proc.pid, log), child
    finally:
        child.close()


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
    with hub_site(stages, [cpu], "sqlite:///{var}/bench.db", source, users, settings, module, env, ready) as hubs:
        yield hubs[0]


@contextlib.contextmanager
def restartable_hub(
    stages: dict[str, str], users: dict[str, str] | None = None, settings: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[tuple[HubProcess, Child]]:
    """A hub as `hub_process` (unpinned, SQLite in its temp dir) with the Child that a fault run
    kills and starts again on the same port and database."""
    with _site(stages, [None], "sqlite:///{var}/bench.db", None, users, settings, "hub", env, 20) as pairs:
        yield pairs[0]


@contextlib.contextmanager
def hub_site(
    stages: dict[str, str], cpus: Sequence[int | None], database_url: str, source: Path | None = None,
    users: dict[str, str] | None = None, settings: Mapping[str, str] | None = None, module: str = "hub",
    env: Mapping[str, str] | None = None, ready: float = 20,
) -> Iterator[list[HubProcess]]:
    """One hub process per entry of `cpus` (each pinned there, None: unpinned), all on `database_url`.

    `database_url` may name `{var}`, the site's throw-away directory (SQLite: one process only).
    Several processes form one site only with a shared Postgres and HUB_REDIS_URL in `settings`
    or `env` (bench/site.py provides both); they get one HUB_SECRET_KEY. The database is seeded
    once, before any process starts. The other arguments are those of `hub_process`.
    """
    with _site(stages, cpus, database_url, source, users, settings, module, env, ready) as pairs:
        yield [hub for hub, _ in pairs]


@contextlib.contextmanager
def _site(
    stages: dict[str, str], cpus: Sequence[int | None], database_url: str, source: Path | None,
    users: dict[str, str] | None, settings: Mapping[str, str] | None, module: str,
    env: Mapping[str, str] | None, ready: float,
) -> Iterator[list[tuple[HubProcess, Child]]]:
    """`hub_site`, yielding each hub with its Child."""
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as var, contextlib.ExitStack() as stack:
        extra = {"HUB_SECRET_KEY": secrets.token_urlsafe(32), **(env or {})}
        url = database_url.format(var=var)
        cwd = str(source) if source is not None else None
        _seed(stages, users, _hub_env(var, free_port(), url, settings, extra, source), cwd)
        hubs = []
        for i, cpu in enumerate(cpus):
            each = _hub_env(var, free_port(), url, settings, extra, source)
            log = Path(var) / ("hub.log" if len(cpus) == 1 else f"hub-{i + 1}.log")
            hubs.append(stack.enter_context(_serving(each, cwd, cpu, module, log, ready)))
        yield hubs


@contextlib.contextmanager
def running_hub(stages: dict[str, str], **settings: str) -> Iterator[str]:
    """A hub serving `stages` (slug -> owner username) at the yielded URL; stopped on exit."""
    with hub_process(stages, settings=settings) as hub:
        yield hub.url
