"""Live stage state over real sockets: late join, audio clock, exact reconnect recovery, audience view."""

from __future__ import annotations

import asyncio
import random

import pytest

from client import HubClient
from hub import node as hub_node
from hub.state import apply, view
from tests.conftest import moving

FROZEN_NOW = 1_900_000_000_000


def mixed_events(count: int, seed: int = 7) -> list[tuple[str, object]]:
    """A realistic show: objects placed, moved, reordered and destroyed; backdrops, audio, drawing, chat."""
    rng = random.Random(seed)
    ids = [f"obj{i}" for i in range(12)]
    events: list[tuple[str, object]] = []
    for n in range(count):
        oid = rng.choice(ids)
        kind = rng.random()
        if kind < 0.25:
            events.append(("board", {"type": "placeObjectOnStage", "object": {"id": oid, "type": "prop", "x": rng.random(), "y": rng.random(), "src": f"/m/{oid}.png"}}))
        elif kind < 0.45:
            events.append(("board", {"type": "moveTo", "object": {"id": oid, "x": rng.random(), "y": rng.random(), "rotate": rng.randint(0, 359)}}))
        elif kind < 0.5:
            events.append(("board", {"type": rng.choice(["sendToBack", "bringToFront", "destroy"]), "object": {"id": oid}}))
        elif kind < 0.55:
            events.append(("board", {"type": "bringToFrontOf", "front": oid, "back": rng.choice(ids), "side": rng.choice(["front", "behind"])}))
        elif kind < 0.62:
            events.append(("background", {"type": "changeBackground", "background": {"id": rng.randint(1, 5), "src": f"/b/{n}.jpg", "at": 1_700_000_000_000 + n}}))
        elif kind < 0.66:
            events.append(("background", {"type": "setBackdropColor", "color": rng.choice(["#000", "#fff", "#30ac45"])}))
        elif kind < 0.75:
            events.append(("audio", {"id": rng.randint(1, 4), "src": "/a.mp3", "isPlaying": rng.random() < 0.5, "currentTime": rng.randint(0, 60), "loop": False, "volume": 0.8}))
        elif kind < 0.85:
            events.append(("draw", {"type": "newLine", "command": {"type": "draw", "size": 3, "color": "#ff0000", "x": rng.random(), "y": rng.random(), "lines": []}}))
        elif kind < 0.87:
            events.append(("draw", {"type": "undo", "index": rng.randint(0, 5)}))
        else:
            events.append(("chat", {"message": f"line {n}", "isPrivate": rng.random() < 0.3}))
    return events


@pytest.fixture
def frozen_clock(monkeypatch):
    monkeypatch.setattr(hub_node, "now_ms", lambda: FROZEN_NOW)


async def publish_all(client: HubClient, events) -> list[int]:
    seqs = []
    for topic, payload in events:
        ack = await client.publish(topic, payload)
        assert ack["ok"], ack
        seqs.append(ack["seq"])
    return seqs


async def test_late_joiner_sees_what_an_early_client_built(make_hub, frozen_clock):
    hub_ = await make_hub(rate_limit=10_000.0, rate_burst=10_000)
    await hub_.stage("show", owner="olivia", players=("pat",))
    pat, early_player, early_audience = await hub_.connect("pat"), await hub_.connect("olivia"), await hub_.connect()
    await pat.join("show")
    built = {"player": (await early_player.join("show"))["state"], "audience": (await early_audience.join("show"))["state"]}
    seqs = await publish_all(pat, mixed_events(999) + [("chat", {"message": "curtain call"})])
    await early_player.wait_for(lambda c: c.seq == seqs[-1])
    await early_audience.wait_for(lambda c: c.seq == seqs[-1])
    for event in early_player.events:
        built["player"] = apply(built["player"], event)
    for event in early_audience.events:
        built["audience"] = apply(built["audience"], event)

    late_player, late_audience = await hub_.connect("olivia"), await hub_.connect()
    player_state = (await late_player.join("show"))["state"]
    audience_state = (await late_audience.join("show"))["state"]
    assert player_state["board"]["objects"], "the show should leave objects on the board"
    assert player_state == view(built["player"], FROZEN_NOW, audience=False)
    assert audience_state == view(built["audience"], FROZEN_NOW, audience=True)
    for family in ("board", "background", "audio", "whiteboard", "settings"):
        assert audience_state[family] == player_state[family], family


