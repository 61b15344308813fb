"""Scenes and performances over GraphQL, through the socket calls' code, with the original's
hole closed: no player may sweep a stage they do not own or edit."""

from __future__ import annotations

from tests.conftest import Hub
from tests.gql import data, refused, stage_id
from tests.present import present

SWEEP = "mutation($s: ID!) { sweepStage(stageId: $s) { id kind name eventCount replayUrl stage { slug } } }"
PERFORMANCES = "query($s: ID!) { performances(stageId: $s) { id kind name } }"
SAVE_SCENE = "mutation($s: ID!, $n: String!) { saveScene(stageId: $s, name: $n) { id name payload } }"


async def _chat(hub: Hub, user: str = "helen", slug: str = "show") -> None:
    client = await hub.joined(user, slug)
    assert (await client.publish("chat", {"message": "hello"}))["ok"]


async def test_any_player_sweeping_any_stage_is_refused(hub: Hub) -> None:
    """Regression: the original let any logged-in player sweep any stage."""
    await hub.stage("show", "helen", players=("paul",), editors=("eddie",))
    await hub.stage("other", "oscar")
    await hub.user("root", "admin")
    await _chat(hub)
    sid = await stage_id(hub, "show")
    await refused(hub, "unauthenticated", SWEEP, {"s": sid})
    await refused(hub, "forbidden", SWEEP, {"s": sid}, user="paul")
    await refused(hub, "forbidden", SWEEP, {"s": sid}, user="oscar")
    assert await hub.store.archive.performances(int(sid)) == []
    swept = (await data(hub, SWEEP, {"s": sid}, user="eddie"))["sweepStage"]
    assert swept["kind"] == "archive" and swept["eventCount"] >= 1 and swept["stage"] == {"slug": "show"}
    assert swept["replayUrl"] == f"/replay/show/{swept['id']}"
    assert (await refused(hub, "bad_request", SWEEP, {"s": sid}, user="root"))["message"].startswith("The stage is already swept")


async def test_sweep_through_graphql_blanks_the_live_stage(hub: Hub) -> None:
    await hub.stage("show", "helen")
    watcher = await hub.joined("helen")
    assert (await watcher.publish("chat", {"message": "before"}))["ok"]
    await data(hub, SWEEP, {"s": await stage_id(hub, "show")}, user="helen")
    await watcher.wait_for(lambda c: any(e["payload"].get("type") == "blankScene" for e in c.events))
    sender = next(e["from"] for e in watcher.events if e["payload"].get("type") == "blankScene")
    assert sender["nickname"] == "helen"


async def test_recording_lifecycle_update_trim_and_delete(hub: Hub) -> None:
    await hub.stage("show", "helen", players=("paul",))
    sid = await stage_id(hub, "show")
    start = "mutation($s: ID!, $n: String!, $d: String) { startRecording(stageId: $s, name: $n, description: $d) { id recording name description } }"
    await refused(hub, "forbidden", start, {"s": sid, "n": "Take 1"}, user="paul")
    recording = (await data(hub, start, {"s": sid, "n": "Take 1", "d": "first"}, user="helen"))["startRecording"]
    assert recording["recording"] is True and recording["description"] == "first"
    await refused(hub, "bad_request", start, {"s": sid, "n": "Take 2"}, user="helen")
    await _chat(hub)
    save = "mutation($id: ID!) { saveRecording(id: $id) { id recording eventCount } }"
    await refused(hub, "forbidden", save, {"id": recording["id"]}, user="paul")
    saved = (await data(hub, save, {"id": recording["id"]}, user="helen"))["saveRecording"]
    assert saved["recording"] is False and saved["eventCount"] >= 2
    update = "mutation($id: ID!, $n: String, $d: String) { updatePerformance(id: $id, name: $n, description: $d) { name description } }"
    await refused(hub, "forbidden", update, {"id": saved["id"], "n": "X"}, user="paul")
    assert (await data(hub, update, {"id": saved["id"], "n": "Premiere", "d": "night"}, user="helen"))["updatePerformance"] == {"name": "Premiere", "description": "night"}
    await refused(hub, "bad_request", update, {"id": saved["id"], "n": " "}, user="helen")
    trim = "mutation($id: ID!, $g: Float!) { trimPerformance(id: $id, minPauseSeconds: $g) { id kind name } }"
    await refused(hub, "forbidden", trim, {"id": saved["id"], "g": 1}, user="paul")
    await refused(hub, "bad_request", trim, {"id": saved["id"], "g": -1}, user="helen")
    trimmed = (await data(hub, trim, {"id": saved["id"], "g": 1.5}, user="helen"))["trimPerformance"]
    assert trimmed["kind"] == "trim" and trimmed["name"] == "Premiere (trimmed)"
    delete = "mutation($id: ID!) { deletePerformance(id: $id) }"
    await refused(hub, "forbidden", delete, {"id": trimmed["id"]}, user="paul")
    assert (await data(hub, delete, {"id": trimmed["id"]}, user="helen"))["deletePerformance"] is True
    await refused(hub, "not_found", delete, {"id": trimmed["id"]}, user="helen")


