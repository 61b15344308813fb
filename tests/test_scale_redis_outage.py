"""Redis stopped and restarted during a show (issue 14, item 8), on a `redis-server` of the test's
own (a free port, no persistence: it comes back empty), so the machine's shared Redis stays up.

While Redis is down, publishes get `unavailable`, `/healthz` says `degraded` and `/metrics` counts
the failures; nothing acked is lost; when Redis returns the show goes on by itself, and a process
whose replica lost continuity rebuilds it (its sockets are told to come back).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest

from client import HubClient
from tests.conftest import missing_service
from tests.dbs import create_postgres_database, drop_postgres_database
from tests.hubproc import HubProcess, free_port
from tests.test_scale_redis import stored_seqs


class OwnRedis:
    """A redis-server on a free port that the test stops and starts again."""

    def __init__(self, tmp: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            missing_service("redis-server is not installed (apt-get install redis-server)")
        self.binary, self.tmp, self.port = str(binary), tmp, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen([self.binary, *args, "--dir", str(self.tmp)], stdout=subprocess.DEVNULL)

    async def ready(self) -> None:
        for _ in range(100):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@contextmanager
def own_redis(tmp: Path) -> Iterator[OwnRedis]:
    redis = OwnRedis(tmp)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
async def outage_site(tmp_path: Path) -> AsyncIterator[tuple[OwnRedis, list[HubProcess]]]:
    with own_redis(tmp_path) as redis:
        await redis.ready()
        url = await create_postgres_database()
        hubs = [HubProcess(tmp_path, url, redis_url=redis.url) for _ in range(2)]
        try:
            await hubs[0].seed("ada")
            await asyncio.gather(*(hub.start() for hub in hubs))
            yield redis, hubs
        finally:
            for hub in hubs:
                hub.close()
            await drop_postgres_database(url)


async def health(hub: HubProcess) -> dict[str, object]:
    async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/healthz") as resp:
        assert resp.status == 200
        return dict(await resp.json())


async def metric(hub: HubProcess, name: str) -> float:
    async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/metrics") as resp:
        text = await resp.text()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))


async def test_redis_going_away_refuses_then_resumes_and_loses_nothing_acked(
    outage_site: tuple[OwnRedis, list[HubProcess]],
) -> None:
    redis, (one, two) = outage_site
    ada = await one.performer("ada")
    watcher = await HubClient(two.url).connect()
    assert (await watcher.join("show"))["ok"]
    acked = []
    for n in range(5):
        ack = await ada.publish("chat", {"message": f"before {n}"})
        assert ack["ok"], ack
        acked.append(ack["seq"])
    await watcher.wait_for(lambda c: c.seq == acked[-1])
    assert (await health(one))["status"] == "ok"

    redis.stop()
    refused = await ada.publish("chat", {"message": "while down"})
    assert refused["ok"] is False and refused["error"]["code"] == "unavailable", refused
    assert ada.connected and watcher.connected, "sockets stay connected"
    degraded = await health(one)
    assert degraded["status"] == "degraded" and degraded["ok"] is True, degraded
    assert await metric(one, "hub_stagelog_failures_total") >= 1

    redis.start()
    await redis.ready()
    for _ in range(100):  # the show resumes by itself
        ack = await ada.publish("chat", {"message": "after"})
        if ack.get("ok"):
            acked.append(ack["seq"])
            break
        assert ack["error"]["code"] == "unavailable", ack
        await asyncio.sleep(0.1)
    else:
        pytest.fail("publishing never came back after Redis returned")
    assert (await health(one))["status"] == "ok"
    ack = await ada.publish("chat", {"message": "and on"})
    assert ack["ok"] and ack["seq"] == acked[-1] + 1, ack
    acked.append(ack["seq"])

    # The other process rebuilt its replica from the store and the log (telling its sockets to
    # come back): a joiner there sees it all.
    for _ in range(50):
        late = await HubClient(two.url).connect()
        joined = await late.join("show")
        await late.close()
        if joined["ok"] and joined["seq"] == acked[-1]:
            break
        await asyncio.sleep(0.1)
    messages = [m["message"] for m in joined["state"]["chat"]["messages"]]
    assert messages[-2:] == ["after", "and on"] and "before 4" in messages, messages
    await asyncio.sleep(0.3)
    assert not set(acked) - await stored_seqs(one, "show"), "an acked event is missing from the archive"
    for client in (ada, watcher):
        if client.connected:
            await client.close()
