"""Stages over GraphQL: foyer and live counts, visibility, create/update/duplicate/delete rights,
and stage status enforced on the socket."""

from __future__ import annotations

from client import HubClient
from tests.conftest import Hub
from tests.gql import data, eventually, refused, stage_id
from tests.present import present

FOYER = "{ foyer { slug status live { players audiences } } }"
UPDATE = "mutation($id: ID!, $in: StageInput!) { updateStage(id: $id, input: $in) { slug name status visible aspectRatio defaultColor cover owner { username } playerAccess { username } editorAccess { username } } }"
CREATE = "mutation($in: StageInput!) { createStage(input: $in) { id slug name owner { username } myRole canEdit } }"


async def _counts(hub: Hub, slug: str) -> dict[str, int]:
    stages = (await data(hub, FOYER))["foyer"]
    return next(s["live"] for s in stages if s["slug"] == slug)


async def test_foyer_counts_follow_the_presence_of_connected_sockets(hub: Hub) -> None:
    await hub.stage("show", "helen", players=("paul",))
    assert await _counts(hub, "show") == {"players": 0, "audiences": 0}
    helen = await hub.joined("helen")
    paul = await hub.joined("paul")
    audience = [await hub.joined() for _ in range(3)]

    async def counts_are(expected: dict[str, int]) -> bool:
        return await _counts(hub, "show") == expected

    await eventually(lambda: counts_are({"players": 2, "audiences": 3}))
    await paul.close()
    await audience[0].close()
    await audience[1].leave()
    await eventually(lambda: counts_are({"players": 1, "audiences": 1}))
    await helen.close()
    await eventually(lambda: counts_are({"players": 0, "audiences": 1}))


async def test_hidden_stages_are_only_for_their_people(hub: Hub) -> None:
    await hub.stage("show", "helen", players=("paul",))
    await hub.user("stranger")
    await hub.user("root", "admin")
    sid = await stage_id(hub, "show")
    await data(hub, UPDATE, {"id": sid, "in": {"visible": False}}, user="helen")
    assert (await data(hub, FOYER))["foyer"] == []
    query = 'query($s: String!) { stage(slug: $s) { slug myRole canEdit performances { id } } }'
    assert (await data(hub, query, {"s": "show"}))["stage"] is None
    assert (await data(hub, query, {"s": "show"}, user="stranger"))["stage"] is None
    assert (await data(hub, query, {"s": "show"}, user="paul"))["stage"] == {"slug": "show", "myRole": "player", "canEdit": False, "performances": []}
    assert (await data(hub, query, {"s": "show"}, user="root"))["stage"]["canEdit"] is True


async def test_stages_lists_the_callers_stages(hub: Hub) -> None:
    await hub.stage("mine", "helen")
    await hub.stage("theirs", "hector", players=("paul",))
    await hub.user("root", "admin")
    query = "query($m: Boolean) { stages(mine: $m) { slug } }"
    await refused(hub, "unauthenticated", query)
    assert (await data(hub, query, user="helen"))["stages"] == [{"slug": "mine"}]
    assert (await data(hub, query, user="paul"))["stages"] == [{"slug": "theirs"}]
    assert {s["slug"] for s in (await data(hub, query, user="root"))["stages"]} == {"mine", "theirs"}
    assert (await data(hub, query, {"m": True}, user="root"))["stages"] == []


async def test_create_stage(hub: Hub) -> None:
    await hub.user("helen")
    await refused(hub, "unauthenticated", CREATE, {"in": {"name": "Show"}})
    created = (await data(hub, CREATE, {"in": {"name": "My Show!", "status": "rehearsal"}}, user="helen"))["createStage"]
    assert created["slug"] == "my-show" and created["owner"]["username"] == "helen" and created["myRole"] == "owner"
    assert (await data(hub, CREATE, {"in": {"name": "My Show"}}, user="helen"))["createStage"]["slug"] == "my-show-2"
    assert (await refused(hub, "conflict", CREATE, {"in": {"name": "X", "slug": "my-show"}}, user="helen"))["extensions"]["field"] == "slug"
    assert (await refused(hub, "bad_request", CREATE, {"in": {"name": "X", "slug": "Bad Slug"}}, user="helen"))["extensions"]["field"] == "slug"
    assert (await refused(hub, "bad_request", CREATE, {"in": {"slug": "x"}}, user="helen"))["extensions"]["field"] == "name"
    assert present(await hub.store.get_stage("my-show")).status == "rehearsal"


