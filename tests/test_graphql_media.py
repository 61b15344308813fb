"""Media: upload by HTTP (size, type from content, nothing left on refusal), serving, and the
GraphQL list, edit, delete and stage assignment with their rights."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from hub.graphql import SERVICES
from hub.ratelimit import KeyedCounter
from hub.upload import UPLOADS
from tests.conftest import Hub
from tests.gql import data, eventually, png, refused, stage_id, token, upload
from tests.present import present

MEDIA = "query($f: MediaFilter) { media(filter: $f) { id name type owner { username } stages { slug } } }"
SAVE = "mutation($in: MediaInput!) { saveMedia(input: $in) { id name type copyrightLevel frames voice link } }"
ASSIGN = "mutation($s: ID!, $m: [ID!]!) { assignMedia(stageId: $s, mediaIds: $m) { media { id } } }"


def files(hub: Hub) -> list[Path]:
    """Everything under the hub's media directory, temporary files included."""
    root = media_dir(hub)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def media_dir(hub: Hub) -> Path:
    return hub.server.app[SERVICES].settings.media_dir


async def test_upload_is_stored_by_content_and_served_with_cache_headers(hub: Hub) -> None:
    await hub.user("helen")
    status, body = await upload(hub, "helen", png(), "Portrait.png", type="avatar")
    assert status == 201, body
    media = body["media"]
    assert media["name"] == "Portrait" and media["type"] == "avatar" and media["mime"] == "image/png"
    assert media["size"] == len(png()) and media["frames"] == [media["url"]] and media["copyrightLevel"] == 0
    assert [p.name for p in files(hub)] == [media["url"].rsplit("/", 1)[1]]
    async with aiohttp.ClientSession() as http:
        async with http.get(hub.url + media["url"]) as response:
            assert response.status == 200 and await response.read() == png()
            assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            assert response.headers["Content-Type"] == "image/png"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
        async with http.get(hub.url + "/media/../hub.db") as response:
            assert response.status == 404
    again = (await upload(hub, "helen", png(), "copy.png"))[1]["media"]
    assert again["url"] == media["url"] and again["type"] == "prop"  # one file for identical content
    assert len(files(hub)) == 1


async def test_wrong_type_is_refused_and_leaves_nothing_on_disk(hub: Hub) -> None:
    await hub.user("helen")
    status, body = await upload(hub, "helen", b"just some text, not an image at all" * 10, "fake.png")
    assert status == 415 and body["error"]["code"] == "unsupported_type"
    assert "not a recognised media format" in body["error"]["message"]
    status, body = await upload(hub, "helen", b"%PDF-1.4\n" + b"x" * 100, "doc.png")
    assert status == 415 and "application/pdf" in body["error"]["message"]
    assert files(hub) == []
    status, body = await upload(hub, "helen", png(), "x.png", type="audio")
    assert status == 400 and body["error"]["code"] == "bad_request"
    assert files(hub) == []


async def test_oversized_upload_is_refused_and_leaves_nothing_on_disk(hub: Hub) -> None:
    helen = await hub.user("helen")
    await hub.store.update_user(helen, upload_limit=1000)
    status, body = await upload(hub, "helen", png(200, 200, (1, 2, 3)) + b"\0" * 5000, "big.png")
    assert status == 413 and body["error"]["code"] == "too_large" and "1000 bytes" in body["error"]["message"]
    assert files(hub) == []


async def test_upload_needs_a_login_and_one_file(hub: Hub) -> None:
    await hub.user("helen")
    status, body = await upload(hub, None, png())
    assert status == 401 and body["error"]["code"] == "unauthorized"
    async with aiohttp.ClientSession() as http:
        form = aiohttp.FormData()
        form.add_field("name", "nothing")
        token = (await http.post(f"{hub.url}/api/login", json={"username": "helen", "password": "correct-horse-battery"}))
        access = (await token.json())["access_token"]
        async with http.post(f"{hub.url}/api/media", data=form, headers={"Authorization": f"Bearer {access}"}) as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "bad_request"


async def test_frames_are_appended_by_the_owner_only(hub: Hub) -> None:
    await hub.user("helen")
    await hub.user("hector")
    first = (await upload(hub, "helen", png(), "walk.png", type="avatar"))[1]["media"]
    status, body = await upload(hub, "hector", png(3, 3), "x.png", frameOf=first["id"])
    assert status == 403 and body["error"]["code"] == "forbidden"
    status, body = await upload(hub, "helen", png(3, 3), "walk2.png", frameOf=first["id"])
    assert status == 201, body
    assert len(body["media"]["frames"]) == 2 and body["media"]["frames"][0] == first["url"]
    assert body["media"]["size"] == len(png()) + len(png(3, 3))
    assert len(files(hub)) == 2


