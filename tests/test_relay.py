"""The hub side of federation: service connections, relayed publishes and the hub id (no broker)."""

from __future__ import annotations

from client import HubClient
from hub.relay import peer_session
from tests.gateway_support import SERVICE_USER, SLUG, seeded_hub
from tests.present import present


def relay(**fields):
    return {"origin": "hub-b", "id": "hub-b:e1:1", "hops": 1, "as": "audience", **fields}


async def test_join_ack_names_the_hub_and_a_service_is_not_counted(make_hub):
    hub = await seeded_hub(make_hub, "olivia", hub_id="hub-a")
    viewer = await hub.joined(None, SLUG)
    service = await hub.connect(SERVICE_USER)
    ack = await service.join(SLUG)
    assert ack["ok"] and ack["role"] == "service" and ack["hub"] == "hub-a"
    assert ack["presence"]["audience"] == 1 and ack["presence"]["players"] == 0
    listing = await service.stages()
    assert listing["hub"] == "hub-a" and listing["stages"] == [SLUG]
    refused = await viewer.call("stages", {})
    assert refused["error"]["code"] == "forbidden"


async def test_hub_id_is_generated_once_and_kept(make_hub, tmp_path):
    hub = await seeded_hub(make_hub, "olivia")
    first = hub.node.hub_id
    assert len(first) >= 8
    assert await hub.store.archive.get_meta("hub_id") == first


async def test_only_service_connections_relay_and_only_with_grantable_rights(make_hub):
    hub = await seeded_hub(make_hub, "olivia")
    owner = await hub.joined("olivia", SLUG)
    service = await hub.connect(SERVICE_USER)
    await service.join(SLUG)

    forged = await owner.publish("chat", {"message": "hi"}, relay=relay())
    assert forged["error"]["code"] == "forbidden"
    bare = await service.publish("chat", {"message": "hi"})
    assert bare["error"]["code"] == "forbidden"
    too_high = await service.publish("chat", {"message": "hi"}, relay=relay(**{"as": "owner"}))
    assert too_high["error"]["code"] == "forbidden"
    malformed = await service.publish("chat", {"message": "hi"}, relay=relay(hops=-1))
    assert malformed["error"]["code"] == "bad_request"
    # the same rights as any publish: audience may not move objects, nor chat privately
    board = {"type": "moveTo", "object": {"id": "a1", "x": 1}}
    assert (await service.publish("board", board, relay=relay()))["error"]["code"] == "forbidden"
    private = {"message": "psst", "isPrivate": True}
    assert (await service.publish("chat", private, relay=relay()))["error"]["code"] == "forbidden"
    # a permitted relay afterwards is a barrier: once it arrives, no refused one was delivered
    barrier = await service.publish("chat", {"message": "after"}, relay=relay(id="after-1"))
    assert barrier["ok"] is True
    await owner.wait_for(lambda c: any(e["seq"] == barrier["seq"] for e in c.events))
    assert [e["payload"]["message"] for e in owner.events] == ["after"]


async def test_relayed_events_are_stamped_numbered_and_carry_their_origin(make_hub):
    hub = await seeded_hub(make_hub, "olivia")
    viewer = await hub.joined(None, SLUG)
    service = await hub.connect(SERVICE_USER)
    await service.join(SLUG)
    ack = await service.publish(
        "chat", {"message": "from afar", "user": "Mallory", "isPlayer": True},
        relay=relay(nickname="Remote Rita", session="remote-session-1"),
    )
    assert ack["ok"]
    await viewer.wait_for(lambda c: any(e["topic"] == "chat" for e in c.events))
    (event,) = [e for e in viewer.events if e["topic"] == "chat"]
    assert event["seq"] == ack["seq"]
    assert event["from"] == {"session": peer_session("hub-b", "remote-session-1"), "nickname": "Remote Rita",
                             "role": "audience", "origin": "hub-b", "eventId": "hub-b:e1:1", "hops": 1}
    assert event["payload"]["user"] == "Remote Rita" and event["payload"]["isPlayer"] is False

    moved = await service.publish("board", {"type": "moveTo", "object": {"id": "a1", "x": 5}},
                                  relay=relay(id="hub-b:e1:2", **{"as": "player"}))
    assert moved["ok"]
    stage = present(await hub.store.get_stage(SLUG))
    stored = await hub.store.archive.live_events(stage.id)  # the ack means stored
    assert [e.sender.get("eventId") for e in stored] == ["hub-b:e1:1", "hub-b:e1:2"]


