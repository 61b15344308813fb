"""One origin policy for HTTP and Socket.IO, and the security headers (hardening issue):
`OPTIONS /api/login` answered 405 while Socket.IO accepted any origin, and no page sent a CSP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import socketio

from hub.config import ConfigError, Settings
from hub.origins import OriginPolicy
from tests.conftest import PASSWORD, Hub

FOREIGN = "https://evil.example"
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}


def own_origin(hub: Hub) -> str:
    return hub.url  # http://127.0.0.1:<port>, what the hub's own pages send


async def request(hub: Hub, method: str, path: str, headers: dict[str, str], json: Any = None) -> tuple[int, Any, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{hub.url}{path}", headers=headers, json=json) as response,
    ):
        return response.status, response.headers, await response.text()


async def socket_connects(hub: Hub, origin: str | None) -> bool:
    client = socketio.AsyncClient(reconnection=False)
    headers = {"Origin": origin} if origin else {}
    try:
        await client.connect(hub.url, headers=headers, transports=["websocket"], wait_timeout=5)
    except socketio.exceptions.ConnectionError:
        return False
    await client.disconnect()
    return True


async def test_the_hubs_own_pages_get_preflight_answers_and_others_are_refused(hub: Hub) -> None:
    for path in ("/api/login", "/api/refresh", "/api/media", "/graphql"):
        status, headers, _ = await request(hub, "OPTIONS", path, {"Origin": own_origin(hub), **PREFLIGHT})
        assert status == 204, path
        assert headers["Access-Control-Allow-Origin"] == own_origin(hub)
        assert "POST" in headers["Access-Control-Allow-Methods"]
        assert {"authorization", "content-type"} <= {h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")}
        assert "Origin" in headers.getall("Vary")
        status, headers, _ = await request(hub, "OPTIONS", path, {"Origin": FOREIGN, **PREFLIGHT})
        assert status == 403 and "Access-Control-Allow-Origin" not in headers, path


async def test_a_foreign_page_cannot_call_the_api_even_without_a_preflight(hub: Hub) -> None:
    """A text/plain POST needs no preflight: it must be refused, not run and hidden."""
    await hub.user("helen")
    body = {"username": "helen", "password": PASSWORD}
    status, headers, text = await request(hub, "POST", "/api/login", {"Origin": FOREIGN}, body)
    assert status == 403 and "evil.example" in text and "Access-Control-Allow-Origin" not in headers
    status, _, text = await request(hub, "POST", "/graphql", {"Origin": FOREIGN}, {"query": "{ whoami { id } }"})
    assert status == 403 and '"forbidden"' in text
    status, headers, _ = await request(hub, "POST", "/api/login", {"Origin": own_origin(hub)}, body)
    assert status == 200 and headers["Access-Control-Allow-Origin"] == own_origin(hub)
    assert (await request(hub, "POST", "/api/login", {}, body))[0] == 200  # no Origin: not a browser


async def test_listed_origins_and_star(make_hub: Callable[..., Awaitable[Hub]]) -> None:
    listed = await make_hub(cors_origins="https://studio.example, http://localhost:5173")
    for origin, allowed in (("https://studio.example", True), ("http://localhost:5173", True), (FOREIGN, False)):
        status, headers, _ = await request(listed, "OPTIONS", "/api/login", {"Origin": origin, **PREFLIGHT})
        assert (status == 204) is allowed and (headers.get("Access-Control-Allow-Origin") == origin) is allowed
    assert (await request(listed, "OPTIONS", "/api/login", {"Origin": own_origin(listed), **PREFLIGHT}))[0] == 204
    anyone = await make_hub(cors_origins="*")
    status, headers, _ = await request(anyone, "OPTIONS", "/graphql", {"Origin": FOREIGN, **PREFLIGHT})
    assert status == 204 and headers["Access-Control-Allow-Origin"] == FOREIGN


async def test_socketio_refuses_a_foreign_origin_by_default_and_accepts_a_listed_one(make_hub: Callable[..., Awaitable[Hub]]) -> None:
    hub = await make_hub()
    assert not await socket_connects(hub, FOREIGN)
    assert await socket_connects(hub, own_origin(hub))
    assert await socket_connects(hub, None)  # bench scripts, the gateway, the tests: no Origin
    listed = await make_hub(cors_origins=FOREIGN)
    assert await socket_connects(listed, FOREIGN)
    assert not await socket_connects(listed, "https://other.example")


@pytest.mark.parametrize("text", ["evil.example", "https://evil.example/path", "ftp://x.example", "https://"])
def test_a_bad_origin_setting_stops_the_hub_naming_it(tmp_path: Any, text: str) -> None:
    with pytest.raises(ConfigError, match="HUB_CORS_ORIGINS"):
        Settings.from_env({"HUB_CORS_ORIGINS": text, "HUB_VAR_DIR": str(tmp_path)})


def test_same_origin_ignores_the_scheme_and_default_ports() -> None:
    policy = OriginPolicy.parse("")
    assert policy.allows("https://hub.example", "hub.example")
    assert policy.allows("https://hub.example", "hub.example:443")
    assert policy.allows("http://hub.example:8080", "HUB.example:8080")
    assert not policy.allows("http://hub.example:8081", "hub.example:8080")
    assert not policy.allows("https://hub.example.evil.example", "hub.example")
    assert not policy.allows("null", "hub.example")
    assert not policy.allows("https://hub.example", None)


PAGES = ("/", "/stage/demo", "/replay/demo/1", "/studio", "/backstage", "/admin")


async def test_every_page_has_a_strict_policy_and_every_response_nosniff(hub: Hub) -> None:
    for path in PAGES:
        status, headers, text = await request(hub, "GET", path, {})
        assert status == 200 and "<script" in text, path
        policy = headers["Content-Security-Policy"]
        for directive in ("script-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
            assert directive in policy, (path, directive)
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "same-origin"
        assert "<script>" not in text and " on" not in text.split("<body", 1)[1].split(">", 1)[0]
    status, headers, text = await request(hub, "GET", "/graphql", {})
    assert status == 200 and "'unsafe-eval'" not in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"] and "<script>" not in text
    for path in ("/healthz", "/static/js/api.js", "/no-such-page"):
        status, headers, _ = await request(hub, "GET", path, {})
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
    status, headers, _ = await request(hub, "POST", "/api/login", {}, {"username": "nobody", "password": "x-password"})
    assert status == 401 and headers["X-Content-Type-Options"] == "nosniff"
