"""Accounts over GraphQL: login, refresh, logout, registration, passwords and admin management,
including the original's holes (any player changing any user's role or password)."""

from __future__ import annotations

import aiohttp
import pytest

from client import HubClient, HubError, login
from tests.conftest import PASSWORD, Hub
from tests.gql import data, eventually, refused
from tests.present import present

AUTH = "accessToken refreshToken expiresIn user { id username role active uploadLimit }"
LOGIN = f'mutation($u: String!, $p: String!) {{ login(username: $u, password: $p) {{ {AUTH} }} }}'
UPDATE = "mutation($id: ID!, $role: String, $active: Boolean, $limit: Int) { updateUser(id: $id, role: $role, active: $active, uploadLimit: $limit) { id role active uploadLimit } }"
DELETE = "mutation($id: ID!, $c: ContentAction) { deleteUser(id: $id, content: $c) }"


async def test_login_refresh_and_logout_revokes_the_login(hub: Hub) -> None:
    await hub.user("helen")
    auth = (await data(hub, LOGIN, {"u": "helen", "p": PASSWORD}))["login"]
    assert auth["user"] == {"id": auth["user"]["id"], "username": "helen", "role": "player", "active": True, "uploadLimit": 10 * 1024 * 1024}
    assert auth["expiresIn"] == 15 * 60
    refreshed = (await data(hub, f"mutation($t: String!) {{ refreshToken(refreshToken: $t) {{ {AUTH} }} }}", {"t": auth["refreshToken"]}))["refreshToken"]
    assert refreshed["user"]["username"] == "helen" and refreshed["refreshToken"] != auth["refreshToken"]
    assert (await data(hub, "mutation($t: String!) { logout(refreshToken: $t) }", {"t": refreshed["refreshToken"]}))["logout"] is True
    await refused(hub, "unauthenticated", f"mutation($t: String!) {{ refreshToken(refreshToken: $t) {{ {AUTH} }} }}", {"t": refreshed["refreshToken"]})
    async with aiohttp.ClientSession() as http:
        for token in (refreshed["refreshToken"], auth["refreshToken"]):  # every token of the login
            async with http.post(f"{hub.url}/api/refresh", json={"refresh_token": token}) as response:
                assert response.status == 401
                assert "revoked" in (await response.json())["error"]["message"]
    assert (await data(hub, LOGIN, {"u": "helen", "p": PASSWORD}))["login"]["refreshToken"]  # a new login is a new family


async def test_wrong_password_and_access_token_as_refresh_token_are_refused(hub: Hub) -> None:
    await hub.user("helen")
    await refused(hub, "unauthenticated", LOGIN, {"u": "helen", "p": "not-the-password"})
    access = (await login(hub.url, "helen", PASSWORD))["access_token"]
    await refused(hub, "unauthenticated", "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }", {"t": access})


async def test_whoami(hub: Hub) -> None:
    await hub.user("helen")
    assert (await data(hub, "{ whoami { username role } }"))["whoami"] is None
    assert (await data(hub, "{ whoami { username role } }", user="helen"))["whoami"] == {"username": "helen", "role": "player"}


async def test_a_refresh_token_is_not_an_access_token(hub: Hub) -> None:
    await hub.user("helen")
    refresh = (await login(hub.url, "helen", PASSWORD))["refresh_token"]
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{hub.url}/graphql", json={"query": "{ whoami { id } }"}, headers={"Authorization": f"Bearer {refresh}"}) as r,
    ):
        body = await r.json()
    assert body["errors"][0]["extensions"]["code"] == "unauthenticated"


async def test_registered_player_is_inactive_until_an_admin_activates_them(hub: Hub) -> None:
    await hub.user("root", "admin")
    await hub.store.archive.set_meta("site.selfSignup", "on")  # registration needs sign-up open
    created = (await data(hub, 'mutation { register(username: "newbie", password: "a-good-passphrase") { id role active } }'))["register"]
    assert created["role"] == "player" and created["active"] is False
    error = await refused(hub, "forbidden", LOGIN, {"u": "newbie", "p": "a-good-passphrase"})
    assert "not active" in error["message"]
    await data(hub, UPDATE, {"id": created["id"], "active": True}, user="root")
    assert (await data(hub, LOGIN, {"u": "newbie", "p": "a-good-passphrase"}))["login"]["user"]["active"] is True


