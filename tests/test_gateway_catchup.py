"""Reading what a join could not replay from the hub's archive (issue 15, item 3), with a fake
hub: each event under the epoch it belongs to, a new epoch that begins below what was already
published, and real gaps counted once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from client import HubError
from gateway.backoff import Backoff
from gateway.catchup import catch_up
from gateway.config import BrokerConfig
from gateway.metrics import GatewayMetrics
from gateway.mqtt import MqttLink


@dataclass
class FakeGateway:
    metrics: GatewayMetrics = field(default_factory=GatewayMetrics)
    link: Any = None


@dataclass
class FakeBridge:
    """What catch_up uses of a StageBridge: `last_seq`, `_event` (in seq order, once), metrics."""

    last_seq: int
    slug: str = "show"
    gateway: FakeGateway = field(default_factory=FakeGateway)
    published: list[tuple[str, int]] = field(default_factory=list)
    given_up: bool = False  # a rewind gave the connection up

    def check_current(self, client: Any) -> None:
        if self.given_up:
            raise RuntimeError("given up")

    def _event(self, event: dict[str, Any], epoch: str | None = None) -> None:
        if event["seq"] > self.last_seq:
            self.last_seq = event["seq"]
            assert epoch is not None
            self.published.append((epoch, event["seq"]))

    @property
    def gaps(self) -> int:
        return self.gateway.metrics.dropped_count("out", "history_gap")


class FakeHub:
    """`history` over an archive holding `seqs`; refuses with `refusal` when set."""

    def __init__(self, seqs: list[int], refusal: str | None = None) -> None:
        self.seqs, self.refusal, self.calls = seqs, refusal, 0

    async def history(self, after: int, upto: int, limit: int) -> dict[str, Any]:
        self.calls += 1
        if self.refusal:
            raise HubError(self.refusal, "no")
        found = [{"seq": s, "topic": "chat", "payload": {}} for s in self.seqs if after < s <= upto]
        return {"ok": True, "events": found[:limit], "more": len(found) > limit}


async def test_same_epoch_reads_the_range_in_pages():
    bridge, hub = FakeBridge(10), FakeHub(list(range(1, 1300)))
    await catch_up(bridge, hub, {"epoch": "e0", "seq": 10}, {"epoch": "e0", "seq": 1200})  # type: ignore[arg-type]
    assert bridge.published == [("e0", s) for s in range(11, 1201)]
    assert hub.calls == 3 and bridge.gaps == 0


async def test_a_rewind_during_a_catch_up_stops_it_before_the_next_page_is_published():
    """A peer's hello rewinds the bridge (issue 15, item 2): the connection is given up, and what
    its catch-up read is not published: the rejoin reads again from further back, in order."""
    bridge = FakeBridge(10)

    class RewoundHub(FakeHub):
        async def history(self, after: int, upto: int, limit: int) -> dict[str, Any]:
            page = await super().history(after, upto, limit)
            bridge.given_up = self.calls == 2
            return page

    with pytest.raises(RuntimeError):
        await catch_up(bridge, RewoundHub(list(range(1, 1300))), {"epoch": "e0", "seq": 10}, {"epoch": "e0", "seq": 1200})  # type: ignore[arg-type]
    assert bridge.published == [("e0", s) for s in range(11, 511)], "the first page only"


async def test_a_crash_splits_the_range_at_epoch_start():
    bridge, hub = FakeBridge(50), FakeHub(list(range(1, 71)))
    await catch_up(bridge, hub, {"epoch": "e0", "seq": 50}, {"epoch": "e1", "seq": 70, "epochStart": 60})  # type: ignore[arg-type]
    assert bridge.published == [("e0", s) for s in range(51, 61)] + [("e1", s) for s in range(61, 71)]
    assert bridge.gaps == 0


async def test_a_new_epoch_below_what_was_published_is_published_whole():
    """Published up to 57 of e0; the hub stored only up to 55 and began e1 there: e1's 56, 57
    are new events, not the old ones."""
    bridge, hub = FakeBridge(57), FakeHub(list(range(1, 81)))
    await catch_up(bridge, hub, {"epoch": "e0", "seq": 57}, {"epoch": "e1", "seq": 80, "epochStart": 55})  # type: ignore[arg-type]
    assert bridge.published == [("e1", s) for s in range(56, 81)]
    assert bridge.gaps == 0


async def test_swept_events_are_one_gap():
    bridge, hub = FakeBridge(10), FakeHub(list(range(31, 41)))  # 11-30 were swept into a performance
    await catch_up(bridge, hub, {"epoch": "e0", "seq": 10}, {"epoch": "e1", "seq": 40, "epochStart": 30})  # type: ignore[arg-type]
    assert bridge.published == [("e1", s) for s in range(31, 41)]
    assert bridge.gaps == 1


async def test_an_epoch_without_a_known_start_is_a_gap():
    bridge, hub = FakeBridge(10), FakeHub(list(range(1, 41)))
    await catch_up(bridge, hub, {"epoch": "e0", "seq": 10}, {"epoch": "e1", "seq": 40})  # type: ignore[arg-type]
    assert bridge.published == [] and hub.calls == 0 and bridge.gaps == 1


async def test_a_refusal_is_a_gap_and_unavailable_is_retried():
    bridge = FakeBridge(10)
    await catch_up(bridge, FakeHub([], "forbidden"), {"epoch": "e0", "seq": 10}, {"epoch": "e0", "seq": 40})  # type: ignore[arg-type]
    assert bridge.gaps == 1
    with pytest.raises(HubError):
        await catch_up(bridge, FakeHub([], "unavailable"), {"epoch": "e0", "seq": 10}, {"epoch": "e0", "seq": 40})  # type: ignore[arg-type]


async def test_a_long_catch_up_waits_for_room_in_the_outbox():
    """A page is read only when the outbox can take it: nothing is dropped from a full buffer."""
    link = MqttLink(BrokerConfig(), "gw", lambda *_: None, GatewayMetrics(), 600, Backoff(0.1, 1), 1024)
    bridge, hub = FakeBridge(0), FakeHub(list(range(1, 1001)))
    bridge.gateway.link = link

    def publish(event: dict[str, Any], epoch: str | None = None) -> None:
        link.publish("t", b"x", [])

    bridge._event = publish  # type: ignore[method-assign]
    task = asyncio.create_task(catch_up(bridge, hub, {"epoch": "e0", "seq": 0}, {"epoch": "e0", "seq": 1000}))  # type: ignore[arg-type]
    await asyncio.sleep(0.3)
    assert hub.calls == 1 and len(link.outbox) == 500  # a second page would not fit in 600
    link.outbox.clear()  # the broker took them
    async with asyncio.timeout(5):
        await task
    assert hub.calls == 2 and link.overflowed == 0
