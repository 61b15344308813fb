"""Federation fault runs (issue 15): how long two hubs take to converge after a gateway, the
broker or a hub is killed, stopped or frozen mid-show, and what the gateways sent again.

Each run starts fresh processes: two hubs (SQLite), a `python -m gateway` each (its position
file in the run's temp dir) and a private Mosquitto. A performer on hub A publishes chats
`<run>-<n>` at 50/s; a few seconds steady, the fault, the show goes on. What hub B holds is read
through the contract: a service connection on B reads B's archive (`history`) as it grows, so
lost, doubled and out-of-order ids and the moment B caught up are exact (to the poll, 50 ms).
The first run has no fault: its lag is the baseline the others are read against.

    flock /tmp/upstage-bench.lock .venv/bin/python -m bench.gateway_faults [--only NAME,...] [--no-record]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.fault_tally import Outcome, Replay, Stamped, combined, outcome, parse_metrics, replay
from bench.gateway import OWNER, SERVICE, SLUG, gateway_child, metrics_text
from bench.hubproc import PASSWORD, HubProcess, restartable_hub
from bench.mosquitto import restartable_mosquitto
from bench.proc import Child, ProcessError
from bench.results import record
from client import HubClient, login

RATE, BEFORE, AFTER, POLL = 50.0, 4.0, 6.0, 0.05


@dataclass
class Federation:
    """The run's processes: the broker, hubs and gateways by name ("a", "b"), each restartable."""

    broker: Child
    hubs: dict[str, tuple[HubProcess, Child]]
    gateways: dict[str, tuple[Child, int]]


@contextlib.contextmanager
def federation(persistence: bool) -> Iterator[Federation]:
    """Two hubs, a gateway each and a private Mosquitto, all started and ready; stopped on exit."""
    with contextlib.ExitStack() as stack:
        broker, broker_child = stack.enter_context(restartable_mosquitto(persistence=persistence))
        stage = {SLUG: OWNER}
        hubs = {
            name: stack.enter_context(restartable_hub(stage, users={SERVICE: "service"}, env={"HUB_ID": f"hub-{name}"}))
            for name in ("a", "b")
        }
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gateway-faults-")))
        gateways = {name: gateway_child(hub, broker.tcp_port, tmp / name) for name, (hub, _) in hubs.items()}
        for child, _ in gateways.values():
            stack.callback(child.close)
            child.start()
        time.sleep(0.5)  # the subscriptions reach the broker
        yield Federation(broker_child, hubs, gateways)


@dataclass
class Show:
    """The performer on hub A: chats `<tag>-<n>` at RATE/s, reconnecting through faults; `acked`
    holds each id the hub acknowledged (stored, by the contract) with the time of its ack."""

    url: str
    tag: str
    acked: list[Stamped] = field(default_factory=list)
    going: bool = True  # set False to end after the publish in flight (its ack is counted)

    async def run(self) -> None:
        client: HubClient | None = None
        loop, sent = asyncio.get_running_loop(), 0
        started = loop.time()
        try:
            while self.going:
                if client is None or not client.connected:
                    client = await _until_connected(self.url, OWNER)
                event_id = f"{self.tag}-{sent}"
                sent += 1
                try:
                    async with asyncio.timeout(5):
                        ack = await client.publish("chat", {"message": event_id, "id": event_id})
                except Exception:
                    ack = {}
                if ack.get("ok"):
                    self.acked.append((event_id, loop.time()))
                await asyncio.sleep(max(0.0, started + sent / RATE - loop.time()))
        finally:
            await _close(client)


async def _until_connected(url: str, username: str) -> HubClient:
    """A logged-in client joined to the stage, trying again every 0.2 s while the hub is away."""
    while (client := await _connected(url, username)) is None:
        await asyncio.sleep(0.2)
    return client


async def _connected(url: str, username: str) -> HubClient | None:
    """A logged-in client joined to the stage, or None while the hub is away."""
    try:
        token = (await login(url, username, PASSWORD))["access_token"]
        client = await HubClient(url, token=token, keep_events=False, timeout=5).connect()
        if not (await client.join(SLUG)).get("ok"):
            await client.close()
            return None
        return client
    except Exception:
        return None


@dataclass
class Observer:
    """A service connection on hub B reading B's archive as it grows (`history` after the last
    seq read; it survives B's restarts): `landed` is each chat of the show in B's archive order
    with the time it was first seen stored."""

    url: str
    tag: str
    landed: list[Stamped] = field(default_factory=list)
    after: int = 0

    async def run(self) -> None:
        client: HubClient | None = None
        loop = asyncio.get_running_loop()
        try:
            while True:
                if client is None or not client.connected:
                    client = await _until_connected(self.url, SERVICE)
                try:
                    ack = await client.history(self.after, 2**62, 1000)
                except Exception:
                    await client.close()
                    client = None
                    continue
                now = loop.time()
                for event in ack["events"]:
                    self.after = max(self.after, event["seq"])
                    chat = event["payload"].get("id") if event["topic"] == "chat" else None
                    if isinstance(chat, str) and chat.startswith(f"{self.tag}-"):
                        self.landed.append((chat, now))
                if not ack["more"]:
                    await asyncio.sleep(POLL)
        finally:
            await _close(client)


