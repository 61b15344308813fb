"""Regression tests from the security review of the management API: each test is a hole that was
found open (see the commit that closed it)."""

from __future__ import annotations

import asyncio
import functools
import time
from pathlib import Path

import pytest

from hub import upload as upload_module
from hub.graphql import SERVICES
from tests.conftest import PASSWORD, Hub
from tests.gql import data, eventually, png, refused, stage_id, token, upload

UPDATE = "mutation($id: ID!, $role: String, $active: Boolean) { updateUser(id: $id, role: $role, active: $active) { id } }"


async def _user_id(hub: Hub, username: str) -> str:
    user = await hub.store.get_user_by_name(username)
    assert user is not None
    return str(user.id)


async def test_a_deactivated_deleted_or_demoted_users_sockets_are_disconnected_at_once(hub: Hub) -> None:
    await hub.stage("show", "olga", players=("pat", "ann"))
    await hub.user("root", "admin")
    await hub.user("boss", "admin")
    pat, ann, boss = await hub.joined("pat"), await hub.joined("ann"), await hub.connect("boss")
    await data(hub, UPDATE, {"id": await _user_id(hub, "pat"), "active": False}, user="root")
    await data(hub, "mutation($id: ID!) { deleteUser(id: $id) }", {"id": await _user_id(hub, "ann")}, user="root")
    await data(hub, UPDATE, {"id": await _user_id(hub, "boss"), "role": "player"}, user="root")
    for client in (pat, ann, boss):
        await eventually(functools.partial(_disconnected, client))
    olga = await hub.joined("olga")
    await data(hub, UPDATE, {"id": await _user_id(hub, "olga"), "active": True}, user="root")
    assert olga.sio.connected  # an update that changes nothing that matters keeps the socket


async def _disconnected(client: object) -> bool:
    return not client.sio.connected  # type: ignore[attr-defined]


async def test_one_request_hashes_or_checks_at_most_one_password(hub: Hub) -> None:
    """Aliases made one anonymous request hash 60 passwords (seconds of a blocked event loop)."""
    await hub.user("helen")
    many = "mutation { " + " ".join(f'a{i}: register(username: "user{i}", password: "Pass-word-{i}-xyz") {{ id }}' for i in range(3)) + " }"
    error = await refused(hub, "too_complex", many)
    assert "only once" in error["message"]
    fragment = 'mutation { ...A ...B } fragment A on Mutation { login(username: "helen", password: "guess-one-1") { accessToken } } ' \
        'fragment B on Mutation { b: login(username: "helen", password: "guess-two-2") { accessToken } }'
    await refused(hub, "too_complex", fragment)
    assert await hub.store.count_users() == 1
    assert (await data(hub, 'mutation { login(username: "helen", password: $p) { accessToken } }'.replace("$p", f'"{PASSWORD}"')))["login"]


async def test_password_hashing_does_not_block_the_hub_and_unknown_names_take_as_long(hub: Hub) -> None:
    await hub.user("helen")
    login = 'mutation($u: String!) { login(username: $u, password: "wrong-password-x") { accessToken } }'
    await refused(hub, "unauthenticated", login, {"u": "nobody"})  # the dummy hash is made once
    timings = {}
    for name in ("helen", "nobody"):
        started = time.perf_counter()
        error = await refused(hub, "unauthenticated", login, {"u": name})
        timings[name] = time.perf_counter() - started
        assert error["message"] == "Wrong username or password"
    assert timings["nobody"] > timings["helen"] / 3, timings
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    await asyncio.gather(*(refused(hub, "unauthenticated", login, {"u": "helen"}) for _ in range(4)))
    elapsed = time.perf_counter() - started
    ticker.cancel()
    assert ticks > elapsed / 0.005 / 6, (ticks, elapsed)  # the loop kept running while argon2 worked