async def test_register_refuses_weak_passwords_bad_and_taken_names_with_the_field(hub: Hub) -> None:
    await hub.user("helen")
    query = "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { id } }"
    assert "closed" in (await refused(hub, "forbidden", query, {"u": "someone", "p": "a-good-passphrase"}))["message"]
    await hub.store.archive.set_meta("site.selfSignup", "on")  # registration needs sign-up open
    assert (await refused(hub, "bad_request", query, {"u": "someone", "p": "short"}))["extensions"]["field"] == "password"
    assert (await refused(hub, "bad_request", query, {"u": "no spaces!", "p": "a-good-passphrase"}))["extensions"]["field"] == "username"
    assert (await refused(hub, "conflict", query, {"u": "helen", "p": "a-good-passphrase"}))["extensions"]["field"] == "username"


async def test_change_own_password(hub: Hub) -> None:
    await hub.user("helen")
    query = "mutation($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n) }"
    await refused(hub, "unauthenticated", query, {"o": PASSWORD, "n": "another-long-phrase"})
    error = await refused(hub, "forbidden", query, {"o": "wrong-old-password", "n": "another-long-phrase"}, user="helen")
    assert error["extensions"]["field"] == "oldPassword"
    assert (await refused(hub, "bad_request", query, {"o": PASSWORD, "n": "abc"}, user="helen"))["extensions"]["field"] == "newPassword"
    assert (await data(hub, query, {"o": PASSWORD, "n": "another-long-phrase"}, user="helen"))["changePassword"] is True
    assert (await data(hub, LOGIN, {"u": "helen", "p": "another-long-phrase"}))["login"]["user"]["username"] == "helen"


async def test_users_list_is_for_admins(hub: Hub) -> None:
    await hub.user("root", "admin")
    await hub.user("helen")
    await hub.user("hector")
    query = "query($s: String, $a: Boolean) { users(search: $s, active: $a) { username } }"
    await refused(hub, "unauthenticated", query)
    await refused(hub, "forbidden", query, user="helen")
    assert [u["username"] for u in (await data(hub, query, {"s": "HE"}, user="root"))["users"]] == ["hector", "helen"]
    assert (await data(hub, query, {"a": False}, user="root"))["users"] == []


async def test_a_player_cannot_change_any_user_not_even_their_own_role(hub: Hub) -> None:
    """Regression: in the original any player could change any user's role or password."""
    helen = await hub.user("helen")
    hector = await hub.user("hector")
    for variables in ({"id": hector, "role": "admin"}, {"id": hector, "active": False}, {"id": helen, "role": "admin"},
                      {"id": helen, "limit": 10**9}):
        await refused(hub, "forbidden", UPDATE, variables, user="helen")
    await refused(hub, "unauthenticated", UPDATE, {"id": hector, "role": "admin"})
    await refused(hub, "forbidden", DELETE, {"id": hector}, user="helen")
    assert present(await hub.store.get_user(hector)).role == "player"
    assert present(await hub.store.get_user(helen)).role == "player"


async def test_admin_updates_role_active_and_upload_limit(hub: Hub) -> None:
    await hub.user("root", "admin")
    helen = await hub.user("helen")
    updated = (await data(hub, UPDATE, {"id": helen, "role": "admin", "limit": 1234}, user="root"))["updateUser"]
    assert updated == {"id": str(helen), "role": "admin", "active": True, "uploadLimit": 1234}
    assert (await refused(hub, "bad_request", UPDATE, {"id": helen, "role": "emperor"}, user="root"))["extensions"]["field"] == "role"
    await refused(hub, "bad_request", UPDATE, {"id": helen, "limit": 0}, user="root")
    await refused(hub, "not_found", UPDATE, {"id": 999, "active": False}, user="root")


