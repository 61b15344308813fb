"""The roster (hub/roster/): presence across processes, one behavioural suite run on both engines.

`rosters` gives the test a factory of "processes" on one shared roster: in memory (views sharing
one store, as `sibling()` makes them) and on the real Redis (one `RedisRoster` per process, all on
the test's own key prefix, deleted after it).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from hub.presence import StagePresence
from hub.roster import (
    Coalescer,
    MemoryRoster,
    Part,
    Performer,
    RedisRoster,
    Roster,
    RosterUnavailable,
    Snapshots,
    open_roster,
    part_of,
)
from tests.redisdb import REDIS_URL, closed_port, cut_subscription, own_prefix

ENGINES = ("memory", "redis")


class Rosters:
    """Roster processes for one test: `node("a")` opens process "a" on the test's shared roster."""

    def __init__(self, engine: str, prefix: str) -> None:
        self.engine = engine
        self.prefix = prefix
        self.opened: list[Roster] = []
        self._root: MemoryRoster | None = None

    def node(self, node_id: str, ttl: float = 15.0, grace: float = 30.0) -> Roster:
        roster: Roster
        if self.engine == "redis":
            roster = RedisRoster(REDIS_URL, self.prefix, node_id, ttl=ttl, grace=grace, timeout=5.0)
        elif self._root is None:
            roster = self._root = MemoryRoster(node_id, ttl=ttl, grace=grace)
        else:
            roster = self._root.sibling(node_id)
            roster.ttl, roster.grace = ttl, grace
        self.opened.append(roster)
        return roster


@pytest.fixture(params=ENGINES)
async def rosters(request: pytest.FixtureRequest) -> AsyncIterator[Rosters]:
    async with contextlib.AsyncExitStack() as stack:
        prefix = await stack.enter_async_context(own_prefix()) if request.param == "redis" else ""
        made = Rosters(request.param, prefix)
        try:
            yield made
        finally:
            for roster in made.opened:
                await roster.close()


def performer(session: str, nickname: str | None = None, role: str = "player") -> Performer:
    return Performer(session, nickname or session.title(), role)


def counts(message: dict[str, Any]) -> tuple[int, int]:
    return message["players"], message["audience"]


