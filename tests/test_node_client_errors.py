"""What the official Node socket.io-client (4.8) gets for inputs the hub cannot use as sent: what
JavaScript produces by accident (a string cut inside an emoji, a Buffer), a call the contract does
not have, empty tokens, a session claimed by its public id, a page of another origin. The same
cases with Python clients and raw frames are in test_hostile_wire.py."""

from __future__ import annotations

import base64

import pytest

from client import login
from tests.conftest import PASSWORD
from tests.nodeclient import node_clients


async def test_a_string_cut_inside_an_emoji_is_delivered_with_a_replacement_character(hub):
    """`'hello 😀'.slice(0, 7)` ends in a lone surrogate, which JSON.stringify writes as `\\ud83d`."""
    await hub.stage("show", owner="olivia")
    async with node_clients() as node:
        await node.open("watcher", hub.url, stage="show", transports=["websocket"])
        await node.open("ann", hub.url, stage="show", nickname="Ann \ud83d")  # polling, then upgraded
        await node.joined("watcher")
        assert (await node.joined("ann"))["ok"]
        cut = {"$slice": ["hello 😀", 0, 7]}
        ack = await node.publish("ann", "chat", {"message": cut})
        await node.wait(lambda: bool(node.delivered("watcher")), "the chat event")
        event = node.delivered("watcher")[0]
        assert event["seq"] == ack["seq"]
        assert event["payload"]["message"] == "hello \ufffd"
        assert event["from"]["nickname"] == "Ann \ufffd"


async def test_a_buffer_in_a_payload_is_bad_request_and_the_connection_stays_usable(hub):
    """socket.io-client sends a Buffer as a binary attachment; the protocol has no binary."""
    await hub.stage("show", owner="olivia")
    async with node_clients() as node:
        await node.open("ann", hub.url, stage="show", transports=["websocket"])
        await node.joined("ann")
        binary = {"$buffer": base64.b64encode(b"\x00\x01 binary").decode()}
        refused = await node.call("ann", "publish", {"topic": "chat", "payload": {"message": binary}})
        assert refused["ack"]["error"]["code"] == "bad_request", refused
        assert "binary" in refused["ack"]["error"]["message"]
        assert (await node.publish("ann", "chat", {"message": "text works"}))["seq"] == 1
        assert [r["reason"] for r in node.of("ann", "disconnect")] == []


async def test_an_unknown_call_with_an_ack_is_answered_bad_request(hub):
    await hub.stage("show", owner="olivia")
    async with node_clients() as node:
        await node.open("ann", hub.url, stage="show", transports=["websocket"])
        await node.joined("ann")
        refused = await node.call("ann", "shout", {"message": "hi"})
        assert refused["ack"] == {
            "ok": False, "error": {"code": "bad_request", "message": "there is no call 'shout'"}
        }, refused  # fmt: skip
        assert (await node.publish("ann", "chat", {"message": "still here"}))["ok"]


@pytest.mark.parametrize("token", ["", None])
async def test_an_empty_or_null_token_is_refused_not_taken_as_audience(hub, token):
    async with node_clients() as node:
        await node.open("ann", hub.url, auth={"token": token}, transports=["websocket"], reconnection=False)
        refused = await node.first(lambda r: r["report"] in ("connect", "connect_error"), "the connection's fate")
        assert refused["report"] == "connect_error", refused
        assert "invalid token" in refused["message"]
        assert refused["active"] is False, "a refusal by the hub is final: the client does not retry"
        assert not hub.node.connections


async def test_a_session_claimed_by_its_public_id_alone_is_not_given(hub):
    """Session ids are in every roster and event; the resume secret is what proves ownership."""
    await hub.stage("show", owner="olivia", players=("pat",))
    token = (await login(hub.url, "pat", PASSWORD))["access_token"]
    async with node_clients() as node:
        await node.open("pat", hub.url, stage="show", token=token, transports=["websocket"])
        victim = await node.joined("pat")
        assert isinstance(victim.get("resume"), str), "the join ack gives the session's owner its resume secret"
        claims = {
            "no secret": {"session": victim["session"]},
            "a guessed secret": {"session": victim["session"], "resume": "A" * 32},
            "the owner's secret, anonymously": {"session": victim["session"], "resume": victim["resume"]},
        }
        for name, auth in claims.items():
            await node.open(name, hub.url, stage="show", auth=auth, transports=["websocket"])
            ack = await node.joined(name)
            assert ack["session"] != victim["session"] and ack["resume"] != victim["resume"], name
        roster = hub.node.connections
        assert sum(conn.session == victim["session"] for conn in roster.values()) == 1


@pytest.mark.parametrize("transports", [["polling", "websocket"], ["websocket"]])
async def test_a_page_of_another_origin_is_refused_by_default(hub, transports):
    """socket.io-client in Node sends `extraHeaders`, so it can pose as another site's page."""
    await hub.stage("show", owner="olivia")
    async with node_clients() as node:
        options = dict(stage="show", transports=transports, reconnection=False)
        await node.open("evil", hub.url, extraHeaders={"Origin": "https://evil.example"}, **options)
        await node.open("own page", hub.url, extraHeaders={"Origin": hub.url}, **options)
        await node.joined("own page")
        refused = await node.first(lambda r: r["name"] == "evil" and r["report"] != "reconnect_attempt", "evil's fate")
        assert refused["report"] == "connect_error", refused
        assert not node.of("evil", "connect") and not node.of("evil", "joined")
        assert len(hub.node.connections) == 1


async def test_a_namespace_the_hub_does_not_serve_is_refused_saying_so(hub):
    """python-socketio refuses it with a bare string, which socket.io-client shows as no message."""
    async with node_clients() as node:
        await node.open("elsewhere", f"{hub.url}/admin", transports=["websocket"], reconnection=False)
        refused = await node.first(lambda r: r["report"] in ("connect", "connect_error"), "the connection's fate")
        assert refused["report"] == "connect_error", refused
        assert refused["message"] == "there is no namespace '/admin': connect to '/'"
        assert not hub.node.connections