async def test_performances_are_public_only_on_visible_stages(hub: Hub) -> None:
    await hub.stage("show", "helen", players=("paul",))
    await hub.user("stranger")
    sid = await stage_id(hub, "show")
    await _chat(hub)
    performance = (await data(hub, SWEEP, {"s": sid}, user="helen"))["sweepStage"]
    assert [p["id"] for p in (await data(hub, PERFORMANCES, {"s": sid}))["performances"]] == [performance["id"]]
    one = "query($id: ID!) { performance(id: $id) { id name } }"
    assert (await data(hub, one, {"id": performance["id"]}))["performance"]["id"] == performance["id"]
    await data(hub, "mutation($id: ID!) { updateStage(id: $id, input: {visible: false}) { id } }", {"id": sid}, user="helen")
    await refused(hub, "not_found", PERFORMANCES, {"s": sid})
    await refused(hub, "not_found", PERFORMANCES, {"s": sid}, user="stranger")
    assert (await data(hub, one, {"id": performance["id"]}, user="stranger"))["performance"] is None
    assert len((await data(hub, PERFORMANCES, {"s": sid}, user="paul"))["performances"]) == 1


async def test_scenes_are_for_performers_and_deleted_by_creator_editor_or_admin(hub: Hub) -> None:
    await hub.stage("show", "helen", players=("paul", "pia"), editors=("eddie",))
    await hub.user("stranger")
    await hub.user("root", "admin")
    sid = await stage_id(hub, "show")
    watcher = await hub.joined("helen")
    await refused(hub, "unauthenticated", SAVE_SCENE, {"s": sid, "n": "Opening"})
    await refused(hub, "forbidden", SAVE_SCENE, {"s": sid, "n": "Opening"}, user="stranger")
    scene = (await data(hub, SAVE_SCENE, {"s": sid, "n": "Opening"}, user="paul"))["saveScene"]
    assert scene["name"] == "Opening" and "board" in scene["payload"]
    await watcher.wait_for(lambda c: any(e["payload"].get("type") == "loadScenes" for e in c.events))
    assert (await refused(hub, "bad_request", SAVE_SCENE, {"s": sid, "n": "Opening"}, user="paul"))["message"].startswith("A scene named")
    scenes = "query($s: ID!) { scenes(stageId: $s) { id name } }"
    await refused(hub, "forbidden", scenes, {"s": sid}, user="stranger")
    assert (await data(hub, scenes, {"s": sid}, user="root"))["scenes"] == [{"id": scene["id"], "name": "Opening"}]
    delete = "mutation($id: ID!) { deleteScene(id: $id) }"
    await refused(hub, "forbidden", delete, {"id": scene["id"]}, user="pia")
    await refused(hub, "forbidden", delete, {"id": scene["id"]}, user="stranger")
    assert (await data(hub, delete, {"id": scene["id"]}, user="paul"))["deleteScene"] is True
    assert (await data(hub, scenes, {"s": sid}, user="paul"))["scenes"] == []
    second = (await data(hub, SAVE_SCENE, {"s": sid, "n": "Finale"}, user="pia"))["saveScene"]
    assert (await data(hub, delete, {"id": second["id"]}, user="eddie"))["deleteScene"] is True
    await refused(hub, "not_found", delete, {"id": second["id"]}, user="root")
    assert present(await hub.store.get_scene(int(second["id"]))).active is False  # soft delete
