"""The control channel (hub/control/): one behavioural suite run against both engines, and the
outbox that re-sends what the channel refused.

`controls` gives the test a factory of processes on one channel: in memory (views made with
`sibling()`) and on the real Redis (one `RedisControl` per "process", on the test's own prefix).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from hub.control import (
    RESYNC,
    Control,
    ControlUnavailable,
    Handler,
    MemoryControl,
    Message,
    Outbox,
    RedisControl,
    open_control,
)
from tests.redisdb import REDIS_URL, closed_port, cut_subscription, own_prefix


class Inbox:
    """Collects what one process's handler receives."""

    def __init__(self) -> None:
        self.got: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.got.append(message)

    def kinds(self, exclude: str = RESYNC) -> list[str]:
        return [m["kind"] for m in self.got if m["kind"] != exclude]

    async def until(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.kinds()) < count:
            assert time.monotonic() < deadline, f"only {len(self.got)} of {count} messages arrived"
            await asyncio.sleep(0.005)


class Controls:
    """Processes on one control channel for one test: `open(inbox)` starts one more."""

    def __init__(self, engine: str, prefix: str) -> None:
        self.engine, self.prefix = engine, prefix
        self.opened: list[Control] = []

    async def open(self, inbox: Handler, node_id: str | None = None) -> Control:
        control: Control
        if self.engine == "redis":
            control = RedisControl(REDIS_URL, self.prefix, node_id, timeout=2.0)
        elif self.opened:
            first = self.opened[0]
            assert isinstance(first, MemoryControl)
            control = first.sibling(node_id)
        else:
            control = MemoryControl(node_id)
        self.opened.append(control)
        await control.start(inbox)
        return control


@pytest.fixture(params=("memory", "redis"))
async def controls(request: pytest.FixtureRequest) -> AsyncIterator[Controls]:
    async with contextlib.AsyncExitStack() as stack:
        prefix = await stack.enter_async_context(own_prefix()) if request.param == "redis" else ""
        made = Controls(request.param, prefix)
        try:
            yield made
        finally:
            for control in made.opened:
                await control.close()


async def test_every_other_process_gets_a_message_tagged_with_its_sender_and_never_the_sender(controls: Controls) -> None:
    inboxes = [Inbox(), Inbox(), Inbox()]
    one, two, three = [await controls.open(inbox, f"n{i}") for i, inbox in enumerate(inboxes)]
    await one.publish({"kind": "signout", "user": 7})
    await two.publish({"kind": "stage", "stage": 3, "slugs": ["a", "b"], "closes": False})
    await inboxes[0].until(1)
    await inboxes[1].until(1)
    await inboxes[2].until(2)
    await asyncio.sleep(0.1)  # nothing more comes, in particular not a process's own message
    assert inboxes[0].got == [{"kind": "stage", "stage": 3, "slugs": ["a", "b"], "closes": False, "node": "n1"}]
    assert inboxes[1].got == [{"kind": "signout", "user": 7, "node": "n0"}]
    assert [m["node"] for m in inboxes[2].got] == ["n0", "n1"]
    assert (one.node_id, two.node_id, three.node_id) == ("n0", "n1", "n2")


async def test_messages_arrive_in_the_order_they_were_sent(controls: Controls) -> None:
    sender, receiver = Inbox(), Inbox()
    one = await controls.open(sender)
    await controls.open(receiver)
    for n in range(50):
        await one.publish({"kind": "signout", "user": n})
    await receiver.until(50)
    assert [m["user"] for m in receiver.got] == list(range(50))
    assert sender.got == []


async def test_each_process_gets_a_random_id_of_its_own(controls: Controls) -> None:
    one, two = await controls.open(Inbox()), await controls.open(Inbox())
    assert one.node_id != two.node_id and len(one.node_id) == 12


async def test_a_failing_handler_does_not_stop_the_next_messages(controls: Controls) -> None:
    got: list[Message] = []

    async def handler(message: Message) -> None:
        got.append(message)
        if message["user"] == 1:
            raise RuntimeError("boom")

    one = await controls.open(Inbox())
    await controls.open(handler)
    await one.publish({"kind": "signout", "user": 1})
    await one.publish({"kind": "signout", "user": 2})
    deadline = time.monotonic() + 5
    while len(got) < 2:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.005)
    assert [m["user"] for m in got] == [1, 2]


async def test_the_redis_channel_is_one_under_the_prefix_and_garbage_on_it_is_skipped(redis_prefix: str) -> None:
    inbox = Inbox()
    receiver = RedisControl(REDIS_URL, redis_prefix, "r", timeout=2.0)
    sender = RedisControl(REDIS_URL, redis_prefix, "s", timeout=2.0)
    raw = aioredis.Redis.from_url(REDIS_URL)
    try:
        assert receiver.channel == f"{redis_prefix}control".encode()
        await receiver.start(inbox)
        for junk in (b"not json", b"[1, 2]", b'{"kind": "signout"}', b'{"node": "x"}'):  # the last two: untagged
            await raw.publish(f"{redis_prefix}control", junk)
        await raw.publish("upstage:control", b'{"kind": "signout", "user": 9, "node": "elsewhere"}')  # another prefix
        await sender.publish({"kind": "signout", "user": 1})
        await inbox.until(1)
        await asyncio.sleep(0.1)
        assert inbox.got == [{"kind": "signout", "user": 1, "node": "s"}]
        assert await raw.keys(f"{redis_prefix}*") == []  # a channel, no keys
    finally:
        await receiver.close()
        await sender.close()
        await raw.aclose()


