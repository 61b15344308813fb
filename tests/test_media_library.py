"""The media library (issue 18): tags, sharing with chosen users, dormant media, permission
requests for level-2 media and the notices they send, with their rights and bad input."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from hub.mail import MAILER
from storage import Event, MediaQuery
from tests.conftest import Hub
from tests.gql import data, gql, png, refused, stage_id, upload
from tests.replays import SENDER, T0

MEDIA = "query($f: MediaFilter) { media(filter: $f) { id name tags dormant owner { username } } }"
SAVE = "mutation($in: MediaInput!) { saveMedia(input: $in) { id tags dormant sharedWith { username } } }"
ASSIGN = "mutation($s: ID!, $m: [ID!]!) { assignMedia(stageId: $s, mediaIds: $m) { id } }"
STAGE_MEDIA = "query($slug: String!) { stage(slug: $slug) { media { id } } }"
REQUEST = "mutation($id: ID!, $note: String) { requestMedia(id: $id, note: $note) { id status note media { id } } }"
ANSWER = "mutation($id: ID!, $ok: Boolean!) { answerMediaRequest(id: $id, approve: $ok) { id status } }"
REQUESTS = "query($in: Boolean!) { mediaRequests(incoming: $in) { id status note requester { username } media { id } } }"


async def medium(hub: Hub, owner: str, name: str = "moon.png", level: int = 0) -> str:
    status, body = await upload(hub, owner, png(), name, type="prop")
    assert status == 201, body
    media_id = body["media"]["id"]
    if level:
        await data(hub, SAVE, {"in": {"id": media_id, "copyrightLevel": level}}, owner)
    return str(media_id)


def ids(result: dict[str, Any]) -> list[str]:
    return [m["id"] for m in result["media"]]


async def test_tags_are_normalised_filtered_by_and_only_the_owners(hub: Hub) -> None:
    await hub.user("helen")
    await hub.user("otto")
    moon, sun = await medium(hub, "helen"), await medium(hub, "helen", "sun.png")
    saved = await data(hub, SAVE, {"in": {"id": moon, "tags": ["  Night  Sky ", "night sky", "Act_1"]}}, "helen")
    assert saved["saveMedia"]["tags"] == ["act_1", "night sky"]
    assert ids(await data(hub, MEDIA, {"f": {"tag": "NIGHT SKY"}}, "helen")) == [moon]
    assert ids(await data(hub, MEDIA, {"f": {"tag": "act_1"}}, "otto")) == [moon]  # level 0: everyone's
    assert ids(await data(hub, MEDIA, {"f": {"tag": "none"}}, "helen")) == []
    assert sun not in ids(await data(hub, MEDIA, {"f": {"tag": "act_1"}}, "helen"))
    await refused(hub, "forbidden", SAVE, {"in": {"id": moon, "tags": ["mine"]}}, "otto")
    for bad in (["<b>"], [""], ["x" * 33], [f"t{i}" for i in range(21)], ["-dash"]):
        error = await refused(hub, "bad_request", SAVE, {"in": {"id": moon, "tags": bad}}, "helen")
        assert error["extensions"]["field"] == "tags", bad
    assert (await refused(hub, "bad_request", MEDIA, {"f": {"tag": "a\tb<"}}, "helen"))["extensions"]["field"] == "tag"
    cleared = await data(hub, SAVE, {"in": {"id": moon, "tags": []}}, "helen")
    assert cleared["saveMedia"]["tags"] == []


async def test_sharing_makes_a_level_3_medium_usable_by_chosen_users_only(hub: Hub) -> None:
    await hub.stage("pats", "pat")
    await hub.user("helen")
    await hub.user("otto")
    secret = await medium(hub, "helen", level=3)
    pats = await stage_id(hub, "pats")
    assert secret not in ids(await data(hub, MEDIA, {}, "pat"))
    await refused(hub, "forbidden", ASSIGN, {"s": pats, "m": [secret]}, "pat")
    await refused(hub, "not_found", SAVE, {"in": {"id": secret, "sharedWith": ["otto"]}}, "pat")  # unseen: as if absent
    error = await refused(hub, "bad_request", SAVE, {"in": {"id": secret, "sharedWith": ["nobody"]}}, "helen")
    assert error["extensions"]["field"] == "sharedWith"
    shared = await data(hub, SAVE, {"in": {"id": secret, "sharedWith": ["pat", "helen"]}}, "helen")
    assert shared["saveMedia"]["sharedWith"] == [{"username": "pat"}]  # the owner is never listed
    assert secret in ids(await data(hub, MEDIA, {}, "pat"))
    assert secret not in ids(await data(hub, MEDIA, {}, "otto"))
    listed = await data(hub, "{ media { id sharedWith { username } } }", None, "pat")
    assert all(m["sharedWith"] == [] for m in listed["media"])  # whom it is shared with: the owner's business
    await data(hub, ASSIGN, {"s": pats, "m": [secret]}, "pat")
    assert ids((await data(hub, STAGE_MEDIA, {"slug": "pats"}, "pat"))["stage"]) == [secret]
    await data(hub, SAVE, {"in": {"id": secret, "sharedWith": []}}, "helen")
    assert secret not in ids(await data(hub, MEDIA, {"f": {"owner": "helen"}}, "otto"))
    await refused(hub, "forbidden", ASSIGN, {"s": pats, "m": [secret]}, "otto")


async def test_dormant_media_leaves_the_toolbox_but_stays_in_replays(hub: Hub) -> None:
    await hub.stage("show", "helen")
    helen = await hub.store.get_user_by_name("helen")
    assert helen is not None
    await hub.store.create_stage("other", "Other", helen.id)
    await hub.user("otto")
    moon = await medium(hub, "helen")
    show = await stage_id(hub, "show")
    await data(hub, ASSIGN, {"s": show, "m": [moon]}, "helen")
    url = (await data(hub, "query($f: MediaFilter) { media(filter: $f) { url } }", {"f": {"owner": "helen"}}, "helen"))
    src = url["media"][0]["url"]
    placed = {"type": "placeObjectOnStage", "object": {"id": "moon", "x": 0.1, "y": 0.1, "src": src}}
    await hub.store.archive.append([Event(int(show), 1, "board", placed, T0, SENDER)])
    performance = (await hub.store.archive.sweep(int(show), "show", "opening")).id
    await refused(hub, "forbidden", SAVE, {"in": {"id": moon, "dormant": True}}, "otto")
    assert (await data(hub, SAVE, {"in": {"id": moon, "dormant": True}}, "helen"))["saveMedia"]["dormant"] is True
    assert ids((await data(hub, STAGE_MEDIA, {"slug": "show"}, "helen"))["stage"]) == []  # not in the toolbox
    assert moon in ids(await data(hub, MEDIA, {"f": {"dormant": True}}, "helen"))  # its owner still has it
    assert moon not in ids(await data(hub, MEDIA, {}, "otto"))  # others no longer see it
    await refused(hub, "forbidden", ASSIGN, {"s": await stage_id(hub, "other"), "m": [moon]}, "helen")
    await data(hub, ASSIGN, {"s": show, "m": []}, "helen")  # the toolbox's list without it keeps it assigned
    assert [m.id for m in await hub.store.stage_media(int(show))] == [int(moon)]
    client = await hub.connect("helen")
    assert (await client.call("replay", {"performance": performance}))["ok"]
    await client.wait_for(lambda c: any(e["payload"].get("object", {}).get("src") == src for e in c.events))
    async with aiohttp.ClientSession() as http, http.get(hub.url + src) as response:
        assert response.status == 200 and await response.read() == png()
    await data(hub, SAVE, {"in": {"id": moon, "dormant": False}}, "helen")
    assert ids((await data(hub, STAGE_MEDIA, {"slug": "show"}, "helen"))["stage"]) == [moon]


@pytest.fixture
def sent(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, Any]]]:
    """The mail the hub queues, as (to, template, context); rendered as Mailer.send renders it."""
    mailer = hub.server.app[MAILER]
    queued: list[tuple[str, str, dict[str, Any]]] = []
    real = mailer.send

    def record(to: str, template: str, **context: Any) -> None:
        real(to, template, **context)  # renders: a missing template value fails here
        queued.append((to, template, context))

    monkeypatch.setattr(mailer, "send", record)
    return queued


async def test_a_permission_request_from_asking_to_approval(hub: Hub, sent: list[Any]) -> None:
    await hub.stage("pats", "pat")
    for name in ("helen", "otto"):
        await hub.user(name)
    for name in ("helen", "pat"):
        user = await hub.store.get_user_by_name(name)
        assert user is not None
        await hub.store.set_profile(user.id, email=f"{name}@example.org")
    ask, hidden = await medium(hub, "helen", level=2), await medium(hub, "helen", "hidden.png", level=3)
    assert ids(await data(hub, MEDIA, {"f": {"requestable": True}}, "pat")) == [ask]  # level 3 stays unknown
    assert ids(await data(hub, MEDIA, {"f": {"requestable": True}}, "helen")) == []
    missing = await refused(hub, "not_found", REQUEST, {"id": "999999"}, "pat")
    assert await refused(hub, "not_found", REQUEST, {"id": hidden}, "pat") == missing  # nothing learnt
    await refused(hub, "conflict", REQUEST, {"id": ask}, "helen")
    assert (await refused(hub, "bad_request", REQUEST, {"id": ask, "note": "x" * 501}, "pat"))["extensions"]["field"] == "note"
    request = (await data(hub, REQUEST, {"id": ask, "note": "For act 2"}, "pat"))["requestMedia"]
    assert request["status"] == "pending" and request["note"] == "For act 2"
    await refused(hub, "conflict", REQUEST, {"id": ask}, "pat")  # one pending per user and medium
    assert sent[-1][:2] == ("helen@example.org", "media_permission_request")
    assert sent[-1][2]["username"] == "pat" and sent[-1][2]["note"] == "For act 2"
    incoming = (await data(hub, REQUESTS, {"in": True}, "helen"))["mediaRequests"]
    assert [(r["requester"]["username"], r["status"]) for r in incoming] == [("pat", "pending")]
    assert (await data(hub, REQUESTS, {"in": True}, "otto"))["mediaRequests"] == []
    await refused(hub, "not_found", ANSWER, {"id": request["id"], "ok": True}, "pat")  # not theirs to answer
    await refused(hub, "not_found", ANSWER, {"id": request["id"], "ok": True}, "otto")
    pats = await stage_id(hub, "pats")
    await refused(hub, "forbidden", ASSIGN, {"s": pats, "m": [ask]}, "pat")
    answered = (await data(hub, ANSWER, {"id": request["id"], "ok": True}, "helen"))["answerMediaRequest"]
    assert answered["status"] == "approved"
    await refused(hub, "conflict", ANSWER, {"id": request["id"], "ok": False}, "helen")
    assert sent[-1][:2] == ("pat@example.org", "media_permission_answer") and sent[-1][2]["answer"] == "approved"
    assert [r["status"] for r in (await data(hub, REQUESTS, {"in": False}, "pat"))["mediaRequests"]] == ["approved"]
    await data(hub, ASSIGN, {"s": pats, "m": [ask]}, "pat")
    assert ids((await data(hub, STAGE_MEDIA, {"slug": "pats"}, "pat"))["stage"]) == [ask]
    await refused(hub, "conflict", REQUEST, {"id": ask}, "pat")  # already usable


async def test_refused_requests_grant_nothing_and_requests_are_rate_limited(hub: Hub) -> None:
    await hub.stage("pats", "pat")
    await hub.user("helen")
    asks = [await medium(hub, "helen", f"m{i}.png", level=2) for i in range(7)]
    request = (await data(hub, REQUEST, {"id": asks[0]}, "pat"))["requestMedia"]
    await data(hub, ANSWER, {"id": request["id"], "ok": False}, "helen")
    await refused(hub, "forbidden", ASSIGN, {"s": await stage_id(hub, "pats"), "m": [asks[0]]}, "pat")
    again = (await data(hub, REQUEST, {"id": asks[0]}, "pat"))["requestMedia"]  # asking again after a refusal
    assert again["status"] == "pending"
    for ask in asks[1:4]:
        await data(hub, REQUEST, {"id": ask}, "pat")
    await refused(hub, "rate_limited", REQUEST, {"id": asks[5]}, "pat")
    await refused(hub, "unauthenticated", REQUEST, {"id": asks[6]})
    assert (await gql(hub, REQUESTS, {"in": True}))["errors"][0]["extensions"]["code"] == "unauthenticated"


async def test_the_owner_and_the_user_hear_when_access_to_a_stage_is_given(hub: Hub, sent: list[Any]) -> None:
    await hub.stage("show", "helen", editors=("eddie",))
    await hub.user("pat")
    for name in ("helen", "pat"):
        user = await hub.store.get_user_by_name(name)
        assert user is not None
        await hub.store.set_profile(user.id, email=f"{name}@example.org")
    update = "mutation($id: ID!, $in: StageInput!) { updateStage(id: $id, input: $in) { id } }"
    show = await stage_id(hub, "show")
    await data(hub, update, {"id": show, "in": {"players": ["pat"]}}, "eddie")
    assert [(to, template) for to, template, _ in sent] == [
        ("helen@example.org", "stage_access_given"), ("pat@example.org", "stage_access_to_you"),
    ]
    assert sent[0][2]["username"] == "pat" and sent[0][2]["access"] == "player" and sent[0][2]["stage_url"].endswith("/stage/show")
    sent.clear()
    await data(hub, update, {"id": show, "in": {"players": ["pat"], "description": "same access"}}, "eddie")
    assert sent == []  # nobody newly given access
    await data(hub, update, {"id": show, "in": {"players": []}}, "helen")
    await data(hub, update, {"id": show, "in": {"players": ["pat"]}}, "helen")
    assert [(to, template) for to, template, _ in sent] == [("pat@example.org", "stage_access_to_you")]


async def test_the_library_tables_on_both_databases(store: Any) -> None:
    """Tags, grants, the one-pending rule and deletion, on SQLite and Postgres."""
    owner = await store.create_user("helen", "x")
    asker = await store.create_user("pat", "x")
    item = await store.create_media(owner.id, "moon", "prop", "image/png", 10, ["a.png"])
    await store.set_tags(item.id, ["night", "act 1", "night"])
    assert (await store.require_media(item.id)).tags == ("act 1", "night")
    await store.update_media(item.id, copyright_level=2)
    assert [m.id for m in await store.list_media(MediaQuery(requestable_by=asker.id))] == [item.id]
    assert [m.id for m in await store.list_media(MediaQuery(tag="night", dormant=False))] == [item.id]
    request = await store.create_request(item.id, asker.id, "please")
    assert request is not None and await store.create_request(item.id, asker.id, "again") is None
    assert await store.pending_count(owner.id) == 1
    approved = await store.answer_request(request.id, True)
    assert approved is not None and approved.status == "approved" and approved.answered_at
    assert await store.answer_request(request.id, False) is None
    mine = MediaQuery(visible_to=asker.id, shared_level=1)
    assert [m.id for m in await store.list_media(mine)] == [item.id]
    await store.set_shares(item.id, [asker.id])
    await store.set_shares(item.id, [])
    assert await store.is_granted(item.id, asker.id)  # the approval stays when sharing is withdrawn
    await store.update_media(item.id, dormant=True)
    assert await store.list_media(mine) == [] and (await store.require_media(item.id)).dormant
    await store.create_request(item.id, asker.id, "")
    await store.delete_user(asker.id, None)  # their grants and requests go with them
    assert await store.requests_to(owner.id) == [] and not await store.is_granted(item.id, asker.id)
    await store.delete_media(item.id)
    assert await store.requests_to(None) == []


async def test_hostile_input_is_refused_naming_the_field(hub: Hub) -> None:
    await hub.user("helen")
    await hub.user("pat")
    moon = await medium(hub, "helen", level=2)
    for bad, field in (
        ({"id": moon, "tags": ["ok\x00"]}, "tags"),
        ({"id": moon, "sharedWith": ["pat"] * 101}, "sharedWith"),
        ({"id": moon, "sharedWith": ["pat\x00"]}, "sharedWith"),
        ({"id": "1 OR 1=1", "tags": ["x"]}, "id"),
    ):
        assert (await refused(hub, "bad_request", SAVE, {"in": bad}, "helen"))["extensions"]["field"] == field, bad
    assert (await refused(hub, "bad_request", REQUEST, {"id": "-1"}, "pat"))["extensions"]["field"] == "id"
    assert (await refused(hub, "bad_request", REQUEST, {"id": moon, "note": "\x00"}, "pat"))["extensions"]["field"] == "note"
    assert (await refused(hub, "bad_request", ANSWER, {"id": "x", "ok": True}, "helen"))["extensions"]["field"] == "id"
    assert (await gql(hub, ANSWER, {"id": "1", "ok": "yes"}, "helen"))["errors"]  # not a Boolean
    await refused(hub, "unauthenticated", ANSWER, {"id": "1", "ok": True})
    await refused(hub, "unauthenticated", MEDIA, {"f": {"requestable": True}})
    assert (await data(hub, MEDIA, {"f": {"owner": "helen"}}, "helen"))["media"][0]["tags"] == []  # nothing changed
