"""HUB_WORKERS=N: N real processes on one port behind a supervising parent, on Postgres and Redis.

The parent migrates once and starts the workers (SO_REUSEPORT); /healthz answers with the pid of
the process that served it. SIGTERM on the parent ends every worker gracefully (exit status 0), a
worker killed with SIGKILL is started again, a killed parent takes its workers with it, and
several workers without a shared database or Redis are refused before anything starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import aiohttp

from storage import Store
from tests.dbs import create_postgres_database, drop_postgres_database
from tests.hubproc import HubProcess, shared_site


async def pids_answering(hub: HubProcess, want: int, tries: int = 200) -> set[int]:
    """Ask /healthz on fresh connections until `want` different processes answered."""
    seen: set[int] = set()
    for _ in range(tries):
        with contextlib.suppress(OSError, aiohttp.ClientError):  # a killed worker's queue is reset
            seen.add((await hub.health())["pid"])
        if len(seen) >= want:
            return seen
        await asyncio.sleep(0.02)
    raise AssertionError(f"only {sorted(seen)} answered on port {hub.port}, want {want} processes")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


async def all_gone(pids: set[int], within: float = 15.0) -> bool:
    for _ in range(int(within / 0.05)):
        if not any(alive(pid) for pid in pids):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_two_workers_share_one_port_and_stop_cleanly_on_sigterm(tmp_path: Path) -> None:
    async with shared_site(tmp_path, 1, workers="2") as (hub,):
        await hub.start()
        assert hub.proc is not None
        workers = await pids_answering(hub, 2)
        assert hub.proc.pid not in workers, "the parent supervises, the workers serve"
        assert all(parent_of(pid) == hub.proc.pid for pid in workers)
        assert (await hub.health())["ok"] is True

        assert await hub.stop(signal.SIGTERM) == 0, "every worker shut down gracefully"
        assert await all_gone(workers), "no worker outlives the parent's SIGTERM"


async def test_a_killed_worker_is_restarted(tmp_path: Path) -> None:
    async with shared_site(tmp_path, 1, workers="2") as (hub,):
        await hub.start()
        assert hub.proc is not None
        first = await pids_answering(hub, 2)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        assert await all_gone({victim}, within=5)

        # The restart comes after a short pause (FIRST_BACKOFF) and a start-up.
        fresh = (await pids_answering(hub, 2, tries=1000)) - first
        assert len(fresh) == 1 and parent_of(fresh.pop()) == hub.proc.pid, "a new worker took the dead one's place"
        assert alive(max(first)), "the other worker was left alone"
        assert await hub.stop(signal.SIGTERM) == 0


async def test_workers_end_when_their_parent_is_killed(tmp_path: Path) -> None:
    async with shared_site(tmp_path, 1, workers="2") as (hub,):
        await hub.start()
        workers = await pids_answering(hub, 2)
        await hub.stop(signal.SIGKILL)
        assert await all_gone(workers), "orphaned workers stop themselves"


async def test_several_workers_need_postgres_and_redis(tmp_path: Path) -> None:
    sqlite = HubProcess(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", workers="2", redis_url="redis://127.0.0.1:6379/0")
    done = await asyncio.to_thread(sqlite.run, "serve")
    assert done.returncode == 2
    assert "HUB_WORKERS=2" in done.stderr and "HUB_DATABASE_URL is SQLite" in done.stderr, done.stderr

    no_redis = HubProcess(tmp_path, "postgresql://postgres@127.0.0.1:5432/unused", workers="2", redis_url="")
    done = await asyncio.to_thread(no_redis.run, "serve")
    assert done.returncode == 2 and "HUB_REDIS_URL is empty" in done.stderr, done.stderr
    assert "HUB_DATABASE_URL" not in done.stderr

    bad = HubProcess(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", workers="0")
    done = await asyncio.to_thread(bad.run, "serve")
    assert done.returncode == 2 and "HUB_WORKERS must be an integer of at least 1" in done.stderr, done.stderr


async def test_hubs_starting_at_once_migrate_one_after_the_other() -> None:
    """Unlocked, concurrent migrations of a fresh Postgres database collide (pg_type's unique
    index); the advisory lock has exactly one of them apply everything."""
    url = await create_postgres_database()
    stores = [Store(url) for _ in range(6)]
    try:
        for store in stores:
            await store.connect()
        applied = await asyncio.gather(*(store.migrate() for store in stores))
        assert sorted(len(names) for names in applied)[:-1] == [0] * 5 and max(map(len, applied)) > 0
    finally:
        for store in stores:
            await store.close()
        await drop_postgres_database(url)