async def _close(client: HubClient | None) -> None:
    if client is not None and client.connected:
        await client.close()


def _now() -> float:
    return time.monotonic()  # the event loop's clock


Fault = Callable[[Federation, Show], Awaitable[tuple[float, float, set[str]]]]  # → fault at, back at, restarted


async def no_fault(fed: Federation, show: Show) -> tuple[float, float, set[str]]:
    """Mid-show, at the last ack: its convergence is one event's lag (poll included)."""
    at = show.acked[-1][1]
    return at, at, set()


def gateway_a_stopped(sig: int) -> Fault:
    async def fault(fed: Federation, show: Show) -> tuple[float, float, set[str]]:
        at = _now()
        await asyncio.to_thread(fed.gateways["a"][0].signal, sig)
        await asyncio.sleep(3)
        return at, await asyncio.to_thread(fed.gateways["a"][0].start), {"a"}
    return fault


async def broker_killed(fed: Federation, show: Show) -> tuple[float, float, set[str]]:
    at = _now()
    await asyncio.to_thread(fed.broker.signal, signal.SIGKILL)
    await asyncio.sleep(5)
    return at, await asyncio.to_thread(fed.broker.start), set()


async def gateway_b_frozen_across_broker_crash(fed: Federation, show: Show) -> tuple[float, float, set[str]]:
    at = _now()
    fed.gateways["b"][0].pause()
    await asyncio.to_thread(fed.broker.signal, signal.SIGKILL)
    await asyncio.sleep(2)
    await asyncio.to_thread(fed.broker.start)
    await asyncio.sleep(3)  # A is back on the broker and publishes; B's gateway is still frozen
    fed.gateways["b"][0].resume()
    return at, _now(), set()


async def hub_b_killed(fed: Federation, show: Show) -> tuple[float, float, set[str]]:
    at = _now()
    await asyncio.to_thread(fed.hubs["b"][1].signal, signal.SIGKILL)
    await asyncio.sleep(2)
    return at, await asyncio.to_thread(fed.hubs["b"][1].start), set()


async def hub_a_killed_gateway_waits(fed: Federation, show: Show) -> tuple[float, float, set[str]]:
    """Hub A killed while its gateway is frozen; the gateway thaws once the restarted hub has
    acked 150 more events, so its rejoin must read a new epoch's events from the archive."""
    at = _now()
    fed.gateways["a"][0].pause()
    await asyncio.to_thread(fed.hubs["a"][1].signal, signal.SIGKILL)
    before = len(show.acked)
    await asyncio.to_thread(fed.hubs["a"][1].start)
    for _ in range(300):
        if len(show.acked) >= before + 150:
            break
        await asyncio.sleep(0.1)
    fed.gateways["a"][0].resume()
    return at, _now(), set()


# name → (what happens, broker persistence, the fault)
RUNS: dict[str, tuple[str, bool, Fault]] = {
    "steady": ("no fault (baseline)", False, no_fault),
    "gw-a-kill": ("A's gateway kill -9, 3 s down", False, gateway_a_stopped(signal.SIGKILL)),
    "gw-a-term": ("A's gateway SIGTERM, 3 s down", False, gateway_a_stopped(signal.SIGTERM)),
    "broker-volatile": ("broker kill -9, 5 s down, `persistence false`", False, broker_killed),
    "broker-persistent": ("broker kill -9, 5 s down, `persistence true`", True, broker_killed),
    "gw-b-frozen": ("B's gateway SIGSTOP, broker kill -9 for 2 s, thawed 3 s after", False,
                    gateway_b_frozen_across_broker_crash),
    "hub-b-kill": ("hub B kill -9, 2 s down", False, hub_b_killed),
    "hub-a-kill": ("hub A kill -9, its gateway frozen until A acked 150 more", False, hub_a_killed_gateway_waits),
}


@dataclass(frozen=True)
class RunResult:
    name: str
    outcome: Outcome
    replay: Replay


async def _counters(fed: Federation) -> dict[str, dict[str, float]]:
    """Each gateway's counters now (empty while one does not answer)."""
    return {g: parse_metrics(await asyncio.to_thread(metrics_text, port)) for g, (_, port) in fed.gateways.items()}