async def test_playing_track_is_reported_at_its_elapsed_position(hub, monkeypatch):
    await hub.stage("show", owner="olivia")
    owner = await hub.joined("olivia")
    ack = await owner.publish("audio", {"id": 7, "src": "/thunder.mp3", "isPlaying": True, "currentTime": 12.0, "loop": False})
    await owner.wait_for(lambda c: c.seq == ack["seq"])
    started = owner.events[-1]["at"]
    monkeypatch.setattr(hub_node, "now_ms", lambda: started + 5_000)
    late = await hub.connect()
    tracks = (await late.join("show"))["state"]["audio"]["tracks"]
    (track,) = tracks.values()
    assert track["isPlaying"] is True
    assert track["currentTime"] == pytest.approx(17.0, abs=0.01)


async def test_reconnect_with_since_gets_exactly_the_missed_events(make_hub):
    hub_ = await make_hub(rate_limit=10_000.0, rate_burst=10_000)
    await hub_.stage("show", owner="olivia", players=("pat",))
    pat = await hub_.joined("pat")
    viewer = await hub_.connect()
    await viewer.join("show")
    await publish_all(pat, [("chat", {"message": f"before {i}"}) for i in range(10)])
    await viewer.wait_for(lambda c: c.seq == 10)
    position = {"epoch": viewer.epoch, "seq": viewer.seq}
    await viewer.close()

    missed = await publish_all(pat, [("board", {"type": "moveTo", "object": {"id": "a", "x": i}}) for i in range(200)])
    back = await hub_.connect(session=viewer.session, resume=viewer.resume)
    ack = await back.join("show", since=position)
    assert ack["recovered"] is True and "state" not in ack
    assert [e["seq"] for e in ack["events"]] == missed
    assert [e["payload"]["object"]["x"] for e in ack["events"]] == list(range(200))
    assert ack["seq"] == missed[-1]

    more = await pat.publish("chat", {"message": "after"})
    await back.wait_for(lambda c: len(c.events) == 1)
    assert back.events[0]["seq"] == more["seq"]

    up_to_date = await (await hub_.connect()).join("show", since={"epoch": ack["epoch"], "seq": more["seq"]})
    assert up_to_date["recovered"] is True and up_to_date["events"] == []


async def test_past_the_history_bound_or_another_epoch_gives_state(make_hub):
    hub_ = await make_hub(history_size=50, rate_limit=10_000.0, rate_burst=10_000)
    await hub_.stage("show", owner="olivia", players=("pat",))
    pat = await hub_.connect("pat")
    first = await pat.join("show")
    await publish_all(pat, [("chat", {"message": f"m{i}"}) for i in range(120)])
    late = await hub_.connect()
    stale = await late.join("show", since={"epoch": first["epoch"], "seq": 10})
    assert stale["recovered"] is False and "events" not in stale
    assert [m["message"] for m in stale["state"]["chat"]["messages"]][-1] == "m119"
    inside = await late.join("show", since={"epoch": first["epoch"], "seq": 100})
    assert inside["recovered"] is True and len(inside["events"]) == 20
    other = await late.join("show", since={"epoch": "another-epoch", "seq": 100})
    assert other["recovered"] is False and "state" in other
    bad = await late.call("join", {"stage": "show", "since": {"epoch": 1, "seq": "x"}})
    assert bad["error"]["code"] == "bad_request"