async def test_the_last_admin_cannot_be_demoted_disabled_or_deleted(hub: Hub) -> None:
    root = await hub.user("root", "admin")
    await refused(hub, "conflict", UPDATE, {"id": root, "role": "player"}, user="root")
    await refused(hub, "conflict", UPDATE, {"id": root, "active": False}, user="root")
    await refused(hub, "forbidden", DELETE, {"id": root}, user="root")
    other = await hub.user("other", "admin")
    await data(hub, UPDATE, {"id": other, "role": "player"}, user="root")
    await refused(hub, "conflict", UPDATE, {"id": root, "active": False}, user="root")


async def test_delete_user_reassigns_content_to_the_admin(hub: Hub) -> None:
    root = await hub.user("root", "admin")
    await hub.stage("show", "helen", editors=("hector",))
    helen = present(await hub.store.get_user_by_name("helen")).id
    assert (await data(hub, DELETE, {"id": helen, "c": "REASSIGN_TO_ADMIN"}, user="root"))["deleteUser"] is True
    assert await hub.store.get_user(helen) is None
    assert present(await hub.store.get_stage("show")).owner_id == root


async def test_delete_user_with_all_content(hub: Hub) -> None:
    await hub.user("root", "admin")
    await hub.stage("show", "helen")
    helen = present(await hub.store.get_user_by_name("helen")).id
    assert (await data(hub, DELETE, {"id": helen, "c": "DELETE_ALL"}, user="root"))["deleteUser"] is True
    assert await hub.store.get_stage("show") is None


async def test_site_texts_are_public_and_edited_by_admins(hub: Hub) -> None:
    await hub.user("root", "admin")
    await hub.user("helen")
    assert (await data(hub, "{ site { title description } }"))["site"]["title"] == "UpStage"
    query = "mutation($t: String, $d: String) { updateSite(title: $t, description: $d) { title description } }"
    await refused(hub, "unauthenticated", query, {"t": "Mine"})
    await refused(hub, "forbidden", query, {"t": "Mine"}, user="helen")
    assert (await refused(hub, "bad_request", query, {"t": " "}, user="root"))["extensions"]["field"] == "title"
    await data(hub, query, {"t": "Our Hub", "d": "Live shows."}, user="root")
    assert (await data(hub, "{ site { title description } }"))["site"] == {"title": "Our Hub", "description": "Live shows."}


async def test_changing_the_password_ends_every_session_of_the_account(hub: Hub) -> None:
    """Whoever knew the old password is out: earlier access and refresh tokens are refused
    everywhere (GraphQL, /api/refresh, socket connect) and open sockets are closed."""
    await hub.stage("show", "helen")
    laptop, phone = await login(hub.url, "helen", PASSWORD), await login(hub.url, "helen", PASSWORD)
    socket = await hub.joined("helen")
    change = "mutation($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n) }"

    async def post(body: dict, access: str | None = None, path: str = "/graphql") -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {access}"} if access else {}
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{hub.url}{path}", json=body, headers=headers) as response,
        ):
            return response.status, await response.json()

    status, body = await post({"query": change, "variables": {"o": PASSWORD, "n": "another-long-phrase"}}, laptop["access_token"])
    assert status == 200 and body["data"]["changePassword"] is True
    for tokens in (laptop, phone):
        _, body = await post({"query": "{ whoami { username } }"}, tokens["access_token"])
        assert body["errors"][0]["extensions"]["code"] == "unauthenticated"
        assert "password change" in body["errors"][0]["message"]
        status, body = await post({"refresh_token": tokens["refresh_token"]}, path="/api/refresh")
        assert status == 401 and body["ok"] is False
    with pytest.raises(HubError, match="password change"):
        await HubClient(hub.url, token=phone["access_token"]).connect()
    await eventually(lambda: _disconnected(socket))

    fresh = await login(hub.url, "helen", "another-long-phrase")
    _, body = await post({"query": "{ whoami { username } }"}, fresh["access_token"])
    assert body["data"]["whoami"] == {"username": "helen"}


async def _disconnected(client: HubClient) -> bool:
    return not client.sio.connected