async def test_service_token_command_prints_a_token_the_hub_accepts(make_hub, tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import TEST_SECRET

    hub = await seeded_hub(make_hub, "olivia")
    env = {**os.environ, "HUB_DATABASE_URL": hub.store.url, "HUB_SECRET_KEY": TEST_SECRET, "HUB_VAR_DIR": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "hub", *args], env=env, capture_output=True, text=True)

    refused = run("token", "--username", "olivia")
    assert refused.returncode == 2 and "no service user" in refused.stderr
    done = run("token", "--username", SERVICE_USER, "--days", "2")
    assert done.returncode == 0, done.stderr
    client = await HubClient(hub.url, token=done.stdout.strip().splitlines()[-1]).connect()
    hub.clients.append(client)
    assert (await client.join(SLUG))["role"] == "service"


async def test_a_peer_cannot_speak_as_a_session_of_this_hub(make_hub):
    """Sessions are public (every event names one): a relay claiming a local performer's session
    is stamped with a session of the peer's own, never the local one."""
    hub = await seeded_hub(make_hub, "olivia")
    owner = await hub.joined("olivia", SLUG)
    service = await hub.connect(SERVICE_USER)
    await service.join(SLUG)
    assert owner.session is not None
    ack = await service.publish("chat", {"message": "it is me, really"}, relay=relay(session=owner.session))
    assert ack["ok"], ack
    await owner.wait_for(lambda c: any(e["topic"] == "chat" for e in c.events))
    (event,) = [e for e in owner.events if e["topic"] == "chat"]
    assert event["from"]["session"] != owner.session
    assert event["from"]["session"] == peer_session("hub-b", owner.session), "stable for that peer session"


async def test_audience_level_relays_are_refused_while_the_stage_is_not_live(make_hub):
    """A legacy client's chat (relayed as audience) reached the performers of a stage in
    rehearsal: it is refused as this hub's own audience would be; a player-level relay still
    arrives (performers on another hub rehearse together)."""
    hub = await seeded_hub(make_hub, "olivia")
    owner = await hub.joined("olivia", SLUG)
    service = await hub.connect(SERVICE_USER)
    await service.join(SLUG)
    stage = present(await hub.store.get_stage(SLUG))
    await hub.store.update_stage(stage.id, {"status": "rehearsal"})
    hub.store.forget_cached_stages(SLUG)
    refused = await service.publish("chat", {"message": "hi from the broker"}, relay=relay())
    assert refused == {"ok": False, "error": {"code": "forbidden", "message": "this stage is in rehearsal"}}
    player = await service.publish("chat", {"message": "rehearsing"}, relay=relay(id="hub-b:e1:9", **{"as": "player"}))
    assert player["ok"], player
    await owner.wait_for(lambda c: any(e["topic"] == "chat" for e in c.events))
    assert [e["payload"]["message"] for e in owner.events if e["topic"] == "chat"] == ["rehearsing"]
    await hub.store.update_stage(stage.id, {"status": "live", "visible": False})
    hub.store.forget_cached_stages(SLUG)
    hidden = await service.publish("chat", {"message": "hi again"}, relay=relay(id="legacy:x2"))
    assert hidden == {"ok": False, "error": {"code": "forbidden", "message": "this stage is hidden"}}