async def one_run(name: str) -> RunResult:
    """One fault run on fresh processes: BEFORE s steady, the fault, AFTER s more, then wait (up
    to 90 s) until B holds every acked event, and 1 s more for anything doubled."""
    _, persistence, fault = RUNS[name]
    with federation(persistence) as fed:
        show, observer = Show(fed.hubs["a"][0].url, name), Observer(fed.hubs["b"][0].url, name)
        tasks = [asyncio.create_task(show.run()), asyncio.create_task(observer.run())]
        await asyncio.sleep(BEFORE)
        before = await _counters(fed)
        fault_at, back_at, restarted = await fault(fed, show)
        await asyncio.sleep(AFTER)
        show.going = False
        await tasks[0]
        deadline = _now() + 90
        while _now() < deadline and not {i for i, _ in show.acked} <= {i for i, _ in observer.landed}:
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)
        after = await _counters(fed)
        tasks[1].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    counters = {g: combined(before[g], after[g], g in restarted) for g in fed.gateways}
    held = len({event_id for event_id, _ in observer.landed})
    return RunResult(name, outcome(show.acked, observer.landed, fault_at, back_at),
                     replay(counters["a"], counters["b"], held))


def _s(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f}"


def _delays(delays: tuple[float, float, float] | None) -> str:
    return "none" if delays is None else " / ".join(f"{d:.2f}" for d in delays)


def report(results: list[RunResult]) -> list[str]:
    base = next((r.outcome.after_return for r in results if r.name == "steady"), None)
    lines = [
        f"Two hub processes (SQLite), a `python -m gateway` each, one private Mosquitto, a show of chats at "
        f"{RATE:g}/s on hub A: {BEFORE:g} s steady, the fault, {AFTER:g} s more; fresh processes for each run. "
        f"Unpinned, {os.cpu_count()} cores shared by every process (and whatever else ran). What hub B holds is "
        "read through the contract (a service connection polling B's archive with `history` every "
        f"{POLL * 1000:.0f} ms).",
        "",
        "Converged: the moment hub B's archive held every event A had acked up to the faulty process's return "
        "(restart issued, or thawed), counted from that return and from the fault; for the baseline, from a moment "
        "mid-show, the last ack (one event's lag, poll included). Delay: from A's ack of each event to its being "
        "seen in B's archive, p50 / p99 / max over the run.",
        "",
        "| run | fault | acked | lost | duplicated | out of order | converged after return s | after fault s "
        "| excess over baseline s | delay p50 / p99 / max s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        o = r.outcome
        excess = "" if o.after_return is None or base is None else f"{o.after_return - base:.2f}"
        lines.append(f"| {r.name} | {RUNS[r.name][0]} | {o.acked} | {o.lost} | {o.duplicated} | {o.out_of_order} "
                     f"| {_s(o.after_return)} | {_s(o.after_fault)} | {excess} | {_delays(o.delays)} |")
    lines += [
        "",
        "Replay, from the gateways' `/metrics` over the whole run (a restarted gateway's counts before the fault "
        "added): A's chats published, of them beyond one per chat B holds (sent again), A's rewinds (hellos "
        "answered), A's stage joins recovered/not; B's gateway: chats relayed into B, dropped on arrival as "
        "`duplicate` (seen id), `already_landed` (the hub held it), `awaiting_rewind` (before A's rewind marker), "
        "and so taken from the broker beyond one per chat B holds (received again). A gateway's counts between "
        "the read before the fault and its stop are not seen, so a restarted gateway's figures may be short by the "
        "events of that moment (one or two).",
        "",
        "| run | A published | sent again | rewinds | A joins rec./not | B relayed | duplicate | already_landed "
        "| awaiting_rewind | received again |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        p = r.replay
        lines.append(f"| {r.name} | {p.published:.0f} | {p.sent_again:.0f} | {p.rewinds:.0f} | {p.joins} "
                     f"| {p.relayed:.0f} | {p.duplicate:.0f} | {p.already_landed:.0f} | {p.awaiting_rewind:.0f} "
                     f"| {p.received_again:.0f} |")
    return lines


async def run_all(names: list[str]) -> list[RunResult]:
    results = []
    for name in names:
        print(f"run {name}: {RUNS[name][0]}", file=sys.stderr, flush=True)
        results.append(await one_run(name))
        print(f"  {results[-1].outcome}", file=sys.stderr, flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway_faults", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(RUNS), help=f"runs, comma-separated (of {', '.join(RUNS)})")
    parser.add_argument("--no-record", action="store_true", help="print only, do not append to RESULTS.md")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    if unknown := [n for n in names if n not in RUNS]:
        parser.error(f"unknown runs: {', '.join(unknown)}")
    try:
        results = asyncio.run(run_all(names))
    except ProcessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    lines = report(results)
    if args.no_record:
        print("\n".join(lines))
    else:
        record("Federation fault runs: convergence and replay (issue 15)", "bench.gateway_faults", lines)
    return 0 if all(r.outcome.clean and r.outcome.after_return is not None for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
