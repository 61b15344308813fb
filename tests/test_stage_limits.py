"""A stage's live state stays bounded whatever performers send, idle stages leave memory, joins
cost one encoding per change, and a retried publish is one event."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from client import HubClient
from hub import rooms as hub_rooms

BIG = "x" * 60_000


async def test_merges_cannot_grow_an_object_past_its_limit(make_hub):
    """40 moveTo merges of 60 KB each once made one object 2.3 MB under a 64 KiB payload limit."""
    hub = await make_hub()
    await hub.stage("show", owner="olivia")
    olivia = await hub.joined("olivia")
    assert (await olivia.publish("board", {"type": "placeObjectOnStage", "object": {"id": "a", "k0": BIG}}))["ok"]
    grown = await olivia.publish("board", {"type": "moveTo", "object": {"id": "a", "k1": BIG}})
    assert grown["ok"] is False and grown["error"]["code"] == "too_large", grown
    assert "'a' would be" in grown["error"]["message"]
    assert (await olivia.publish("board", {"type": "moveTo", "object": {"id": "a", "k0": "small", "x": 1}}))["ok"]
    state = (await olivia.join("show"))["state"]
    assert state["board"]["objects"][0]["k0"] == "small" and "k1" not in state["board"]["objects"][0]
    track = {"id": "t", "src": "a.mp3"}
    for i in range(40):  # audio tracks merge too (4 KiB payloads)
        ack = await olivia.publish("audio", {**track, f"k{i}": "y" * 3000})
        if not ack["ok"]:
            assert ack["error"]["code"] == "too_large"
            break
    else:
        raise AssertionError("an audio track grew without bound")


async def test_the_stage_state_is_capped_and_shrinking_is_always_allowed(make_hub):
    hub = await make_hub(state_limit=300_000)
    await hub.stage("show", owner="olivia")
    olivia, viewer = await hub.joined("olivia"), await hub.joined()
    stroke = {"type": "newLine", "command": {"lines": BIG}}
    acks = [await olivia.publish("draw", stroke) for _ in range(8)]
    accepted = [a for a in acks if a["ok"]]
    assert 3 <= len(accepted) < 8
    refused = next(a for a in acks if not a["ok"])
    assert refused["error"]["code"] == "too_large" and "limit is 300000" in refused["error"]["message"]
    size = len(orjson.dumps((await olivia.join("show"))["state"]))
    assert size <= 300_000
    assert (await olivia.publish("chat", {"message": "chat is bounded by its count, never refused for size"}))["ok"]
    assert (await olivia.publish("draw", {"type": "undo", "index": 0}))["ok"], "shrinking is always allowed"
    assert (await olivia.publish("draw", {"type": "clear"}))["ok"]
    assert (await olivia.publish("draw", stroke))["ok"], "room again after clearing"
    await viewer.wait_for(lambda c: c.events and c.events[-1]["topic"] == "draw" and c.events[-1]["payload"]["type"] == "newLine")
    refused_seqs = {a.get("seq") for a in acks if not a["ok"]}
    assert refused_seqs == {None}, "a refused publish is never numbered"


async def test_an_idle_stage_is_unloaded_and_comes_back_the_same(make_hub):
    hub = await make_hub(room_idle=0.3)
    await hub.stage("show", owner="olivia")
    olivia = await hub.joined("olivia")
    for i in range(5):
        assert (await olivia.publish("board", {"type": "placeObjectOnStage", "object": {"id": f"o{i}"}}))["ok"]
    before = await olivia.join("show")
    position = {"epoch": before["epoch"], "seq": before["seq"] - 2}
    await olivia.close()
    for _ in range(50):
        if not hub.node.rooms:
            break
        await asyncio.sleep(0.1)
    assert not hub.node.rooms, "the idle stage stayed in memory"
    back = await hub.connect("olivia")
    after = await back.join("show")
    assert (after["epoch"], after["seq"], after["state"]) == (before["epoch"], before["seq"], before["state"])
    resumed = await (await hub.connect()).join("show", since=position)
    assert resumed["recovered"] is True and [e["seq"] for e in resumed["events"]] == [before["seq"] - 1, before["seq"]]


async def test_a_stage_with_only_a_gateway_on_it_stays_loaded(make_hub):
    hub = await make_hub(room_idle=0.2)
    await hub.stage("show", owner="olivia")
    await hub.user("gateway", role="service")
    await hub.joined("gateway")
    await asyncio.sleep(0.6)
    assert hub.node.rooms, "a gateway's stage was unloaded under it"


async def test_joins_share_one_encoding_of_the_state_until_it_changes(make_hub, monkeypatch):
    hub = await make_hub()
    await hub.stage("show", owner="olivia")
    olivia = await hub.joined("olivia")
    for i in range(20):
        await olivia.publish("draw", {"type": "newLine", "command": {"n": i, "lines": "z" * 2000}})
    views = []
    real_view = hub_rooms.live.view

    def counted_view(*args: Any, **kwargs: Any) -> Any:
        views.append(1)
        return real_view(*args, **kwargs)

    monkeypatch.setattr(hub_rooms.live, "view", counted_view)
    audience = [await hub.connect() for _ in range(20)]
    acks = [await client.join("show") for client in audience]
    assert len(views) == 1, f"{len(views)} encodings for 20 joins of an unchanged stage"
    assert all(a["state"] == acks[0]["state"] for a in acks)
    await olivia.publish("draw", {"type": "clear"})
    changed = await audience[0].join("show")
    assert changed["state"]["whiteboard"]["commands"] == [] and len(views) == 2


async def test_a_playing_track_is_not_served_stale_to_late_joiners(make_hub):
    hub = await make_hub()
    await hub.stage("show", owner="olivia")
    olivia = await hub.joined("olivia")
    await olivia.publish("audio", {"id": "t", "src": "a.mp3", "isPlaying": True, "currentTime": 0})
    first = (await (await hub.connect()).join("show"))["state"]["audio"]["tracks"]["t"]["currentTime"]
    await asyncio.sleep(hub_rooms.VIEW_MAX_AGE + 0.3)
    later = (await (await hub.connect()).join("show"))["state"]["audio"]["tracks"]["t"]["currentTime"]
    assert later - first >= hub_rooms.VIEW_MAX_AGE


async def test_a_retried_publish_with_an_id_is_one_event(hub):
    await hub.stage("show", owner="olivia")
    olivia, viewer = await hub.joined("olivia"), await hub.joined()
    data = {"topic": "chat", "payload": {"message": "once"}, "id": "p-1"}
    first, again = await asyncio.gather(olivia.call("publish", data), olivia.call("publish", data))
    third = await olivia.call("publish", data)
    assert first["ok"] and again["ok"] and third["ok"]
    assert first["seq"] == again["seq"] == third["seq"]
    assert sum(1 for a in (first, again, third) if a.get("duplicate")) == 2
    other = HubClient(hub.url)
    hub.clients.append(other)
    await other.connect()
    await other.join("show")
    assert (await other.call("publish", data))["seq"] != first["seq"], "ids are per session"
    await olivia.publish("chat", {"message": "barrier"})
    await viewer.wait_for(lambda c: any(e["payload"].get("message") == "barrier" for e in c.events))
    assert [e["payload"]["message"] for e in viewer.events].count("once") == 2
    bad = await olivia.call("publish", {**data, "id": 7})
    assert bad["error"]["code"] == "bad_request" and "id must be" in bad["error"]["message"]


async def test_clients_cannot_freeze_the_backdrop_or_highlight_their_own_chat(hub):
    await hub.stage("show", owner="olivia")
    olivia, ann = await hub.joined("olivia"), await hub.joined()
    await olivia.publish("background", {"type": "changeBackground", "background": {"src": "a.png", "at": 1e300}})
    await olivia.publish("background", {"type": "changeBackground", "background": {"src": "b.png", "at": 5}})
    await olivia.publish("background", {"type": "drawCurtain", "curtain": {"src": "c.png", "at": 1e300}})
    await olivia.publish("background", {"type": "drawCurtain", "curtain": {"src": "d.png", "at": 1}})
    await ann.publish("chat", {"message": "look at me", "highlighted": True, "at": 1e300})
    state = (await ann.join("show"))["state"]
    assert state["background"]["backdrop"]["src"] == "b.png"
    assert state["background"]["curtain"]["src"] == "d.png"
    message = state["chat"]["messages"][-1]
    assert "highlighted" not in message and message["at"] < 1e13


async def test_a_scene_id_the_database_cannot_hold_is_not_found_not_a_failure(hub, caplog):
    await hub.stage("show", owner="olivia")
    olivia = await hub.joined("olivia")
    for scene in ("9" * 200, 2**70, "²", "-1"):
        ack = await olivia.publish("background", {"type": "switchScene", "scene": scene})
        assert ack["error"]["code"] == "not_found", (scene, ack)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_a_publish_retried_across_a_crash_is_still_one_event(tmp_path):
    """The ack of a stored publish can be lost in a crash; the retry after the restart must not
    double it: publish ids are read back from the archive with the events."""
    import signal

    from tests.hubproc import HubProcess

    hub = HubProcess(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}")
    await hub.seed("olivia")
    try:
        await hub.start()
        olivia = await hub.performer("olivia")
        first = await olivia.call("publish", {"topic": "chat", "payload": {"message": "once"}, "id": "p-9"})
        assert first["ok"]
        tab = olivia.session, olivia.resume
        await hub.stop(signal.SIGKILL)
        await hub.start()
        token = (await hub.performer("olivia")).token
        olivia_again = HubClient(hub.url, token=token, session=tab[0], resume=tab[1])
        await olivia_again.connect()
        await olivia_again.join("show")
        retried = await olivia_again.call("publish", {"topic": "chat", "payload": {"message": "once"}, "id": "p-9"})
        assert retried == {"ok": True, "seq": first["seq"], "duplicate": True}
        state = (await olivia_again.join("show"))["state"]
        assert [m["message"] for m in state["chat"]["messages"]] == ["once"]
        await olivia_again.close()
    finally:
        hub.close()


async def test_joins_to_made_up_stages_do_not_grow_memory(hub, monkeypatch):
    import storage.store

    monkeypatch.setattr(storage.store, "STAGE_CACHE_SIZE", 50)
    client = await hub.connect()
    for i in range(200):
        assert (await client.call("join", {"stage": f"nothing-{i}"}))["error"]["code"] == "not_found"
    assert len(hub.store._stage_cache) <= 50
    refused = await client.call("join", {"stage": "x" * 65})
    assert refused["error"]["code"] == "bad_request" and "stage must be" in refused["error"]["message"]


async def test_scene_saves_are_limited_per_stage(make_hub):
    """A scene holds the whole stage (up to HUB_STATE_LIMIT): saving them cannot fill the disk."""
    hub = await make_hub(scene_save_rate=0.001, scene_save_burst=3, scenes_per_stage=2)
    await hub.stage("show", owner="olivia", players=("pat",))
    olivia, pat = await hub.joined("olivia"), await hub.joined("pat")
    assert (await olivia.call("saveScene", {"name": "one"}))["ok"]
    assert (await pat.call("saveScene", {"name": "two"}))["ok"]
    full = await olivia.call("saveScene", {"name": "three"})
    assert full["error"]["code"] == "bad_request" and "the most it keeps" in full["error"]["message"]
    limited = await pat.call("saveScene", {"name": "four"})
    assert limited["error"]["code"] == "rate_limited", "the limit is the stage's, whoever saves"
