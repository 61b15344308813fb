"""Replay playback (`hub.replay.Replay`) on a real asyncio loop: timing at speed, seek, pause,
speed bounds, loop, privacy of performer-only events, and close."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from hub.replay import Replay
from hub.replay_timeline import Timeline
from hub.state import empty_state, view
from storage import EVERYONE, PERFORMERS, Event

T0 = 1_721_980_000_000  # hub epoch ms of the performance's first event
TOLERANCE = 0.04  # seconds
SENDER = {"session": "s-performer", "nickname": "Ann", "role": "owner"}


def ev(seq: int, offset: int, topic: str, payload: Any, audience: str = EVERYONE, target: str | None = None) -> Event:
    return Event(1, seq, topic, payload, T0 + offset, SENDER, audience, target)


def place(seq: int, offset: int, obj: str, x: float = 0.1) -> Event:
    return ev(seq, offset, "board", {"type": "placeObjectOnStage", "object": {"id": obj, "x": x, "y": 0.1}})


def move(seq: int, offset: int, obj: str, x: float) -> Event:
    return ev(seq, offset, "board", {"type": "moveTo", "object": {"id": obj, "x": x, "y": 0.5}})


def chat(seq: int, offset: int, text: str, private: bool = False) -> Event:
    payload = {"message": text, "id": f"m{seq}", "isPrivate": private}
    return ev(seq, offset, "chat", payload, PERFORMERS if private else EVERYONE)


def replay_of(
    events: list[Event], send: Any, *, performer: bool, session: str, default_color: str = "#30ac45", **playback: Any
) -> Replay:
    """A replay of `events` as a listener with this role and session sees them."""
    return Replay(Timeline(events, performer=performer, session=session, default_color=default_color), send, **playback)


class Recorder:
    """A `send` that keeps (seconds since creation, name, data)."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.t0 = self.loop.time()
        self.sent: list[tuple[float, str, Any]] = []

    def __call__(self, name: str, data: Any) -> None:
        self.sent.append((self.loop.time() - self.t0, name, data))

    def events(self) -> list[tuple[float, int]]:
        return [(t, data["seq"]) for t, name, data in self.sent if name == "event"]

    def seqs(self) -> list[int]:
        return [seq for _, seq in self.events()]

    def replays(self) -> list[dict[str, Any]]:
        return [data for _, name, data in self.sent if name == "replay"]

    def states(self) -> list[dict[str, Any]]:
        return [r["state"] for r in self.replays() if "state" in r]


def objects(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["id"]: o for o in state["board"]["objects"]}


async def test_events_arrive_at_their_offsets_divided_by_speed() -> None:
    rec = Recorder()
    replay = replay_of([chat(i + 1, i * 200, f"m{i}") for i in range(4)], rec, performer=False, session="a", speed=2)
    replay.play()
    await asyncio.sleep(0.45)
    assert rec.seqs() == [1, 2, 3, 4]
    for (t, _), expected in zip(rec.events(), (0.0, 0.1, 0.2, 0.3), strict=True):
        assert t == pytest.approx(expected, abs=TOLERANCE)
    first, last = rec.replays()[0], rec.replays()[-1]
    assert first["state"] == view(empty_state(), T0, audience=True) and first["playing"] and first["duration"] == 600
    assert last == {"position": 600, "duration": 600, "playing": False, "speed": 2.0, "loop": False, "ended": True}
    assert replay.status()["ended"]


async def test_equal_times_go_out_together_in_seq_order() -> None:
    rec = Recorder()
    events = [chat(5, 100, "b"), chat(3, 100, "a"), chat(1, 0, "first")]
    replay_of(events, rec, performer=False, session="a").play()
    await asyncio.sleep(0.2)
    assert rec.seqs() == [1, 3, 5]
    (_, t1), (_, t3), (_, t5) = [(s, t) for t, s in rec.events()]
    assert t3 == pytest.approx(0.1, abs=TOLERANCE) and t5 == pytest.approx(t3, abs=0.002)


