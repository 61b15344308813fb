"""Fault during a show: one audience socket stops reading while performers publish enough to
overflow its buffer past the hard limit (`HUB_WRITE_HARD_LIMIT`).

The other clients keep receiving every event without undue delay; the stalled socket is
dropped; when it comes back (its session resumed, joining with `since` where it stopped) it
gets exactly the events it missed, or the state when they are no longer in the history; the
archive has every acked event once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from typing import Any

import orjson
import pytest

from client import HubClient, login
from tests.conftest import PASSWORD, SERIAL
from tests.faults import Member, Segment, check_segment, wait_until
from tests.nodeclient import QUICK_RECONNECT, NodeClients, node_clients
from tests.rawsio import RawWebSocket

pytestmark = SERIAL

PERFORMERS = ("pat", "pia")
LINE = "la " * 1300  # a chat line of about 4 KB: the stalled socket's buffer fills fast
IN_FLIGHT = 8  # publishes each performer keeps waiting for their ack
DELAY_BOUND = 5.0  # seconds: generous, the healthy clients must not wait for the stalled one


async def pump(performer: Member, until: asyncio.Event, acks: dict[str, dict[str, Any]], sent: dict[str, float]) -> None:
    """Publish chat lines as fast as acks come back, `IN_FLIGHT` at a time, until `until` is set."""
    n = 0
    while not until.is_set():
        batch = [f"{performer.name}-{n + k}" for k in range(IN_FLIGHT)]
        n += IN_FLIGHT
        for pid in batch:
            sent[pid] = time.monotonic()
        answers = await asyncio.gather(
            *(performer.publish("chat", {"message": f"{pid} {LINE}"}, pid, retry_unavailable=False) for pid in batch)
        )
        acks.update(zip(batch, answers, strict=True))


def seqs_and_ids(events: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(e["seq"], e["from"]["publishId"]) for e in events]


@pytest.mark.parametrize("history", ["within", "beyond"])
async def test_a_stalled_socket_is_dropped_others_go_on_and_it_recovers_what_it_missed(make_hub, history):
    hub = await make_hub(
        rate_limit=100_000.0, rate_burst=100_000, write_soft_limit=32 * 1024, write_hard_limit=256 * 1024,
        history_size=2000 if history == "within" else 20,
        recovery_bytes=64 * 1024 * 1024,  # "within": every bound of the history holds what it missed
    )  # fmt: skip
    await hub.stage("show", owner="olivia", players=PERFORMERS)
    performers = [
        await Member(hub.url, "show", (await login(hub.url, name, PASSWORD))["access_token"], name).open()
        for name in PERFORMERS
    ]
    audience = [await Member(hub.url, "show", name=f"viewer{i}").open() for i in range(2)]
    everyone = performers + audience
    stalled = await RawWebSocket(hub.url, tiny_buffer=True).open()
    joined = await stalled.call(1, "join", {"stage": "show"})
    assert joined["ok"] and joined["seq"] == 0, joined
    metrics = hub.node.metrics

    stop = asyncio.Event()
    acks: dict[str, dict[str, Any]] = {}
    sent: dict[str, float] = {}
    pumps = [asyncio.create_task(pump(p, stop, acks, sent)) for p in performers]
    await wait_until(lambda: metrics.slow_consumers_dropped._value.get() >= 1, "the stalled socket dropped", 30)
    dropped_at_seq = max((a["seq"] for a in acks.values() if a.get("ok")), default=0)
    await asyncio.sleep(0.5)  # the show goes on a moment after the drop
    stop.set()
    await asyncio.gather(*pumps)
    assert metrics.slow_consumers_dropped._value.get() == 1, "only the stalled socket is dropped"
    assert all(a["ok"] for a in acks.values()), [a for a in acks.values() if not a["ok"]][:3]

    # What reached the stalled socket before it was cut off: a prefix of the show, in order.
    seen: list[dict[str, Any]] = []
    try:
        while True:
            text = await stalled.next(timeout=2)
            if text.startswith('42["event"'):
                seen.append(orjson.loads(text[2:])[1])
    except (ConnectionError, TimeoutError):
        pass
    await stalled.close()
    seen_seqs = [e["seq"] for e in seen]
    assert seen_seqs == list(range(1, len(seen) + 1)), seen_seqs[:10]
    assert len(seen) < dropped_at_seq, "the stalled socket missed events: it was dropped, not served"

    # It comes back as the page does: its session resumed, joining with `since` where it stopped.
    back = HubClient(hub.url, session=joined["session"], resume=joined["resume"])
    await back.connect()
    since = {"epoch": joined["epoch"], "seq": seen_seqs[-1] if seen else 0}
    again = await back.call("join", {"stage": "show", "since": since})
    assert again["ok"] and again["session"] == joined["session"], again
    late = await performers[0].publish("chat", {"message": "pat-late"}, "pat-late", retry_unavailable=False)
    assert late["ok"], late
    acks["pat-late"], sent["pat-late"] = late, time.monotonic()
    await back.wait_for(lambda c: any(e["from"].get("publishId") == "pat-late" for e in c.events))
    after = [e for e in back.events if e["seq"] > again["seq"]]

    stored = await hub.store.archive.live_events((await hub.store.get_stage("show")).id)
    expected = [(e.seq, e.sender["publishId"]) for e in stored]
    assert [e.seq for e in stored] == list(range(1, len(stored) + 1))
    assert Counter(e.sender["publishId"] for e in stored) == Counter(acks.keys()), "every acked event stored once"
    assert all(acks[e.sender["publishId"]]["seq"] == e.seq for e in stored)

    if history == "within":
        assert again["recovered"] is True and "state" not in again
        assert seqs_and_ids(seen + again["events"] + after) == expected, "exactly the missed events, once"
    else:
        assert again["recovered"] is False, "the missed range is no longer in the history: the state"
        segment = Segment(again["epoch"], again["seq"], again["state"], after)
        check_segment(segment, "the stalled socket")
        assert seqs_and_ids(after) == expected[again["seq"] :]
        await audience[0].joined.wait()
        assert segment.view() == audience[0].segments()[-1].view(), "its stage is everyone's"
    await back.close()

    # The healthy clients were never dropped, got every event once in order, and without undue delay.
    await wait_until(lambda: all("pat-late" in m.arrivals for m in everyone), "everyone sees the last line")
    for member in everyone:
        segments = member.segments()
        assert len(segments) == 1 and member.disconnects == 0, member.name
        check_segment(segments[0], member.name)
        assert seqs_and_ids(segments[0].events) == expected, member.name
        delays = [member.arrivals[pid] - sent[pid] for pid in acks]
        assert max(delays) < DELAY_BOUND, f"{member.name} waited {max(delays):.1f} s for an event"
    for member in everyone:
        await member.close()


async def pump_board(performer: Member, until: asyncio.Event, acks: dict[str, dict[str, Any]]) -> None:
    """Publish big board objects (ten ids, so the stage's state stays small) as fast as acks come back."""
    n = 0
    while not until.is_set():
        batch = [f"{performer.name}-{n + k}" for k in range(IN_FLIGHT)]
        n += IN_FLIGHT
        answers = await asyncio.gather(*(
            performer.publish("board", {"type": "placeObjectOnStage", "object": {"id": f"o{pid[-1]}", "pid": pid, "pad": BIG}},
                              pid, retry_unavailable=False)
            for pid in batch
        ))  # fmt: skip
        acks.update(zip(batch, answers, strict=True))


BIG = "x" * 30_000
RECONNECTING = {"transport close", "transport error"}


async def test_a_frozen_official_client_is_dropped_and_recovers_by_itself(make_hub):
    """A browser tab that stops reading, played by the official Node socket.io-client in a process
    that is stopped (SIGSTOP): its sockets, one upgraded from long-polling, one WebSocket-only, are
    dropped past the hard limit; once the process runs again they reconnect by themselves, join
    with `since` and recover exactly what they missed."""
    hub = await make_hub(
        rate_limit=100_000.0, rate_burst=100_000, write_soft_limit=64 * 1024, write_hard_limit=1024 * 1024,
        recovery_bytes=64 * 1024 * 1024,  # it misses megabytes of 30 KB events: still recovered exactly
    )  # fmt: skip
    await hub.stage("show", owner="olivia", players=PERFORMERS)
    performers = [
        await Member(hub.url, "show", (await login(hub.url, name, PASSWORD))["access_token"], name).open()
        for name in PERFORMERS
    ]
    watcher = await Member(hub.url, "show", name="viewer").open()
    metrics = hub.node.metrics
    frozen: dict[str, dict[str, Any]] = {"node-default": {}, "node-websocket": {"transports": ["websocket"]}}
    async with node_clients() as node:
        for name, options in frozen.items():
            await node.open(name, hub.url, stage="show", **options, **QUICK_RECONNECT)
        first = {name: await node.joined(name) for name in frozen}
        await node.first(lambda r: r["name"] == "node-default" and r["report"] == "upgrade", "the upgrade")
        os.kill(node.process.pid, signal.SIGSTOP)
        try:
            stop = asyncio.Event()
            acks: dict[str, dict[str, Any]] = {}
            pumps = [asyncio.create_task(pump_board(p, stop, acks)) for p in performers]
            await wait_until(lambda: metrics.slow_consumers_dropped._value.get() >= len(frozen), "both dropped", 60)
            await asyncio.sleep(0.3)
            stop.set()
            await asyncio.gather(*pumps)
        finally:
            os.kill(node.process.pid, signal.SIGCONT)
        assert metrics.slow_consumers_dropped._value.get() == len(frozen)
        assert all(a["ok"] for a in acks.values())
        total = max(a["seq"] for a in acks.values())
        await node.wait(lambda: all(node_last_seq(node, n) == total for n in frozen), "the frozen clients", 30)
        stored = await hub.store.archive.live_events((await hub.store.get_stage("show")).id)
        expected = [(e.seq, e.sender["publishId"]) for e in stored]
        assert [e.seq for e in stored] == list(range(1, total + 1))
        assert Counter(e.sender["publishId"] for e in stored) == Counter(acks.keys())
        for name in frozen:
            joins = node.joins(name)
            assert len(joins) >= 2 and all(j["recovered"] for j in joins[1:]), name
            assert joins[-1]["session"] == first[name]["session"], f"{name} lost its session"
            assert {r["reason"] for r in node.of(name, "disconnect")} <= RECONNECTING, name
            assert seqs_and_ids(node.delivered(name)) == expected, f"{name}: every event once, in order"
    await wait_until(lambda: watcher.seq == total, "the watcher")
    assert watcher.disconnects == 0 and seqs_and_ids(watcher.segments()[0].events) == expected
    for member in [*performers, watcher]:
        await member.close()


def node_last_seq(node: NodeClients, name: str) -> int:
    delivered = node.delivered(name)
    return delivered[-1]["seq"] if delivered else 0
