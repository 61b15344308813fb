"""Multi-frame media on the hub: frames are uploads like any other (checked for who may edit the
item, the kind of content, the size and a frame count limit), and removing a frame gives its size
back to the owner's quota."""

from __future__ import annotations

import pytest

from hub import upload as upload_module
from tests.conftest import Hub
from tests.gql import data, png, upload
from tests.studio import wav

SAVE = "mutation($in: MediaInput!) { saveMedia(input: $in) { id frames } }"
SIZE = "{ media { id size frames } }"


async def test_frames_are_checked_like_uploads_and_bounded(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upload_module, "MAX_FRAMES", 3)
    await hub.user("helen")
    await hub.user("root", "admin")
    walk = (await upload(hub, "helen", png(), "walk.png", type="avatar"))[1]["media"]
    sound = (await upload(hub, "helen", wav(), "s.wav"))[1]["media"]

    # A sound is no frame, and a sound has no frames.
    status, body = await upload(hub, "helen", wav(), "w.wav", frameOf=walk["id"])
    assert (status, body["error"]["code"]) == (400, "bad_request")
    status, body = await upload(hub, "helen", png(3, 3), "f.png", frameOf=sound["id"])
    assert (status, body["error"]["code"]) == (400, "bad_request")
    # An unknown or malformed item.
    for frame_of in ("999999", "1; DROP TABLE media", "-1"):
        status, body = await upload(hub, "helen", png(3, 3), "f.png", frameOf=frame_of)
        assert (status, body["error"]["code"]) == (400, "bad_request"), frame_of

    # An admin may add a frame too; `type` with `frameOf` changes nothing.
    status, body = await upload(hub, "root", png(3, 3), "f2.png", frameOf=walk["id"], type="backdrop")
    assert status == 201 and body["media"]["type"] == "avatar" and len(body["media"]["frames"]) == 2
    status, body = await upload(hub, "helen", png(4, 4), "f3.png", frameOf=walk["id"])
    assert status == 201 and len(body["media"]["frames"]) == 3
    status, body = await upload(hub, "helen", png(5, 5), "f4.png", frameOf=walk["id"])
    assert status == 400 and "3 frames" in body["error"]["message"]
    frames = (await data(hub, SIZE, user="helen"))["media"]
    assert [len(m["frames"]) for m in frames if m["id"] == walk["id"]] == [3]


async def test_removing_a_frame_gives_its_size_back(hub: Hub) -> None:
    await hub.user("helen")
    walk = (await upload(hub, "helen", png(), "walk.png", type="avatar"))[1]["media"]
    two = (await upload(hub, "helen", png(6, 6), "b.png", frameOf=walk["id"]))[1]["media"]
    assert two["size"] == len(png()) + len(png(6, 6))
    kept = (await data(hub, SAVE, {"in": {"id": walk["id"], "frames": [two["frames"][1]]}}, user="helen"))["saveMedia"]
    assert kept["frames"] == [two["frames"][1]]
    sizes = {m["id"]: m["size"] for m in (await data(hub, SIZE, user="helen"))["media"]}
    assert sizes[walk["id"]] == len(png(6, 6))
