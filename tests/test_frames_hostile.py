"""Frames, backdrop animation and stage animations as a hostile client would send them: every bad
field is refused by name and reaches nobody; the audience may not touch any of it; a forged
animation anchor is replaced by the hub's; the stage config's animations are checked too."""

from __future__ import annotations

from typing import Any

from tests.conftest import Hub
from tests.gql import data, refused, stage_id

OBJ = {"id": "w", "type": "avatar", "src": "a.png", "frames": ["a.png", "b.png"]}
BAD: list[tuple[str, dict[str, Any], str]] = [
    ("board", {"type": "placeObjectOnStage", "object": {**OBJ, "autoplayFrames": "fast"}}, "object/autoplayFrames"),
    ("board", {"type": "toggleAutoplayFrames", "object": {"id": "w", "autoplayFrames": -1}}, "object/autoplayFrames"),
    ("board", {"type": "toggleAutoplayFrames", "object": {"id": "w", "autoplayFrames": 10**9}}, "object/autoplayFrames"),
    ("board", {"type": "moveTo", "object": {"id": "w", "frameLoop": "yes"}}, "object/frameLoop"),
    ("board", {"type": "moveTo", "object": {"id": "w", "frames": ["x.png"] * 101}}, "object/frames"),
    ("board", {"type": "moveTo", "object": {"id": "w", "frames": "x.png"}}, "object/frames"),
    ("background", {"type": "changeBackground", "background": {"src": "b.png", "opacity": 2}}, "background/opacity"),
    ("background", {"type": "changeBackground", "background": {"src": "b.png", "speed": -1}}, "background/speed"),
    ("background", {"type": "changeBackground", "background": {"src": "b.png", "currentFrame": 1.5}}, "background/currentFrame"),
    ("background", {"type": "changeBackground", "background": {"src": "b.png", "frameLoop": "no"}}, "background/frameLoop"),
    ("background", {"type": "changeBackground", "background": {"src": "b.png", "dwell": 1e9}}, "background/dwell"),
    ("background", {"type": "setAnimations", "animations": {"bubble": "explode"}}, "animations/bubble"),
    ("background", {"type": "setAnimations", "animations": {"curtainSpeed": 99_999}}, "animations/curtainSpeed"),
    ("background", {"type": "setAnimations", "animations": {"curtain": "drop", "onload": "x"}}, "animations"),
    ("background", {"type": "setAnimations", "animations": "bounce"}, "animations"),
    ("background", {"type": "setAnimations"}, "payload"),
]


async def test_bad_fields_are_refused_by_name_and_reach_nobody(hub: Hub) -> None:
    await hub.stage("show", "olivia", players=("pat",))
    pat, watcher = await hub.joined("pat"), await hub.joined()
    assert (await pat.publish("board", {"type": "placeObjectOnStage", "object": OBJ}))["ok"]
    for topic, payload, field in BAD:
        ack = await pat.call("publish", {"topic": topic, "payload": payload})
        assert ack["ok"] is False and ack["error"]["code"] == "bad_request", (payload, ack)
        assert field in ack["error"]["message"], (field, ack["error"]["message"])
    await pat.publish("chat", {"message": "marker"})
    await watcher.wait_for(lambda c: any(e["topic"] == "chat" for e in c.events))
    assert [e["topic"] for e in watcher.events] == ["board", "chat"]


async def test_the_audience_may_not_animate_anything(hub: Hub) -> None:
    await hub.stage("show", "olivia")
    audience = await hub.joined()
    for topic, payload in [
        ("board", {"type": "toggleAutoplayFrames", "object": {"id": "w", "autoplayFrames": 100}}),
        ("board", {"type": "switchFrame", "object": {"id": "w", "src": "b.png"}}),
        ("background", {"type": "changeBackground", "background": {"src": "b.png", "speed": 1, "opacity": 0.5}}),
        ("background", {"type": "setAnimations", "animations": {"curtain": "close"}}),
    ]:
        ack = await audience.call("publish", {"topic": topic, "payload": payload})
        assert ack["ok"] is False and ack["error"]["code"] == "forbidden", payload


async def test_a_forged_anchor_is_replaced_by_the_hubs_time(hub: Hub) -> None:
    await hub.stage("show", "olivia", players=("pat",))
    pat = await hub.joined("pat")
    far = 10**15
    await pat.publish("board", {"type": "placeObjectOnStage", "object": {**OBJ, "autoplayFrames": 100, "framesAt": far}})
    await pat.publish("background", {"type": "changeBackground", "background": {"src": "a.png", "frames": ["a.png", "b.png"], "speed": 1, "frameAt": far, "at": far}})
    late = await hub.connect()
    state = (await late.join("show"))["state"]
    placed, backdrop = state["board"]["objects"][0], state["background"]["backdrop"]
    assert placed["framesAt"] < far and backdrop["frameAt"] < far and backdrop["frameAt"] == backdrop["at"]


async def test_stage_config_animations_are_checked(hub: Hub) -> None:
    await hub.stage("show", "olivia")
    update = "mutation($id: ID!, $in: StageInput!) { updateStage(id: $id, input: $in) { config } }"
    sid = await stage_id(hub, "show")
    good = {"bubble": "bounce", "curtain": "close", "bubbleSpeed": 500, "curtainSpeed": 3000}
    config = (await data(hub, update, {"id": sid, "in": {"animations": good}}, user="olivia"))["updateStage"]["config"]
    assert config["animations"] == good
    for bad in ({"curtain": "explode"}, {"bubbleSpeed": -5}, {"bubble": "fade", "x": 1}, ["fade"]):
        error = await refused(hub, "bad_request", update, {"id": sid, "in": {"animations": bad}}, user="olivia")
        assert error["extensions"]["field"] == "animations", bad
    joined = await (await hub.connect()).join("show")
    assert joined["stage"]["config"]["animations"] == good and isinstance(joined["now"], int)