async def test_seek_applies_everything_before_at_once_then_plays_the_rest() -> None:
    events = [place(1, 0, "a"), move(2, 100, "a", 0.7), chat(3, 150, "hello"), place(4, 300, "b"), move(5, 400, "b", 0.9)]
    rec = Recorder()
    replay = replay_of(events, rec, performer=False, session="a")
    replay.seek(200)
    assert rec.seqs() == [] and len(rec.replays()) == 1
    state = rec.states()[0]
    assert objects(state)["a"]["x"] == 0.7 and "b" not in objects(state)
    assert [m["message"] for m in state["chat"]["messages"]] == ["hello"]
    assert rec.replays()[0]["position"] == 200 and not rec.replays()[0]["playing"]

    start = rec.loop.time() - rec.t0
    replay.play()
    assert "state" not in rec.replays()[-1]  # resuming after a seek does not resend the state
    await asyncio.sleep(0.3)
    assert rec.seqs() == [4, 5]
    assert [t - start for t, _ in rec.events()] == pytest.approx([0.1, 0.2], abs=TOLERANCE)


async def test_seek_while_playing_resends_state_and_reschedules() -> None:
    events = [place(1, 0, "a"), move(2, 100, "a", 0.3), move(3, 200, "a", 0.6), move(4, 300, "a", 0.9)]
    rec = Recorder()
    replay = replay_of(events, rec, performer=True, session="a", speed=4)
    replay.play()
    await asyncio.sleep(0.06)  # 240 ms of performance: seqs 1-3 sent
    assert rec.seqs() == [1, 2, 3]
    replay.seek(50)
    state = rec.states()[-1]
    assert objects(state)["a"]["x"] == 0.1 and rec.replays()[-1]["playing"]
    await asyncio.sleep(0.1)
    assert rec.seqs() == [1, 2, 3, 2, 3, 4]
    assert replay.status()["ended"]


async def test_seek_is_clamped_and_checked() -> None:
    rec = Recorder()
    replay = replay_of([chat(1, 0, "a"), chat(2, 500, "b")], rec, performer=False, session="a")
    replay.seek(-100)
    assert replay.status()["position"] == 0
    replay.seek(10_000)
    assert replay.status()["position"] == 500
    assert [m["message"] for m in rec.states()[-1]["chat"]["messages"]] == ["a"]  # offset 500 is not before 500
    with pytest.raises(ValueError):
        replay.seek(float("nan"))


async def test_pause_freezes_and_play_resumes_from_there() -> None:
    rec = Recorder()
    replay = replay_of([chat(i + 1, i * 100, f"m{i}") for i in range(6)], rec, performer=False, session="a")
    replay.play()
    await asyncio.sleep(0.15)
    replay.pause()
    assert rec.seqs() == [1, 2]
    frozen = replay.status()
    assert not frozen["playing"] and frozen["position"] == pytest.approx(150, abs=40)
    count = len(rec.sent)
    await asyncio.sleep(0.2)
    assert len(rec.sent) == count and replay.status() == frozen

    resumed = rec.loop.time() - rec.t0
    replay.play()
    assert "state" not in rec.replays()[-1] and rec.replays()[-1]["playing"]
    await asyncio.sleep(0.45)
    assert rec.seqs() == [1, 2, 3, 4, 5, 6]
    expected = [(offset - frozen["position"]) / 1000 for offset in (200, 300, 400, 500)]
    assert [t - resumed for t, _ in rec.events()[2:]] == pytest.approx(expected, abs=TOLERANCE)


@pytest.mark.parametrize("speed", [0.5, 1, 2, 16, 32])
async def test_speeds_in_range_are_accepted(speed: float) -> None:
    replay = replay_of([], lambda name, data: None, performer=False, session="a", speed=speed)
    replay.set_speed(speed)
    assert replay.status()["speed"] == speed


@pytest.mark.parametrize("speed", [0.49, 32.5, 0, -1, float("nan"), float("inf"), True, "2"])
async def test_speeds_out_of_range_are_refused(speed: Any) -> None:
    with pytest.raises(ValueError):
        replay_of([], lambda name, data: None, performer=False, session="a", speed=speed)
    replay = replay_of([], lambda name, data: None, performer=False, session="a", speed=4)
    with pytest.raises(ValueError):
        replay.set_speed(speed)
    assert replay.status()["speed"] == 4


