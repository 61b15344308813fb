"""The lightbulb and costumes over real sockets (issue 17): a backstage object reaches performers
only (live, in the join state, after a reconnect with `since`, in an audience replay, in a scene,
and from another hub process), until one publish shows it whole; a costume follows its avatar."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from client import HubClient
from hub.state import apply
from tests.conftest import Hub
from tests.test_two_nodes import MakeHub, two_nodes

BULB = {"id": "bulb", "type": "prop", "name": "Bulb", "src": "/m/bulb.png", "x": 0.1, "y": 0.1, "w": 0.1, "h": 0.1, "backstage": True}
BEAR = {"id": "bear", "type": "avatar", "name": "Bear", "src": "/m/bear.png", "x": 0.5, "y": 0.2, "w": 0.2, "h": 0.2}


async def stage_with(hub: Hub) -> tuple[HubClient, HubClient]:
    await hub.stage("show", "olivia", players=("pat",))
    return await hub.joined("pat"), await hub.joined()


async def ok(client: HubClient, topic: str, payload: Any) -> int:
    ack = await client.publish(topic, payload)
    assert ack["ok"], ack
    return int(ack["seq"])


async def marker(performer: HubClient, *watchers: HubClient, text: str = "marker") -> None:
    """A public chat line every watcher receives: everything published before it has arrived."""
    seq = await ok(performer, "chat", {"message": text})
    for watcher in watchers:
        await watcher.wait_for(lambda c: c.seq >= seq)


def mentions(events: list[dict[str, Any]], ident: str) -> list[dict[str, Any]]:
    return [e for e in events if e["topic"] == "board" and ident in str(e["payload"])]


async def prepare_backstage(pat: HubClient) -> None:
    """The bulb placed backstage, then changed every way, none of them repeating the flag."""
    await ok(pat, "board", {"type": "placeObjectOnStage", "object": BULB})
    await ok(pat, "board", {"type": "placeObjectOnStage", "object": BEAR})
    await ok(pat, "board", {"type": "moveTo", "object": {"id": "bulb", "x": 0.7, "w": 0.3}})
    await ok(pat, "board", {"type": "switchFrame", "object": {"id": "bulb", "src": "/m/bulb2.png"}})
    await ok(pat, "board", {"type": "bringToFront", "object": {"id": "bulb"}})
    await ok(pat, "board", {"type": "bringToFrontOf", "front": "bear", "back": "bulb"})
    await ok(pat, "board", {"type": "speak", "avatar": {"id": "bulb"}, "speak": {"message": "psst"}})


async def test_backstage_object_reaches_performers_only_until_shown_whole(hub: Hub) -> None:
    pat, audience = await stage_with(hub)
    olivia = await hub.joined("olivia")
    await prepare_backstage(pat)
    await marker(pat, audience, olivia)
    assert mentions(audience.events, "bulb") == []
    assert len(mentions(olivia.events, "bulb")) == 7 - 1  # every bulb event but the bear's placement
    late = await hub.joined()
    assert [o["id"] for o in (await late.join("show"))["state"]["board"]["objects"]] == ["bear"]
    performer_state = (await (await hub.joined("olivia")).join("show"))["state"]
    assert [o["id"] for o in performer_state["board"]["objects"]] == ["bulb", "bear"]  # bear put in front of it
    assert "bulb" in performer_state["board"]["speeches"]

    seq = await ok(pat, "board", {"type": "placeObjectOnStage", "object": {"id": "bulb", "backstage": False}})
    await audience.wait_for(lambda c: c.seq >= seq)
    shown = audience.events[-1]["payload"]
    assert shown["type"] == "placeObjectOnStage"
    assert {k: shown["object"][k] for k in ("x", "w", "src", "name", "backstage")} == {
        "x": 0.7, "w": 0.3, "src": "/m/bulb2.png", "name": "Bulb", "backstage": False,
    }  # fmt: skip
    seq = await ok(pat, "board", {"type": "moveTo", "object": {"id": "bulb", "x": 0.4}})
    await audience.wait_for(lambda c: c.seq >= seq)
    late_state = (await (await hub.joined()).join("show"))["state"]
    assert [o["id"] for o in late_state["board"]["objects"]] == ["bear", "bulb"]  # shown: on top
    assert late_state["board"]["objects"][1]["x"] == 0.4
    built = (await audience.join("show"))["state"]
    assert built["board"]["objects"] == late_state["board"]["objects"]


async def test_hiding_again_takes_it_from_the_audience_and_later_events_stay_backstage(hub: Hub) -> None:
    pat, audience = await stage_with(hub)
    await ok(pat, "board", {"type": "placeObjectOnStage", "object": {**BEAR}})
    seq = await ok(pat, "board", {"type": "moveTo", "object": {"id": "bear", "backstage": True}})
    await audience.wait_for(lambda c: c.seq >= seq)  # the hide itself reaches the audience
    await ok(pat, "board", {"type": "moveTo", "object": {"id": "bear", "x": 0.9}})
    await ok(pat, "board", {"type": "destroy", "object": {"id": "bear"}})
    await marker(pat, audience)
    seen = mentions(audience.events, "bear")
    assert [e["payload"]["type"] for e in seen] == ["placeObjectOnStage", "moveTo", "destroy"]
    assert seen[-1]["payload"] == {"type": "destroy", "object": {"id": "bear"}}  # its undrawn copy goes, no more
    state = (await (await hub.joined()).join("show"))["state"]
    assert state["board"]["objects"] == []


async def test_a_reconnect_with_since_misses_nothing_public_and_gets_nothing_backstage(hub: Hub) -> None:
    pat, audience = await stage_with(hub)
    await marker(pat, audience, text="before")
    since = {"epoch": audience.epoch, "seq": audience.seq}
    await audience.close()
    await prepare_backstage(pat)
    await ok(pat, "chat", {"message": "after"})
    back = await hub.connect()
    ack = await back.join("show", since=since)
    assert ack["recovered"] is True, ack
    assert mentions(ack["events"], "bulb") == []
    assert [e["payload"]["type"] for e in mentions(ack["events"], "bear")] == ["placeObjectOnStage"]


async def test_an_audience_replay_shows_the_object_only_once_shown(hub: Hub) -> None:
    pat, audience = await stage_with(hub)
    olivia = await hub.joined("olivia")
    await prepare_backstage(pat)
    await ok(pat, "board", {"type": "moveTo", "object": {"id": "bulb", "backstage": False}})
    swept = await olivia.call("sweep", {"name": "Night"})
    assert swept["ok"], swept
    events = await hub.store.archive.performance_events(swept["performance"]["id"])
    public = [e for e in events if e.audience == "everyone"]
    assert [e.payload["type"] for e in public if "bulb" in str(e.payload)] == ["placeObjectOnStage"]
    viewer = await hub.joined()
    ack = await viewer.call("replay", {"performance": swept["performance"]["id"], "speed": 32})
    assert ack["ok"], ack
    await viewer.wait_for(lambda c: any("bulb" in str(e["payload"]) for e in c.events))
    bulb_events = mentions(viewer.events, "bulb")
    assert [e["payload"]["type"] for e in bulb_events] == ["placeObjectOnStage"]
    assert bulb_events[0]["payload"]["object"]["x"] == 0.7
    seek = await viewer.call("replayControl", {"action": "seek", "value": 0})
    assert seek["ok"]
    await viewer.wait_for(lambda c: "state" in c.replay_updates[-1] and len(c.replay_updates) >= 2)
    assert all("bulb" not in str(o) for o in viewer.replay_updates[-1]["state"]["board"]["objects"])


async def test_scenes_leave_backstage_objects_out(hub: Hub) -> None:
    pat, audience = await stage_with(hub)
    await prepare_backstage(pat)
    saved = await pat.call("saveScene", {"name": "Act 1"})
    assert saved["ok"], saved
    seq = await ok(pat, "background", {"type": "switchScene", "scene": saved["scene"]["id"]})
    await audience.wait_for(lambda c: c.seq >= seq)
    snapshot = audience.events[-1]["payload"]["snapshot"]
    assert [o["id"] for o in snapshot["board"]["objects"]] == ["bear"]
    assert "bulb" not in str(audience.events)


async def test_another_process_delivers_the_same_decision(make_hub: MakeHub, tmp_path: Path) -> None:
    a, b = await two_nodes(make_hub, tmp_path)
    bob, watch_b, ada_b = await a.joined("bob"), await b.joined(), await b.joined("ada")
    await prepare_backstage(bob)
    await marker(bob, watch_b, ada_b)
    assert mentions(watch_b.events, "bulb") == []
    assert len(mentions(ada_b.events, "bulb")) == 6
    assert [o["id"] for o in (await (await b.joined()).join("show"))["state"]["board"]["objects"]] == ["bear"]
    seq = await ok(bob, "board", {"type": "placeObjectOnStage", "object": {"id": "bulb", "backstage": False}})
    await watch_b.wait_for(lambda c: c.seq >= seq)
    assert watch_b.events[-1]["payload"]["object"]["src"] == "/m/bulb2.png"


async def test_a_costume_follows_its_avatar_for_everyone_and_is_released(hub: Hub) -> None:
    pat, audience = await stage_with(hub)
    start = (await audience.join("show"))["state"]
    hat = {"id": "hat", "type": "prop", "src": "/m/hat.png", "x": 0.55, "y": 0.1, "w": 0.1, "h": 0.1}
    await ok(pat, "board", {"type": "placeObjectOnStage", "object": BEAR})
    await ok(pat, "board", {"type": "placeObjectOnStage", "object": hat})
    await ok(pat, "board", {"type": "moveTo", "object": {**hat, "wornBy": "bear"}})
    seq = await ok(pat, "board", {"type": "moveTo", "object": {**BEAR, "x": 0.1, "y": 0.3, "w": 0.4, "h": 0.4, "moveSpeed": 300}})
    await audience.wait_for(lambda c: c.seq >= seq)
    assert not mentions([e for e in audience.events if e["seq"] == seq], "hat")  # the costume's move is not sent
    folded = start
    for event in audience.events:
        folded = apply(folded, event)
    late = (await (await hub.joined()).join("show"))["state"]
    worn = {o["id"]: o for o in late["board"]["objects"]}["hat"]
    pose = (worn["x"], worn["y"], worn["w"], worn["h"], worn["moveSpeed"])  # 0.05 right of the bear, 0.1 above, x2
    assert pose == pytest.approx((0.1 + 0.05 * 2, 0.3 - 0.1 * 2, 0.2, 0.2, 300))
    assert folded["board"]["objects"] == late["board"]["objects"]  # the phone's own fold agrees

    await ok(pat, "board", {"type": "moveTo", "object": {"id": "hat", "wornBy": None}})  # taken off
    await ok(pat, "board", {"type": "moveTo", "object": {"id": "bear", "x": 0.6}})
    after = {o["id"]: o for o in (await (await hub.joined()).join("show"))["state"]["board"]["objects"]}
    assert after["hat"]["x"] == worn["x"] and after["hat"]["wornBy"] is None

    await ok(pat, "board", {"type": "moveTo", "object": {"id": "hat", "wornBy": "bear"}})
    seq = await ok(pat, "board", {"type": "destroy", "object": {"id": "bear"}})
    await audience.wait_for(lambda c: c.seq >= seq)
    released = (await (await hub.joined()).join("show"))["state"]["board"]["objects"]
    assert [(o["id"], "wornBy" in o) for o in released] == [("hat", False)]


async def test_refusals_name_the_field_and_change_nothing(hub: Hub) -> None:
    pat, audience = await stage_with(hub)
    await ok(pat, "board", {"type": "placeObjectOnStage", "object": BEAR})
    await ok(pat, "board", {"type": "placeObjectOnStage", "object": {"id": "hat", "type": "prop"}})
    cases = [
        ({"id": "hat", "wornBy": "nobody"}, "object.wornBy: there is no avatar 'nobody'"),
        ({"id": "hat", "wornBy": "hat"}, "object.wornBy: an object cannot wear itself"),
        ({"id": "bear", "wornBy": "bear"}, "object.wornBy: an object cannot wear itself"),
        ({"id": "hat", "wornBy": True}, "object/wornBy"),
        ({"id": "hat", "wornBy": ["bear"]}, "object/wornBy"),
        ({"id": "hat", "backstage": "yes"}, "object/backstage"),
        ({"id": "hat", "backstage": None}, "object/backstage"),
    ]
    await ok(pat, "board", {"type": "placeObjectOnStage", "object": {**BEAR, "id": "cub"}})
    cases.append(({"id": "cub", "wornBy": "bear"}, "object.wornBy: an avatar cannot be worn"))
    cases.append(({"id": "new", "type": "prop", "wornBy": "hat"}, "object.wornBy: there is no avatar 'hat'"))
    for obj, message in cases:
        for kind in ("placeObjectOnStage", "moveTo"):
            ack = await pat.publish("board", {"type": kind, "object": obj})
            assert ack["error"]["code"] == "bad_request" and message in ack["error"]["message"], (obj, ack)
    for payload in (
        {"type": "placeObjectOnStage", "object": {**BULB}},
        {"type": "moveTo", "object": {"id": "bear", "backstage": True}},
        {"type": "moveTo", "object": {"id": "hat", "wornBy": "bear"}},
    ):
        ack = await audience.publish("board", payload)
        assert ack["error"]["code"] == "forbidden", ack
    state = (await (await hub.joined("olivia")).join("show"))["state"]
    assert [(o["id"], o.get("wornBy"), o.get("backstage")) for o in state["board"]["objects"]] == [
        ("bear", None, None), ("hat", None, None), ("cub", None, None),
    ]  # fmt: skip


async def test_a_replay_shows_the_costume_where_its_avatar_took_it(hub: Hub) -> None:
    pat, _audience = await stage_with(hub)
    olivia = await hub.joined("olivia")
    hat = {"id": "hat", "type": "prop", "x": 0.55, "y": 0.1, "w": 0.1, "h": 0.1, "wornBy": "bear"}
    for payload in (
        {"type": "placeObjectOnStage", "object": BEAR},
        {"type": "placeObjectOnStage", "object": hat},
        {"type": "moveTo", "object": {**BEAR, "x": 0.1, "w": 0.4}},
    ):
        await ok(pat, "board", payload)
    live = (await (await hub.joined()).join("show"))["state"]["board"]["objects"]
    await asyncio.sleep(0.01)
    await ok(pat, "chat", {"message": "bow"})  # the end: the seek below shows the state before it
    swept = await olivia.call("sweep", {"name": "Dressed"})
    viewer = await hub.joined()
    assert (await viewer.call("replay", {"performance": swept["performance"]["id"]}))["ok"]
    assert (await viewer.call("replayControl", {"action": "seek", "value": 10_000_000}))["ok"]
    await viewer.wait_for(lambda c: len(c.replay_updates) >= 2 and "state" in c.replay_updates[-1])
    assert viewer.replay_updates[-1]["state"]["board"]["objects"] == live
    assert {o["id"]: o for o in live}["hat"]["x"] == pytest.approx(0.1 + 0.05 * 2)
