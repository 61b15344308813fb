"""Shared fixtures: a real hub on a free port with its own SQLite database, and helpers to use it."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn

import argon2.profiles
import pytest
from aiohttp.test_utils import TestServer
from argon2 import PasswordHasher

from client import HubClient, login
from hub import Settings, auth, create_app
from hub.app import NODE
from hub.auth import hash_password
from hub.http import STORE
from hub.roster import Roster
from hub.stagelog import StageLog
from storage import Store

pytest_plugins = ["tests.dbs", "tests.redisdb", "tests.gateway_support", "tests.browser"]

# argon2 at the hub's cost (64 MiB, 3 passes, 4 lanes: ~0.2 s of CPU a hash or a login) was a third
# of the suite's CPU time. Hashes made in the test process (users the tests create, and every hub
# run in it) use argon2-cffi's cheapest profile; a hash is verified with the parameters it carries,
# so hub processes log those users in cheaply too. test_login_throttle.py checks the hub's own cost.
HUB_HASHER = auth._hasher
auth._hasher = PasswordHasher.from_parameters(argon2.profiles.CHEAPEST)


def missing_service(message: str) -> NoReturn:
    """A service or tool a test needs is absent: under `CI=true` (set by `.ci/run`) the test fails,
    because a skipped test is a failing feature; elsewhere it is skipped with the reason."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: a missing service fails)", pytrace=False)
    pytest.skip(message)

# Tests that run real hub, gateway, broker or bench processes through faults and count what got
# through in a fixed time: under `make test`'s pytest-xdist they share one worker (`--dist loadgroup`),
# so two of them never starve each other. `pytestmark = SERIAL` in such a file.
SERIAL = pytest.mark.xdist_group("serial")

PASSWORD = "correct-horse-battery"
# Every test client comes from 127.0.0.1: per-address limits are lifted except in the tests of them.
UNLIMITED_ADDRESS: dict[str, Any] = dict(
    address_connections=100_000,
    address_rate_limit=1e6,
    address_rate_burst=1_000_000,
    join_rate_limit=1e6,
    join_rate_burst=1_000_000,
    address_join_rate_limit=1e6,
    address_join_rate_burst=1_000_000,
    # The suite logs in for nearly every call; the throttle tests (test_login_throttle.py) set
    # the shipped limits themselves.
    login_rate_limit=1000.0,
    login_rate_burst=1000,
)
TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256"


@dataclasses.dataclass
class Hub:
    """A running hub and the means to populate it and connect to it."""

    server: TestServer
    store: Store
    clients: list[HubClient]

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    @property
    def node(self) -> Any:
        return self.server.app[NODE]

    async def user(self, username: str, role: str = "player") -> int:
        user = await self.store.create_user(username, hash_password(PASSWORD), role)
        return user.id

    async def stage(self, slug: str, owner: str, players: tuple[str, ...] = (), editors: tuple[str, ...] = ()) -> None:
        users = {name: await self.user(name) for name in {owner, *players, *editors}}
        await self.store.create_stage(
            slug, slug.title(), users[owner], [users[p] for p in players], [users[e] for e in editors]
        )

    async def joined(self, username: str | None = None, slug: str = "show", **kwargs: Any) -> HubClient:
        """A client (logged in as `username`, or anonymous) already joined to the stage."""
        client = await self.connect(username, **kwargs)
        ack = await client.join(slug)
        assert ack["ok"], ack
        return client

    async def connect(self, username: str | None = None, **kwargs: Any) -> HubClient:
        token = (await login(self.url, username, PASSWORD))["access_token"] if username else None
        client = HubClient(self.url, token=token, **kwargs)
        self.clients.append(client)
        return await client.connect()


@contextlib.asynccontextmanager
async def moving(client: HubClient, in_flight: int = 1) -> AsyncIterator[None]:
    """While the block runs, `client` publishes `moveTo` events without pause (`in_flight` at a time)."""
    stop = asyncio.Event()

    async def publish() -> None:
        i = 0
        while not stop.is_set():
            moves = (client.publish("board", {"type": "moveTo", "object": {"id": f"o{(i + k) % 3}", "x": i + k}})
                     for k in range(in_flight))
            await asyncio.gather(*moves)
            i += in_flight

    task = asyncio.create_task(publish())
    try:
        yield
    finally:
        stop.set()
        await task


def test_settings(tmp_path: Path, **overrides: Any) -> Settings:
    defaults: dict[str, Any] = dict(
        var_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'hub.db'}",
        secret_key=TEST_SECRET,
        demo=False,
        presence_interval=0.05,
        rate_limit=200.0,
        rate_burst=200,
        **UNLIMITED_ADDRESS,
    )
    return Settings(**{**defaults, **overrides})


@pytest.fixture
async def make_hub(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Hub]]]:
    """Start hubs with setting overrides; clients and servers are closed at the end of the test."""
    started: list[Hub] = []

    async def make(stage_log: StageLog | None = None, roster: Roster | None = None, **overrides: Any) -> Hub:
        """A hub; with `stage_log` and `roster`, on those (two hubs on sibling logs and rosters and
        one database are two processes of one site)."""
        settings = test_settings(tmp_path / f"hub{len(started)}", **overrides)
        app = create_app(settings, stage_log=stage_log, roster=roster)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        started.append(Hub(server, app[STORE], []))
        return started[-1]

    yield make
    for hub in started:
        for client in hub.clients:
            if client.sio.connected:
                await client.close()
        await hub.server.close()


@pytest.fixture
async def hub(make_hub: Callable[..., Awaitable[Hub]]) -> Hub:
    return await make_hub()
