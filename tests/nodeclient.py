"""Official Node `socket.io-client` sockets for tests: one `node tests/node/clients.mjs` process
holding named sockets, driven over JSON lines (see the script for the commands and reports).

Everything the process reports is kept in order; tests wait on it with a timeout, and a failed
wait says what was reported and what Node wrote to stderr. The process is killed on exit.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from tests.conftest import missing_service

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "node" / "clients.mjs"
WAIT = 10.0  # seconds any single wait may take
# Reconnection a little faster than socket.io-client's defaults (1 s doubling to 5 s), as the web
# page's (0.5 s to 4 s), so that the tests stay short; the mechanism is the client's own.
QUICK_RECONNECT: dict[str, Any] = {"reconnectionDelay": 200, "reconnectionDelayMax": 1000}


def node_binary() -> str:
    """The `node` binary, with socket.io-client installed; else the test is skipped (fails under CI)."""
    node = shutil.which("node")
    if node is None:
        missing_service("node is not installed (Debian: apt-get install nodejs npm)")
    if not (ROOT / "node_modules" / "socket.io-client" / "package.json").is_file():
        missing_service("socket.io-client is not installed (run `npm install` at the project root)")
    return node


class NodeClients:
    """A Node process of official Socket.IO clients, and every report it printed."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.reports: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()
        self._refs = itertools.count(1)
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        self._readers = [asyncio.create_task(self._read_stdout()), asyncio.create_task(self._read_stderr())]

    async def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            try:
                report = json.loads(line)
            except ValueError:  # not a report (a library printing): kept for the failure message
                self._stderr.append(line.decode(errors="replace").rstrip())
                continue
            async with self._changed:
                self.reports.append(report)
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()  # the process is gone: waiters fail now, not at their timeout

    async def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            self._stderr.append(line.decode(errors="replace").rstrip())

    async def send(self, command: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command).encode() + b"\n")
        await self.process.stdin.drain()

    async def open(
        self, name: str, url: str, *, stage: str | None = None, token: str | None = None,
        auth: Any = None, nickname: str | None = None, **options: Any,
    ) -> None:  # fmt: skip
        """`io(url, options)` named `name`; with `stage`, it joins on every connect (see the script);
        `auth` replaces what a real client sends (token, session and resume) with exactly that."""
        command: dict[str, Any] = {"cmd": "open", "name": name, "url": url, "options": options}
        for key, value in (("stage", stage), ("token", token), ("auth", auth), ("nickname", nickname)):
            if value is not None:
                command[key] = value
        await self.send(command)

    async def call(self, name: str, event: str, data: Any = None, timeout: float = 5.0) -> dict[str, Any]:
        """Emit `event` with an ack; the `ack` report (`ack`, `error` when none came, `sent`)."""
        ref = next(self._refs)
        command = {"cmd": "call", "name": name, "ref": ref, "event": event, "timeout": int(timeout * 1000)}
        if data is not None:
            command["data"] = data
        await self.send(command)
        what = f"the ack of {event}"
        return await self.first(lambda r: r["report"] == "ack" and r.get("ref") == ref, what, timeout + 2)

    async def publish(self, name: str, topic: str, payload: Any, **extra: Any) -> dict[str, Any]:
        """A publish that must be accepted: its ack."""
        done = await self.call(name, "publish", {"topic": topic, "payload": payload, **extra})
        assert done["ack"] and done["ack"]["ok"], done
        return dict(done["ack"])

    def of(self, name: str, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.reports if r["name"] == name and r["report"] == kind]

    def joins(self, name: str) -> list[dict[str, Any]]:
        """The join acks of `name`, oldest first."""
        return [r["ack"] for r in self.of(name, "joined")]

    def delivered(self, name: str) -> list[dict[str, Any]]:
        """Every stage event `name` got, in the order it got them: live, or in a recovering join ack."""
        events: list[dict[str, Any]] = []
        for report in self.reports:
            if report["name"] != name:
                continue
            if report["report"] == "event":
                events.append(report["event"])
            elif report["report"] == "joined" and report["ack"] and report["ack"].get("recovered"):
                events.extend(report["ack"]["events"])
        return events

    async def wait(self, done: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
        """Until `done()` holds, at most `timeout` seconds; else fail saying `what` and what happened."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                while not done():
                    if self.process.stdout is not None and self.process.stdout.at_eof():
                        raise AssertionError("the Node process ended")
                    await self._changed.wait()
        except (TimeoutError, AssertionError) as exc:
            raise AssertionError(f"waited for {what}: {exc or 'timed out'}\n{self.describe()}") from None

    async def first(self, match: Callable[[dict[str, Any]], bool], what: str, timeout: float = WAIT) -> dict[str, Any]:
        """The first report that matches, waiting for it."""
        found: list[dict[str, Any]] = []

        def seen() -> bool:
            found[:] = [r for r in self.reports if match(r)][:1]
            return bool(found)

        await self.wait(seen, what, timeout)
        return found[0]

    async def joined(self, name: str, count: int = 1, timeout: float = WAIT) -> dict[str, Any]:
        """The `count`th join ack of `name` (waiting for it); it must be ok."""
        await self.wait(lambda: len(self.of(name, "joined")) >= count, f"join #{count} of {name}", timeout)
        ack = self.joins(name)[count - 1]
        assert ack and ack["ok"], self.of(name, "joined")[count - 1]
        return dict(ack)

    def describe(self) -> str:
        reports = "\n".join(json.dumps(r)[:300] for r in self.reports[-30:])
        return f"last reports:\n{reports}\nnode stderr:\n" + "\n".join(self._stderr)

    async def close(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ConnectionError):
                await self.send({"cmd": "exit"})
            try:
                async with asyncio.timeout(3):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


@contextlib.asynccontextmanager
async def node_clients() -> AsyncIterator[NodeClients]:
    """A Node process of official clients for the block; killed at its end, whatever happened."""
    process = await asyncio.create_subprocess_exec(
        node_binary(), str(SCRIPT), cwd=ROOT, limit=16 * 1024 * 1024,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    clients = NodeClients(process)
    try:
        yield clients
    finally:
        await clients.close()