async def test_update_stage_rights_and_fields(hub: Hub) -> None:
    await hub.stage("show", "helen", players=("paul",), editors=("eddie",))
    await hub.user("stranger")
    sid = await stage_id(hub, "show")
    await refused(hub, "unauthenticated", UPDATE, {"id": sid, "in": {"name": "X"}})
    await refused(hub, "forbidden", UPDATE, {"id": sid, "in": {"name": "X"}}, user="paul")
    await refused(hub, "forbidden", UPDATE, {"id": sid, "in": {"name": "X"}}, user="stranger")
    await refused(hub, "forbidden", UPDATE, {"id": sid, "in": {"owner": "eddie"}}, user="eddie")
    changes = {"name": "New name", "slug": "renamed", "aspectRatio": "4:3", "defaultColor": "#112233",
               "cover": "/media/abc.png", "players": ["stranger"], "editors": ["eddie", "paul"]}
    updated = (await data(hub, UPDATE, {"id": sid, "in": changes}, user="eddie"))["updateStage"]
    assert updated["slug"] == "renamed" and updated["aspectRatio"] == "4:3" and updated["defaultColor"] == "#112233"
    assert updated["playerAccess"] == [{"username": "stranger"}]
    assert {u["username"] for u in updated["editorAccess"]} == {"eddie", "paul"}
    assert (await data(hub, UPDATE, {"id": sid, "in": {"owner": "eddie"}}, user="helen"))["updateStage"]["owner"] == {"username": "eddie"}
    for field, value in (("aspectRatio", "wide"), ("defaultColor", "green"), ("cover", "javascript:x"), ("players", ["nobody"])):
        error = await refused(hub, "bad_request", UPDATE, {"id": sid, "in": {field: value}}, user="eddie")
        assert error["extensions"]["field"] == field
    await refused(hub, "not_found", UPDATE, {"id": "999", "in": {"name": "X"}}, user="eddie")


async def test_duplicate_and_delete_stage(hub: Hub) -> None:
    await hub.stage("show", "helen", players=("paul",), editors=("eddie",))
    sid = await stage_id(hub, "show")
    query = "mutation($id: ID!, $n: String) { duplicateStage(id: $id, name: $n) { id slug name owner { username } playerAccess { username } } }"
    await refused(hub, "forbidden", query, {"id": sid}, user="paul")
    copy = (await data(hub, query, {"id": sid, "n": "Show again"}, user="eddie"))["duplicateStage"]
    assert copy["slug"] == "show-again" and copy["owner"] == {"username": "eddie"} and copy["playerAccess"] == [{"username": "paul"}]
    delete = "mutation($id: ID!) { deleteStage(id: $id) }"
    await refused(hub, "unauthenticated", delete, {"id": sid})
    await refused(hub, "forbidden", delete, {"id": sid}, user="eddie")
    await refused(hub, "forbidden", delete, {"id": sid}, user="paul")
    watcher = await hub.joined()
    assert (await data(hub, delete, {"id": sid}, user="helen"))["deleteStage"] is True
    assert await hub.store.get_stage("show") is None
    await watcher.wait_for(lambda c: bool(c.closed))
    assert watcher.closed[0]["message"] == "this stage was deleted"