async def test_an_unreachable_redis_raises_control_unavailable_fast() -> None:
    control = RedisControl(f"redis://127.0.0.1:{closed_port()}/0", "upstage:", timeout=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(ControlUnavailable):
            await control.publish({"kind": "signout", "user": 1})
        with pytest.raises(ControlUnavailable):
            await control.start(Inbox())
    finally:
        await control.close()
    assert time.monotonic() - started < 3


async def test_a_cut_subscription_comes_back_and_the_handler_is_told_to_resync(redis_prefix: str) -> None:
    """Redis drops a process's pub/sub connection: it reconnects and resubscribes by itself, and
    its handler gets a RESYNC (messages sent meanwhile are lost) with when the break was seen."""
    inbox = Inbox()
    receiver = RedisControl(REDIS_URL, redis_prefix, "r", timeout=2.0)
    sender = RedisControl(REDIS_URL, redis_prefix, "s", timeout=2.0)
    try:
        await receiver.start(inbox)
        await sender.publish({"kind": "signout", "user": 1})
        await inbox.until(1)
        cut_at = int(time.time() * 1000)
        await cut_subscription(f"{redis_prefix}control")
        deadline = time.monotonic() + 10
        while not any(m["kind"] == RESYNC for m in inbox.got):
            assert time.monotonic() < deadline, "the subscription never came back"
            await asyncio.sleep(0.02)
        resync = next(m for m in inbox.got if m["kind"] == RESYNC)
        assert resync["node"] == "r" and cut_at - 1000 <= resync["since"] <= int(time.time() * 1000)
        await sender.publish({"kind": "signout", "user": 2})
        await inbox.until(2)
        assert [m.get("user") for m in inbox.got if m["kind"] == "signout"] == [1, 2]
    finally:
        await receiver.close()
        await sender.close()


async def test_the_settings_choose_the_engine(redis_prefix: str) -> None:
    assert isinstance(open_control(""), MemoryControl)
    shared = open_control(REDIS_URL, redis_prefix, "me")
    try:
        assert isinstance(shared, RedisControl) and shared.channel == f"{redis_prefix}control".encode()
        assert shared.node_id == "me"
    finally:
        await shared.close()


# the outbox: what the channel refused is kept, logged and re-sent


async def memory_pair() -> tuple[MemoryControl, Inbox]:
    sender = MemoryControl("s")
    inbox = Inbox()
    await sender.start(Inbox())
    await sender.sibling("r").start(inbox)
    return sender, inbox


async def test_a_message_refused_during_an_outage_is_logged_and_sent_when_the_channel_is_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sender, inbox = await memory_pair()
    outbox = Outbox(sender, pause=0.01)
    try:
        assert await outbox.send({"kind": "signout", "user": 1}) is True
        sender.down = True
        with caplog.at_level("ERROR", logger="hub.control.outbox"):
            assert await outbox.send({"kind": "signout", "user": 2}) is False
        assert any("not sent" in r.getMessage() for r in caplog.records), caplog.records
        assert await outbox.send({"kind": "signout", "user": 3}) is False  # waits behind the first: order kept
        await asyncio.sleep(0.1)
        assert [m["user"] for m in inbox.got] == [1] and outbox.failures >= 2
        sender.down = False
        assert await outbox.flush(5.0)
        assert [m["user"] for m in inbox.got] == [1, 2, 3]
        assert outbox.dropped == 0
    finally:
        await outbox.close()


async def test_a_message_kept_past_its_time_is_dropped_with_an_error(caplog: pytest.LogCaptureFixture) -> None:
    sender, inbox = await memory_pair()
    outbox = Outbox(sender, pause=0.01, keep_for=0.05, size=2)
    try:
        sender.down = True
        with caplog.at_level("ERROR", logger="hub.control.outbox"):
            for user in range(3):  # the third pushes the first out
                await outbox.send({"kind": "signout", "user": user})
            await asyncio.sleep(0.3)
        assert outbox.dropped == 3 and not outbox.waiting
        assert any("dropped" in r.getMessage() for r in caplog.records)
        sender.down = False
        assert await outbox.send({"kind": "signout", "user": 9}) is True
        assert [m["user"] for m in inbox.got] == [9]
    finally:
        await outbox.close()


async def test_an_outbox_on_redis_sends_once_redis_answers_again(redis_prefix: str) -> None:
    """A process whose Redis connection cannot be made keeps the message and sends it when it can:
    here the first publishes go to a closed port, then the control's client is pointed back."""
    inbox = Inbox()
    receiver = RedisControl(REDIS_URL, redis_prefix, "r", timeout=2.0)
    sender = RedisControl(f"redis://127.0.0.1:{closed_port()}/0", redis_prefix, "s", timeout=0.5)
    outbox = Outbox(sender, pause=0.05)
    try:
        await receiver.start(inbox)
        assert await outbox.send({"kind": "signout", "user": 5}) is False
        working: Any = aioredis.Redis.from_url(REDIS_URL)
        sender._link.redis, broken = working, sender._link.redis  # Redis "comes back"
        await broken.aclose()
        assert await outbox.flush(5.0)
        await inbox.until(1)
        assert inbox.got == [{"kind": "signout", "user": 5, "node": "s"}]
    finally:
        await outbox.close()
        await receiver.close()
        await sender.close()
