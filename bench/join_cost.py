"""Join cost against show length: a stage with 10 past events versus one with 10,000.

The hub answers a join from the live state, so the two should cost the same; the original
UpStage replayed the whole log on every join. Joins alternate between the stages so machine
noise hits both alike; the result is the ratio of their latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time

from bench.hubproc import PASSWORD, running_hub
from bench.results import record
from client import HubClient, login


def show_event(rng: random.Random, n: int) -> tuple[str, object]:
    oid = f"obj{rng.randrange(40)}"
    roll = rng.random()
    if roll < 0.4:
        return "board", {"type": "moveTo", "object": {"id": oid, "x": rng.random(), "y": rng.random()}}
    if roll < 0.6:
        return "board", {"type": "placeObjectOnStage", "object": {"id": oid, "type": "prop", "src": f"/m/{oid}.png"}}
    if roll < 0.7:
        return "draw", {"type": "newLine", "command": {"type": "draw", "size": 2, "x": rng.random(), "lines": []}}
    if roll < 0.8:
        return "audio", {"id": rng.randrange(5), "isPlaying": rng.random() < 0.5, "currentTime": rng.randrange(60)}
    return "chat", {"message": f"line {n}"}


async def fill(url: str, token: str, slug: str, count: int) -> None:
    player = await HubClient(url, token=token).connect()
    await player.join(slug)
    rng = random.Random(slug)
    for n in range(count):
        topic, payload = show_event(rng, n)
        ack = await player.publish(topic, payload)
        assert ack["ok"], ack
    await player.close()


async def measure(url: str, slugs: list[str], joins: int) -> dict[str, list[float]]:
    client = await HubClient(url).connect()
    timings: dict[str, list[float]] = {slug: [] for slug in slugs}
    for _ in range(joins):
        for slug in slugs:
            started = time.perf_counter()
            ack = await client.join(slug)
            timings[slug].append((time.perf_counter() - started) * 1000)
            assert ack["ok"] and "state" in ack
    await client.close()
    return timings


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


async def run(joins: int, short: int, long: int) -> None:
    stages = {"short-show": "bench", "long-show": "bench"}
    with running_hub(stages, history_size="1000") as url:
        token = (await login(url, "bench", PASSWORD))["access_token"]
        await fill(url, token, "short-show", short)
        await fill(url, token, "long-show", long)
        timings = await measure(url, list(stages), joins)
    short_ms, long_ms = timings["short-show"], timings["long-show"]
    lines = [
        "| stage | past events | joins | join p50 ms | join p99 ms |",
        "|---|---|---|---|---|",
        f"| short-show | {short} | {joins} | {p(short_ms, 50):.2f} | {p(short_ms, 99):.2f} |",
        f"| long-show | {long} | {joins} | {p(long_ms, 50):.2f} | {p(long_ms, 99):.2f} |",
        "",
        f"Ratio long/short: p50 {p(long_ms, 50) / p(short_ms, 50):.2f}x, p99 {p(long_ms, 99) / p(short_ms, 99):.2f}x "
        "(1.0x means a join costs the size of the state, not the length of the show).",
    ]
    record("Join cost against show length", "bench.join_cost", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--joins", type=int, default=200)
    parser.add_argument("--short", type=int, default=10)
    parser.add_argument("--long", type=int, default=10_000)
    args = parser.parse_args()
    asyncio.run(run(args.joins, args.short, args.long))


if __name__ == "__main__":
    main()
