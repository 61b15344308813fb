"""Database fixtures for storage tests (SQLite and the machine's real Postgres).

`database_url` and `store` run every test twice: on a fresh SQLite file and on a fresh Postgres
database created for the test and dropped after it. An unreachable Postgres fails the test.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from storage import EVERYONE, Event, Stage, Store

# The maintenance database of the server the tests create their databases on.
POSTGRES_ADMIN_URL = os.environ.get("HUB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
DIALECTS = ("sqlite", "postgresql")


async def admin_connection() -> asyncpg.Connection:
    """A connection to the Postgres maintenance database; fails the test when it is unreachable."""
    try:
        return await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=10)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        pytest.fail(
            f"PostgreSQL is required for the storage tests and is unreachable at {POSTGRES_ADMIN_URL} "
            f"({exc!r}). Start it (see README, 'Services for the later parts') or set HUB_TEST_POSTGRES.",
            pytrace=False,
        )


async def admin_execute(sql: str, *args: Any) -> None:
    """Run one statement on the maintenance database (to create, drop, pause or cut a database)."""
    conn = await admin_connection()
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[-1]


async def create_postgres_database() -> str:
    """A new empty database with a random name; returns its URL."""
    name = f"hub_test_{uuid.uuid4().hex[:16]}"
    await admin_execute(f'CREATE DATABASE "{name}"')
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


async def drop_postgres_database(url: str) -> None:
    name = database_name(url)
    await admin_execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
    await admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=DIALECTS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of each dialect: a SQLite file, or a Postgres database dropped after."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
        return
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """A connected, migrated `Store` on each dialect."""
    connected = Store(database_url)
    await connected.connect()
    try:
        await connected.migrate()
        yield connected
    finally:
        # Bounded: a test that broke a connection must not hang here (the database is dropped anyway).
        async with asyncio.timeout(15):
            await connected.close()


@pytest.fixture
def make_stage(store: Store) -> Callable[..., Awaitable[Stage]]:
    """Create a stage (and its owner) in the test's store: `await make_stage("slug")`."""

    async def make(slug: str) -> Stage:
        owner = await store.create_user(f"owner-{slug}", "not-a-real-hash")
        return await store.create_stage(slug, slug.title(), owner.id)

    return make


def make_event(stage_id: int, seq: int, topic: str = "chat", payload: Any = None, at: int | None = None) -> Event:
    """An accepted event as the hub would build it (a chat message by default, 1 s apart)."""
    at = 1_700_000_000_000 + seq * 1000 if at is None else at
    if payload is None:
        payload = {"message": f"line {seq}", "id": f"m{seq}", "at": at, "isPlayer": True}
    sender = {"session": "s1", "nickname": "Helen", "role": "player"}
    return Event(stage_id, seq, topic, payload, at, sender, EVERYONE, None)
