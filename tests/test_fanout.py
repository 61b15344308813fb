"""Rights, identity stamping and ordered fan-out over real Socket.IO connections."""

from __future__ import annotations

import asyncio

MOVE = {"type": "moveTo", "object": {"id": "bird", "x": 0.5, "y": 0.25}}
PLACE = {"type": "placeObjectOnStage", "object": {"id": "bird", "type": "avatar", "x": 0.1, "y": 0.1}}


async def test_audience_cannot_publish_board_and_nobody_receives(hub):
    await hub.stage("show", owner="olivia", players=("pat",))
    player = await hub.connect("pat")
    audience = await hub.connect()
    assert (await player.join("show"))["role"] == "player"
    assert (await audience.join("show"))["role"] == "audience"

    refused = await audience.publish("board", PLACE)
    assert refused["ok"] is False and refused["error"]["code"] == "forbidden"
    # A later accepted event proves the refused one was never delivered or numbered.
    accepted = await player.publish("chat", {"message": "after"})
    await audience.wait_for(lambda c: len(c.events) >= 1)
    await player.wait_for(lambda c: len(c.events) >= 1)
    assert [e["topic"] for e in audience.events] == ["chat"]
    assert [e["topic"] for e in player.events] == ["chat"]
    assert accepted["seq"] == 1


async def test_player_board_event_reaches_audience_with_acked_seq(hub):
    await hub.stage("show", owner="olivia", players=("pat",))
    player, audience = await hub.connect("pat"), await hub.connect()
    await player.join("show")
    await audience.join("show", nickname="Ann")
    ack = await player.publish("board", PLACE)
    assert ack["ok"] is True
    await audience.wait_for(lambda c: len(c.events) == 1)
    event = audience.events[0]
    assert event["seq"] == ack["seq"]
    assert event["topic"] == "board" and event["payload"] == PLACE
    assert event["from"]["role"] == "player" and event["from"]["session"] == player.session
    assert isinstance(event["at"], int)


async def test_events_arrive_in_seq_order_to_everyone_including_sender(hub):
    await hub.stage("show", owner="olivia", players=("pat", "quinn"))
    pat, quinn, ann = await hub.connect("pat"), await hub.connect("quinn"), await hub.connect()
    for client in (pat, quinn, ann):
        await client.join("show")
    sends = [
        client.publish("board", {**MOVE, "object": {"id": f"o{client is pat}", "x": i / 100}})
        for i in range(30)
        for client in (pat, quinn)
    ]
    acks = await asyncio.gather(*sends)
    assert sorted(a["seq"] for a in acks) == list(range(1, 61))
    for client in (pat, quinn, ann):
        await client.wait_for(lambda c: len(c.events) == 60)
        assert [e["seq"] for e in client.events] == list(range(1, 61))


async def test_private_chat_reaches_performers_only(hub):
    await hub.stage("show", owner="olivia", players=("pat",), editors=("eddie",))
    owner, player, editor, audience = (
        await hub.connect("olivia"),
        await hub.connect("pat"),
        await hub.connect("eddie"),
        await hub.connect(),
    )
    roles = [(await c.join("show"))["role"] for c in (owner, player, editor, audience)]
    assert roles == ["owner", "player", "editor", "audience"]

    private = await player.publish("chat", {"message": "places please", "isPrivate": True})
    public = await player.publish("chat", {"message": "welcome all"})
    assert private["ok"] and public["ok"]
    for performer in (owner, player, editor):
        await performer.wait_for(lambda c: len(c.events) == 2)
        assert [e["payload"]["message"] for e in performer.events] == ["places please", "welcome all"]
    await audience.wait_for(lambda c: len(c.events) == 1)
    await asyncio.sleep(0.1)
    assert [e["payload"]["message"] for e in audience.events] == ["welcome all"]

    forged = await audience.publish("chat", {"message": "let me in", "isPrivate": True})
    assert forged["error"]["code"] == "forbidden"
    assert (await audience.publish("chat", {"clear": True}))["error"]["code"] == "forbidden"


async def test_identity_fields_are_stamped_by_the_hub(hub):
    await hub.stage("show", owner="olivia", players=("pat",))
    player, audience = await hub.connect("pat"), await hub.connect()
    await player.join("show")
    ack = await audience.join("show", nickname="Ann")
    session = ack["session"]
    await audience.publish(
        "chat", {"message": "I am the director", "isPlayer": True, "user": "Director", "session": "someone-else"}
    )
    await player.wait_for(lambda c: len(c.events) == 1)
    event = player.events[0]
    assert event["payload"]["isPlayer"] is False
    assert event["payload"]["user"] == "Ann"
    assert event["payload"]["session"] == session
    assert event["from"] == {"session": session, "nickname": "Ann", "role": "audience"}


async def test_stream_health_reaches_the_host_performer_only(hub):
    await hub.stage("show", owner="olivia", players=("pat", "quinn"))
    pat, quinn, ann = await hub.connect("pat"), await hub.connect("quinn"), await hub.connect()
    for client in (pat, quinn, ann):
        await client.join("show")
    ack = await ann.publish("stream_health", {"hostId": pat.session, "objectId": "cam1", "frozen": True})
    assert ack["ok"]
    await quinn.publish("chat", {"message": "marker"})
    await pat.wait_for(lambda c: len(c.events) == 2)
    await quinn.wait_for(lambda c: len(c.events) == 1)
    await ann.wait_for(lambda c: len(c.events) == 1)
    assert pat.events[0]["payload"]["viewerSession"] == ann.session
    assert [e["topic"] for e in quinn.events] == ["chat"]
    assert [e["topic"] for e in ann.events] == ["chat"]


async def test_a_socket_is_on_one_stage_at_a_time(hub):
    await hub.stage("one", owner="olivia", players=("pat",))
    await hub.stage("two", owner="otto")
    pat, ann = await hub.connect("pat"), await hub.connect()
    await pat.join("one")
    await ann.join("one")
    assert (await ann.join("two"))["role"] == "audience"
    await pat.publish("chat", {"message": "only on one"})
    await pat.wait_for(lambda c: len(c.events) == 1)
    await asyncio.sleep(0.1)
    assert ann.events == []
    assert (await ann.join("nowhere"))["error"]["code"] == "not_found"
