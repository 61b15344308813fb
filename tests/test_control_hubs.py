"""Two hub processes as one site (issue 14, item 4): sign-outs, evictions and access changes made
through GraphQL on process 1 take effect on sockets held by process 2.

Two apps (`create_app` twice) share one database and one control channel: sibling memory
channels, or the real Redis under the test's own prefix (chosen by HUB_REDIS_URL, as deployed).
Every socket here is connected to process 2; every mutation goes to process 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from client import HubClient, HubError, login
from hub import create_app
from hub.app import LIVE
from hub.control import RESYNC, Control, MemoryControl
from hub.http import STORE
from hub.live import LiveStages
from tests.conftest import PASSWORD, Hub
from tests.conftest import test_settings as settings_for
from tests.gql import data, eventually
from tests.redisdb import REDIS_URL, own_prefix

UPDATE_STAGE = "mutation($id: ID!, $in: StageInput!) { updateStage(id: $id, input: $in) { slug status } }"
UPDATE_USER = "mutation($id: ID!, $active: Boolean, $role: String) { updateUser(id: $id, active: $active, role: $role) { id } }"
DELETE_STAGE = "mutation($id: ID!) { deleteStage(id: $id) }"
CHANGE_PASSWORD = "mutation($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n) }"


class Site:
    """Two hub processes on one database and one control channel."""

    def __init__(self, one: Hub, two: Hub) -> None:
        self.one, self.two = one, two

    def live(self, hub: Hub) -> LiveStages:
        return hub.server.app[LIVE]

    async def stage_id(self, slug: str) -> str:
        stage = await self.one.store.get_stage(slug)
        assert stage is not None
        return str(stage.id)

    async def user_id(self, username: str) -> str:
        user = await self.one.store.get_user_by_name(username)
        assert user is not None
        return str(user.id)


@contextlib.asynccontextmanager
async def open_site(engine: str, tmp_path: Path) -> AsyncIterator[Site]:
    """Two processes on sibling memory channels, or on Redis through HUB_REDIS_URL."""
    async with contextlib.AsyncExitStack() as stack:
        overrides: dict[str, Any] = {}
        controls: list[Control | None] = [None, None]
        if engine == "redis":
            overrides = {"redis_url": REDIS_URL, "redis_prefix": await stack.enter_async_context(own_prefix())}
        else:
            first = MemoryControl()
            controls = [first, first.sibling()]
        settings = settings_for(tmp_path, **overrides)
        hubs: list[Hub] = []
        try:
            for control in controls:
                app = create_app(settings, control=control)
                server = TestServer(app, host="127.0.0.1")
                await server.start_server()
                hubs.append(Hub(server, app[STORE], []))
            yield Site(*hubs)
        finally:
            for hub in hubs:
                for client in hub.clients:
                    if client.sio.connected:
                        await client.close()
                await hub.server.close()


@pytest.fixture(params=("memory", "redis"))
async def site(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Site]:
    async with open_site(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture
async def memory_site(tmp_path: Path) -> AsyncIterator[Site]:
    """On memory channels, whose outages a test can make (`MemoryControl.down`)."""
    async with open_site("memory", tmp_path) as opened:
        yield opened


async def test_each_process_has_its_own_node_id_on_one_channel(site: Site) -> None:
    one, two = site.live(site.one), site.live(site.two)
    assert one.node_id != two.node_id and len(one.node_id) == 12


async def test_deactivating_a_user_on_process_1_disconnects_their_socket_on_process_2(site: Site) -> None:
    await site.one.stage("show", "helen", players=("pete",))
    await site.one.user("ada", role="admin")
    pete = await site.two.joined("pete")
    other = await site.two.joined("helen")
    await data(site.one, UPDATE_USER, {"id": await site.user_id("pete"), "active": False}, user="ada")
    await eventually(lambda: _disconnected(pete))
    assert other.connected


async def test_a_role_change_on_process_1_disconnects_the_user_on_process_2(site: Site) -> None:
    await site.one.user("ada", role="admin")
    await site.one.user("pete")
    pete = await site.two.connect("pete")
    await data(site.one, UPDATE_USER, {"id": await site.user_id("pete"), "role": "admin"}, user="ada")
    await eventually(lambda: _disconnected(pete))


async def test_a_password_change_on_process_1_ends_the_sockets_on_process_2(site: Site) -> None:
    await site.one.stage("show", "helen")
    socket = await site.two.joined("helen")
    access = (await login(site.one.url, "helen", PASSWORD))["access_token"]
    result = await _gql_as(site.one, access, CHANGE_PASSWORD, {"o": PASSWORD, "n": "another-long-phrase"})
    assert result["data"]["changePassword"] is True, result
    await eventually(lambda: _disconnected(socket))


async def test_a_player_removed_on_process_1_is_taken_off_the_stage_on_process_2(site: Site) -> None:
    """The player is told (stageClosed) and taken off; joining again on process 2 at once makes
    them audience: process 2's stage cache does not keep the old access lists."""
    await site.one.stage("show", "helen", players=("pete", "paula"))
    pete = await site.two.joined("pete")
    paula = await site.two.joined("paula")
    await data(site.one, UPDATE_STAGE, {"id": await site.stage_id("show"), "in": {"players": ["paula"]}}, user="helen")
    await eventually(lambda: _closed(pete))
    assert pete.closed[-1]["message"] == "your role on this stage changed" and pete.closed[-1]["stage"] == "show"
    assert pete.connected and not paula.closed
    again = await pete.join("show")
    assert again["ok"] and again["role"] == "audience", again
    published = await paula.publish("chat", {"message": "still a player"})
    assert published["ok"], published


