"""Packets the hub cannot use as sent: every call is answered, counted against the caller's
limits and logged sparingly; binary is refused without being buffered; sessions cannot be taken
over; an empty token is refused. Raw Engine.IO frames, so the exact bytes are what a hostile
client sends."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import orjson
import pytest
import socketio

from client import HubClient, HubError
from hub import server as hub_server
from hub import websocket as hub_websocket
from tests.rawsio import RawPolling, RawWebSocket


async def ack_of(raw: RawWebSocket, frame: str, ack_id: int) -> dict:
    """Send a raw Socket.IO frame and return the ack with `ack_id` (skipping events)."""
    await raw.ws.send_str(frame)
    while True:
        text = await raw.next()
        if text.startswith(f"43{ack_id}["):
            return orjson.loads(text[len(f"43{ack_id}") :])[0]


async def raw_joined(hub, slug: str = "show") -> RawWebSocket:
    raw = await RawWebSocket(hub.url).open()
    assert (await raw.call(900, "join", {"stage": slug}))["ok"]
    return raw


async def test_a_string_cut_inside_an_emoji_is_taken_with_a_replacement_character(hub):
    """JavaScript's JSON.stringify writes a lone surrogate as an escape orjson refuses."""
    await hub.stage("show", owner="olivia")
    watcher = await hub.joined()
    raw = await RawWebSocket(hub.url).open()
    joined = await ack_of(raw, '421["join",{"stage":"show","nickname":"Ann \\ud83d"}]', 1)
    assert joined["ok"], joined
    ack = await ack_of(raw, '422["publish",{"topic":"chat","payload":{"message":"hello \\ud83d"}}]', 2)
    assert ack["ok"], ack
    await watcher.wait_for(lambda c: len(c.events) == 1)
    assert watcher.events[0]["payload"]["message"] == "hello \ufffd"
    assert watcher.events[0]["from"]["nickname"] == "Ann \ufffd"
    await raw.close()


@pytest.mark.parametrize(
    ("frame", "says"),
    [
        ('42{id}["publish",{{"topic":"chat","payload":{{"message":NaN}}}}]', "not valid JSON (NaN"),
        ('42{id}["publish",{{"topic":"chat","payload":{{"message":Infinity}}}}]', "not valid JSON (Infinity"),
        ('42{id}["publish",{{"topic":"chat"', "not valid JSON"),
        ('42{id}["no-such-call",{{}}]', "there is no call 'no-such-call'"),
        ('42{id}["connect",{{}},{{"session":"x"}}]', "there is no call 'connect'"),
        ('42{id}["disconnect"]', "there is no call 'disconnect'"),
        ("42{id}[]", "a call is [name, data]"),
        ("42{id}{{}}", "a call is [name, data]"),
        ("42{id}[7]", "a call is [name, data]"),
    ],
)
async def test_every_undecodable_or_unknown_call_is_answered_bad_request(hub, frame, says):
    await hub.stage("show", owner="olivia")
    raw = await raw_joined(hub)
    ack = await ack_of(raw, frame.format(id=5), 5)
    assert ack["ok"] is False and ack["error"]["code"] == "bad_request", ack
    assert says in ack["error"]["message"]
    assert (await raw.call(6, "publish", {"topic": "chat", "payload": {"message": "still here"}}))["ok"]
    assert len(hub.node.connections) == 1, "no call may open or close a connection"
    await raw.close()


@pytest.mark.parametrize(
    ("header", "ack_id"),
    [
        ("421000000000000000001", 1000000000000000001),  # past 15 digits: was answered as 100000000000000
        ("42" + "7" * 100, int("7" * 100)),
        ("420009", 9),
        ("4\u0662\u0663\u0664", 34),  # Arabic-Indic digits, which int() reads, in the type and the id
    ],
)
async def test_an_undecodable_call_is_answered_with_the_ack_id_python_socketio_would_read(hub, header, ack_id):
    """Found by tests/test_fuzz_socket.py: the refusal must answer the id the call was sent with."""
    await hub.stage("show", owner="olivia")
    raw = await raw_joined(hub)
    ack = await ack_of(raw, header + '["publish",{"topic":"chat","payload":{"message":NaN}}]', ack_id)
    assert ack["error"]["code"] == "bad_request", ack
    ok = await ack_of(raw, header + '["publish",{"topic":"chat","payload":{"message":"fine"}}]', ack_id)
    assert ok["ok"], ok
    await raw.close()


