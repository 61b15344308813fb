"""Events persisted per second on Postgres: the batch writer versus one INSERT per event.

The one-by-one path is the original UpStage design (one row and one commit per message). Both
run in the same process against the same fresh database, alternating in rounds so machine noise
hits both alike; the result is the ratio of their rates (issue 5 asks for at least 20×).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from bench.results import record
from storage import EVERYONE, Event, EventWriter, Store

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_RATIO = 20.0


def show(stage_id: int, count: int, seed: int) -> list[Event]:
    """A plausible stream: mostly avatar moves, some chat, now and then a speech bubble."""
    rng = random.Random(seed)
    sender = {"session": "bench", "nickname": "Helen", "role": "player", "user": 1}
    events = []
    payload: dict[str, Any]
    for seq in range(1, count + 1):
        at = 1_700_000_000_000 + seq * 20
        roll = rng.random()
        if roll < 0.8:
            topic, payload = "board", {"type": "moveTo", "object": {"id": f"av{seq % 8}", "x": rng.random(), "y": 0.5}}
        elif roll < 0.95:
            topic, payload = "chat", {"message": f"line {seq} of the show", "id": uuid.uuid4().hex, "at": at}
        else:
            speak = {"message": "to be or not to be", "at": at, "id": uuid.uuid4().hex}
            topic, payload = "board", {"type": "speak", "avatar": {"id": "av1"}, "speak": speak}
        events.append(Event(stage_id, seq, topic, payload, at, sender, EVERYONE, None))
    return events


async def batched(store: Store, events: list[Event], batch_size: int, interval: float) -> float:
    """Seconds from the first submit until every event is durable, through the EventWriter."""
    writer = EventWriter(store.archive, batch_size=batch_size, interval=interval, max_buffer=len(events) + 1)
    writer.start()
    started = time.perf_counter()
    futures = []
    for n, event in enumerate(events, 1):
        futures.append(writer.submit(event))
        if n % 1000 == 0:
            await asyncio.sleep(0)  # a publisher yields to the loop now and then, as the hub does
    await asyncio.gather(*futures)
    elapsed = time.perf_counter() - started
    await writer.close()
    return elapsed


async def one_by_one(store: Store, events: list[Event]) -> float:
    started = time.perf_counter()
    await store.archive.append_one_by_one(events)
    return time.perf_counter() - started


async def fresh_database(admin_url: str) -> str:
    name = f"hub_bench_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url.rsplit("/", 1)[0] + "/" + name


async def drop_database(admin_url: str, url: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


async def run(args: argparse.Namespace) -> list[str]:
    url = await fresh_database(args.admin_url)
    store = Store(url)
    try:
        await store.connect()
        await store.migrate()
        server = await store.db.fetch_val("SHOW server_version")
        paths: dict[str, Callable[[list[Event]], Awaitable[float]]] = {
            "batch writer": lambda events: batched(store, events, args.batch_size, args.interval),
            "one INSERT per event": lambda events: one_by_one(store, events),
        }
        counts = {"batch writer": args.events, "one INSERT per event": args.slow_events}
        seconds = {name: 0.0 for name in paths}
        stage = 0
        for round_ in range(args.rounds):
            for name, path in paths.items():
                stage += 1
                events = show(stage, counts[name] // args.rounds, seed=round_)
                seconds[name] += await path(events)
                stored = await store.archive.live_events(stage)
                assert [e.seq for e in stored] == [e.seq for e in events], f"{name}: events missing or doubled"
    finally:
        await store.close()
        await drop_database(args.admin_url, url)

    rates = {name: counts[name] // args.rounds * args.rounds / seconds[name] for name in paths}
    ratio = rates["batch writer"] / rates["one INSERT per event"]
    met = ratio >= TARGET_RATIO
    lines = [
        f"PostgreSQL {server} on 127.0.0.1 (fresh database), asyncpg through `databases`; "
        f"{args.rounds} alternating rounds; every event checked stored once, in seq order.",
        "",
        "| path | events | seconds | events/s |",
        "|---|---|---|---|",
    ]
    for name in paths:
        lines.append(f"| {name} | {counts[name]:,} | {seconds[name]:.2f} | {rates[name]:,.0f} |")
    lines += [
        "",
        f"Batch writer: `EventWriter(batch_size={args.batch_size}, interval={args.interval})`, COPY per batch; "
        "timed from the first submit until every event's future resolved.",
        f"One-by-one: `Archive.append_one_by_one`, one INSERT and commit per event, sequentially "
        f"({args.slow_events:,} events{' (fewer: it is slow)' if args.slow_events < args.events else ''}).",
        "",
        f"- ratio: **{ratio:.1f}×** (target ≥ {TARGET_RATIO:.0f}×: **{'met' if met else 'not met'}**)",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000, help="events through the batch writer")
    parser.add_argument("--slow-events", type=int, default=20_000, help="events through the one-by-one path")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds the events are split into")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=0.01)
    parser.add_argument("--admin-url", default=ADMIN_URL, help="maintenance database to create the bench one from")
    args = parser.parse_args()
    lines = asyncio.run(run(args))
    record("Event persistence: batch writer vs one INSERT per event (Postgres)", "bench.persist", lines)


if __name__ == "__main__":
    main()