async def test_an_audience_is_taken_off_on_process_2_when_the_stage_goes_into_rehearsal_on_process_1(site: Site) -> None:
    await site.one.stage("show", "helen", players=("pete",))
    audience = await site.two.joined()
    pete = await site.two.joined("pete")
    await data(site.one, UPDATE_STAGE, {"id": await site.stage_id("show"), "in": {"status": "rehearsal"}}, user="helen")
    await eventually(lambda: _closed(audience))
    assert audience.closed[-1] == {"stage": "show", "code": "forbidden", "status": "rehearsal", "message": "this stage is in rehearsal"}
    assert not pete.closed
    await pete.wait_for(lambda c: c.stage_status is not None, timeout=5)
    assert pete.stage_status == {"stage": "show", "status": "rehearsal", "visible": True}
    late = await site.two.connect()
    assert (await late.join("show")) == {"ok": False, "error": {"code": "forbidden", "message": "this stage is in rehearsal"}}


async def test_a_stage_deleted_on_process_1_closes_for_everyone_on_process_2(site: Site) -> None:
    await site.one.stage("show", "helen", players=("pete",))
    audience = await site.two.joined()
    pete = await site.two.joined("pete")
    assert await data(site.one, DELETE_STAGE, {"id": await site.stage_id("show")}, user="helen")
    await eventually(lambda: _closed(audience))
    await eventually(lambda: _closed(pete))
    assert pete.closed[-1]["message"] == "this stage was deleted"
    assert (await pete.join("show"))["error"]["code"] == "not_found"


async def test_a_renamed_stage_is_joined_by_its_new_slug_on_process_2_at_once(site: Site) -> None:
    await site.one.stage("show", "helen")
    audience = await site.two.joined()
    await data(site.one, UPDATE_STAGE, {"id": await site.stage_id("show"), "in": {"slug": "premiere"}}, user="helen")
    await eventually(lambda: _rejoins(audience, "premiere"))
    assert (await audience.join("show"))["error"]["code"] == "not_found"


async def test_a_sign_out_sent_while_the_channel_is_down_arrives_when_it_is_back(
    memory_site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """The mutation succeeds and acts on process 1 at once; the message is logged as not sent,
    kept, and delivered to process 2 once the channel answers again (Redis's outage: test_control.py)."""
    site = memory_site
    await site.one.stage("show", "helen", players=("pete",))
    await site.one.user("ada", role="admin")
    here, there = await site.one.joined("pete"), await site.two.joined("pete")
    control = site.live(site.one).control
    assert isinstance(control, MemoryControl)
    control.down = True
    with caplog.at_level("ERROR", logger="hub.control.outbox"):
        await data(site.one, UPDATE_USER, {"id": await site.user_id("pete"), "active": False}, user="ada")
        await eventually(lambda: _disconnected(here))
    assert any("not sent" in r.getMessage() for r in caplog.records)
    await asyncio.sleep(0.3)
    assert there.connected
    control.down = False
    await eventually(lambda: _disconnected(there))


async def test_a_resync_after_a_broken_channel_catches_up_with_the_store(site: Site) -> None:
    """What a process missed while its subscription was broken (changes made directly here, as
    if their messages were lost) is caught up when the channel hands it RESYNC."""
    await site.one.stage("show", "helen", players=("pete",))
    await site.one.stage("other", "olga")
    since = int(time.time() * 1000)
    pete = await site.two.joined("pete")
    olga = await site.two.joined("olga", slug="other")
    audience = await site.two.joined(slug="other")
    stage_id = int(await site.stage_id("show"))
    await site.one.store.update_stage(stage_id, {}, players=[])
    await site.one.store.update_user(int(await site.user_id("olga")), active=False)
    await site.one.store.update_stage(int(await site.stage_id("other")), {"status": "upcoming"})
    await site.live(site.two).handle({"kind": RESYNC, "node": "x", "since": since})
    await eventually(lambda: _closed(pete))
    await eventually(lambda: _disconnected(olga))
    await eventually(lambda: _closed(audience))
    assert audience.closed[-1]["message"] == "this stage is upcoming"


async def _gql_as(hub: Hub, access: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {access}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{hub.url}/graphql", json={"query": query, "variables": variables}, headers=headers) as response,
    ):
        return await response.json()


async def _disconnected(client: HubClient) -> bool:
    return not client.sio.connected


async def _closed(client: HubClient) -> bool:
    return bool(client.closed)


async def _rejoins(client: HubClient, slug: str) -> bool:
    try:
        return bool((await client.join(slug))["ok"])
    except HubError:
        return False