async def test_audience_cannot_join_a_stage_in_rehearsal_but_performers_can(hub: Hub) -> None:
    await hub.stage("show", "helen", players=("paul",))
    await hub.user("stranger")
    await data(hub, UPDATE, {"id": await stage_id(hub, "show"), "in": {"status": "rehearsal"}}, user="helen")
    anonymous = await hub.connect()
    ack = await anonymous.join("show")
    assert ack == {"ok": False, "error": {"code": "forbidden", "message": "this stage is in rehearsal"}}
    logged_in_audience = await hub.connect("stranger")
    assert (await logged_in_audience.join("show"))["error"]["code"] == "forbidden"
    assert (await (await hub.connect("paul")).join("show"))["role"] == "player"
    await data(hub, UPDATE, {"id": await stage_id(hub, "show"), "in": {"status": "upcoming"}}, user="helen")
    assert (await anonymous.join("show"))["error"]["message"] == "this stage is upcoming"


async def test_audience_is_taken_off_a_stage_that_goes_into_rehearsal(hub: Hub) -> None:
    await hub.stage("show", "helen", players=("paul",))
    audience: HubClient = await hub.joined()
    paul = await hub.joined("paul")
    await data(hub, UPDATE, {"id": await stage_id(hub, "show"), "in": {"status": "rehearsal"}}, user="helen")
    await audience.wait_for(lambda c: bool(c.closed))
    assert audience.closed == [{"stage": "show", "code": "forbidden", "status": "rehearsal", "message": "this stage is in rehearsal"}]
    assert paul.closed == []
    assert (await audience.publish("chat", {"message": "hello?"}))["error"]["code"] == "not_joined"
    assert (await paul.publish("chat", {"message": "still here"}))["ok"] is True
    await paul.wait_for(lambda c: c.stage_status is not None)
    assert paul.stage_status == {"stage": "show", "status": "rehearsal", "visible": True}


async def test_who_stays_on_a_stage_hears_its_status_and_visibility_change_once(hub: Hub) -> None:
    """`stageStatus` tells performers and gateways (which stay) what the stage became: a gateway
    stops federating a stage in rehearsal or hidden (issue 15, item 5)."""
    await hub.stage("show", "helen", players=("paul",))
    paul = await hub.joined("paul")
    assert (await paul.join("show"))["stage"]["visible"] is True
    sid = await stage_id(hub, "show")
    heard: list[dict] = []
    paul.listeners.append(lambda kind, data: heard.append(data) if kind == "stageStatus" else None)
    await data(hub, UPDATE, {"id": sid, "in": {"visible": False}}, user="helen")
    await paul.wait_for(lambda c: len(heard) >= 1)
    await data(hub, UPDATE, {"id": sid, "in": {"name": "Renamed, nothing else"}}, user="helen")
    await data(hub, UPDATE, {"id": sid, "in": {"status": "live", "visible": True}}, user="helen")
    await paul.wait_for(lambda c: len(heard) >= 2)
    assert (await paul.publish("chat", {"message": "after"}))["ok"]
    await paul.wait_for(lambda c: any(e["topic"] == "chat" for e in c.events))
    assert heard == [{"stage": "show", "status": "live", "visible": False}, {"stage": "show", "status": "live", "visible": True}]


async def test_slug_change_keeps_live_sockets_and_new_joins_use_the_new_slug(hub: Hub) -> None:
    await hub.stage("show", "helen")
    watcher = await hub.joined()
    await data(hub, UPDATE, {"id": await stage_id(hub, "show"), "in": {"slug": "renamed"}}, user="helen")
    newcomer = await hub.connect()
    assert (await newcomer.join("show"))["error"]["code"] == "not_found"
    assert (await newcomer.join("renamed"))["ok"] is True
    assert (await watcher.publish("chat", {"message": "hi"}))["ok"] is True
    await newcomer.wait_for(lambda c: any(e["topic"] == "chat" for e in c.events))


async def test_default_colour_from_the_config_colours_a_swept_stage(hub: Hub) -> None:
    await hub.stage("show", "helen")
    sid = await stage_id(hub, "show")
    await data(hub, UPDATE, {"id": sid, "in": {"defaultColor": "#abcdef"}}, user="helen")
    ack = await (await hub.connect()).join("show")
    assert ack["state"]["background"]["backdropColor"] == "#abcdef"
