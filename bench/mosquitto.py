"""Start a private Mosquitto (WebSocket listener, free ports) as the bench's reference broker.

The original UpStage delivered stage events through Mosquitto over WebSockets, so the hub is
measured against it on the same machine in the same run. The system instance on 1883 is never
touched. Mosquitto 2.0.11 refuses a config whose only listener is a WebSocket one ("Unable to
start any listening sockets"), so a plain TCP listener on 127.0.0.1 comes with it.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.proc import ProcessError, free_port, pinned, port_open, stop, wait_until

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


def config_text(tcp_port: int, ws_port: int) -> str:
    """Defaults everywhere except what the bench needs: loopback, anonymous, no persistence."""
    return "\n".join(
        [
            "per_listener_settings false",
            "allow_anonymous true",
            "persistence false",
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
    binary = mosquitto_binary()
    if binary is None:
        raise ProcessError("mosquitto is not installed (on Debian: apt-get install mosquitto)")
    with tempfile.TemporaryDirectory(prefix="mosquitto-bench-") as tmp:
        tcp_port, ws_port = free_port(), free_port()
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text(config_text(tcp_port, ws_port))
        log = Path(tmp) / "mosquitto.log"
        with log.open("wb") as log_fh:
            proc = subprocess.Popen(pinned([binary, "-c", str(conf)], cpu), stdout=log_fh, stderr=log_fh)
        try:
            wait_until(lambda: port_open(ws_port) and port_open(tcp_port), proc, "mosquitto", log, timeout=10)
            yield MosquittoProcess(f"ws://127.0.0.1:{ws_port}", tcp_port, proc.pid, log)
        finally:
            stop(proc)