def _media_files(hub: Hub) -> list[Path]:
    root = hub.server.app[SERVICES].settings.media_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def test_a_stalled_upload_is_dropped_and_leaves_nothing_on_disk(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that starts an upload and then sends nothing held a connection and a temporary
    file for ever (slow loris)."""
    monkeypatch.setattr(upload_module, "IDLE_TIMEOUT", 0.3)
    await hub.user("helen")
    host, port = hub.url.split("//")[1].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n" + png()[:10])
    writer.write(b"POST /api/media HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer " + (await token(hub, "helen")).encode()
                 + b"\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 100000\r\n\r\n" + head)
    await writer.drain()
    async with asyncio.timeout(5):
        answer = await reader.read(4096)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408") and b'"timeout"' in answer, answer
    assert _media_files(hub) == []


async def test_odd_frame_of_values_and_endless_fields_are_bad_requests(hub: Hub) -> None:
    await hub.user("helen")
    for value in ("9" * 40, "²", "-1", "1.0"):  # were 500s: int() of a huge or a Unicode digit
        status, body = await upload(hub, "helen", png(), "a.png", frameOf=value)
        assert status == 400 and body["error"]["code"] == "bad_request", (value, body)
    status, body = await upload(hub, "helen", png(), "a.png", name="x" * 5000)
    assert status == 400 and "too long" in body["error"]["message"]
    assert _media_files(hub) == []


async def test_a_performer_taken_off_the_access_list_stops_performing_at_once(hub: Hub) -> None:
    """A player removed from a stage (or an owner who gave it away) kept publishing as a performer
    until they reconnected."""
    await hub.stage("show", "olga", players=("pat", "ann"))
    await hub.user("nina")
    pat, ann, olga = await hub.joined("pat"), await hub.joined("ann"), await hub.joined("olga")
    update = "mutation($id: ID!, $in: StageInput!) { updateStage(id: $id, input: $in) { id } }"
    show = await stage_id(hub, "show")
    await data(hub, update, {"id": show, "in": {"players": ["ann"], "editors": ["olga"], "owner": "nina"}}, user="olga")
    await pat.wait_for(lambda c: bool(c.closed))
    assert pat.closed[0]["message"] == "your role on this stage changed"
    assert (await pat.publish("board", {"type": "moveTo", "object": {"id": "o1", "x": 1}}))["error"]["code"] == "not_joined"
    assert (await pat.join("show"))["role"] == "audience"
    assert (await ann.publish("board", {"type": "moveTo", "object": {"id": "o1", "x": 2}}))["ok"] is True
    assert hub.node.connections[olga.sio.get_sid()].role == "editor" and olga.closed == []


async def test_other_users_account_details_are_for_themselves_and_admins(hub: Hub) -> None:
    """Anyone could read every listed user's role, state, upload limit and creation time through
    the public foyer (`owner`, `playerAccess`, `Media.owner`): who the admins are, for one."""
    await hub.stage("show", "olga", players=("pat",))
    await hub.user("root", "admin")
    await data(hub, UPDATE, {"id": await _user_id(hub, "olga"), "role": "admin"}, user="root")
    people = "{ foyer { owner { id username } playerAccess { username } } }"
    assert (await data(hub, people))["foyer"] == [{"owner": {"id": await _user_id(hub, "olga"), "username": "olga"},
                                                  "playerAccess": [{"username": "pat"}]}]
    for field in ("role", "active", "uploadLimit", "createdAt"):
        query = f"{{ foyer {{ owner {{ {field} }} }} }}"
        for user in (None, "pat"):
            error = await refused(hub, "forbidden", query, user=user)
            assert error["path"] == ["foyer", 0, "owner", field]
        assert (await data(hub, query, user="olga"))["foyer"][0]["owner"][field] is not None
        assert (await data(hub, query, user="root"))["foyer"][0]["owner"][field] is not None
    assert (await data(hub, "{ whoami { role active uploadLimit } }", user="pat"))["whoami"]["role"] == "player"
    login = f'mutation {{ login(username: "pat", password: "{PASSWORD}") {{ user {{ role active uploadLimit createdAt }} }} }}'
    assert (await data(hub, login))["login"]["user"]["active"] is True


async def test_a_player_cannot_create_a_stage_for_someone_else(hub: Hub) -> None:
    """createStage(owner: ...) let any player give a new stage (editable by them) to anyone."""
    await hub.user("helen")
    await hub.user("victim")
    await hub.user("root", "admin")
    create = 'mutation($in: StageInput!) { createStage(input: $in) { slug owner { username } } }'
    error = await refused(hub, "forbidden", create, {"in": {"name": "Spam", "owner": "victim", "editors": ["helen"]}}, user="helen")
    assert error["extensions"]["field"] == "owner"
    assert await hub.store.get_stage("spam") is None
    assert (await data(hub, create, {"in": {"name": "Mine", "owner": "helen"}}, user="helen"))["createStage"]["slug"] == "mine"
    made = (await data(hub, create, {"in": {"name": "Gift", "owner": "victim"}}, user="root"))["createStage"]
    assert made["owner"] == {"username": "victim"}


async def test_save_media_keeps_the_type_fitting_the_content(hub: Hub) -> None:
    """saveMedia turned an image into `audio` or `video`, which upload refuses."""
    await hub.user("helen")
    media = (await upload(hub, "helen", png(), "a.png"))[1]["media"]
    save = "mutation($in: MediaInput!) { saveMedia(input: $in) { type } }"
    for wrong in ("audio", "video"):
        error = await refused(hub, "bad_request", save, {"in": {"id": media["id"], "type": wrong}}, user="helen")
        assert error["extensions"]["field"] == "type"
    assert (await data(hub, save, {"in": {"id": media["id"], "type": "backdrop"}}, user="helen"))["saveMedia"]["type"] == "backdrop"
