"""A real `python -m hub serve` process for tests that stop, kill and restart the hub."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp

from client import HubClient, login
from tests.conftest import UNLIMITED_ADDRESS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HubProcess:
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

    def cli(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "hub", *args], env=self.env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def seed(self, owner: str, slug: str = "show") -> None:
        """A user (password tests.conftest.PASSWORD) owning a stage, made with the CLI."""
        from tests.conftest import PASSWORD

        self.cli("user", "add", "--username", owner, "--password", PASSWORD)
        self.cli("stage", "add", "--slug", slug, "--name", slug.title(), "--owner", owner)

    async def performer(self, username: str, slug: str = "show") -> HubClient:
        """A logged-in client of the running hub, joined to the stage."""
        from tests.conftest import PASSWORD

        client = await HubClient(self.url, token=(await login(self.url, username, PASSWORD))["access_token"]).connect()
        await client.join(slug)
        return client

    async def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "hub", "serve"], env=self.env, stdout=subprocess.DEVNULL)
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    async with http.get(f"{self.url}/healthz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError("the hub did not start")

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = await asyncio.to_thread(self.proc.wait, 30)
        self.proc = None
        return code

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
