"""Refresh tokens rotate on use with reuse detection (hardening issue: a used refresh token
worked for 30 days). A login is a family; a retired token presented again revokes it, except
the last one retired, within HUB_REFRESH_REUSE_GRACE seconds (two tabs at the same moment)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import jwt

from hub.auth import TokenIssuer
from tests.conftest import PASSWORD, TEST_SECRET, Hub
from tests.gql import gql

REFRESH = 'mutation($t: String!) { refreshToken(refreshToken: $t) { refreshToken accessToken } }'


async def post(hub: Hub, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.post(f"{hub.url}{path}", json=body) as response:
        return response.status, await response.json()


async def log_in(hub: Hub) -> dict[str, Any]:
    await hub.user("helen")
    status, body = await post(hub, "/api/login", {"username": "helen", "password": PASSWORD})
    assert status == 200
    return body


async def refresh(hub: Hub, token: str) -> tuple[int, dict[str, Any]]:
    return await post(hub, "/api/refresh", {"refresh_token": token})


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


async def works(hub: Hub, access_token: str) -> bool:
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {access_token}"}
        async with http.post(f"{hub.url}/graphql", json={"query": "{ whoami { username } }"}, headers=headers) as r:
            return (await r.json()).get("data", {}).get("whoami") == {"username": "helen"}


async def test_a_refresh_rotates_the_token(hub: Hub) -> None:
    first = await log_in(hub)
    status, second = await refresh(hub, first["refresh_token"])
    assert status == 200 and second["refresh_token"] != first["refresh_token"]
    assert claims(second["refresh_token"])["fam"] == claims(first["refresh_token"])["fam"]
    assert claims(second["refresh_token"])["jti"] != claims(first["refresh_token"])["jti"]
    assert await works(hub, second["access_token"])
    status, third = await refresh(hub, second["refresh_token"])
    assert status == 200 and third["refresh_token"] not in (first["refresh_token"], second["refresh_token"])


async def test_reusing_a_retired_token_after_the_grace_revokes_the_whole_login(make_hub: Callable[..., Awaitable[Hub]]) -> None:
    """A thief who copied the token and the user who keeps using it: whoever comes second ends
    the login for both, and the token the first one got stops working too."""
    hub = await make_hub(refresh_reuse_grace=0.2)
    stolen = (await log_in(hub))["refresh_token"]
    status, thief = await refresh(hub, stolen)
    assert status == 200
    await asyncio.sleep(0.3)
    status, body = await refresh(hub, stolen)  # the user's tab, with the token the thief used
    assert status == 401 and "already used" in body["error"]["message"]
    status, body = await refresh(hub, thief["refresh_token"])
    assert status == 401 and "revoked" in body["error"]["message"]
    error = (await gql(hub, REFRESH, {"t": thief["refresh_token"]}))["errors"][0]
    assert error["extensions"]["code"] == "unauthenticated"
    status, _ = await post(hub, "/api/login", {"username": "helen", "password": PASSWORD})
    assert status == 200  # logging in again starts a new login


async def test_two_tabs_refreshing_at_once_both_get_in(hub: Hub) -> None:
    """Within the grace the token retired last gets the login's current token back (same id),
    so both tabs go on, and either tab's next refresh works."""
    shared = (await log_in(hub))["refresh_token"]
    answers = await asyncio.gather(refresh(hub, shared), refresh(hub, shared))
    assert [status for status, _ in answers] == [200, 200]
    ids = {claims(body["refresh_token"])["jti"] for _, body in answers}
    assert len(ids) == 1 and claims(shared)["jti"] not in ids
    assert all([await works(hub, body["access_token"]) for _, body in answers])
    status, later = await refresh(hub, answers[1][1]["refresh_token"])
    assert status == 200
    status, _ = await refresh(hub, answers[0][1]["refresh_token"])  # the other tab, a moment later
    assert status == 200
    status, _ = await refresh(hub, shared)  # two rotations back: not the grace's token
    assert status == 401


async def test_logout_ends_every_token_of_the_login(hub: Hub) -> None:
    first = await log_in(hub)
    _, second = await refresh(hub, first["refresh_token"])
    other = (await post(hub, "/api/login", {"username": "helen", "password": PASSWORD}))[1]  # another device
    result = await gql(hub, "mutation($t: String!) { logout(refreshToken: $t) }", {"t": second["refresh_token"]})
    assert result["data"]["logout"] is True
    for token in (first["refresh_token"], second["refresh_token"]):
        status, body = await refresh(hub, token)
        assert status == 401 and "revoked" in body["error"]["message"]
    assert (await refresh(hub, other["refresh_token"]))[0] == 200  # the other login goes on


async def test_a_token_from_before_rotation_is_rotated_from_its_first_use(make_hub: Callable[..., Awaitable[Hub]]) -> None:
    """Tokens signed before this change carry no family: their first use starts one."""
    hub = await make_hub(refresh_reuse_grace=0.0)
    user_id = await hub.user("helen")
    legacy = TokenIssuer(TEST_SECRET, 900, 3600).issue(user_id, "helen", "player", "refresh")
    assert "fam" not in claims(legacy)
    status, body = await refresh(hub, legacy)
    assert status == 200 and claims(body["refresh_token"])["fam"] == claims(legacy)["jti"]
    await asyncio.sleep(0.01)
    assert (await refresh(hub, legacy))[0] == 401
    assert (await refresh(hub, body["refresh_token"]))[0] == 401
    logged_out = TokenIssuer(TEST_SECRET, 900, 3600).issue(user_id, "helen", "player", "refresh")
    await gql(hub, "mutation($t: String!) { logout(refreshToken: $t) }", {"t": logged_out})
    assert (await refresh(hub, logged_out))[0] == 401


async def test_a_huge_or_missing_refresh_token_is_a_400_naming_the_field(hub: Hub) -> None:
    for body in ({"refresh_token": "x" * 5000}, {"refresh_token": 12}, {}):
        status, answer = await post(hub, "/api/refresh", body)
        assert status == 400 and answer["error"]["message"].startswith("refresh_token")
    error = (await gql(hub, REFRESH, {"t": "x" * 5000}))["errors"][0]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("bad_request", "refreshToken")
