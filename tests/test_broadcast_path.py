"""The fast broadcast path (hub/fanout.py): same bytes as python-socketio's stock path, in order,
without per-message compression, and with a bounded, coalescing backlog for slow sockets."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from tests.conftest import moving
from tests.rawsio import RawPolling, RawWebSocket

SHOW = [
    ("board", {"type": "placeObjectOnStage", "object": {"id": "bird", "type": "avatar", "x": 0.1, "name": "Bird ✓"}}),
    ("board", {"type": "moveTo", "object": {"id": "bird", "x": 0.5, "y": 0.25}}),
    ("chat", {"message": "hello <all> & \"friends\"", "id": "m1", "at": 1, "behavior": "shout"}),
    ("chat", {"message": "cue 3", "isPrivate": True, "id": "m2", "at": 2}),
    ("reaction", "❤️"),
    ("draw", {"type": "newLine", "command": {"type": "draw", "lines": [{"x": 0.1, "y": 0.2}] * 40}}),
    ("background", {"type": "setBackdropColor", "color": "#123456"}),
]


def normalised(frames: list[str], sessions: list[str]) -> list[str]:
    """Event frames with the hub clock and session ids (which differ between two hubs) blanked."""
    events = []
    for text in frames:
        if not text.startswith('42["event"'):
            continue
        at = orjson.loads(text[2:])[1]["at"]
        text = text.replace(f'"at":{at},', '"at":0,')
        for session in sessions:
            text = text.replace(session, "SESSION")
        events.append(text)
    return events


async def capture(make_hub, fanout: str) -> dict[str, list[str]]:
    hub = await make_hub(fanout=fanout, ping_interval=1.0, ping_timeout=1.0)
    await hub.stage("show", owner="olivia", players=("pat",))
    pat = await hub.joined("pat")
    ws, polling = await RawWebSocket(hub.url).open(), await RawPolling(hub.url).open()
    assert (await ws.call(1, "join", {"stage": "show"}))["ok"]
    assert (await polling.call(1, "join", {"stage": "show"}))["ok"]
    last = 0
    for topic, payload in SHOW:
        last = (await pat.publish(topic, payload))["seq"]
    audience_last = last if SHOW[-1][0] != "chat" else last - 1
    for client in (ws, polling):
        while f'"seq":{audience_last},' not in (client.frames[-1] if client.frames else ""):
            await client.next()
    captured = {
        "websocket": normalised(ws.frames, [pat.session]),
        "polling": normalised(polling.frames, [pat.session]),
    }
    await ws.close()
    await polling.close()
    return captured


async def test_wire_output_is_identical_to_the_stock_path(make_hub):
    stock = await capture(make_hub, "stock")
    direct = await capture(make_hub, "direct")
    assert len(direct["websocket"]) == len(SHOW) - 1  # the private chat is not for audience
    assert direct["websocket"] == stock["websocket"]
    assert direct["polling"] == stock["polling"]
    assert direct["websocket"] == direct["polling"]


async def test_per_message_compression_is_refused(make_hub):
    for fanout, negotiated in (("stock", True), ("direct", False)):
        hub = await make_hub(fanout=fanout)
        raw = await RawWebSocket(hub.url, compress=15).open()
        assert bool(raw.ws.compress) is negotiated, fanout
        await raw.close()


async def test_order_holds_across_the_polling_to_websocket_upgrade(make_hub):
    hub = await make_hub(rate_limit=10_000.0, rate_burst=10_000)
    await hub.stage("show", owner="olivia", players=("pat",))
    pat = await hub.joined("pat")
    async with moving(pat):
        watchers = []
        for _ in range(5):
            watcher = await hub.connect(transports=["polling", "websocket"])
            ack = await watcher.join("show")
            watchers.append((watcher, ack["seq"]))
        await asyncio.sleep(0.5)
    for watcher, start in watchers:
        assert watcher.sio.transport() == "websocket"
        await watcher.wait_for(lambda c: c.seq == pat.seq)
        seqs = [e["seq"] for e in watcher.events]
        assert seqs == list(range(start + 1, pat.seq + 1))


async def fill_until_backlogged(hub, pat, payload_for, limit: int = 400) -> int:
    """Publish until the hub reports a slow consumer; returns how many were published."""
    for n in range(limit):
        await pat.publish(*payload_for(n))
        if hub.node.metrics.slow_consumers._value.get() >= 1:
            return n + 1
    raise AssertionError("the stalled socket never became slow")


BIG = "x" * 30_000


async def test_a_stalled_socket_gets_superseded_moves_coalesced_and_nothing_else_lost(make_hub):
    hub = await make_hub(rate_limit=100_000.0, rate_burst=100_000, write_soft_limit=64 * 1024, write_hard_limit=64 * 1024 * 1024)
    await hub.stage("show", owner="olivia", players=("pat",))
    pat, healthy = await hub.connect("pat"), await hub.connect()
    await pat.join("show")
    await healthy.join("show")
    stalled = await RawWebSocket(hub.url, tiny_buffer=True).open()
    assert (await stalled.call(1, "join", {"stage": "show"}))["ok"]

    def move(n: int):
        return "board", {"type": "moveTo", "object": {"id": "bird", "x": n, "pad": BIG}}

    filled = await fill_until_backlogged(hub, pat, move)
    for n in range(filled, filled + 30):
        await pat.publish(*move(n))
        if n % 10 == 0:
            await pat.publish("chat", {"message": f"kept {n}", "id": f"c{n}", "at": n})
    last = pat.seq
    await healthy.wait_for(lambda c: c.seq == last)
    assert len(healthy.events) == filled + 33  # a healthy socket misses nothing

    seen: list[int] = []
    while not seen or seen[-1] != last:
        text = await stalled.next(timeout=10)
        if text.startswith('42["event"'):
            seen.append(orjson.loads(text[2:])[1]["seq"])
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert len(seen) < filled + 33, "superseded moves should have been dropped"
    chats = [e["seq"] for e in healthy.events if e["topic"] == "chat"]
    assert set(chats) <= set(seen), "events other than superseded moves are never dropped"
    assert hub.node.metrics.coalesced._value.get() > 0
    await stalled.close()


async def test_a_socket_past_the_hard_limit_is_dropped_and_others_are_unaffected(make_hub):
    hub = await make_hub(rate_limit=100_000.0, rate_burst=100_000, write_soft_limit=64 * 1024, write_hard_limit=512 * 1024)
    await hub.stage("show", owner="olivia", players=("pat",))
    pat, healthy = await hub.connect("pat"), await hub.connect()
    await pat.join("show")
    await healthy.join("show")
    stalled = await RawWebSocket(hub.url, tiny_buffer=True).open()
    assert (await stalled.call(1, "join", {"stage": "show"}))["ok"]
    metrics = hub.node.metrics
    for n in range(2000):
        await pat.publish("draw", {"type": "newLine", "command": {"n": n, "pad": BIG}})
        if metrics.slow_consumers_dropped._value.get() >= 1:
            break
    assert metrics.slow_consumers_dropped._value.get() == 1
    last = pat.seq
    await healthy.wait_for(lambda c: c.seq == last)
    assert [e["seq"] for e in healthy.events] == list(range(1, last + 1))
    with pytest.raises((ConnectionError, asyncio.TimeoutError)):
        for _ in range(10_000):
            await stalled.next(timeout=5)
    await healthy.wait_for(lambda c: c.presence["audience"] == 1)
    await stalled.close()


async def test_a_join_ack_always_precedes_the_events_after_it_on_the_wire(make_hub):
    hub = await make_hub(rate_limit=100_000.0, rate_burst=100_000)
    await hub.stage("show", owner="olivia", players=("pat",))
    pat = await hub.joined("pat")
    raw = await RawWebSocket(hub.url).open()
    async with moving(pat, in_flight=5):
        ack_seq: int | None = None
        epoch, last = "", 0  # of the previous round's ack and the events after it
        for round_ in range(40):
            since = None if ack_seq is None else last
            data = {"stage": "show"} if since is None else {"stage": "show", "since": {"epoch": epoch, "seq": since}}
            await raw.ws.send_str(f"42{round_}" + orjson.dumps(["join", data]).decode())
            while True:  # frames before the ack belong to the previous join and must continue it
                text = await raw.next()
                if text.startswith(f"43{round_}["):
                    ack = orjson.loads(text[len(f"43{round_}"):])[0]
                    break
                if text.startswith('42["event"'):
                    seq = orjson.loads(text[2:])[1]["seq"]
                    assert ack_seq is not None and seq == last + 1, (seq, last)
                    last = seq
            epoch, ack_seq = ack["epoch"], ack["seq"]
            if since is not None:
                assert ack["recovered"] is True
                assert [e["seq"] for e in ack["events"]] == list(range(since + 1, ack_seq + 1))
            last = ack_seq
            for _ in range(3):  # the events after the ack continue exactly after it
                text = await raw.next()
                if text.startswith('42["event"'):
                    seq = orjson.loads(text[2:])[1]["seq"]
                    assert seq == last + 1, f"event {seq} after an ack at {ack_seq}"
                    last = seq
    await raw.close()
