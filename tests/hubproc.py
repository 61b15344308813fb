"""A real `python -m hub serve` process for tests that stop, kill and restart the hub, and
`shared_site`: several of them on one Postgres database and one Redis prefix (one site)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from bench.proc import free_port
from client import HubClient, login
from hub.auth import hash_password
from storage import Store, User
from tests.conftest import UNLIMITED_ADDRESS


class ChildProcess:
    """A process a test starts: stopped by a signal (and reaped), killed at the end if still running."""

    proc: subprocess.Popen[bytes] | None = None

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send `sig` (SIGTERM: a planned stop; SIGKILL: a crash) and wait for the exit code."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = await asyncio.to_thread(self.proc.wait, 30)
        self.proc = None
        return code


class HubProcess(ChildProcess):
    """Starts, stops (SIGTERM), kills (SIGKILL) and restarts one hub on a fixed port and database."""

    def __init__(self, var_dir: Path, database_url: str, **settings: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "HUB_VAR_DIR": str(var_dir),
            "HUB_DATABASE_URL": database_url,
            "HUB_PORT": str(self.port),
            "HUB_DEMO": "0",
            "HUB_SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256",
            **{f"HUB_{key.upper()}": str(value) for key, value in UNLIMITED_ADDRESS.items()},
            **{f"HUB_{key.upper()}": value for key, value in settings.items()},
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`python -m hub ARGS` with this hub's environment, to its end (its output captured)."""
        return subprocess.run([sys.executable, "-m", "hub", *args], env=self.env, capture_output=True, text=True)

    def cli(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    async def health(self) -> dict[str, Any]:
        """`/healthz` on a fresh connection (so that SO_REUSEPORT may give it to any worker)."""
        fresh = aiohttp.TCPConnector(force_close=True)
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(connector=fresh) as http, http.get(f"{self.url}/healthz", timeout=timeout) as resp:
            return dict(await resp.json())

    async def seed(self, owner: str, slug: str = "show", players: tuple[str, ...] = ()) -> None:
        """User `owner` (password tests.conftest.PASSWORD) owning stage `slug` with `players`,
        written to the hub's database from this process (each CLI run costs a second of start-up)."""
        async with self.database() as store:
            ids = {name: (await self._user(store, name)).id for name in (owner, *players)}
            await store.create_stage(slug, slug.title(), ids[owner], [ids[name] for name in players])

    async def add_user(self, username: str, role: str = "player") -> None:
        """A user (password tests.conftest.PASSWORD) in the hub's database."""
        async with self.database() as store:
            await self._user(store, username, role)

    @contextlib.asynccontextmanager
    async def database(self) -> AsyncIterator[Store]:
        """The hub's database, migrated, opened from this process."""
        store = Store(self.env["HUB_DATABASE_URL"])
        await store.connect()
        try:
            await store.migrate()
            yield store
        finally:
            await store.close()

    @staticmethod
    async def _user(store: Store, username: str, role: str = "player") -> User:
        from tests.conftest import PASSWORD

        return await store.get_user_by_name(username) or await store.create_user(username, hash_password(PASSWORD), role)

    async def performer(self, username: str, slug: str = "show") -> HubClient:
        """A logged-in client of the running hub, joined to the stage."""
        from tests.conftest import PASSWORD

        client = await HubClient(self.url, token=(await login(self.url, username, PASSWORD))["access_token"]).connect()
        await client.join(slug)
        return client

    async def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "hub", "serve"], env=self.env, stdout=subprocess.DEVNULL)
        deadline = asyncio.get_running_loop().time() + 30  # wall clock: a loaded machine starts slowly
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            while asyncio.get_running_loop().time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the hub exited with {self.proc.returncode} while starting")
                try:
                    async with http.get(f"{self.url}/healthz") as resp:
                        if resp.status == 200:
                            return
                except (TimeoutError, aiohttp.ClientError):
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError("the hub did not start in 30 s")

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


@contextlib.asynccontextmanager
async def shared_site(var_dir: Path, count: int, **settings: str) -> AsyncIterator[list[HubProcess]]:
    """`count` hubs, each on its own port, on one fresh Postgres database and one fresh Redis key
    prefix (HUB_REDIS_URL, HUB_REDIS_PREFIX), with one secret key and var dir: one site. Not started;
    the database is migrated, and every hub still running is killed and everything dropped after."""
    from tests.dbs import create_postgres_database, drop_postgres_database
    from tests.redisdb import REDIS_URL, own_prefix

    async with own_prefix() as prefix:
        url = await create_postgres_database()
        hubs = [
            HubProcess(var_dir, url, redis_url=REDIS_URL, redis_prefix=prefix, **settings)
            for _ in range(count)
        ]
        try:
            async with hubs[0].database():
                pass  # migrated
            yield hubs
        finally:
            for hub in hubs:
                hub.close()
            await drop_postgres_database(url)
