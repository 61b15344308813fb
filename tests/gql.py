"""Helpers for the management API tests: GraphQL calls as a user, error checks, test files."""

from __future__ import annotations

import asyncio
import struct
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from client import login
from tests.conftest import PASSWORD, Hub


async def token(hub: Hub, username: str) -> str:
    return (await login(hub.url, username, PASSWORD))["access_token"]


async def gql(hub: Hub, query: str, variables: dict[str, Any] | None = None, user: str | None = None) -> dict[str, Any]:
    """POST one GraphQL request as `user` (logged in with the test password) or anonymously."""
    headers = {"Authorization": f"Bearer {await token(hub, user)}"} if user else {}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{hub.url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers) as r,
    ):
        assert r.status == 200, await r.text()
        return await r.json()


async def data(hub: Hub, query: str, variables: dict[str, Any] | None = None, user: str | None = None) -> dict[str, Any]:
    """The `data` of a request that must succeed."""
    result = await gql(hub, query, variables, user)
    assert not result.get("errors"), result
    return result["data"]


async def refused(
    hub: Hub, code: str, query: str, variables: dict[str, Any] | None = None, user: str | None = None
) -> dict[str, Any]:
    """The first error of a request that must fail with `code`; returns it for further checks."""
    result = await gql(hub, query, variables, user)
    assert result.get("errors"), result
    error = result["errors"][0]
    assert error["extensions"]["code"] == code, error
    assert error["message"] and error["message"][0].isupper(), error
    return error


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    """Poll until `check()` holds (presence settles asynchronously), failing after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def png(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid PNG image of one colour (made here, so the tests need no image files)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


async def upload(
    hub: Hub, user: str | None, content: bytes, filename: str = "file.png", **fields: str
) -> tuple[int, dict[str, Any]]:
    """POST /api/media as `user`; returns (status, JSON body)."""
    form = aiohttp.FormData()
    for key, value in fields.items():
        form.add_field(key, value)
    form.add_field("file", content, filename=filename, content_type="application/octet-stream")
    headers = {"Authorization": f"Bearer {await token(hub, user)}"} if user else {}
    async with aiohttp.ClientSession() as http, http.post(f"{hub.url}/api/media", data=form, headers=headers) as r:
        return r.status, await r.json()


async def stage_id(hub: Hub, slug: str) -> str:
    stage = await hub.store.get_stage(slug)
    assert stage is not None
    return str(stage.id)
