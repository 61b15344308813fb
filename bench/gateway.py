"""The federation gateway: events per second bridged between two hubs through Mosquitto, and the
latency the bridge adds over a hub-local delivery measured in the same run.

Two hub processes, one gateway process each (`python -m gateway`, configured by environment),
one private Mosquitto. A performer on hub A publishes board moves; an audience socket on A (the
baseline: local delivery) and one on B (bridged) time their arrival on this process's clock.

    .venv/bin/python -m bench.gateway [--rate 100 --seconds 10 --burst 2000] [--no-record]

The fault runs (a process killed, stopped or frozen mid-show) are `python -m bench.gateway_faults`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.hubproc import PASSWORD, HubProcess, hub_process
from bench.join_cost import p
from bench.mosquitto import running_mosquitto
from bench.proc import Child, ProcessError, free_port
from bench.results import record
from client import HubClient, login

SLUG, OWNER, SERVICE = "bench", "perf", "gateway"
NAMESPACE = "bench"


ROOT = Path(__file__).resolve().parent.parent


def metrics_text(port: int) -> str:
    """A gateway's /metrics text, or "" while it does not answer."""
    with contextlib.suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as resp:
        return str(resp.read().decode())
    return ""


def gateway_child(hub: HubProcess, broker_port: int, workdir: Path, **settings: str) -> tuple[Child, int]:
    """`python -m gateway` for one hub (this checkout's code, its position file under `workdir`),
    not started; with its metrics port. Ready once joined and on the broker."""
    metrics_port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HUB_")},
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "HUB_GATEWAY_HUB_URL": hub.url, "HUB_GATEWAY_USERNAME": SERVICE, "HUB_GATEWAY_PASSWORD": PASSWORD,
        "HUB_GATEWAY_BROKER_URL": f"mqtt://127.0.0.1:{broker_port}", "HUB_GATEWAY_NAMESPACE": NAMESPACE,
        "HUB_GATEWAY_STAGES": SLUG, "HUB_GATEWAY_METRICS_PORT": str(metrics_port), "HUB_GATEWAY_LOG_LEVEL": "WARNING",
        "HUB_GATEWAY_STATE_DIR": str(workdir / "state"),
        **{f"HUB_GATEWAY_{key.upper()}": value for key, value in settings.items()},
    }

    def ready() -> bool:
        text = metrics_text(metrics_port)
        return "gateway_broker_connected 1.0" in text and "gateway_hub_joins_total" in text

    command = [sys.executable, "-m", "gateway"]
    return Child("gateway", command, env, workdir / "gateway.log", ready, cwd=str(ROOT)), metrics_port


@contextlib.contextmanager
def gateway_process(hub: HubProcess, broker_port: int) -> Iterator[int]:
    """`python -m gateway` for one hub; yields its metrics port once it is joined and connected."""
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp:
        child, metrics_port = gateway_child(hub, broker_port, Path(tmp))
        try:
            child.start()
            yield metrics_port
        finally:
            child.close()
            if os.environ.get("BENCH_GATEWAY_LOGS"):
                print(child.log.read_text()[-3000:], file=sys.stderr)


async def _viewer(url: str) -> HubClient:
    client = await HubClient(url, timeout=60).connect()
    assert (await client.join(SLUG))["ok"]
    return client


def _arrivals(client: HubClient, tag: str) -> dict[int, float]:
    """Arrival time of each event of this phase, by its index."""
    return {e["payload"]["object"]["i"]: t for e, t in zip(client.events, client.arrivals, strict=True)
            if e["topic"] == "board" and e["payload"]["object"].get("tag") == tag}


async def _paced(player: HubClient, rate: float, seconds: float) -> dict[int, float]:
    """Publish at `rate` events/s; returns the send time of each index (this loop's clock)."""
    loop, sent = asyncio.get_running_loop(), {}
    count = round(rate * seconds)
    start = loop.time()
    for i in range(count):
        await asyncio.sleep(max(0.0, start + i / rate - loop.time()))
        sent[i] = loop.time()
        ack = await player.publish("board", {"type": "moveTo", "object": {"id": "a1", "i": i, "tag": "paced", "x": i}})
        assert ack["ok"], ack
    return sent


async def _burst(player: HubClient, count: int, in_flight: int = 32) -> None:
    async def one(i: int) -> None:
        ack = await player.publish("board", {"type": "moveTo", "object": {"id": f"b{i % 8}", "i": i, "tag": "burst"}})
        assert ack["ok"], ack

    for start in range(0, count, in_flight):
        await asyncio.gather(*(one(i) for i in range(start, min(count, start + in_flight))))


