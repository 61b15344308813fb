"""Issue 17 as a hostile or unlucky user meets it: what broke when attacked (each test failed
before its fix), next to the feature's own tests (test_board_backstage, test_chat_rules)."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

from hub.state import apply, empty_state
from tests.conftest import Hub
from tests.nodeclient import node_clients
from tests.test_board_backstage import BEAR, BULB, marker, mentions, ok, stage_with
from tests.test_two_nodes import MakeHub, two_nodes


async def test_starting_a_recording_keeps_the_backstage_objects(hub: Hub) -> None:
    """The recording's first snapshot leaves backstage objects out (it goes to everyone), but
    live it must not take them off the stage: a performer's prepared bulb stays prepared."""
    pat, audience = await stage_with(hub)
    olivia = await hub.joined("olivia")
    await ok(pat, "board", {"type": "placeObjectOnStage", "object": BULB})
    await ok(pat, "board", {"type": "placeObjectOnStage", "object": BEAR})
    started = await olivia.call("startRecording", {"name": "Act 1"})
    assert started["ok"], started
    await marker(pat, audience, olivia)
    assert "bulb" not in str(audience.events)
    state = (await (await hub.joined("olivia")).join("show"))["state"]
    assert [o["id"] for o in state["board"]["objects"]] == ["bulb", "bear"]
    seq = await ok(pat, "board", {"type": "moveTo", "object": {"id": "bulb", "backstage": False}})
    await audience.wait_for(lambda c: c.seq >= seq)
    assert audience.events[-1]["payload"]["object"]["src"] == "/m/bulb.png"  # shown whole, not lost


