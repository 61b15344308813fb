"""Real federations for fault tests (issue 15): hub processes, `python -m gateway` processes and a
private Mosquitto, a show that publishes numbered chats at a steady rate, and a tally of what
each hub's archive holds (lost, duplicated, out of origin order).

Every process is killed and every file dropped with the test's tmp dir.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.proc import free_port
from client import HubClient, login
from gateway.tasks import stop as stop_tasks
from tests.conftest import PASSWORD
from tests.gateway_support import SERVICE_USER, SLUG, PrivateBroker
from tests.hubproc import ChildProcess, HubProcess

ROOT = Path(__file__).resolve().parent.parent
SHOW_RATE = {"rate_limit": "1000", "rate_burst": "1000"}  # one performer publishes the whole show


class GatewayProcess(ChildProcess):
    """`python -m gateway` for one hub: start, SIGTERM, SIGKILL, SIGSTOP/SIGCONT, its metrics."""

    def __init__(self, hub: HubProcess, broker_port: int, namespace: str, workdir: Path, **settings: str) -> None:
        self.hub, self.workdir = hub, workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.metrics_port = free_port()
        self.log = workdir / "gateway.log"
        self.env = {
            **{k: v for k, v in hub.env.items() if not k.startswith("HUB_")},
            # run this checkout's gateway, not the one the venv's editable install points at
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "HUB_GATEWAY_HUB_URL": hub.url,
            "HUB_GATEWAY_USERNAME": SERVICE_USER,
            "HUB_GATEWAY_PASSWORD": PASSWORD,
            "HUB_GATEWAY_BROKER_URL": f"mqtt://127.0.0.1:{broker_port}",
            "HUB_GATEWAY_NAMESPACE": namespace,
            "HUB_GATEWAY_STAGES": SLUG,
            "HUB_GATEWAY_METRICS_PORT": str(self.metrics_port),
            "HUB_GATEWAY_SESSION_EXPIRY": "120",
            **{f"HUB_GATEWAY_{key.upper()}": value for key, value in settings.items()},
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "gateway"], env=self.env, cwd=self.workdir,
                                         stdout=log, stderr=subprocess.STDOUT)

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    async def metrics(self) -> str:
        """The gateway's /metrics text, or "" while it is not answering."""
        timeout = aiohttp.ClientTimeout(total=5)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http, \
                    http.get(f"http://127.0.0.1:{self.metrics_port}/metrics") as resp:
                return await resp.text()
        except (TimeoutError, aiohttp.ClientError):
            return ""

    async def metric(self, name: str) -> float:
        """The sum of every sample of one metric (`name` may carry labels: `x{a="b"}`)."""
        return _metric(await self.metrics(), name)

    async def ready(self, joins: int = 1, timeout: float = 60.0) -> None:
        """Wait until the gateway is on the broker and has joined its stage `joins` times in all
        (`timeout` s of wall clock, however slow each look is on a loaded machine)."""
        deadline = asyncio.get_running_loop().time() + timeout
        text = ""
        while asyncio.get_running_loop().time() < deadline:
            text = await self.metrics()
            if "gateway_broker_connected 1.0" in text and _metric(text, "gateway_hub_joins_total") >= joins:
                await asyncio.sleep(0.5)  # its subscription reaches the broker
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"the gateway did not get ready in {timeout} s; its metrics:\n"
                             f"{_gateway_lines(text)}\nits log:\n{self.log.read_text()[-3000:]}")

    def close(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def _metric(text: str, name: str) -> float:
    """The sum of every sample of metric `name` (which may carry labels) in a /metrics text."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and (line[len(name)] in " {" or "{" in name):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _gateway_lines(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if line.startswith("gateway_")) or "(none: not answering)"


@dataclass
class Federation:
    broker: PrivateBroker
    hubs: dict[str, HubProcess]
    gateways: dict[str, GatewayProcess]


@contextlib.asynccontextmanager
async def federation(
    tmp_path: Path, names: tuple[str, ...] = ("a", "b"), persistence: bool = True,
    hub_settings: dict[str, str] | None = None, **gateway_settings: str,
) -> AsyncIterator[Federation]:
    """Hubs `names` (SQLite each, stage `show` owned by `owner-<name>`, a service user, `HUB_*`
    `hub_settings`), one gateway process per hub and one private Mosquitto, all started and ready."""
    broker_dir = tmp_path / "broker"
    broker_dir.mkdir()
    broker = PrivateBroker(broker_dir, persistence=persistence)
    hubs: dict[str, HubProcess] = {}
    gateways: dict[str, GatewayProcess] = {}
    try:
        broker.start()
        for name in names:
            var = tmp_path / f"hub-{name}"
            var.mkdir()
            hub = hubs[name] = HubProcess(var, f"sqlite:///{var / 'hub.db'}", id=f"hub-{name}",
                                          **{**SHOW_RATE, **(hub_settings or {})})
            await hub.seed(f"owner-{name}", SLUG)
            await hub.add_user(SERVICE_USER, "service")
        await asyncio.gather(*(hub.start() for hub in hubs.values()))
        for name, hub in hubs.items():
            gateways[name] = GatewayProcess(hub, broker.port, "fed", tmp_path / f"gateway-{name}", **gateway_settings)
            gateways[name].start()
        for gateway in gateways.values():
            await gateway.ready()
        yield Federation(broker, hubs, gateways)
    finally:
        for gateway in gateways.values():
            gateway.close()
        for hub in hubs.values():
            hub.close()
        broker.stop()


@dataclass
class Show:
    """A performer on one hub publishing chats `<tag>-<n>` at `rate` per second, reconnecting
    through faults; `acked` holds the ids the hub acknowledged (stored, by the contract)."""

    hub: HubProcess
    tag: str
    rate: float = 50.0
    acked: list[str] = field(default_factory=list)
    sent: int = 0
    _task: asyncio.Task[None] | None = None
    _stopping: bool = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._stopping = True  # ends the loop even if a library's wait_for swallows the cancel
        try:
            async with asyncio.timeout(15):
                await stop_tasks([self._task])
        except TimeoutError:
            raise AssertionError(f"the show did not stop in 15 s: {self._task.get_stack()}") from None

    async def _run(self) -> None:
        client: HubClient | None = None
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            while not self._stopping:
                if client is None or not client.connected:
                    client = await self._connect()
                    if client is None:
                        await asyncio.sleep(0.2)
                        continue
                event_id = f"{self.tag}-{self.sent}"
                self.sent += 1
                try:
                    async with asyncio.timeout(5):
                        ack = await client.publish("chat", {"message": event_id, "id": event_id})
                except Exception:
                    ack = {}
                if ack.get("ok"):
                    self.acked.append(event_id)
                await asyncio.sleep(max(0.0, started + self.sent / self.rate - loop.time()))
        finally:
            if client is not None and client.connected:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(5):
                        await client.close()

    async def _connect(self) -> HubClient | None:
        owner = f"owner-{self.hub.env['HUB_ID'].removeprefix('hub-')}"
        client = None
        try:
            async with asyncio.timeout(10):  # a hub starved or half-started is tried again
                token = (await login(self.hub.url, owner, PASSWORD))["access_token"]
                client = await HubClient(self.hub.url, token=token, keep_events=False).connect()
                await client.join(SLUG)
            return client
        except Exception:
            if client is not None:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(5):
                        await client.close()
            return None


def stored_chats(hub: HubProcess, tag: str) -> list[str]:
    """The ids of chats `<tag>-*` in the hub's archive, in the archive's (seq) order."""
    database = hub.env["HUB_DATABASE_URL"].removeprefix("sqlite:///")
    with contextlib.closing(sqlite3.connect(database, timeout=10)) as db:
        rows = db.execute("SELECT payload FROM events WHERE topic = 'chat' ORDER BY seq").fetchall()
    ids = [json.loads(payload).get("id") for (payload,) in rows]
    return [i for i in ids if isinstance(i, str) and i.startswith(f"{tag}-")]


@dataclass
class Tally:
    lost: list[str]
    duplicated: list[str]
    out_of_order: int

    @property
    def clean(self) -> bool:
        """Nothing lost, nothing twice, origin order kept."""
        return not self.lost and not self.duplicated and self.out_of_order == 0

    def __str__(self) -> str:
        return f"lost {len(self.lost)} {self.lost[:10]}, duplicated {self.duplicated[:10]}, out of order {self.out_of_order}"


def tally(acked: list[str], stored: list[str]) -> Tally:
    """What a receiving archive lost of the acked ids, holds twice, and holds out of origin order."""
    held = Counter(stored)
    numbers = [int(i.rsplit("-", 1)[1]) for i in stored]
    backwards = sum(1 for before, after in zip(numbers, numbers[1:], strict=False) if after < before)
    return Tally([i for i in acked if i not in held], sorted(i for i, n in held.items() if n > 1), backwards)


async def converged(show: Show, hub: HubProcess, timeout: float = 90.0) -> Tally:
    """Wait until `hub`'s archive holds every id `show` had acked (or `timeout` s of wall clock
    have passed), then tally."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        result = tally(show.acked, await asyncio.to_thread(stored_chats, hub, show.tag))
        if not result.lost:
            await asyncio.sleep(0.5)  # anything doubled would land by now
            break
        await asyncio.sleep(0.2)
    return tally(show.acked, await asyncio.to_thread(stored_chats, hub, show.tag))


async def show_through(
    fed: Federation, tag: str, fault: Callable[[], Awaitable[None]], before: float = 2.0, after: float = 3.0,
    timeout: float = 60.0,
) -> tuple[Show, Tally]:
    """A show on hub A through one fault: `before` s of it, the fault, `after` s more; then the
    tally of what hub B's archive holds of it."""
    show = Show(fed.hubs["a"], tag)
    show.start()
    await asyncio.sleep(before)
    await fault()
    await asyncio.sleep(after)
    await show.stop()
    return show, await converged(show, fed.hubs["b"], timeout=timeout)
