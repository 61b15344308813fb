"""Join cost against show length: a stage with 10 past events versus one with 10,000.

Both stages get the same 10 set-up events; the long one then has 9,990 moves of the objects
already on stage, so both end with states of the same size. The hub answers a join from the
live state, so the two should cost the same; the original UpStage replayed the whole log. Joins
alternate between the stages so machine noise hits both alike; the result is the ratio of their
latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time

import orjson

from bench.hubproc import PASSWORD, running_hub
from bench.results import record
from client import HubClient, login

SETUP = [
    ("board", {
        "type": "placeObjectOnStage",
        "object": {"id": f"obj{i}", "type": "prop", "x": 0.1, "y": 0.1, "src": f"/m/{i}.png"},
    })
    for i in range(8)
] + [("background", {"type": "setBackdropColor", "color": "#102030"}), ("chat", {"message": "places please"})]


def move(rng: random.Random) -> tuple[str, object]:
    """A move of an object already on stage: the show grows longer, the state does not grow."""
    moved = {"id": f"obj{rng.randrange(8)}", "x": round(rng.random(), 3), "y": 0.5}
    return "board", {"type": "moveTo", "object": moved}


async def fill(url: str, token: str, slug: str, count: int) -> None:
    """The same 10 set-up events on every stage, then moves until the show has `count` events."""
    player = await HubClient(url, token=token).connect()
    await player.join(slug)
    rng = random.Random(slug)
    for topic, payload in SETUP + [move(rng) for _ in range(count - len(SETUP))]:
        ack = await player.publish(topic, payload)
        assert ack["ok"], ack
    await player.close()


async def measure(url: str, slugs: list[str], joins: int) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Join latency per stage, joins alternating between stages; and each stage's state size."""
    client = await HubClient(url).connect()
    timings: dict[str, list[float]] = {slug: [] for slug in slugs}
    sizes = {slug: len(orjson.dumps((await client.join(slug))["state"])) for slug in slugs}
    for _ in range(joins):
        for slug in slugs:
            started = time.perf_counter()
            ack = await client.join(slug)
            timings[slug].append((time.perf_counter() - started) * 1000)
            assert ack["ok"] and "state" in ack
    await client.close()
    return timings, sizes


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


async def run(joins: int, short: int, long: int) -> None:
    stages = {"short-show": "bench", "long-show": "bench"}
    with running_hub(stages, history_size="1000") as url:
        token = (await login(url, "bench", PASSWORD))["access_token"]
        await fill(url, token, "short-show", short)
        await fill(url, token, "long-show", long)
        timings, sizes = await measure(url, list(stages), joins)
    short_ms, long_ms = timings["short-show"], timings["long-show"]
    lines = [
        "| stage | past events | state bytes | joins | join p50 ms | join p99 ms |",
        "|---|---|---|---|---|---|",
        f"| short-show | {short} | {sizes['short-show']} | {joins} | {p(short_ms, 50):.2f} | {p(short_ms, 99):.2f} |",
        f"| long-show | {long} | {sizes['long-show']} | {joins} | {p(long_ms, 50):.2f} | {p(long_ms, 99):.2f} |",
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