async def test_a_flood_of_bad_packets_is_answered_rate_limited_and_logs_one_line(make_hub, caplog):
    hub = await make_hub(rate_limit=1.0, rate_burst=20)
    await hub.stage("show", owner="olivia")
    raw = await raw_joined(hub)
    caplog.set_level(logging.INFO, logger="hub")
    codes: list[str] = []
    for i in range(1, 301):
        await raw.ws.send_str(f'42{i}["publish",{{"topic":"chat","payload":{{"message":NaN}}}}]')
    while len(codes) < 300:
        text = await raw.next()
        if text.startswith("43"):
            codes.append(orjson.loads(text[text.index("[") :])[0]["error"]["code"])
    assert set(codes) == {"bad_request", "rate_limited"} and codes.count("bad_request") <= 21
    assert (await raw.call(999, "publish", {"topic": "chat", "payload": {"message": "x"}}))["error"]["code"] == "rate_limited"
    hub_lines = [r for r in caplog.records if r.name.startswith("hub")]
    assert len(hub_lines) <= 2, [r.getMessage() for r in hub_lines]
    assert not any(r.exc_info for r in hub_lines), "a bad packet must not log a traceback"
    await raw.close()


async def test_bytes_in_a_payload_are_bad_request_and_the_connection_stays_usable(hub):
    """python-socketio sends bytes as a binary attachment; the protocol has no binary."""
    await hub.stage("show", owner="olivia", players=("pat",))
    pat = await hub.joined("pat")
    ack = await pat.call("publish", {"topic": "chat", "payload": {"message": b"\x00\x01 binary"}})
    assert ack["ok"] is False and ack["error"]["code"] == "bad_request", ack
    assert "binary" in ack["error"]["message"]
    assert (await pat.publish("chat", {"message": "text works"}))["ok"]


async def test_a_huge_attachment_count_buffers_nothing_and_closes_the_connection(hub):
    """`451000000000-[...]` and then binary frames: nothing is kept, the socket is closed."""
    await hub.stage("show", owner="olivia")
    raw = await raw_joined(hub)
    ack = await ack_of(raw, '4510000000-7["publish",{"topic":"chat","payload":{"_placeholder":true,"num":0}}]', 7)
    assert ack["error"]["code"] == "bad_request"
    with pytest.raises((ConnectionError, asyncio.TimeoutError, aiohttp.ClientError)):
        for _ in range(50):
            await raw.ws.send_bytes(b"\x04" + b"x" * 100_000)
            await raw.next(timeout=2)
    server = hub.node.sio
    assert not server._binary_packet, "python-socketio must not hold attachments"
    assert not server._discard
    await raw.close()


async def test_an_unannounced_binary_frame_closes_the_connection(hub):
    await hub.stage("show", owner="olivia")
    raw = await raw_joined(hub)
    await raw.ws.send_bytes(b"\x04hello")
    with pytest.raises((ConnectionError, asyncio.TimeoutError)):
        for _ in range(5):
            await raw.next(timeout=3)
    await raw.close()


@pytest.mark.parametrize("frame", ["4-6", "4null", "4true", "4[1]", "4{}", "4-1.5"])
async def test_a_message_engine_io_decodes_as_json_is_refused_and_the_connection_stays(hub, frame):
    """Found by tests/test_fuzz_socket.py: Engine.IO decodes "4-6" as the number -6, which the hub
    took for a binary frame and closed the connection on."""
    await hub.stage("show", owner="olivia")
    raw = await raw_joined(hub)
    await raw.ws.send_str(frame)
    assert (await raw.call(6, "publish", {"topic": "chat", "payload": {"message": "still here"}}))["ok"]
    assert len(hub.node.connections) == 1
    await raw.close()


