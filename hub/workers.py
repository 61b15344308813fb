"""`HUB_WORKERS=N`: N hub processes on one port (SO_REUSEPORT), started, stopped and restarted by a parent.

Each worker is `python -m hub serve` again, with `HUB_WORKERS=1` and `WORKER_OF` naming the parent;
the processes are one site through the shared database and Redis, as separately started ones are.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence

from aiohttp import web

from storage import Store
from storage.store import dialect_of

from .config import Settings
from .demo import seed_demo

log = logging.getLogger("hub.workers")

# In a worker's environment: the supervising parent's pid (the worker listens with SO_REUSEPORT).
WORKER_OF = "UPSTAGE_HUB_WORKER_OF"
# A worker that ran this long before it ended is restarted at once; quicker deaths back off.
STABLE_SECONDS = 30.0
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0


def refusal(settings: Settings) -> str | None:
    """Why these settings cannot run several processes (they share a database and Redis), or None."""
    if settings.workers <= 1:
        return None
    missing = []
    if dialect_of(settings.database_url) == "sqlite":
        missing.append("HUB_DATABASE_URL is SQLite (set a postgresql:// URL)")
    if not settings.redis_url:
        missing.append("HUB_REDIS_URL is empty")
    if not missing:
        return None
    return f"HUB_WORKERS={settings.workers} needs a shared database and Redis: " + "; ".join(missing)


async def prepare(settings: Settings) -> None:
    """Migrate (and seed the demo) once in the parent, so that the workers start on a ready database."""
    store = Store(settings.database_url)
    await store.connect()
    try:
        await store.migrate()
        seeded = await seed_demo(store, settings.media_dir, settings.demo_password) if settings.demo else None
    finally:
        await store.close()
    if seeded is not None:
        print(f"Created demo stage 'demo' and player 'demo' with password: {seeded.player_password}", flush=True)
        print(f"Created admin 'admin' with password: {seeded.admin_password}", flush=True)


def worker_environ(parent: int, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """A worker's environment: one process, no demo seeding (the parent did it), its parent named."""
    return {**environ, "HUB_WORKERS": "1", "HUB_DEMO": "0", WORKER_OF: str(parent)}


def watch_parent(parent: int, every: float = 1.0) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that stops the worker (as SIGTERM does) when its parent is gone."""

    async def watch(app: web.Application) -> AsyncIterator[None]:
        async def orphaned() -> None:
            while os.getppid() == parent:
                await asyncio.sleep(every)
            os.kill(os.getpid(), signal.SIGTERM)

        task = asyncio.create_task(orphaned())
        yield
        task.cancel()

    return watch


class Supervisor:
    """Runs `count` workers until SIGTERM or SIGINT, which it forwards; restarts one that dies."""

    def __init__(self, count: int, environ: Mapping[str, str], command: Sequence[str] | None = None) -> None:
        self.count = count
        self.environ = dict(environ)
        self.command = list(command or [sys.executable, "-m", "hub", "serve"])
        self.workers: dict[int, asyncio.subprocess.Process] = {}
        self.stopping: asyncio.Event | None = None

    async def run(self) -> int:
        """Exit status: 0 when every worker's last run ended cleanly, else 1."""
        self.stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop, sig)
        codes = await asyncio.gather(*(self._keep(index) for index in range(self.count)))
        return 0 if all(code == 0 for code in codes) else 1

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Ask every worker to shut down (each does so gracefully) and restart none."""
        assert self.stopping is not None
        self.stopping.set()
        for proc in self.workers.values():
            if proc.returncode is None:
                proc.send_signal(sig)

    async def _keep(self, index: int) -> int:
        """Run worker `index` until the stop, restarting it with a growing pause when it dies."""
        assert self.stopping is not None
        loop = asyncio.get_running_loop()
        quick_deaths = 0
        while True:
            started = loop.time()
            # Its own process group: a terminal's Ctrl-C reaches the parent only, which forwards it once.
            proc = await asyncio.create_subprocess_exec(*self.command, env=self.environ, process_group=0)
            self.workers[index] = proc
            if self.stopping.is_set():
                proc.send_signal(signal.SIGTERM)
            code = await proc.wait()
            if self.stopping.is_set():
                return code
            quick_deaths = 0 if loop.time() - started >= STABLE_SECONDS else quick_deaths + 1
            delay = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** max(0, quick_deaths - 1)) if quick_deaths else 0.0
            log.warning(
                "hub worker %d (pid %d) ended unexpectedly with %s; restarting in %.1f s",
                index, proc.pid, code, delay, extra={"worker": index, "pid": proc.pid, "code": code},
            )  # fmt: skip
            try:
                async with asyncio.timeout(delay):
                    await self.stopping.wait()
                return code
            except TimeoutError:
                pass
