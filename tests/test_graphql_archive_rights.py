"""Who may see performances over GraphQL: `roles.may_watch_archive`, the socket's rule too:
admins, the stage's performers, anyone else only while the stage is visible and not in
rehearsal; a deleted stage's performances only admins. Refused looks like unknown."""

from __future__ import annotations

from typing import Any

from storage import Event
from tests.conftest import Hub
from tests.gql import data, gql

ONE = "query($id: ID!) { performance(id: $id) { id stage { slug } } }"
LIST = "query($s: ID!) { performances(stageId: $s) { id } }"
NESTED = '{ stage(slug: "show") { performances { id } } foyer { slug performances { id } } }'
UPDATE_STAGE = "mutation($id: ID!, $in: StageInput!) { updateStage(id: $id, input: $in) { id } }"
RENAME = 'mutation($id: ID!) { updatePerformance(id: $id, name: "Renamed") { name } }'
CALLERS = (None, "stranger", "paul", "helen", "root")


async def _setup(hub: Hub) -> tuple[str, str]:
    await hub.stage("show", "helen", players=("paul",))
    await hub.user("stranger")
    await hub.user("root", "admin")
    stage = await hub.store.get_stage("show")
    assert stage is not None
    await hub.store.archive.append([Event(stage.id, 1, "chat", {"message": "hi"}, 1000, {"nickname": "x"})])
    performance = await hub.store.archive.sweep(stage.id, "show", "Premiere")
    return str(stage.id), str(performance.id)


async def _sees(hub: Hub, user: str | None, sid: str, pid: str) -> dict[str, Any]:
    """What a caller gets of the performance through each way of reading it."""
    one = (await data(hub, ONE, {"id": pid}, user=user))["performance"]
    listed = await gql(hub, LIST, {"s": sid}, user=user)
    nested = await data(hub, NESTED, user=user)
    return {
        "one": one is not None and one["id"] == pid,
        "list": (listed.get("data") or {}).get("performances") == [{"id": pid}],
        "list_error": [e["extensions"]["code"] for e in listed.get("errors", [])],
        "nested": (nested["stage"] or {}).get("performances") == [{"id": pid}],
        "foyer": [s["performances"] for s in nested["foyer"]],
    }


def _watching(foyer: list[Any], pid: str) -> dict[str, Any]:
    return {"one": True, "list": True, "list_error": [], "nested": True, "foyer": foyer}


NOT_WATCHING = {"one": False, "list": False, "list_error": ["not_found"], "nested": False}


async def test_a_live_visible_stages_performances_are_public(hub: Hub) -> None:
    sid, pid = await _setup(hub)
    for user in CALLERS:
        assert await _sees(hub, user, sid, pid) == _watching([[{"id": pid}]], pid), user


async def test_a_stage_in_rehearsal_or_hidden_shows_its_performances_to_its_performers_and_admins(hub: Hub) -> None:
    """A rehearsal stage's archive was public (GraphQL checked only `visible`)."""
    sid, pid = await _setup(hub)
    for change, foyer_for_others in (({"status": "rehearsal"}, [[]]), ({"status": "live", "visible": False}, [])):
        await data(hub, UPDATE_STAGE, {"id": sid, "in": change}, user="helen")
        for user in ("paul", "helen", "root"):
            foyer = [[{"id": pid}]] if change.get("visible", True) else []
            assert await _sees(hub, user, sid, pid) == _watching(foyer, pid), (change, user)
        for other in (None, "stranger"):
            assert await _sees(hub, other, sid, pid) == {**NOT_WATCHING, "foyer": foyer_for_others}, (change, other)
        unknown = await gql(hub, LIST, {"s": "999"}, user="stranger")
        forbidden = await gql(hub, LIST, {"s": sid}, user="stranger")
        assert forbidden["errors"][0]["message"] == unknown["errors"][0]["message"]  # refused looks unknown
        error = (await gql(hub, RENAME, {"id": pid}, user="stranger"))["errors"][0]
        assert error["extensions"]["code"] == "not_found", error  # was forbidden: it told the id exists
    await data(hub, UPDATE_STAGE, {"id": sid, "in": {"visible": True}}, user="helen")


async def test_a_deleted_stages_performances_are_for_admins(hub: Hub) -> None:
    """They were public to read (and `forbidden`, not unknown, to manage)."""
    sid, pid = await _setup(hub)
    await data(hub, "mutation($id: ID!) { deleteStage(id: $id) }", {"id": sid}, user="helen")
    for user in (None, "stranger", "paul", "helen"):
        assert (await data(hub, ONE, {"id": pid}, user=user))["performance"] is None, user
        assert (await gql(hub, RENAME, {"id": pid}, user=user))["errors"][0]["extensions"]["code"] == "not_found", user
    assert (await data(hub, ONE, {"id": pid}, user="root"))["performance"] == {"id": pid, "stage": None}
    assert (await data(hub, RENAME, {"id": pid}, user="root"))["updatePerformance"] == {"name": "Renamed"}
