"""The replay ack's `density`: how many events the listener may see fell in each hundredth of the
performance (the replay page's bar under the timeline), and exact, clamped 10 s skips."""

from __future__ import annotations

from hub.replay_timeline import Timeline
from tests.replays import archived, moves


def test_density_counts_the_events_of_each_slice() -> None:
    timeline = Timeline(moves(11, spacing_ms=1000), performer=True)  # offsets 0, 1000, ... 10000
    assert timeline.density(10) == [1, 1, 1, 1, 1, 1, 1, 1, 1, 2]  # the last event counts in the last slice
    assert len(timeline.density()) == 100 and sum(timeline.density()) == 11
    assert timeline.density(10) is not timeline.density(10)  # a copy: the shared answer cannot be changed


def test_density_leaves_out_what_the_listener_may_not_see() -> None:
    events = moves(20, spacing_ms=500, secret_every=2)
    assert sum(Timeline(events, performer=True).density()) == 20
    assert sum(Timeline(events, performer=False).density()) == 10


def test_density_of_an_empty_or_instant_performance() -> None:
    assert Timeline([], performer=False).density() == []
    assert Timeline(moves(1), performer=False).density() == [1]


async def test_the_replay_ack_carries_the_density_and_skips_are_exact(hub) -> None:
    await hub.stage("show", "helen")
    performance = await archived(hub, "show", count=31, spacing_ms=1000)  # 30 s long
    viewer = await hub.connect()
    ack = await viewer.call("replay", {"performance": performance})
    assert ack["ok"], ack
    assert len(ack["density"]) == 100 and sum(ack["density"]) == 31
    assert ack["density"][0] == 1 and ack["density"][-1] == 1 and ack["density"][1] == 0
    await viewer.call("replayControl", {"action": "pause"})
    # the page's skips: seek to position +/- 10 s, clamped to 0..duration
    # (replay calls have a burst of 6 a socket: this test spends exactly that)
    for target, expected in ((10_000, 10_000), (40_000, 30_000), (0, 0)):
        status = (await viewer.call("replayControl", {"action": "seek", "value": target}))["status"]
        assert status["position"] == expected and status["duration"] == 30_000
    refused = await viewer.call("replayControl", {"action": "seek", "value": -10_000})
    assert refused["error"]["code"] == "bad_request" and "value" in refused["error"]["message"]
