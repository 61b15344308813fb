"""Start a private Mosquitto (WebSocket listener, free ports) as the bench's reference broker.

The original UpStage delivered stage events through Mosquitto over WebSockets, so the hub is
measured against it on the same machine in the same run. The system instance on 1883 is never
touched. Mosquitto 2.0.11 refuses a config whose only listener is a WebSocket one ("Unable to
start any listening sockets"), so a plain TCP listener on 127.0.0.1 comes with it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.proc import Child, ProcessError, free_port, pinned, port_open

CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


@dataclass(frozen=True)
class MosquittoProcess:
    """A running broker: its WebSocket URL and the pid to sample for CPU and memory."""

    ws_url: str
    tcp_port: int
    pid: int
    log: Path


def mosquitto_binary() -> str | None:
    """The mosquitto executable, or None when it is not installed."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((path for path in CANDIDATES if Path(path).is_file()), None)


def config_text(tcp_port: int, ws_port: int, persistence: Path | None = None) -> str:
    """Defaults everywhere except what the bench needs: loopback, anonymous, no persistence
    (unless `persistence` names the directory for it)."""
    # Started by root, mosquitto drops to its own user, which cannot write a private temp dir.
    keep = ["persistence true", f"persistence_location {persistence}/", *(["user root"] if os.geteuid() == 0 else [])]
    return "\n".join(
        [
            "per_listener_settings false",
            "allow_anonymous true",
            *(keep if persistence is not None else ["persistence false"]),
            "max_connections -1",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            f"listener {tcp_port} 127.0.0.1",
            f"listener {ws_port} 127.0.0.1",
            "protocol websockets",
            "",
        ]
    )


@contextlib.contextmanager
def running_mosquitto(cpu: int | None = None) -> Iterator[MosquittoProcess]:
    """A private broker on free ports, pinned to `cpu`; stopped on exit."""
    with restartable_mosquitto(cpu=cpu) as (broker, _):
        yield broker


@contextlib.contextmanager
def restartable_mosquitto(
    cpu: int | None = None, persistence: bool = False
) -> Iterator[tuple[MosquittoProcess, Child]]:
    """A private broker on free ports, pinned to `cpu`, that a fault run may kill and start again
    on the same ports (the Child); with `persistence` it saves its sessions in its temp dir."""
    binary = mosquitto_binary()
    if binary is None:
        raise ProcessError("mosquitto is not installed (on Debian: apt-get install mosquitto)")
    with tempfile.TemporaryDirectory(prefix="mosquitto-bench-") as tmp:
        tcp_port, ws_port = free_port(), free_port()
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text(config_text(tcp_port, ws_port, Path(tmp) if persistence else None))
        log = Path(tmp) / "mosquitto.log"
        child = Child("mosquitto", pinned([binary, "-c", str(conf)], cpu), os.environ, log,
                      lambda: port_open(ws_port) and port_open(tcp_port), timeout=15)
        try:
            child.start()
            assert child.proc is not None
            yield MosquittoProcess(f"ws://127.0.0.1:{ws_port}", tcp_port, child.proc.pid, log), child
        finally:
            child.close()
