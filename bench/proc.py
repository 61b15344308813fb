"""Process helpers shared by the bench: free ports, CPU pinning, readiness waits and clean stops."""

from __future__ import annotations

import itertools
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

# Where the server under test and the load generator run; two cores, one each (see bench/README.md).
SERVER_CPU = 0
GENERATOR_CPU = 1


class ProcessError(RuntimeError):
    """A bench process failed to start or died; the message carries its log tail."""


def _port_pool() -> range:
    """The ports `free_port` hands out: below the kernel's ephemeral range, so no outgoing connection
    takes one between the probe and a child's bind (or while a restarted child is down), and a slice of
    its own per pytest-xdist worker (PYTEST_XDIST_WORKER), so parallel workers never pick the same one.
    Empty when the ephemeral range starts too low to leave room (then the kernel picks)."""
    try:
        ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768
    start = max(10_000, ephemeral_low // 2)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    index = int(worker) if worker.isdigit() else 0
    size = (ephemeral_low - start) // max(workers, 1)
    return range(start + index * size, start + (index + 1) * size) if size >= 1000 else range(0)


_POOL = _port_pool()
# Each process walks its slice from a random point, so it never hands out one port twice in a run
# and two runs at once (other checkouts on the machine) rarely meet.
_NEXT = itertools.count(random.randrange(len(_POOL)) if _POOL else 0)


def free_port() -> int:
    """A local port nothing listens on now, for a child process to bind soon after (see _port_pool)."""
    for _ in range(len(_POOL)):
        port = _POOL[next(_NEXT) % len(_POOL)]
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use, or lingering in TIME_WAIT
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(command: list[str], cpu: int | None) -> list[str]:
    """`command` run under `taskset -c cpu` (unchanged when cpu is None or the machine has one core)."""
    if cpu is None or (os.cpu_count() or 1) <= cpu:
        return command
    taskset = shutil.which("taskset")
    if taskset is None:
        raise ProcessError("taskset is missing (util-linux); pass --no-pin to run unpinned")
    return [taskset, "-c", str(cpu), *command]


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_until(ready: Callable[[], bool], proc: subprocess.Popen[bytes], what: str, log: Path, timeout: float) -> None:
    """Poll `ready` every 50 ms until it holds; raise if `proc` exits or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ProcessError(f"{what} exited with {proc.returncode}:\n{log_tail(log)}")
        if ready():
            return
        time.sleep(0.05)
    raise ProcessError(f"{what} not ready after {timeout:.0f} s:\n{log_tail(log)}")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _core_ticks() -> list[tuple[int, int]]:
    """(busy, total) jiffies per core from /proc/stat; busy is all but idle and iowait."""
    cores = []
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("cpu") and line[3:4].isdigit():
            values = [int(v) for v in line.split()[1:9]]
            cores.append((sum(values) - values[3] - values[4], sum(values)))
    return cores


def cores_busy(seconds: float) -> list[float]:
    """Each core's busy % over the next `seconds`: what else the machine is doing before a run."""
    before = _core_ticks()
    time.sleep(seconds)
    after = _core_ticks()
    return [100.0 * (b1 - b0) / max(1, t1 - t0) for (b0, t0), (b1, t1) in zip(before, after, strict=True)]


def wait_quiet(limit_s: float, busy_pct: float = 25.0) -> list[float]:
    """Wait up to `limit_s` for every core to be under `busy_pct` busy (a shared machine); returns the last reading."""
    deadline = time.monotonic() + limit_s
    while True:
        busy = cores_busy(1.0)
        if max(busy, default=0.0) < busy_pct or time.monotonic() >= deadline:
            return busy


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Terminate `proc` (this process only, by its own handle), killing it if it does not exit in time."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


class Child:
    """A bench process that can crash (SIGKILL), stop (SIGTERM), freeze (SIGSTOP) and start again
    on the same ports and files, for fault runs; `ready` is polled after every start."""

    def __init__(
        self, what: str, command: Sequence[str], env: Mapping[str, str], log: Path, ready: Callable[[], bool],
        cwd: str | None = None, timeout: float = 30.0,
    ) -> None:
        self.what, self.command, self.env, self.log = what, list(command), dict(env), log
        self.ready, self.cwd, self.timeout = ready, cwd, timeout
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Start it and wait until ready; returns the monotonic time it was started (the event loop's clock)."""
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen(self.command, env=self.env, cwd=self.cwd, stdout=fh, stderr=subprocess.STDOUT)
        started = time.monotonic()
        wait_until(self.ready, self.proc, self.what, self.log, self.timeout)
        return started

    def signal(self, sig: int) -> None:
        """Stop it with `sig` (SIGKILL: a crash, SIGTERM: a planned stop) and reap it."""
        assert self.proc is not None, f"{self.what} is not running"
        self.proc.send_signal(sig)
        self.proc.wait(timeout=30)
        self.proc = None

    def pause(self) -> None:
        assert self.proc is not None, f"{self.what} is not running"
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None, f"{self.what} is not running"
        self.proc.send_signal(signal.SIGCONT)

    def close(self) -> None:
        """Stop it if it still runs (thawed first, so that SIGTERM is acted on)."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)
            stop(self.proc)
            self.proc = None