async def test_media_list_shows_own_shared_and_stage_media(hub: Hub) -> None:
    await hub.stage("show", "helen", editors=("eddie",))
    await hub.user("stranger")
    await hub.user("root", "admin")
    mine = (await upload(hub, "helen", png(), "mine.png"))[1]["media"]
    secret = (await upload(hub, "helen", png(4, 4), "secret.png"))[1]["media"]
    await data(hub, SAVE, {"in": {"id": secret["id"], "copyrightLevel": 3}}, user="helen")
    await refused(hub, "unauthenticated", MEDIA)
    assert [m["name"] for m in (await data(hub, MEDIA, user="stranger"))["media"]] == ["mine"]
    await data(hub, ASSIGN, {"s": await stage_id(hub, "show"), "m": [secret["id"]]}, user="helen")
    assert {m["name"] for m in (await data(hub, MEDIA, user="eddie"))["media"]} == {"mine", "secret"}
    assert [m["name"] for m in (await data(hub, MEDIA, user="stranger"))["media"]] == ["mine"]
    assert len((await data(hub, MEDIA, user="root"))["media"]) == 2
    filtered = (await data(hub, MEDIA, {"f": {"stage": "show", "name": "SEC", "owner": "helen", "type": "prop"}}, user="eddie"))["media"]
    assert filtered == [{"id": secret["id"], "name": "secret", "type": "prop", "owner": {"username": "helen"}, "stages": [{"slug": "show"}]}]
    assert mine["id"] not in [m["id"] for m in filtered]


async def test_save_media_by_owner_or_admin(hub: Hub) -> None:
    await hub.user("helen")
    await hub.user("hector")
    await hub.user("root", "admin")
    media = (await upload(hub, "helen", png(), "a.png"))[1]["media"]
    second = (await upload(hub, "helen", png(3, 3), "b.png", frameOf=media["id"]))[1]["media"]
    await refused(hub, "unauthenticated", SAVE, {"in": {"id": media["id"], "name": "x"}})
    await refused(hub, "forbidden", SAVE, {"in": {"id": media["id"], "name": "x"}}, user="hector")
    changes = {"id": media["id"], "name": "Walker", "type": "avatar", "copyrightLevel": 2,
               "frames": list(reversed(second["frames"])), "voice": {"voice": "en", "pitch": 50}, "link": {"url": "https://example.org"}}
    saved = (await data(hub, SAVE, {"in": changes}, user="helen"))["saveMedia"]
    assert saved == {"id": media["id"], "name": "Walker", "type": "avatar", "copyrightLevel": 2,
                     "frames": changes["frames"], "voice": changes["voice"], "link": changes["link"]}
    error = await refused(hub, "bad_request", SAVE, {"in": {"id": media["id"], "frames": ["/media/elsewhere.png"]}}, user="helen")
    assert error["extensions"]["field"] == "frames"
    await refused(hub, "bad_request", SAVE, {"in": {"id": media["id"], "copyrightLevel": 7}}, user="helen")
    one = (await data(hub, SAVE, {"in": {"id": media["id"], "frames": [second["frames"][0]]}}, user="root"))["saveMedia"]
    assert one["frames"] == [second["frames"][0]] and len(files(hub)) == 1  # the dropped frame's file is gone


async def test_delete_media_removes_assignments_and_unused_files(hub: Hub) -> None:
    await hub.stage("show", "helen")
    await hub.user("hector")
    media = (await upload(hub, "helen", png(), "a.png"))[1]["media"]
    twin = (await upload(hub, "hector", png(), "same.png"))[1]["media"]
    await data(hub, ASSIGN, {"s": await stage_id(hub, "show"), "m": [media["id"]]}, user="helen")
    query = "mutation($id: ID!) { deleteMedia(id: $id) }"
    await refused(hub, "forbidden", query, {"id": media["id"]}, user="hector")
    assert (await data(hub, query, {"id": media["id"]}, user="helen"))["deleteMedia"] is True
    assert len(files(hub)) == 1  # hector's item uses the same file
    assert await hub.store.stage_media(int(await stage_id(hub, "show"))) == []
    await data(hub, query, {"id": twin["id"]}, user="hector")
    assert files(hub) == []


async def test_assign_media_in_toolbar_order_with_usable_media_only(hub: Hub) -> None:
    await hub.stage("show", "helen", players=("paul",))
    await hub.user("hector")
    a = (await upload(hub, "helen", png(), "a.png"))[1]["media"]["id"]
    b = (await upload(hub, "helen", png(3, 3), "b.png"))[1]["media"]["id"]
    private = (await upload(hub, "hector", png(5, 5), "p.png"))[1]["media"]["id"]
    await data(hub, SAVE, {"in": {"id": private, "copyrightLevel": 3}}, user="hector")
    sid = await stage_id(hub, "show")
    await refused(hub, "forbidden", ASSIGN, {"s": sid, "m": [a]}, user="paul")
    await refused(hub, "unauthenticated", ASSIGN, {"s": sid, "m": [a]})
    await refused(hub, "forbidden", ASSIGN, {"s": sid, "m": [a, private]}, user="helen")
    assert (await data(hub, ASSIGN, {"s": sid, "m": [b, a]}, user="helen"))["assignMedia"]["media"] == [{"id": b}, {"id": a}]
    assert [m["id"] for m in (await data(hub, '{ stage(slug: "show") { media { id } } }'))["stage"]["media"]] == [b, a]