async def test_set_speed_while_playing_reschedules_from_the_current_position() -> None:
    rec = Recorder()
    replay = replay_of([chat(1, 0, "a"), chat(2, 400, "b"), chat(3, 800, "c")], rec, performer=False, session="a")
    replay.play()
    await asyncio.sleep(0.2)
    replay.set_speed(4)
    await asyncio.sleep(0.25)
    assert rec.seqs() == [1, 2, 3]
    assert [t for t, _ in rec.events()] == pytest.approx([0.0, 0.25, 0.35], abs=TOLERANCE)


async def test_loop_restarts_from_zero_with_the_initial_state() -> None:
    rec = Recorder()
    replay = replay_of([place(1, 0, "a"), move(2, 100, "a", 0.8)], rec, performer=False, session="a", loop=True)
    replay.play()
    await asyncio.sleep(0.25)
    states = rec.states()
    assert len(states) == 3 and all(s == view(empty_state(), T0, audience=True) for s in states)
    assert rec.seqs()[:5] == [1, 2, 1, 2, 1]
    assert not any(r["ended"] for r in rec.replays())

    replay.set_loop(False)
    await asyncio.sleep(0.15)
    assert rec.replays()[-1]["ended"] and not replay.status()["playing"]
    count = len(rec.sent)
    await asyncio.sleep(0.1)
    assert len(rec.sent) == count


async def test_play_after_the_end_starts_again() -> None:
    rec = Recorder()
    replay = replay_of([place(1, 0, "a"), move(2, 50, "a", 0.8)], rec, performer=False, session="a")
    replay.play()
    await asyncio.sleep(0.1)
    assert replay.status()["ended"]
    replay.play()
    await asyncio.sleep(0.1)
    assert rec.seqs() == [1, 2, 1, 2] and len(rec.states()) == 2


async def test_audience_never_receives_private_chat() -> None:
    events = [
        chat(1, 0, "public hello"),
        chat(2, 50, "performers only secret", private=True),
        ev(3, 60, "stream_health", {"hostId": "s-host", "objectId": "o", "frozen": True}, PERFORMERS, "s-host"),
        chat(4, 100, "public bye"),
    ]
    audience, performer = Recorder(), Recorder()
    for rec, is_performer in ((audience, False), (performer, True)):
        replay = replay_of(events, rec, performer=is_performer, session="s-other")
        replay.play()
        await asyncio.sleep(0.15)
        replay.seek(replay.status()["duration"])  # ended, so this only sends the state there

    assert audience.seqs() == [1, 4] and "secret" not in json.dumps(audience.sent)
    assert [m["message"] for m in audience.states()[-1]["chat"]["messages"]] == ["public hello"]
    assert "privateMessages" not in audience.states()[-1]["chat"]
    assert performer.seqs() == [1, 2, 4]  # stream_health is for its host session only
    assert [m["message"] for m in performer.states()[-1]["chat"]["privateMessages"]] == ["performers only secret"]


async def test_close_stops_everything() -> None:
    rec = Recorder()
    replay = replay_of([chat(i + 1, i * 50, f"m{i}") for i in range(5)], rec, performer=False, session="a", loop=True)
    replay.play()
    await asyncio.sleep(0.07)
    replay.close()
    count = len(rec.sent)
    assert rec.seqs() == [1, 2]
    replay.play()
    replay.seek(0)
    replay.set_loop(True)
    replay.set_speed(2)
    await asyncio.sleep(0.3)
    assert len(rec.sent) == count and not replay.status()["playing"]


async def test_an_empty_performance_sends_one_message_and_ends() -> None:
    rec = Recorder()
    audience_only = [chat(1, 0, "secret", private=True)]
    for events in ([], audience_only):
        rec.sent.clear()
        replay = replay_of(events, rec, performer=False, session="a", loop=True, default_color="#000000")
        replay.play()
        await asyncio.sleep(0.05)
        assert [name for _, name, _ in rec.sent] == ["replay"]
        message = rec.replays()[0]
        assert message["state"] == view(empty_state("#000000"), 0, audience=True)
        assert message["duration"] == 0 and message["ended"] and not message["playing"]