@pytest.mark.parametrize("auth", ['{"token":NaN}', "{", "[" * 5000, '{"session":1e999}'])
async def test_a_connect_whose_auth_is_not_json_gets_connect_error_not_silence(hub, auth):
    """Found probing CONNECT packets after the socket fuzz: nothing answered such a CONNECT, so
    the client waited for its connect timeout."""
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(hub.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket")
        assert (await ws.receive_str()).startswith("0{")
        await ws.send_str("40" + auth)
        answer = await ws.receive_str(timeout=5)
        assert answer.startswith("44{") and ("not valid JSON" in answer or "nests too deep" in answer), answer
        await ws.send_str("40")  # a client may then connect properly
        assert (await ws.receive_str(timeout=5)).startswith("40{")
        await ws.close()


async def test_a_second_connect_on_one_session_is_refused(hub):
    await hub.stage("show", owner="olivia")
    raw = await raw_joined(hub)
    await raw.ws.send_str('40{"session":"abcdefgh"}')
    assert (await raw.next()).startswith("44"), "CONNECT_ERROR"
    assert len(hub.node.connections) == 1
    await raw.close()


@pytest.mark.parametrize("token", ["", None, False, 0, ["x"]])
async def test_an_empty_or_non_string_token_is_refused_not_taken_as_audience(hub, token):
    client = socketio.AsyncClient(reconnection=False)
    errors: list = []
    client.on("connect_error", lambda data: errors.append(data))
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(hub.url, auth={"token": token}, transports=["websocket"], wait_timeout=5)
    assert errors and "invalid token" in str(errors[0])
    assert not hub.node.connections


async def test_a_session_cannot_be_taken_over_with_its_public_id(hub):
    """Session ids are public (rosters, `from.session`); only the resume secret given to the
    session's owner lets a connection continue it."""
    await hub.stage("show", owner="olivia", players=("pat",))
    pat = await hub.joined("pat")
    await pat.set_presence(avatarId="bird")
    watcher = await hub.joined()
    await watcher.wait_for(lambda c: c.presence["roster"] and c.presence["roster"][0]["avatarId"] == "bird")
    victim = pat.session
    attempts = [
        HubClient(hub.url, session=victim, resume="A" * 32),  # a guessed secret
        HubClient(hub.url, session=victim, resume=watcher.resume),  # someone else's secret
    ]
    for thief in attempts:
        hub.clients.append(thief)
        await thief.connect()
        ack = await thief.join("show")
        assert ack["session"] != victim
    # Nor does the right secret work for another identity (here: anonymous instead of pat).
    thief = HubClient(hub.url, session=victim, resume=pat.resume)
    hub.clients.append(thief)
    await thief.connect()
    assert (await thief.join("show"))["session"] != victim
    await thief.publish("stream_health", {"hostId": victim, "objectId": "cam", "frozen": True})
    await pat.wait_for(lambda c: any(e["topic"] == "stream_health" for e in c.events))
    await thief.publish("chat", {"message": "I am pat"})
    await watcher.wait_for(lambda c: any(e["topic"] == "chat" for e in c.events))
    chat = next(e for e in watcher.events if e["topic"] == "chat")
    assert chat["payload"]["session"] != victim and chat["from"]["session"] != victim
    assert not any(e["topic"] == "stream_health" for e in thief.events), "targeted events reach the owner only"
    roster = watcher.presence["roster"]
    assert roster == [{"session": victim, "nickname": "pat", "role": "player", "avatarId": "bird"}]
    # The owner resumes with its secret, keeping its session and hold.
    back = HubClient(hub.url, token=pat.token, session=victim, resume=pat.resume)
    hub.clients.append(back)
    await pat.close()
    await back.connect()
    assert (await back.join("show"))["session"] == victim


async def test_targeted_events_reach_the_session_on_that_stage_only(hub):
    await hub.stage("show", owner="olivia", players=("pat",))
    pat_id = (await hub.store.get_user_by_name("pat")).id
    oscar = await hub.user("oscar")
    await hub.store.create_stage("other", "Other", oscar, [pat_id])
    pat = await hub.joined("pat")
    elsewhere = await hub.connect("pat", session=pat.session, resume=pat.resume)
    assert (await elsewhere.join("other"))["session"] == pat.session
    viewer = await hub.joined()
    await viewer.publish("stream_health", {"hostId": pat.session, "objectId": "cam", "frozen": False})
    await pat.wait_for(lambda c: any(e["topic"] == "stream_health" for e in c.events))
    await pat.publish("chat", {"message": "barrier"})
    await asyncio.sleep(0.2)
    assert not any(e["topic"] == "stream_health" for e in elsewhere.events)


async def test_connections_per_address_are_limited_and_gateways_are_not_counted(make_hub):
    hub = await make_hub(address_connections=3)
    await hub.stage("show", owner="olivia")
    await hub.user("gateway", role="service")
    gateways = [await hub.connect("gateway") for _ in range(3)]
    open_ = [await hub.connect() for _ in range(3)]
    assert all(c.connected for c in gateways + open_), "service connections take no place"
    with pytest.raises((socketio.exceptions.ConnectionError, HubError)):
        await hub.connect()
    async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/socket.io/?EIO=4&transport=polling") as resp:
        assert resp.status == 401 and "too many connections" in await resp.text()
    await open_[0].close()
    await asyncio.sleep(0.1)
    assert (await hub.connect()).connected, "a closed connection frees its place"


async def test_calls_and_joins_are_limited_per_address_across_connections(make_hub):
    hub = await make_hub(address_rate_limit=0.5, address_rate_burst=30, address_join_rate_limit=0.5, address_join_rate_burst=6)
    await hub.stage("show", owner="olivia")
    clients = [await hub.connect() for _ in range(10)]
    joins = [await c.call("join", {"stage": "show"}) for c in clients]
    assert [j["ok"] for j in joins].count(True) == 6
    assert {j["error"]["code"] for j in joins if not j["ok"]} == {"rate_limited"}
    chats = await asyncio.gather(*(c.publish("chat", {"message": "hi"}) for c in clients[:6] for _ in range(5)))
    refused = [a for a in chats if not a["ok"]]
    assert refused and all(a["error"]["code"] == "rate_limited" for a in refused)
    assert len(chats) - len(refused) <= 30 - 10


async def test_joins_are_limited_per_connection(make_hub):
    hub = await make_hub(join_rate_limit=0.5, join_rate_burst=3)
    await hub.stage("show", owner="olivia")
    client = await hub.connect()
    codes = [(await client.call("join", {"stage": "show"})).get("error", {}).get("code") for _ in range(5)]
    assert codes == [None, None, None, "rate_limited", "rate_limited"]


async def test_behind_a_trusted_proxy_each_forwarded_address_has_its_own_limits(make_hub):
    hub = await make_hub(address_connections=1, trusted_proxies="127.0.0.1")
    url = f"{hub.url}/socket.io/?EIO=4&transport=polling"
    async with aiohttp.ClientSession() as http:
        for client in ("203.0.113.1", "203.0.113.2"):
            async with http.get(url, headers={"X-Forwarded-For": client}) as resp:
                assert resp.status == 200
        async with http.get(url, headers={"X-Forwarded-For": "203.0.113.1"}) as resp:
            assert resp.status == 401


async def post_in_parts(hub, path: str, parts: list[bytes], pause: float) -> bytes:
    """POST a body of `sum(parts)` bytes in separate TCP writes, `pause` seconds apart; the reply."""
    host, port = hub.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    length = sum(len(part) for part in parts)
    writer.write(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain\r\nContent-Length: {length}\r\n\r\n".encode())
    for part in parts:
        writer.write(part)
        await writer.drain()
        await asyncio.sleep(pause)
    async with asyncio.timeout(10):
        reply = await reader.read(200)
    writer.close()
    return reply


async def test_a_polling_body_sent_in_parts_is_read_whole(hub):
    """Engine.IO's aiohttp driver decoded whatever part of a POST had arrived: a message sent in
    several TCP segments was cut and the call never answered."""
    await hub.stage("show", owner="olivia")
    polling = await RawPolling(hub.url).open()
    assert (await polling.call(1, "join", {"stage": "show"}))["ok"]
    frame = b'422["publish",{"topic":"chat","payload":{"message":"' + b"x" * 1000 + b'"}}]'
    path = polling.base.removeprefix(hub.url)
    reply = await post_in_parts(hub, path, [frame[:300], frame[300:]], pause=0.3)
    assert reply.startswith(b"HTTP/1.1 200"), reply
    while not (text := await polling.next()).startswith("432["):
        pass
    assert orjson.loads(text[3:])[0]["ok"], text
    await polling.close()


async def test_a_body_that_never_arrives_whole_ends_its_session_in_time(make_hub):
    hub = await make_hub(keepalive_timeout=0.5)
    polling = await RawPolling(hub.url).open()
    path = polling.base.removeprefix(hub.url)
    started = asyncio.get_running_loop().time()
    host, port = hub.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 1000\r\n\r\n42".encode())
    async with asyncio.timeout(10):
        reply = await reader.read(200)
    writer.close()
    assert reply.startswith(b"HTTP/1.1 400"), reply
    assert asyncio.get_running_loop().time() - started < 5
    assert not hub.node.connections, "the session whose body never came is ended"
    await polling.http.close()


async def test_a_polling_client_closed_by_the_hub_gets_its_post_answered_at_once(hub):
    """Engine.IO's `disconnect` waits for the socket's queue to drain, which for long-polling
    means the client's next GET: the POST that caused the close was held until then."""
    polling = await RawPolling(hub.url).open()
    post = polling.http.post(polling.base, data=b'451000000000-["publish",{}]', timeout=aiohttp.ClientTimeout(total=5))
    async with post as resp:
        assert resp.status == 200, await resp.read()
    assert not hub.node.connections
    async with polling.http.get(polling.base) as resp:
        assert resp.status == 400 or "1" in (await resp.text()).split("\x1e")
    await polling.http.close()


@pytest.mark.parametrize("frame", ["zzz", "", "9", "7x", "8x", "\U000457f2", "b!!not base64", "\u00bd"])
async def test_a_websocket_frame_that_is_not_engine_io_ends_the_connection_without_a_traceback(
    hub, caplog, monkeypatch, frame
):
    monkeypatch.setattr(hub_websocket.not_engine_io, "interval", 0.0)  # one line per 10 s otherwise
    caplog.set_level(logging.INFO)
    raw = await RawWebSocket(hub.url).open()
    await raw.ws.send_str(frame)
    with pytest.raises(ConnectionError):
        await raw.next(timeout=5)
    await raw.close()
    await asyncio.sleep(0.05)
    assert not hub.node.connections
    assert not [r for r in caplog.records if r.exc_info], "no traceback"
    assert [r for r in caplog.records if "not Engine.IO" in r.getMessage()]
    fresh = await RawWebSocket(hub.url).open()  # the hub serves on
    await fresh.close()


@pytest.mark.parametrize("frame", ["zzz", "9"])
async def test_a_frame_that_is_not_engine_io_ends_a_session_upgraded_from_polling(hub, caplog, monkeypatch, frame):
    """A session that starts on long-polling (the official client's default) is served by
    Engine.IO's own WebSocket handler after the upgrade."""
    monkeypatch.setattr(hub_websocket.not_engine_io, "interval", 0.0)
    caplog.set_level(logging.INFO)
    polling = await RawPolling(hub.url).open()
    url = polling.base.replace("http://", "ws://").replace("transport=polling", "transport=websocket")
    ws = await polling.http.ws_connect(url, autoping=False)
    await ws.send_str("2probe")
    assert (await ws.receive_str(timeout=5)) == "3probe"
    await ws.send_str("5")
    await ws.send_str(frame)
    while (msg := await ws.receive(timeout=5)).type == aiohttp.WSMsgType.TEXT:
        pass
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), msg
    for _ in range(100):
        if not hub.node.connections:
            break
        await asyncio.sleep(0.05)
    assert not hub.node.connections
    assert not [r for r in caplog.records if r.exc_info], "no traceback"
    assert [r for r in caplog.records if "not Engine.IO" in r.getMessage()]
    await polling.http.close()


@pytest.mark.parametrize(
    "body", [b"zzz", b"\xff\xfe", b"40\x1ezz", b"9", b"40\x1e9{}", "\U000457f2".encode(), b"6", b"2", b"0"]
)
async def test_a_polling_body_that_is_not_engine_io_ends_the_session_without_a_traceback(
    hub, caplog, monkeypatch, body
):
    monkeypatch.setattr(hub_server.not_engine_io, "interval", 0.0)
    caplog.set_level(logging.INFO)
    polling = await RawPolling(hub.url).open()
    async with polling.http.post(polling.base, data=body) as resp:
        assert resp.status == 400
    await asyncio.sleep(0.05)
    assert not hub.node.connections
    assert not [r for r in caplog.records if r.exc_info], "no traceback"
    assert [r for r in caplog.records if "not Engine.IO" in r.getMessage()]
    await polling.http.close()


async def test_a_failed_websocket_handshake_leaves_no_session_and_no_count(make_hub):
    hub = await make_hub(address_connections=3)
    host, port = hub.url.removeprefix("http://").split(":")
    for _ in range(5):
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Version: 99\r\n\r\n"
        )
        assert (await reader.read(12)) == b"HTTP/1.1 400"
        writer.close()
    await asyncio.sleep(0.05)
    assert not [s for s in hub.node.sio.eio.sockets.values() if not s.closed], "no Engine.IO session stays"
    raw = await RawWebSocket(hub.url).open()  # five failed handshakes took none of the three places
    await raw.close()
