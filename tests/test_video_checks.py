"""A video object's playback fields are checked at the hub (hub/video_checks.py): a refused
publish gets a bad_request naming the field and changes nothing for anyone."""

from __future__ import annotations

from typing import Any

from hub.node import supersedes
from storage import Event

CLIP = {"id": "v1", "type": "video", "name": "Clip", "src": "https://host/clip.webm", "duration": 12.5}


async def test_bad_video_fields_are_refused_naming_the_field(hub: Any) -> None:
    await hub.stage("show", owner="olivia", players=("pat",))
    pat, ann = await hub.joined("pat"), await hub.joined()
    assert (await pat.publish("board", {"type": "placeObjectOnStage", "object": CLIP}))["ok"]
    await ann.wait_for(lambda c: len(c.events) == 1)
    cases = [
        ({**CLIP, "currentTime": 13}, "object.currentTime is past the end of the video (12.5 s)"),
        ({"id": "v1", "currentTime": 20}, "object.currentTime is past the end of the video (12.5 s)"),  # stored duration
        ({**CLIP, "currentTime": -1}, "object.currentTime must be a finite number"),
        ({**CLIP, "currentTime": "soon"}, "object.currentTime must be a finite number"),
        ({**CLIP, "isPlaying": "yes"}, "object.isPlaying must be true or false"),
        ({**CLIP, "loop": 1}, "object.loop must be true or false"),
        ({**CLIP, "replayed": 1.5}, "object.replayed must be an integer"),
        ({**CLIP, "duration": 0}, "object.duration must be a number of seconds > 0"),
    ]
    for obj, message in cases:
        ack = await pat.call("publish", {"topic": "board", "payload": {"type": "moveTo", "object": obj}})
        assert ack["ok"] is False and ack["error"]["code"] == "bad_request", (obj, ack)
        assert ack["error"]["message"].startswith(message), (obj, ack)
    seek = await pat.publish("board", {"type": "moveTo", "object": {**CLIP, "isPlaying": False, "currentTime": 12.5}})
    assert seek["ok"], seek  # the very end is a valid position
    await ann.wait_for(lambda c: len(c.events) == 2)
    assert [e["seq"] for e in ann.events] == [1, 2]  # nothing refused reached anyone
    late = await hub.connect()
    ack = await late.join("show")
    (clip,) = ack["state"]["board"]["objects"]
    assert (clip["currentTime"], clip["isPlaying"], clip["duration"]) == (12.5, False, 12.5)


async def test_an_object_turned_into_a_clip_brings_no_unchecked_fields(hub: Any) -> None:
    """Fields placed on a prop are not checked as a clip's; turning it into a clip checks them."""
    await hub.stage("show", owner="olivia", players=("pat",))
    pat = await hub.joined("pat")
    junk = {"id": "v2", "type": "prop", "duration": -5, "loop": "yes", "replayed": -3}
    assert (await pat.publish("board", {"type": "placeObjectOnStage", "object": junk}))["ok"]
    ack = await pat.call("publish", {"topic": "board", "payload": {"type": "moveTo", "object": {"id": "v2", "type": "video"}}})
    assert ack["ok"] is False and ack["error"]["message"] == "object.loop must be true or false", ack
    fixed = {"id": "v2", "type": "video", "loop": False, "replayed": 0, "duration": 3}
    assert (await pat.publish("board", {"type": "moveTo", "object": fixed}))["ok"]


def test_a_video_moveto_is_never_superseded_for_a_lagging_socket() -> None:
    """A later copy of a clip keeps the playback an earlier Play set, so that Play must still
    reach a slow socket; other objects' poses may be skipped."""
    def move(obj: dict[str, Any]) -> Event:
        return Event(1, 1, "board", {"type": "moveTo", "object": obj}, 0, {})

    assert supersedes(move({**CLIP, "isPlaying": True})) is None
    assert supersedes(move({"id": "p1", "type": "prop"})) == ("moveTo", 1, "p1")