async def test_no_event_lost_or_repeated_while_joins_race_publishes(make_hub):
    hub_ = await make_hub(rate_limit=10_000.0, rate_burst=10_000)
    await hub_.stage("show", owner="olivia", players=("pat",))
    pat = await hub_.joined("pat")
    async with moving(pat):
        for _ in range(15):
            joiner = await hub_.connect()
            await asyncio.sleep(0.005)
            ack = await joiner.join("show")
            start = ack["seq"]
            await asyncio.sleep(0.02)
            await joiner.close()
            seen = [e["seq"] for e in joiner.events]
            assert seen == list(range(start + 1, start + 1 + len(seen))), "a gap or a repeat after the join"
            # and a reconnect with since continues exactly where the socket stopped
            again = await hub_.connect()
            resumed = await again.join("show", since={"epoch": ack["epoch"], "seq": joiner.seq})
            await asyncio.sleep(0.01)
            await again.close()
            got = [e["seq"] for e in resumed["events"]] + [e["seq"] for e in again.events]
            assert got == list(range(joiner.seq + 1, joiner.seq + 1 + len(got)))


async def test_audience_never_receives_private_chat_in_events_state_or_recovery(hub):
    await hub.stage("show", owner="olivia", players=("pat",))
    pat, ann = await hub.connect("pat"), await hub.connect()
    await pat.join("show")
    first = await ann.join("show")
    await pat.publish("chat", {"message": "secret cue", "isPrivate": True})
    await pat.publish("chat", {"message": "hello all"})
    await ann.wait_for(lambda c: len(c.events) == 1)
    late = await hub.connect()
    state = (await late.join("show"))["state"]
    recovered = await (await hub.connect()).join("show", since={"epoch": first["epoch"], "seq": 0})
    performer_state = (await (await hub.connect("pat")).join("show"))["state"]
    everything = repr(ann.events) + repr(state) + repr(recovered)
    assert "secret cue" not in everything
    assert "hello all" in repr(state) and "hello all" in repr(recovered["events"])
    assert "secret cue" in repr(performer_state)


async def test_scenes_save_list_and_switch_on_every_client(hub):
    await hub.stage("show", owner="olivia", players=("pat",))
    pat, ann = await hub.connect("pat"), await hub.connect()
    await pat.join("show")
    await ann.join("show")
    await pat.publish("board", {"type": "placeObjectOnStage", "object": {"id": "tree", "type": "prop", "x": 0.2}})
    await pat.publish("background", {"type": "setBackdropColor", "color": "#123456"})
    await pat.publish("audio", {"id": 1, "src": "/forest.mp3", "isPlaying": False, "currentTime": 3})
    saved = await pat.call("saveScene", {"name": "Forest"})
    assert saved["ok"] and saved["scene"]["name"] == "Forest"
    assert (await pat.call("saveScene", {"name": "Forest"}))["error"]["code"] == "bad_request"
    assert (await ann.call("saveScene", {"name": "Mine"}))["error"]["code"] == "forbidden"
    listed = await pat.call("scenes", {})
    assert [s["name"] for s in listed["scenes"]] == ["Forest"]

    await pat.publish("background", {"type": "blankScene"})
    blank = (await (await hub.connect()).join("show"))["state"]
    assert blank["board"]["objects"] == []

    switched = await pat.publish("background", {"type": "switchScene", "scene": saved["scene"]["id"]})
    assert switched["ok"]
    await ann.wait_for(lambda c: c.seq == switched["seq"])
    event = ann.events[-1]
    assert event["payload"]["type"] == "switchScene" and event["payload"]["snapshot"]["backdropColor"] == "#123456"
    assert [e["payload"]["type"] for e in ann.events if e["topic"] == "background"][0] == "setBackdropColor"
    assert any(e["payload"] == {"type": "loadScenes"} for e in ann.events)
    state = (await (await hub.connect()).join("show"))["state"]
    assert [o["id"] for o in state["board"]["objects"]] == ["tree"]
    assert state["background"]["backdropColor"] == "#123456"

    missing = await pat.publish("background", {"type": "switchScene", "scene": 999})
    assert missing["error"]["code"] == "not_found"