async def measure(hub_a: HubProcess, hub_b: HubProcess, rate: float, seconds: float, burst: int) -> dict[str, Any]:
    token = (await login(hub_a.url, OWNER, PASSWORD))["access_token"]
    player = await HubClient(hub_a.url, token=token, timeout=60).connect()
    await player.join(SLUG)
    local, bridged = await _viewer(hub_a.url), await _viewer(hub_b.url)
    try:
        sent = await _paced(player, rate, seconds)
        await bridged.wait_for(lambda c: len(_arrivals(c, "paced")) >= len(sent), timeout=60)
        at_a, at_b = _arrivals(local, "paced"), _arrivals(bridged, "paced")
        local_ms = [1000 * (at_a[i] - sent[i]) for i in sent]
        bridged_ms = [1000 * (at_b[i] - sent[i]) for i in sent]

        loop = asyncio.get_running_loop()
        began = loop.time()
        await _burst(player, burst)
        published = loop.time()
        await bridged.wait_for(lambda c: len(_arrivals(c, "burst")) >= burst, timeout=120)
        done = loop.time()
        duplicates = sum(1 for e in bridged.events if e["topic"] == "board") - len(sent) - burst
        return {
            "sent": len(sent), "received": len(at_b), "duplicates": duplicates,
            "local": (p(local_ms, 50), p(local_ms, 99)), "bridged": (p(bridged_ms, 50), p(bridged_ms, 99)),
            "burst": burst, "hub_rate": burst / (published - began), "bridged_rate": burst / (done - began),
        }
    finally:
        for client in (player, local, bridged):
            await client.close()


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def report(result: dict[str, Any], rate: float, seconds: float) -> list[str]:
    (l50, l99), (b50, b99) = result["local"], result["bridged"]
    return [
        "Two hub processes, a `python -m gateway` process each, one private Mosquitto, this process's clients; "
        f"unpinned, {os.cpu_count()} cores shared by all (and by whatever else runs on the machine). "
        "Latency is publish on hub A → arrival at an audience socket, on one clock.",
        "",
        f"Load average (1, 5, 15 min): {result['load_before']} before, {result['load_after']} after.",
        "",
        f"| paced {rate:g} events/s for {seconds:g} s | p50 ms | p99 ms |",
        "|---|---|---|",
        f"| hub A local (baseline) | {l50:.2f} | {l99:.2f} |",
        f"| hub B through the gateways and Mosquitto | {b50:.2f} | {b99:.2f} |",
        f"| added by the bridge | {b50 - l50:.2f} | {b99 - l99:.2f} |",
        f"| ratio bridged ÷ local | {b50 / l50:.2f}× | {b99 / l99:.2f}× |",
        "",
        f"Burst of {result['burst']} moves (32 publishes in flight): hub A accepted {result['hub_rate']:.0f} events/s; "
        f"all reached hub B at {result['bridged_rate']:.0f} events/s bridged end to end "
        f"(ratio {result['bridged_rate'] / result['hub_rate']:.2f}× of the hub's own rate). "
        f"Paced events received on B: {result['received']}/{result['sent']}, duplicates: {result['duplicates']}.",
    ]


async def run(rate: float, seconds: float, burst: int, recording: bool) -> dict[str, Any]:
    load_before = _load()
    with running_mosquitto() as broker:
        stage = {SLUG: OWNER}
        users = {SERVICE: "service"}
        with (
            hub_process(stage, users=users) as hub_a, hub_process(stage, users=users) as hub_b,
            gateway_process(hub_a, broker.tcp_port), gateway_process(hub_b, broker.tcp_port),
        ):
                await asyncio.sleep(0.5)  # subscriptions reach the broker
                result = await measure(hub_a, hub_b, rate, seconds, burst)
    result.update(load_before=load_before, load_after=_load())
    lines = report(result, rate, seconds)
    if recording:
        record("Federation gateway: two hubs through Mosquitto", "bench.gateway", lines)
    else:
        print("\n".join(lines))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway", description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="paced events/s (latency phase)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=2000, help="events in the throughput phase")
    parser.add_argument("--no-record", action="store_true", help="print only, do not append to RESULTS.md")
    args = parser.parse_args()
    try:
        result = asyncio.run(run(args.rate, args.seconds, args.burst, not args.no_record))
    except ProcessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0 if result["received"] == result["sent"] and result["duplicates"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
