"""The stage log (hub/stagelog/): one behavioural suite run against both engines.

`logs` gives the test a factory of logs on one shared log: in memory (views made with
`sibling()`, as processes on one Redis would be) and on the real Redis (one `RedisStageLog` per
"process", all on the test's own key prefix, deleted after it).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from hub.stagelog import (
    Draft,
    Fenced,
    FenceTimeout,
    LogUnavailable,
    MemoryStageLog,
    Position,
    RedisStageLog,
    StageLog,
    Unseeded,
    open_stage_log,
)
from storage import EVERYONE, PERFORMERS, Event
from tests.redisdb import REDIS_URL, closed_port, cut_subscription, own_prefix

ENGINES = ("memory", "redis")


class Logs:
    """Stage logs for one test: `open()` a log, `twin(log)` another process on the same log."""

    def __init__(self, engine: str, prefix: str) -> None:
        self.engine = engine
        self.prefix = prefix
        self.opened: list[StageLog] = []

    def open(self, history_size: int = 2000, history_age: float = 600.0) -> StageLog:
        self.size, self.age = history_size, history_age
        log: StageLog
        if self.engine == "memory":
            log = MemoryStageLog(history_size, history_age, create_unknown=True)
        else:
            log = RedisStageLog(REDIS_URL, self.prefix, history_size, history_age, timeout=5.0, create_unknown=True)
        self.opened.append(log)
        return log

    def twin(self, log: StageLog) -> StageLog:
        twin: StageLog
        if isinstance(log, MemoryStageLog):
            twin = log.sibling()
        else:
            twin = RedisStageLog(REDIS_URL, self.prefix, self.size, self.age, timeout=5.0, create_unknown=True)
        self.opened.append(twin)
        return twin


@pytest.fixture(params=ENGINES)
async def logs(request: pytest.FixtureRequest) -> AsyncIterator[Logs]:
    async with contextlib.AsyncExitStack() as stack:
        prefix = await stack.enter_async_context(own_prefix()) if request.param == "redis" else ""
        made = Logs(request.param, prefix)
        try:
            yield made
        finally:
            for log in made.opened:
                await log.close()


def draft(n: int, topic: str = "chat", **extra: Any) -> Draft:
    return Draft(topic, {"message": f"line {n}", "n": n}, int(time.time() * 1000), {"session": "s1", "nickname": "Ada"}, **extra)


class Follower:
    """Collects what a log delivers for one stage."""

    def __init__(self) -> None:
        self.got: list[tuple[Event, str]] = []

    def __call__(self, event: Event, epoch: str) -> None:
        self.got.append((event, epoch))

    @property
    def seqs(self) -> list[int]:
        return [event.seq for event, _ in self.got]

    async def until(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.got) < count:
            assert time.monotonic() < deadline, f"only {len(self.got)} of {count} events arrived"
            await asyncio.sleep(0.005)


async def test_seq_goes_up_by_one_per_stage_and_stages_are_independent(logs: Logs) -> None:
    log = logs.open()
    assert await log.position(1) is None
    one = [await log.append(1, draft(n)) for n in range(3)]
    two = [await log.append(2, draft(n)) for n in range(2)]
    assert [e.seq for e, _ in one] == [1, 2, 3] and [e.seq for e, _ in two] == [1, 2]
    epoch = one[0][1]
    assert all(ep == epoch for _, ep in one)
    assert await log.position(1) == Position(epoch, 3)
    assert await log.position(2) == Position(two[0][1], 2)
    event, _ = one[1]
    assert (event.stage_id, event.topic, event.payload) == (1, "chat", {"message": "line 1", "n": 1})


async def test_the_draft_comes_back_whole_from_append_read_and_follow(logs: Logs) -> None:
    log = logs.open()
    follower = Follower()
    await log.follow(7, follower)
    sent = Draft("chat", {"message": "héllo ✨", "nested": [1, 2.5, None, {"a": True}]}, 1_700_000_000_123,
                 {"session": "s9", "nickname": "Zoë", "role": "player"}, PERFORMERS, "s2")  # fmt: skip
    event, epoch = await log.append(7, sent)
    assert event == Event(7, 1, sent.topic, sent.payload, sent.at, sent.sender, PERFORMERS, "s2")
    assert await log.read(7, Position(epoch, 0)) == [event]
    await follower.until(1)
    assert follower.got == [(event, epoch)]


async def test_a_retried_append_with_its_key_returns_the_first_and_appends_nothing(logs: Logs) -> None:
    log = logs.open()
    other = logs.twin(log)
    follower = Follower()
    await log.follow(1, follower)
    first = await log.append(1, draft(1), key="session:s1:p1")
    again = await other.append(1, draft(99), key="session:s1:p1")  # another process, another body
    assert again == first
    assert again.duplicate and not first.duplicate, "the engine says which answer is a retry's"
    third = await log.append(1, draft(2), key="session:s1:p2")
    assert third[0].seq == 2
    assert (await log.position(1)) == Position(first[1], 2)
    await follower.until(2)
    await asyncio.sleep(0.05)
    assert follower.seqs == [1, 2], "the retried append was published again"
    assert (await log.append(2, draft(1), key="session:s1:p1"))[0].stage_id == 2, "keys are per stage"


async def test_recall_answers_a_key_without_appending(logs: Logs) -> None:
    log = logs.open()
    other = logs.twin(log)
    assert await log.recall(1, "session:s1:p1") is None, "a stage the log knows nothing of"
    first = await log.append(1, draft(1), key="session:s1:p1")
    recalled = await other.recall(1, "session:s1:p1")  # another process
    assert recalled == first and recalled is not None and recalled.duplicate
    assert await other.recall(1, "session:s1:p2") is None
    assert await other.recall(2, "session:s1:p1") is None, "keys are per stage"
    assert (await log.position(1)) == Position(first[1], 1), "recall appends nothing"


async def test_one_key_appended_at_once_by_two_processes_is_one_event(logs: Logs) -> None:
    a = logs.open()
    b = logs.twin(a)
    results = await asyncio.gather(*(log.append(1, draft(n), key="relay:hub-b:42") for n in range(5) for log in (a, b)))
    assert all(result == results[0] for result in results)
    assert await a.position(1) == Position(results[0][1], 1)


async def test_read_gives_exactly_the_missed_events_or_none(logs: Logs) -> None:
    log = logs.open()
    assert await log.read(1, Position("any.0", 0)) is None, "a stage the log knows nothing of"
    appended = [await log.append(1, draft(n)) for n in range(5)]
    epoch = appended[0][1]
    events = [e for e, _ in appended]
    assert await log.read(1, Position(epoch, 2)) == events[2:]
    assert await log.read(1, Position(epoch, 0)) == events
    assert await log.read(1, Position(epoch, 5)) == [], "at the head"
    assert await log.read(1, Position(epoch, 6)) is None, "past the head"
    assert await log.read(1, Position("other.0", 2)) is None, "another epoch"


async def test_read_is_none_for_a_range_trimmed_by_size(logs: Logs) -> None:
    log = logs.open(history_size=5)
    events = [(await log.append(1, draft(n)))[0] for n in range(20)]
    epoch = (await log.position(1) or Position("", 0)).epoch
    assert await log.read(1, Position(epoch, 15)) == events[15:]
    assert await log.read(1, Position(epoch, 14)) is None, "event 15 is no longer kept"
    assert await log.read(1, Position(epoch, 3)) is None
    assert await log.read(1, Position(epoch, 20)) == []


async def test_read_is_none_for_a_range_trimmed_by_age(logs: Logs) -> None:
    log = logs.open(history_age=0.3)
    [await log.append(1, draft(n), key=f"k{n}") for n in range(3)]
    epoch = (await log.position(1) or Position("", 0)).epoch
    assert len(await log.read(1, Position(epoch, 0)) or []) == 3
    await asyncio.sleep(0.45)
    assert await log.read(1, Position(epoch, 0)) is None
    assert await log.read(1, Position(epoch, 2)) is None
    assert await log.read(1, Position(epoch, 3)) == []
    fourth, _ = await log.append(1, draft(3))
    assert await log.read(1, Position(epoch, 3)) == [fourth]
    assert await log.read(1, Position(epoch, 2)) is None
    again, _ = await log.append(1, draft(0), key="k0")
    assert again.seq == 5, "a key is remembered only as long as the history's age"


async def test_seed_starts_an_empty_stage_and_never_resets_one(logs: Logs) -> None:
    log = logs.open(history_size=3)
    now = int(time.time() * 1000)
    stored = [Event(1, seq, "chat", {"n": seq}, now - 1000 + seq, {"session": "s"}, EVERYONE, None) for seq in range(37, 42)]
    assert await log.seed(1, Position("base.2", 41), stored) == Position("base.2", 41)
    assert await log.position(1) == Position("base.2", 41)
    assert await log.read(1, Position("base.2", 38)) == stored[2:], "the last history_size events are kept"
    assert await log.read(1, Position("base.2", 37)) is None
    event, epoch = await log.append(1, draft(1))
    assert (event.seq, epoch) == (42, "base.2")
    assert await log.seed(1, Position("other.0", 10), []) == Position("base.2", 42), "a seeded log is never reset"
    assert await log.position(1) == Position("base.2", 42)
    old = [Event(2, 5, "chat", {}, now - 3_600_000, {}, EVERYONE, None)]
    assert await log.seed(2, Position("x.0", 5), old) == Position("x.0", 5)
    assert await log.read(2, Position("x.0", 4)) is None, "a stored event past the history's age is not kept"
    assert await log.read(2, Position("x.0", 5)) == []


async def test_a_new_epoch_empties_the_history_and_the_seq_continues(logs: Logs) -> None:
    log = logs.open()
    old = (await log.append(1, draft(0)))[1]
    for n in range(1, 3):
        await log.append(1, draft(n))
    assert await log.new_epoch(1, "swept.0") == Position("swept.0", 3)
    assert await log.position(1) == Position("swept.0", 3)
    assert await log.read(1, Position(old, 3)) is None
    assert await log.read(1, Position("swept.0", 3)) == []
    assert await log.read(1, Position("swept.0", 2)) is None, "the old epoch's events are gone"
    event, epoch = await log.append(1, draft(3))
    assert (event.seq, epoch) == (4, "swept.0")
    assert await log.read(1, Position("swept.0", 3)) == [event]
    assert await log.new_epoch(9, "fresh.0") == Position("fresh.0", 0)


async def test_a_new_epoch_reaches_every_follower_with_its_position(logs: Logs) -> None:
    a = logs.open()
    b = logs.twin(a)
    restarts: list[Position] = []
    on_b = Follower()
    await b.follow(1, on_b, restarts.append)
    await a.append(1, draft(0))
    await a.new_epoch(1, "swept.0")
    event, _ = await a.append(1, draft(1))
    await on_b.until(2)
    assert restarts == [Position("swept.0", 1)]
    assert on_b.got[-1] == (event, "swept.0")


async def test_an_unknown_stage_is_refused_until_seeded(logs: Logs) -> None:
    made = logs.open()
    strict: StageLog
    strict = MemoryStageLog() if isinstance(made, MemoryStageLog) else RedisStageLog(REDIS_URL, logs.prefix)
    logs.opened.append(strict)
    with pytest.raises(Unseeded):
        await strict.append(4, draft(0))
    assert await strict.position(4) is None, "a refused append leaves nothing behind"
    await strict.seed(4, Position("db.1", 10), [])
    event, epoch = await strict.append(4, draft(1))
    assert (event.seq, epoch) == (11, "db.1")
    assert strict.shared == (not isinstance(strict, MemoryStageLog))


async def test_appends_are_refused_while_the_stage_is_fenced_on_any_process(logs: Logs) -> None:
    a = logs.open()
    b = logs.twin(a)
    await a.append(1, draft(0))
    async with a.fence(1) as token:
        with pytest.raises(Fenced):
            await b.append(1, draft(1))
        with pytest.raises(Fenced):
            await b.append(1, draft(1), fence="not-the-token")
        assert (await b.append(2, draft(1)))[0].seq == 1, "other stages go on"
        assert (await a.append(1, draft(2), fence=token))[0].seq == 2, "the holder appends"
    assert (await b.append(1, draft(3)))[0].seq == 3


async def test_a_seeded_event_keeps_its_idempotency_key(logs: Logs) -> None:
    log = logs.open()
    stored = Event(3, 8, "chat", {"message": "hi"}, int(time.time() * 1000), {"session": "s1"})
    await log.seed(3, Position("db.0", 8), [stored], {8: "session:s1:p8"})
    assert await log.append(3, draft(1), key="session:s1:p8") == (stored, "db.0")
    assert (await log.append(3, draft(2), key="session:s1:p9"))[0].seq == 9


async def test_a_read_heavier_than_asked_is_a_gap(logs: Logs) -> None:
    log = logs.open()
    appended = [await log.append(1, Draft("chat", {"message": "x" * 1000}, 1, {})) for _ in range(5)]
    epoch = appended[0][1]
    assert await log.read(1, Position(epoch, 0), most=3000) is None, "about 5 KB of events"
    assert len(await log.read(1, Position(epoch, 3), most=3000) or []) == 2
    assert len(await log.read(1, Position(epoch, 0)) or []) == 5, "no bound"


async def test_followers_on_two_processes_get_every_event_in_one_order(logs: Logs) -> None:
    a = logs.open()
    b = logs.twin(a)
    on_a, on_b = Follower(), Follower()
    await a.follow(1, on_a)
    await b.follow(1, on_b)
    returned = [await a.append(1, draft(0)), await b.append(1, draft(1))]
    returned += await asyncio.gather(*(log.append(1, draft(n)) for n in range(2, 42) for log in (a, b)))
    await on_a.until(82)
    await on_b.until(82)
    assert on_a.seqs == on_b.seqs == list(range(1, 83))
    assert on_a.got == on_b.got == sorted(returned, key=lambda r: r[0].seq)


async def test_unfollow_stops_delivery_and_only_followed_stages_arrive(logs: Logs) -> None:
    a = logs.open()
    b = logs.twin(a)
    follower, other = Follower(), Follower()
    await a.follow(1, follower)
    await a.follow(3, other)
    await b.append(1, draft(0))
    await b.append(2, draft(0))  # not followed
    await follower.until(1)
    await a.unfollow(1)
    await b.append(1, draft(1))
    await b.append(3, draft(0))
    await other.until(1)
    await asyncio.sleep(0.05)
    assert follower.seqs == [1]
    assert [(e.stage_id, e.seq) for e, _ in other.got] == [(3, 1)]
    await a.follow(1, follower)
    await b.append(1, draft(2))
    await follower.until(2)
    assert follower.seqs == [1, 3], "following again delivers from then on; the consumer sees the jump"


async def test_the_fence_excludes_a_second_holder_across_processes(logs: Logs) -> None:
    a = logs.open()
    b = logs.twin(a)
    order: list[str] = []

    async def second() -> None:
        async with b.fence(1, timeout=5):
            order.append("b in")

    async with a.fence(1):
        with pytest.raises(FenceTimeout):
            async with b.fence(1, timeout=0.2):
                pass
        async with b.fence(2, timeout=0.2):  # another stage is not held
            pass
        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.1)
        order.append("a out")
    async with asyncio.timeout(5):
        await waiting
    assert order == ["a out", "b in"]
    with pytest.raises(RuntimeError):
        async with a.fence(1):
            raise RuntimeError("the sweep failed")
    async with b.fence(1, timeout=0.5):
        pass  # released by the exception


@pytest.mark.parametrize("seed", range(4))
async def test_random_interleavings_reach_every_follower_once_in_order(logs: Logs, seed: int) -> None:
    rng = random.Random(seed)
    a = logs.open()
    b = logs.twin(a)
    followers = [Follower(), Follower()]
    await a.follow(5, followers[0])
    await b.follow(5, followers[1])
    total = 0
    for _ in range(rng.randint(5, 15)):
        burst = [rng.choice((a, b)) for _ in range(rng.randint(1, 8))]
        if rng.random() < 0.5:
            await asyncio.gather(*(log.append(5, draft(total + i)) for i, log in enumerate(burst)))
        else:
            for i, log in enumerate(burst):
                await log.append(5, draft(total + i))
        total += len(burst)
        if rng.random() < 0.3:
            await asyncio.sleep(0)
    for follower in followers:
        await follower.until(total)
    await asyncio.sleep(0.02)
    for follower in followers:
        assert follower.seqs == list(range(1, total + 1))
    position = await a.position(5)
    assert position is not None and position.seq == total
    assert [e.seq for e in await b.read(5, Position(position.epoch, 0)) or []] == list(range(1, total + 1))


async def test_an_unreachable_redis_raises_log_unavailable_fast() -> None:
    log = RedisStageLog(f"redis://127.0.0.1:{closed_port()}/0", "upstage:", timeout=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(LogUnavailable):
            await log.append(1, draft(0), key="k")
        with pytest.raises(LogUnavailable):
            await log.read(1, Position("e.0", 0))
        with pytest.raises(LogUnavailable):
            await log.position(1)
        with pytest.raises(LogUnavailable):
            await log.follow(1, Follower())
        with pytest.raises(LogUnavailable):
            async with log.fence(1, timeout=0.1):
                pass
    finally:
        await log.close()
    assert time.monotonic() - started < 3


async def test_every_key_and_channel_is_under_the_prefix(redis_prefix: str) -> None:
    import redis.asyncio as aioredis

    log = RedisStageLog(REDIS_URL, redis_prefix, history_age=5, create_unknown=True)
    watcher = aioredis.Redis.from_url(REDIS_URL)
    try:
        pubsub = watcher.pubsub()
        await pubsub.psubscribe("*")
        await log.append(4, draft(0), key="k")
        async with log.fence(4):
            keys = sorted(k.decode() if isinstance(k, bytes) else k for k in await watcher.keys(f"{redis_prefix}*"))
        channels: list[str] = []
        for _ in range(50):
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if message is not None and message["channel"].decode().startswith(redis_prefix):
                channels.append(message["channel"].decode())
                break
        await pubsub.aclose()
        names: Callable[[str], str] = lambda name: f"{redis_prefix}stage:{{4}}:{name}"  # noqa: E731
        assert keys == sorted([names("fence"), names("key:k"), names("log"), names("meta")])
        assert channels == [f"{redis_prefix}stage:4"]
    finally:
        await log.close()
        await watcher.aclose()


async def test_the_settings_choose_the_engine(redis_prefix: str) -> None:
    memory = open_stage_log("", history_size=10)
    assert isinstance(memory, MemoryStageLog)
    shared = open_stage_log(REDIS_URL, redis_prefix, 10, 60)
    try:
        assert isinstance(shared, RedisStageLog) and shared.prefix == redis_prefix
        await shared.seed(1, Position("e.0", 0), [])
        assert (await shared.append(1, draft(0)))[0].seq == 1
    finally:
        await shared.close()
        await memory.close()


async def test_a_cut_subscription_comes_back_and_the_follower_sees_the_jump(redis_prefix: str) -> None:
    """Redis drops the log's pub/sub connection: the log reconnects and resubscribes by itself;
    what was published meanwhile is lost to the follower, which sees it as a seq jump (the
    consumer then resynchronises with `read`)."""
    log = RedisStageLog(REDIS_URL, redis_prefix, timeout=2.0, create_unknown=True)
    follower = Follower()
    try:
        await log.follow(1, follower)
        await log.append(1, draft(0))
        await follower.until(1)
        await cut_subscription(f"{redis_prefix}stagelog")
        await log.append(1, draft(1))  # published while nobody of ours listens
        deadline = time.monotonic() + 10
        while len(follower.got) < 2:
            assert time.monotonic() < deadline, "the subscription never came back"
            await log.append(1, draft(2))
            await asyncio.sleep(0.05)
        seqs = follower.seqs
        assert seqs == sorted(set(seqs)) and seqs[0] == 1 and seqs[1] > 2, seqs
        position = await log.position(1)
        assert position is not None
        missed = await log.read(1, Position(position.epoch, 1))
        assert missed is not None and [e.seq for e in missed][: seqs[1] - 1] == list(range(2, seqs[1] + 1))
    finally:
        await log.close()


async def test_a_fence_whose_holder_died_lapses_and_a_live_holder_keeps_it(redis_prefix: str) -> None:
    import redis.asyncio as aioredis

    a = RedisStageLog(REDIS_URL, redis_prefix, fence_ttl=0.3, create_unknown=True)
    b = RedisStageLog(REDIS_URL, redis_prefix, fence_ttl=0.3, create_unknown=True)
    admin = aioredis.Redis.from_url(REDIS_URL)
    try:
        # a holder that died: its token is there, nobody renews it
        await admin.set(f"{redis_prefix}stage:{{1}}:fence", "dead", px=300)
        started = time.monotonic()
        async with b.fence(1, timeout=3):
            assert 0.1 < time.monotonic() - started < 2
        async with a.fence(1):
            await asyncio.sleep(1.0)  # three TTLs: only renewal keeps it
            with pytest.raises(FenceTimeout):
                async with b.fence(1, timeout=0.2):
                    pass
        assert await admin.exists(f"{redis_prefix}stage:{{1}}:fence") == 0, "released on exit"
    finally:
        await a.close()
        await b.close()
        await admin.aclose()


async def test_a_burst_of_appends_waits_for_a_pooled_connection(redis_prefix: str) -> None:
    """More concurrent appends than connections: they queue for one, none is refused."""
    log = RedisStageLog(REDIS_URL, redis_prefix, connections=3, create_unknown=True)
    try:
        results = await asyncio.gather(*(log.append(1, draft(n)) for n in range(500)))
        assert sorted(event.seq for event, _ in results) == list(range(1, 501))
    finally:
        await log.close()
