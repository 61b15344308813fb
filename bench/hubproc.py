"""Start a real hub process on a free port with a throw-away database, for benchmarks."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Iterator

PASSWORD = "bench-password-42"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "hub", *args], env=env, check=True, capture_output=True)


@contextlib.contextmanager
def running_hub(stages: dict[str, str], **settings: str) -> Iterator[str]:
    """A hub serving `stages` (slug -> owner username) at the yielded URL; stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as var:
        port = free_port()
        env = {
            **os.environ,
            "HUB_VAR_DIR": var,
            "HUB_DATABASE_URL": f"sqlite:///{var}/bench.db",
            "HUB_PORT": str(port),
            "HUB_DEMO": "0",
            "HUB_RATE_LIMIT": "100000",
            "HUB_RATE_BURST": "100000",
            **{f"HUB_{k.upper()}": v for k, v in settings.items()},
        }
        for owner in sorted(set(stages.values())):
            _cli(env, "user", "add", "--username", owner, "--password", PASSWORD)
        for slug, owner in stages.items():
            _cli(env, "stage", "add", "--slug", slug, "--name", slug, "--owner", owner)
        proc = subprocess.Popen([sys.executable, "-m", "hub", "serve"], env=env, stdout=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                with contextlib.suppress(OSError):
                    urllib.request.urlopen(f"{url}/healthz", timeout=1)
                    break
                time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=10)