async def test_an_editor_cannot_copy_the_owners_unshared_media_to_another_stage(hub: Hub) -> None:
    """Editors assigned the owner's level 2/3 media (on a stage they edit) to stages of their own."""
    await hub.stage("show", "helen", editors=("eddie",))
    await hub.store.create_stage("mine", "Mine", present(await hub.store.get_user_by_name("eddie")).id)
    await hub.user("root", "admin")
    shared = (await upload(hub, "helen", png(), "shared.png"))[1]["media"]["id"]
    secret = (await upload(hub, "helen", png(4, 4), "secret.png"))[1]["media"]["id"]
    asked = (await upload(hub, "helen", png(5, 5), "asked.png"))[1]["media"]["id"]
    await data(hub, SAVE, {"in": {"id": secret, "copyrightLevel": 3}}, user="helen")
    await data(hub, SAVE, {"in": {"id": asked, "copyrightLevel": 2}}, user="helen")
    show, mine = await stage_id(hub, "show"), await stage_id(hub, "mine")
    await data(hub, ASSIGN, {"s": show, "m": [secret, asked]}, user="helen")
    # On the stage it is already on, the editor may keep and reorder it, and add shared media.
    assert (await data(hub, ASSIGN, {"s": show, "m": [asked, shared, secret]}, user="eddie"))["assignMedia"]["media"] == [
        {"id": asked}, {"id": shared}, {"id": secret}
    ]
    for private in (secret, asked):
        error = await refused(hub, "forbidden", ASSIGN, {"s": mine, "m": [shared, private]}, user="eddie")
        assert error["extensions"]["field"] == "mediaIds"
    assert (await data(hub, ASSIGN, {"s": mine, "m": [shared]}, user="eddie"))["assignMedia"]["media"] == [{"id": shared}]
    # Duplicating the stage copies only what the editor may use; the owner's copy keeps everything.
    copy = (await data(hub, 'mutation($id: ID!) { duplicateStage(id: $id) { media { id } } }', {"id": show}, user="eddie"))
    assert copy["duplicateStage"]["media"] == [{"id": shared}]
    copy = (await data(hub, 'mutation($id: ID!) { duplicateStage(id: $id) { media { id } } }', {"id": show}, user="helen"))
    assert copy["duplicateStage"]["media"] == [{"id": asked}, {"id": shared}, {"id": secret}]
    assert (await data(hub, ASSIGN, {"s": mine, "m": [secret]}, user="root"))["assignMedia"]["media"] == [{"id": secret}]


async def test_uploads_stop_at_the_users_quota_before_the_file_is_kept(make_hub: Callable[..., Awaitable[Hub]]) -> None:
    hub = await make_hub(upload_quota=len(png()) + len(png(3, 3)))
    await hub.user("helen")
    await hub.user("hector")
    assert (await upload(hub, "helen", png(), "a.png"))[0] == 201
    kept = files(hub)
    status, body = await upload(hub, "helen", png(40, 40, (9, 9, 9)), "big.png")
    assert status == 413 and body["error"]["code"] == "too_large" and "quota" in body["error"]["message"]
    assert files(hub) == kept  # nothing of the refused file stays
    first = (await upload(hub, "helen", png(3, 3), "b.png"))
    assert first[0] == 201
    status, body = await upload(hub, "helen", png(3, 3, (1, 1, 1)), "c.png")
    assert status == 413 and "delete some" in body["error"]["message"]
    frame_of = {"frameOf": str(first[1]["media"]["id"])}
    assert (await upload(hub, "helen", png(3, 3, (2, 2, 2)), "d.png", **frame_of))[0] == 413  # frames count too
    assert (await upload(hub, "hector", png(40, 40, (9, 9, 9)), "big.png"))[0] == 201  # a quota per user
    await data(hub, "mutation($id: ID!) { deleteMedia(id: $id) }", {"id": first[1]["media"]["id"]}, user="helen")
    assert (await upload(hub, "helen", png(3, 3, (1, 1, 1)), "c.png"))[0] == 201  # room again


async def test_one_upload_at_a_time_per_user(hub: Hub) -> None:
    """Two uploads at once could both fit a quota only one of them fits."""
    helen = str(await hub.user("helen"))
    in_flight = hub.server.app[UPLOADS]
    host, port = hub.url.split("//")[1].split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"POST /api/media HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer " + (await token(hub, "helen")).encode()
                 + b"\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 100000\r\n\r\n--B\r\n")
    await writer.drain()
    await eventually(lambda: _count_is(in_flight, helen, 1))  # the slow upload is under way
    status, body = await upload(hub, "helen", png(), "a.png")
    assert status == 429 and body["error"]["code"] == "rate_limited"
    writer.close()
    await eventually(lambda: _count_is(in_flight, helen, 0))  # its end frees the user's slot
    status, _ = await upload(hub, "helen", png(), "a.png")
    assert status == 201


async def _count_is(counter: KeyedCounter, key: str, count: int) -> bool:
    return counter.count(key) == count
