"""Redis fixtures: the machine's shared Redis (127.0.0.1:6379, HUB_TEST_REDIS to change it).

Redis is shared by every test run, so each test gets its own random key prefix (`redis_prefix`)
and every key under it is deleted after the test. An unreachable Redis fails the test.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bench.proc import free_port

REDIS_URL = os.environ.get("HUB_TEST_REDIS", "redis://127.0.0.1:6379/0")


async def require_redis() -> None:
    """Fail the test (never skip it) when Redis cannot be reached."""
    client = aioredis.Redis.from_url(REDIS_URL, socket_timeout=5, socket_connect_timeout=5)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        pytest.fail(
            f"Redis is required for the stage log tests and is unreachable at {REDIS_URL} ({exc!r}). "
            "Start redis-server (see README, 'Services for Postgres, the tests and the benchmarks') or set HUB_TEST_REDIS.",
            pytrace=False,
        )
    finally:
        await client.aclose()


async def delete_prefix(prefix: str) -> int:
    """Delete every key under `prefix`; returns how many there were."""
    client = aioredis.Redis.from_url(REDIS_URL, socket_timeout=5, socket_connect_timeout=5)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
        return len(keys)
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def own_prefix() -> AsyncIterator[str]:
    """A random key prefix on the shared Redis (which must be reachable); its keys deleted after."""
    await require_redis()
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        await delete_prefix(prefix)


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of the test's own on the shared Redis; its keys are deleted after the test."""
    async with own_prefix() as prefix:
        yield prefix


def closed_port() -> int:
    """A local port nothing listens on (a Redis there refuses at once)."""
    return free_port()


async def cut_subscription(client_name: str) -> None:
    """Have Redis drop the one pub/sub connection named `client_name`, as a network cut would."""
    admin = aioredis.Redis.from_url(REDIS_URL, socket_timeout=5, socket_connect_timeout=5)
    try:
        clients = await admin.client_list()
        ours = [c["id"] for c in clients if c.get("name") == client_name and int(c.get("sub", 0)) > 0]
        assert len(ours) == 1, clients
        await admin.client_kill_filter(_id=ours[0])
    finally:
        await admin.aclose()