def folded(ack: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """What an audience page holds: its join state with every event it received applied."""
    state = ack["state"]
    for event in events:
        state = apply(state, event)
    return state


async def test_a_hidden_then_destroyed_object_placed_again_with_its_id_reaches_the_audience(hub: Hub) -> None:
    """The audience keeps a hidden copy of an object hidden again; destroyed backstage, then
    placed again in public under the same id, it must be drawn for them as for a late joiner."""
    pat, _ = await stage_with(hub)
    audience = await hub.connect()
    ack = await audience.join("show")
    await ok(pat, "board", {"type": "placeObjectOnStage", "object": BEAR})
    await ok(pat, "board", {"type": "moveTo", "object": {"id": "bear", "backstage": True}})
    await ok(pat, "board", {"type": "destroy", "object": {"id": "bear"}})
    await ok(pat, "board", {"type": "placeObjectOnStage", "object": {**BEAR, "x": 0.3}})
    await marker(pat, audience)
    late = (await (await hub.joined()).join("show"))["state"]["board"]["objects"]
    assert [(o["id"], o.get("backstage") is True) for o in late] == [("bear", False)]
    mine = folded(ack, audience.events)["board"]["objects"]
    assert [(o["id"], o.get("backstage") is True, o["x"]) for o in mine] == [("bear", False, 0.3)]


async def test_a_client_cannot_mark_an_audience_copy_to_leak_a_destroy(hub: Hub) -> None:
    """`audienceCopy` is the hub's mark (set on a hide): a client's is dropped, so destroying an
    object that was always backstage tells the audience nothing, not even its id."""
    pat, audience = await stage_with(hub)
    await ok(pat, "board", {"type": "placeObjectOnStage", "object": {**BULB, "audienceCopy": True}})
    await ok(pat, "board", {"type": "moveTo", "object": {"id": "bulb", "audienceCopy": True, "x": 0.2}})
    await ok(pat, "board", {"type": "destroy", "object": {"id": "bulb"}})
    await marker(pat, audience)
    assert "bulb" not in str(audience.events)


async def test_publishes_sent_at_once_on_a_shared_log_are_decided_in_order(make_hub: MakeHub, tmp_path: Path) -> None:
    """On a shared stage log a publish is folded only when the log hands it back: a performer's
    place-backstage, place-again and show sent without waiting must still be decided in order
    (the re-placement reached the audience, the show came as a bare move they could not draw)."""
    a, b = await two_nodes(make_hub, tmp_path)
    bob, watch_a, watch_b = await a.joined("bob"), await a.joined(), await b.joined()
    acks = await asyncio.gather(
        bob.publish("board", {"type": "placeObjectOnStage", "object": BULB}),
        bob.publish("board", {"type": "placeObjectOnStage", "object": {"id": "bulb", "src": "/m/bulb2.png"}}),
        bob.publish("board", {"type": "moveTo", "object": {"id": "bulb", "backstage": False}}),
    )
    assert all(ack["ok"] for ack in acks), acks
    await marker(bob, watch_a, watch_b)
    for watcher in (watch_a, watch_b):
        seen = mentions(watcher.events, "bulb")
        assert [e["payload"]["type"] for e in seen] == ["placeObjectOnStage"], seen
        assert seen[0]["payload"]["object"]["src"] == "/m/bulb2.png" and seen[0]["payload"]["object"]["name"] == "Bulb"


async def test_a_public_object_is_not_reordered_against_a_backstage_one(hub: Hub) -> None:
    """`bringToFrontOf` a public object in front of a backstage one reorders public objects, which
    the live audience could not be told without the backstage id: refused, naming the fields."""
    pat, _ = await stage_with(hub)
    audience = await hub.connect()
    ack_state = await audience.join("show")
    for obj in ({**BEAR, "id": "p1"}, {**BEAR, "id": "p2"}, BULB):
        await ok(pat, "board", {"type": "placeObjectOnStage", "object": obj})
    ack = await pat.publish("board", {"type": "bringToFrontOf", "front": "p1", "back": "bulb"})
    assert ack["error"]["code"] == "bad_request" and "front/back" in ack["error"]["message"], ack
    await ok(pat, "board", {"type": "bringToFrontOf", "front": "bulb", "back": "p1"})  # public order kept: fine
    await ok(pat, "board", {"type": "bringToFrontOf", "front": "p1", "back": "p2"})  # both public: fine
    await marker(pat, audience)
    assert "bulb" not in str(audience.events)
    late = (await (await hub.joined()).join("show"))["state"]["board"]["objects"]
    live = folded(ack_state, audience.events)["board"]["objects"]
    assert [o["id"] for o in late] == [o["id"] for o in live] == ["p2", "p1"]


def test_a_hostile_pose_never_makes_a_costume_infinite() -> None:
    """A wearer grown from 1e-300 to 1e300 would scale its costume to infinity, which JSON cannot
    carry (a late joiner's state would say null where live pages hold Infinity): it stays put."""
    state = apply(empty_state(), {"topic": "board", "payload": {"type": "placeObjectOnStage", "object": {
        "id": "av", "type": "avatar", "x": 0, "y": 0, "w": 1e-300, "h": 1}}, "at": 1})  # fmt: skip
    for i, payload in enumerate((
        {"type": "placeObjectOnStage", "object": {"id": "hat", "type": "prop", "x": 1, "y": 0, "w": 1, "h": 1, "wornBy": "av"}},
        {"type": "moveTo", "object": {"id": "av", "w": 1e300, "x": 1e308}},
    )):  # fmt: skip
        state = apply(state, {"topic": "board", "payload": payload, "at": 2 + i})
    hat = state["board"]["objects"][1]
    assert all(math.isfinite(hat[k]) for k in ("x", "y", "w", "h")), hat


async def test_the_official_node_client_meets_the_chat_rules_and_the_chat_window(hub: Hub) -> None:
    """Through socket.io-client (what browsers' code speaks): a chat window joined by hand holds no
    presence, nothing forged passes, and every refusal names its field or rule."""
    await hub.stage("show", "olivia", players=("pat",))
    olivia = await hub.joined("olivia")
    await ok(olivia, "background", {"type": "setAudienceChat", "enabled": False})
    await ok(olivia, "background", {"type": "setReactionVisibility", "visible": False})
    async with node_clients() as node:
        await node.open("ann", hub.url, transports=["websocket"])
        await node.first(lambda r: r["report"] == "connect", "the connection")
        for window in ("yes", {"a": [1]}, 1):
            ack = (await node.call("ann", "join", {"stage": "show", "chatWindow": window}))["ack"]
            assert ack["error"] == {"code": "bad_request", "message": "chatWindow must be true or false"}, ack
        assert (await node.call("ann", "join", {"stage": "show", "chatWindow": True}))["ack"]["ok"]
        refusals: list[tuple[str, dict[str, Any], str, str]] = [
            ("presence", {"avatarId": "bear"}, "forbidden", "chat window"),
            ("publish", {"topic": "chat", "payload": "bare string"}, "forbidden", "audience chat is off"),
            ("publish", {"topic": "chat", "payload": {"message": "hi", "isPrivate": False}}, "forbidden", "chat is off"),
            ("publish", {"topic": "chat", "payload": {"message": "hi", "clear": True}}, "forbidden", "audience may not"),
            ("publish", {"topic": "reaction", "payload": "👏"}, "forbidden", "reactions are off"),
            ("publish", {"topic": "background", "payload": {"type": "recordingSaved", "id": 1}}, "bad_request", "type"),
            ("publish", {"topic": "stream", "payload": {"name": "x", "live": True}}, "forbidden", "stream"),
            ("publish", {"topic": "board", "payload": {"type": "placeObjectOnStage", "object": BULB}}, "forbidden", "board"),
        ]  # fmt: skip
        for call, data, code, words in refusals:
            ack = (await node.call("ann", call, data))["ack"]
            assert ack["error"]["code"] == code and words in ack["error"]["message"], (call, data, ack)
    await marker(olivia, olivia)
    assert [e["payload"] for e in olivia.events if e["topic"] != "background"] == [{**olivia.events[-1]["payload"]}]


async def test_the_record_button_call_refuses_a_mistyped_blank(hub: Hub) -> None:
    """`startRecording {blank: "yes"}` started a recording without blanking (the flag silently
    read as false): a wrong type is refused, naming the field, and no recording opens."""
    await hub.stage("show", "olivia")
    olivia = await hub.joined("olivia")
    for blank in ("yes", 1, None, {"x": True}):
        ack = await olivia.call("startRecording", {"name": "Act 1", "blank": blank})
        assert ack["error"] == {"code": "bad_request", "message": "blank must be true or false"}, (blank, ack)
    assert (await olivia.call("performances", {}))["performances"] == []
    assert (await olivia.call("startRecording", {"name": "Act 1", "blank": False}))["ok"]


async def test_an_audience_replays_density_counts_no_backstage_event(hub: Hub) -> None:
    """The replay ack's `density` is counted on the listener's own timeline: an audience replay's
    bars say nothing of when performers worked backstage (held; a guard against counting all)."""
    pat, _ = await stage_with(hub)
    olivia = await hub.joined("olivia")
    await ok(pat, "board", {"type": "placeObjectOnStage", "object": BEAR})
    for x in range(5):
        await ok(pat, "board", {"type": "placeObjectOnStage" if x == 0 else "moveTo", "object": {**BULB, "x": x / 10}})
    swept = await olivia.call("sweep", {"name": "Night"})
    assert swept["ok"], swept
    viewer, performer = await hub.joined(), await hub.joined("olivia")
    seen = [await c.call("replay", {"performance": swept["performance"]["id"]}) for c in (viewer, performer)]
    assert sum(seen[0]["density"]) == 1 and sum(seen[1]["density"]) == 6, seen
