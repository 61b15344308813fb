"""Where an idle audience connection's memory goes: the hub's Python heap per connection, by the
package that allocated it (tracemalloc), and the asyncio tasks each connection keeps.

The hub runs in this process so tracemalloc sees it; the clients are raw WebSocket clients in
the same loop, and their own allocations are left out.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from bench.results import record
from hub import Settings, create_app
from hub.auth import hash_password
from hub.http import STORE


async def audience(session: aiohttp.ClientSession, url: str) -> aiohttp.ClientWebSocketResponse:
    """Open a WebSocket, connect to Socket.IO and join the stage, as a browser in the audience."""
    ws = await session.ws_connect(url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket", autoping=False)
    await ws.receive_str()
    await ws.send_str("40")
    await ws.receive_str()
    await ws.send_str('420["join",{"stage":"show"}]')
    while not (await ws.receive_str()).startswith("430"):
        pass
    return ws


def server_tasks() -> int:
    """Running asyncio tasks that are not the test clients' own."""
    def client_side(task: asyncio.Task[Any]) -> bool:
        code = getattr(task.get_coro(), "cr_code", None)
        return code is not None and ("aiohttp/client" in code.co_filename or code.co_filename == __file__)

    return sum(1 for task in asyncio.all_tasks() if not client_side(task))


def package_of(filename: str) -> str:
    if "/asyncio/" in filename:
        return "asyncio (tasks, futures, queues)"
    if "site-packages/" in filename:
        return filename.split("site-packages/")[-1].split("/")[0]
    return filename.rsplit("/", 1)[-1]


async def measure(n: int) -> tuple[dict[str, float], float]:
    var = Path(tempfile.mkdtemp(prefix="hub-memory-"))
    settings = Settings(var_dir=var, database_url=f"sqlite:///{var}/hub.db", secret_key="x" * 48, demo=False)
    app = create_app(settings)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    store = app[STORE]
    owner = await store.create_user("owner", hash_password("a-long-pass-phrase"))
    await store.create_stage("show", "Show", owner.id)
    url = str(server.make_url("")).rstrip("/")
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        warm = [await audience(session, url) for _ in range(20)]
        await asyncio.sleep(0.5)
        gc.collect()
        tasks_before = server_tasks()
        tracemalloc.start(40)
        before = tracemalloc.take_snapshot()
        clients = [await audience(session, url) for _ in range(n)]
        await asyncio.sleep(1)
        gc.collect()
        after = tracemalloc.take_snapshot()
        tasks = (server_tasks() - tasks_before) / n
        tracemalloc.stop()
        by_package: collections.Counter[str] = collections.Counter()
        for stat in after.compare_to(before, "traceback"):
            if any("aiohttp/client" in frame.filename for frame in stat.traceback):
                continue  # the clients' side
            by_package[package_of(stat.traceback[-1].filename)] += stat.size_diff
        for ws in clients + warm:
            await ws.close()
    await server.close()
    return {name: size / n / 1024 for name, size in by_package.most_common()}, tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    sizes, tasks = asyncio.run(measure(args.n))
    total = sum(sizes.values())
    lines = [
        f"{args.n} idle audience connections (WebSocket, joined); hub Python heap per connection: "
        f"**{total:.1f} KB**; asyncio tasks per connection: **{tasks:.1f}**.",
        "",
        "| allocated by | KB per connection |",
        "|---|---|",
        *(f"| {name} | {size:.1f} |" for name, size in sizes.items() if size >= 0.3),
    ]
    record("Memory per idle connection, by allocator", "bench.conn_memory", lines)


if __name__ == "__main__":
    main()