def holders(message: dict[str, Any]) -> dict[str, str | None]:
    return {entry["session"]: entry["avatarId"] for entry in message["roster"]}


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 5.0, what: str = "condition") -> float:
    """Wait for `check()`; returns the seconds it took."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < timeout, f"{what} never came"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


class Notices:
    """Collects the stage ids a watcher is told of."""

    def __init__(self) -> None:
        self.got: list[int] = []

    def __call__(self, stage_id: int) -> None:
        self.got.append(stage_id)

    async def more_than(self, count: int, timeout: float = 5.0) -> None:
        async def arrived() -> bool:
            return len(self.got) > count

        await until(arrived, timeout, f"notice {count + 1}")


async def test_counts_and_rosters_are_summed_over_every_process(rosters: Rosters) -> None:
    a, b = rosters.node("a"), rosters.node("b")
    await a.publish(1, Part(3, (performer("pat"),)))
    await b.publish(1, Part(2, (performer("quinn", role="owner"),)))
    await b.publish(2, Part(7))
    expected = {
        "players": 2,
        "audience": 5,
        "roster": [
            {"session": "pat", "nickname": "Pat", "role": "player", "avatarId": None},
            {"session": "quinn", "nickname": "Quinn", "role": "owner", "avatarId": None},
        ],
    }
    assert await a.snapshot(1) == expected and await b.snapshot(1) == expected
    assert await a.snapshot(2) == {"players": 0, "audience": 7, "roster": []}
    # a publish replaces the process's part; a session in two parts (a reload overlapping on two
    # processes) is one entry
    await b.publish(1, Part(1, (performer("quinn", role="owner"), performer("pat", "Pat on b"))))
    message = await a.snapshot(1)
    assert counts(message) == (2, 4) and [e["nickname"] for e in message["roster"]] == ["Pat", "Quinn"]
    # an empty part withdraws it
    await b.publish(1, Part())
    assert counts(await a.snapshot(1)) == (1, 3)
    assert await rosters.node("c").snapshot(3) == {"players": 0, "audience": 0, "roster": []}


async def test_overlapping_publishes_of_one_process_end_with_its_latest_part(rosters: Rosters) -> None:
    a, b = rosters.node("a"), rosters.node("b")
    for _ in range(5):
        await asyncio.gather(*(a.publish(1, Part(n)) for n in range(1, 41)))
        assert counts(await b.snapshot(1)) == (0, 40)
        await asyncio.gather(*(a.publish(1, Part(n)) for n in range(40, 0, -1)))
        assert counts(await b.snapshot(1)) == (0, 1)


async def test_a_slow_write_never_lets_an_older_part_land_after_a_newer_one() -> None:
    rng = random.Random(7)
    landed: list[int] = []

    class Slow(MemoryRoster):
        async def _touch(self, stage_id: int, part: Part | None) -> None:
            await asyncio.sleep(rng.random() * 0.03)  # as a Redis round trip on a busy pool
            if part is not None:
                landed.append(part.audience)
            await super()._touch(stage_id, part)

    a = Slow("a")
    try:

        async def publish(n: int) -> None:
            await asyncio.sleep(n * 0.001)
            await a.publish(1, Part(n))

        await asyncio.gather(*(publish(n) for n in range(1, 41)), a.beat(), a.beat())
        assert counts(await a.snapshot(1)) == (0, 40)
        assert landed == sorted(landed) and len(landed) < 40, landed  # in order; overlapping ones coalesced
    finally:
        await a.close()


async def test_a_part_expires_after_its_ttl_when_its_process_stops_heartbeating(rosters: Rosters) -> None:
    a, b = rosters.node("a", ttl=0.5), rosters.node("b", ttl=0.5)
    await a.publish(1, Part(1, (performer("pat"),)))
    await b.publish(1, Part(4, (performer("quinn"),)))
    await asyncio.sleep(1.2)  # more than two ttls: only the heartbeat keeps the parts alive
    assert counts(await a.snapshot(1)) == (2, 5)
    await b.close(withdraw=False)  # b dies: no goodbye, no more heartbeats
    assert counts(await a.snapshot(1)) == (2, 5)

    async def gone() -> bool:
        return counts(await a.snapshot(1)) == (1, 1)

    took = await until(gone, 3, "the dead process's part to expire")
    assert took <= 0.5 + 0.4, "within its ttl (and a poll)"
    await asyncio.sleep(0.7)
    assert counts(await a.snapshot(1)) == (1, 1), "the live process's part stays"


async def test_a_clean_close_withdraws_the_parts_at_once_and_stops_heartbeats(rosters: Rosters) -> None:
    a, b = rosters.node("a", ttl=0.5), rosters.node("b", ttl=0.5)
    await b.publish(1, Part(2, (performer("quinn"),)))
    await b.publish(2, Part(1))
    await b.close()
    assert counts(await a.snapshot(1)) == (0, 0) and counts(await a.snapshot(2)) == (0, 0)
    with pytest.raises(RosterUnavailable):
        await b.publish(1, Part(1))
    await asyncio.sleep(0.7)  # a heartbeat after close would bring a part back
    assert counts(await a.snapshot(1)) == (0, 0)


async def test_the_newest_avatar_claim_wins_across_processes(rosters: Rosters) -> None:
    a, b = rosters.node("a"), rosters.node("b")
    await a.publish(1, Part(0, (performer("pat"),)))
    await b.publish(1, Part(0, (performer("quinn"),)))
    await a.hold(1, "pat", "bird")
    assert holders(await b.snapshot(1)) == {"pat": "bird", "quinn": None}
    await b.hold(1, "quinn", "bird")
    assert holders(await a.snapshot(1)) == {"pat": None, "quinn": "bird"}
    # one avatar per session: a new claim lets the old one go
    await b.hold(1, "quinn", "cat")
    assert holders(await a.snapshot(1)) == {"pat": None, "quinn": "cat"}
    await a.hold(1, "pat", "bird")
    await a.hold(1, "pat", "cat")
    assert holders(await b.snapshot(1)) == {"pat": "cat", "quinn": None}
    await b.hold(1, "quinn", "bird")
    assert holders(await b.snapshot(1)) == {"pat": "cat", "quinn": "bird"}, "bird was free"
    # release
    await a.hold(1, "pat", None)
    assert holders(await b.snapshot(1)) == {"pat": None, "quinn": "bird"}
    assert holders(await b.snapshot(2)) == {}, "holds are per stage"


async def test_concurrent_claims_leave_one_holder_per_avatar_and_one_avatar_per_session(rosters: Rosters) -> None:
    a, b = rosters.node("a"), rosters.node("b")
    sessions = [f"s{n}" for n in range(6)]
    await a.publish(1, Part(0, tuple(performer(s) for s in sessions[:3])))
    await b.publish(1, Part(0, tuple(performer(s) for s in sessions[3:])))
    rng = random.Random(14)
    claims = [(rng.choice((a, b)), rng.choice(sessions), rng.choice(("bird", "cat", "dog"))) for _ in range(60)]
    await asyncio.gather(*(roster.hold(1, session, avatar) for roster, session, avatar in claims))
    held = [avatar for avatar in holders(await a.snapshot(1)).values() if avatar is not None]
    assert len(held) == len(set(held)) and held, held


async def test_a_hold_survives_a_leave_and_rejoin_within_the_grace_and_goes_after_it(rosters: Rosters) -> None:
    a, b = rosters.node("a", grace=0.6), rosters.node("b", grace=0.6)
    await a.publish(1, Part(0, (performer("pat"), performer("quinn"))))
    await a.hold(1, "pat", "bird")
    await a.hold(1, "quinn", "cat")
    await a.publish(1, Part(0, (performer("quinn"),)))  # pat's tab reloads...
    assert holders(await b.snapshot(1)) == {"quinn": "cat"}
    await b.publish(1, Part(0, (performer("pat"),)))  # ...and lands on another process
    assert holders(await a.snapshot(1)) == {"quinn": "cat", "pat": "bird"}
    await asyncio.sleep(0.8)
    assert holders(await a.snapshot(1)) == {"quinn": "cat", "pat": "bird"}, "a live session keeps its hold"

    await b.publish(1, Part())  # pat leaves for longer than the grace
    await asyncio.sleep(0.8)
    await b.publish(1, Part(0, (performer("pat"),)))
    assert holders(await a.snapshot(1)) == {"quinn": "cat", "pat": None}

    await a.publish(1, Part())  # quinn leaves; within the grace pat claims cat: the newest claim wins
    await b.hold(1, "pat", "cat")
    await a.publish(1, Part(0, (performer("quinn"),)))
    assert holders(await a.snapshot(1)) == {"quinn": None, "pat": "cat"}


async def test_a_dead_process_s_performers_keep_their_holds_for_the_grace(rosters: Rosters) -> None:
    a, b = rosters.node("a", ttl=0.4, grace=1.0), rosters.node("b", ttl=0.4, grace=1.0)
    await b.publish(1, Part(0, (performer("pat"), performer("quinn"))))
    await b.hold(1, "pat", "bird")
    await b.hold(1, "quinn", "cat")
    await b.close(withdraw=False)

    async def expired() -> bool:
        return counts(await a.snapshot(1)) == (0, 0)

    await until(expired, 3, "the dead part to expire")
    await a.publish(1, Part(0, (performer("pat"),)))  # pat reconnects to a, within the grace
    assert holders(await a.snapshot(1)) == {"pat": "bird"}
    await asyncio.sleep(1.2)
    await a.publish(1, Part(0, (performer("pat"), performer("quinn"))))  # quinn, after it
    assert holders(await a.snapshot(1)) == {"pat": "bird", "quinn": None}


async def test_a_claim_made_before_the_part_is_published_is_kept(rosters: Rosters) -> None:
    a = rosters.node("a", grace=0.5)
    await a.hold(1, "pat", "bird")
    await a.publish(1, Part(0, (performer("pat"),)))
    await asyncio.sleep(0.7)
    assert holders(await a.snapshot(1)) == {"pat": "bird"}
    await a.hold(1, "ghost", "cat")  # a claim whose session never shows up lapses after the grace
    await asyncio.sleep(0.7)
    await a.publish(1, Part(0, (performer("pat"), performer("ghost"))))
    assert holders(await a.snapshot(1)) == {"pat": "bird", "ghost": None}


async def test_watchers_are_told_of_another_process_s_changes(rosters: Rosters) -> None:
    a, b = rosters.node("a"), rosters.node("b")
    notices = Notices()
    await a.watch(1, notices)
    await b.publish(1, Part(1))
    await notices.more_than(0)
    await b.publish(1, Part(2, (performer("pat"),)))
    await notices.more_than(1)
    await b.hold(1, "pat", "bird")
    await notices.more_than(2)
    await b.publish(1, Part())
    await notices.more_than(3)
    assert set(notices.got) == {1}
    seen = len(notices.got)
    await b.publish(2, Part(5))  # not a watched stage
    await b.hold(1, "pat", "bird")  # no change
    await b.publish(1, Part(1))
    await b.beat()  # the same part again (a heartbeat) changes nothing
    await notices.more_than(seen)
    await asyncio.sleep(0.2)
    assert notices.got == [1] * (seen + 1)
    await a.unwatch(1)
    await b.publish(1, Part(3))
    await asyncio.sleep(0.2)
    assert len(notices.got) == seen + 1


async def test_watchers_are_told_when_a_dead_process_s_part_expires(rosters: Rosters) -> None:
    a, b = rosters.node("a", ttl=0.5), rosters.node("b", ttl=0.5)
    notices = Notices()
    await a.watch(1, notices)
    await b.publish(1, Part(3))
    await notices.more_than(0)
    seen = len(notices.got)
    await b.close(withdraw=False)
    started = time.monotonic()
    await notices.more_than(seen, timeout=3)  # nobody reads: a's heartbeat sweeps the stage
    assert time.monotonic() - started <= 0.5 + 0.5 / 3 + 0.5, "within ttl + a heartbeat"
    assert counts(await a.snapshot(1)) == (0, 0)


async def test_a_failing_watcher_does_not_stop_the_others(rosters: Rosters) -> None:
    a, b, c = rosters.node("a"), rosters.node("b"), rosters.node("c")

    def broken(stage_id: int) -> None:
        raise RuntimeError("boom")

    notices = Notices()
    await a.watch(1, broken)
    await a.watch(2, notices)
    await b.watch(1, notices)
    await c.publish(1, Part(1))
    await c.publish(2, Part(1))
    await notices.more_than(1)
    assert sorted(notices.got) == [1, 2]


async def test_an_unreachable_redis_raises_roster_unavailable_fast() -> None:
    roster = RedisRoster(f"redis://127.0.0.1:{closed_port()}/0", "upstage:", "a", ttl=0.3, timeout=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(RosterUnavailable):
            await roster.publish(1, Part(1))
        with pytest.raises(RosterUnavailable):
            await roster.hold(1, "pat", "bird")
        with pytest.raises(RosterUnavailable):
            await roster.snapshot(1)
        with pytest.raises(RosterUnavailable):
            await roster.watch(1, Notices())
        await roster.beat()  # a failed heartbeat is logged, not raised
    finally:
        await roster.close()
    assert time.monotonic() - started < 3


async def test_snapshots_keep_the_last_answer_while_the_roster_is_unreachable() -> None:
    class Flaky(MemoryRoster):
        down = False

        async def snapshot(self, stage_id: int) -> dict[str, Any]:
            if self.down:
                raise RosterUnavailable("down")
            return await super().snapshot(stage_id)

    roster = Flaky("a")
    snapshots = Snapshots(roster)
    try:
        await roster.publish(1, Part(2, (performer("pat"),)))
        seen = await snapshots.get(1)
        assert counts(seen) == (1, 2)
        roster.down = True
        assert await snapshots.get(1) == seen, "frozen, not emptied"
        assert await snapshots.get(2) == {"players": 0, "audience": 0, "roster": []}
        assert counts(await snapshots.get(3, lambda: {"players": 1, "audience": 9, "roster": []})) == (1, 9)
        roster.down = False
        await roster.publish(1, Part(5))
        assert counts(await snapshots.get(1)) == (0, 5)
    finally:
        await roster.close()


async def test_the_coalescer_sends_once_per_interval_and_never_twice_at_once() -> None:
    sent: list[tuple[int, float]] = []
    running: set[int] = set()
    overlapped = False

    async def send(stage_id: int) -> None:
        nonlocal overlapped
        overlapped = overlapped or stage_id in running
        running.add(stage_id)
        sent.append((stage_id, time.monotonic()))
        await asyncio.sleep(0.3)  # a slow snapshot
        running.discard(stage_id)

    coalescer = Coalescer(0.1, send)
    try:
        for _ in range(20):
            coalescer.changed(1)
        coalescer.changed(2)
        await asyncio.sleep(0.2)
        assert sorted(s for s, _ in sent) == [1, 2]
        for _ in range(5):  # during stage 1's slow send: one more send, after it
            coalescer.changed(1)
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.6)
        assert [s for s, _ in sent].count(1) == 2 and not overlapped
        coalescer.changed(1)
        await coalescer.cancel(1)
        await asyncio.sleep(0.2)
        assert [s for s, _ in sent].count(1) == 2, "a cancelled send never happens"
    finally:
        await coalescer.close()


def test_a_process_s_part_comes_from_its_stage_presence() -> None:
    presence = StagePresence()
    presence.join("pat", "sid1", "Pat", "player")
    presence.join("ann", "sid2", "Ann", "audience")
    presence.join("bob", "sid3", "Bob", "audience")
    presence.join("olivia", "sid4", "Olivia", "owner")
    presence.join("pat", "sid5", "Pat", "player")  # a second tab of one session
    assert part_of(presence) == Part(2, (Performer("pat", "Pat", "player"), Performer("olivia", "Olivia", "owner")))
    presence.leave("ann", "sid2")
    presence.leave("bob", "sid3")
    presence.leave("olivia", "sid4")
    assert part_of(presence) == Part(0, (Performer("pat", "Pat", "player"),))


async def test_every_key_and_channel_is_under_the_prefix_and_expires(redis_prefix: str) -> None:
    import redis.asyncio as aioredis

    roster = RedisRoster(REDIS_URL, redis_prefix, "a", ttl=5.0, grace=10.0)
    watcher = aioredis.Redis.from_url(REDIS_URL)
    try:
        pubsub = watcher.pubsub()
        await pubsub.psubscribe("*")
        await roster.publish(4, Part(1, (performer("pat"),)))
        await roster.hold(4, "ghost", "bird")  # a hold with a grace: every key exists
        keys = sorted(k.decode() if isinstance(k, bytes) else k for k in await watcher.keys(f"{redis_prefix}*"))
        channels: set[str] = set()
        for _ in range(20):
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if message is not None and message["channel"].decode().startswith(redis_prefix):
                channels.add(message["channel"].decode())
        await pubsub.aclose()
        assert keys == [f"{redis_prefix}roster:{{4}}:{name}" for name in ("alive", "grace", "holds", "parts")]
        assert channels == {f"{redis_prefix}roster:4"}
        for key in keys:
            assert 0 < await watcher.pttl(key) <= 2 * (5000 + 10000), "a stage everybody left leaves nothing behind"
    finally:
        await roster.close()
        await watcher.aclose()


async def test_a_watcher_whose_subscription_was_cut_is_told_once_it_is_back(redis_prefix: str) -> None:
    """Redis drops the roster's pub/sub connection: it resubscribes by itself, and since changes
    made meanwhile were not noticed, the watcher is told once it is back."""
    a = RedisRoster(REDIS_URL, redis_prefix, "a", timeout=2.0)
    b = RedisRoster(REDIS_URL, redis_prefix, "b", timeout=2.0)
    notices = Notices()
    try:
        await a.watch(1, notices)
        await b.publish(1, Part(1))
        await notices.more_than(0)
        seen = len(notices.got)
        await cut_subscription(f"{redis_prefix}roster")
        await b.publish(1, Part(2))  # while nobody of a's listens
        await notices.more_than(seen, timeout=10)
        assert counts(await a.snapshot(1)) == (0, 2)
    finally:
        await a.close()
        await b.close()


async def test_the_settings_choose_the_engine(redis_prefix: str) -> None:
    memory = open_roster("", node_id="a", ttl=3, grace=4)
    assert isinstance(memory, MemoryRoster) and (memory.node_id, memory.ttl, memory.grace) == ("a", 3, 4)
    shared = open_roster(REDIS_URL, redis_prefix, "b", ttl=3, grace=4)
    try:
        assert isinstance(shared, RedisRoster) and shared.prefix == redis_prefix and shared.node_id == "b"
        await shared.publish(1, Part(2))
        assert counts(await shared.snapshot(1)) == (0, 2)
        assert open_roster("").node_id != open_roster("").node_id, "a random node id by default"
    finally:
        await shared.close()
        await memory.close()
