"""What several hub processes share to form one site, made throw-away for a bench run: a Postgres
database and a Redis key prefix (docs/scaling.md). Both are removed again on exit.

The Postgres and Redis are the machine's own (defaults 127.0.0.1:5432, user postgres, trust auth,
and 127.0.0.1:6379); the bench never starts or stops them, it only samples Redis's CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg
import redis

from bench.proc import ProcessError

POSTGRES = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/0")


@dataclass(frozen=True)
class Site:
    """A throw-away site: its database URL, Redis URL and prefix, and redis-server's pid (for CPU)."""

    database_url: str
    redis_url: str
    redis_prefix: str
    redis_pid: int

    def redis_settings(self) -> dict[str, str]:
        """The HUB_* settings (lower-case keys, as `hub_site` takes them) that put the stage log on this Redis."""
        return {"redis_url": self.redis_url, "redis_prefix": self.redis_prefix}


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(f"{POSTGRES}/postgres")
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh Postgres database (`bench_<random>`); its URL; dropped on exit (FORCE: hubs may linger)."""
    name = f"bench_{secrets.token_hex(4)}"
    try:
        asyncio.run(_admin(f"CREATE DATABASE {name}"))
    except (OSError, asyncpg.PostgresError) as exc:
        raise ProcessError(f"cannot create a Postgres database at {POSTGRES}: {exc}") from exc
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def redis_server_pid(url: str = REDIS) -> int:
    """The pid of the redis-server behind `url` (INFO server's process_id), to sample its CPU."""
    try:
        return int(redis.Redis.from_url(url).info("server")["process_id"])
    except redis.RedisError as exc:
        raise ProcessError(f"cannot reach Redis at {url}: {exc}") from exc


def redis_cpu_seconds(url: str = REDIS) -> float:
    """redis-server's CPU so far (INFO cpu: used_cpu_user + used_cpu_sys), in seconds."""
    info = redis.Redis.from_url(url).info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def delete_prefix(url: str, prefix: str) -> int:
    """Delete every key under `prefix`; how many there were."""
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])
    return len(keys)


@contextlib.contextmanager
def throwaway_site() -> Iterator[Site]:
    """A fresh database and Redis prefix (`upstage-bench-<random>:`), both removed on exit."""
    pid = redis_server_pid()
    prefix = f"upstage-bench-{secrets.token_hex(4)}:"
    with throwaway_database() as database_url:
        try:
            yield Site(database_url, REDIS, prefix, pid)
        finally:
            delete_prefix(REDIS, prefix)
