"""Helpers for the studio/backstage/admin browser tests: files to upload, GraphQL as a user,
logging in through the page header, and generous waits for a shared 2-core machine."""

from __future__ import annotations

import io
import random
import struct
import wave
import zlib
from pathlib import Path
from typing import Any

import aiohttp

from client import login
from tests.conftest import PASSWORD, Hub

WAIT = 20_000  # ms: every browser wait; the machine is small and shared


def png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (200, 40, 90), noise: bool = False) -> bytes:
    """A valid PNG; with `noise` its pixels are random, so it does not compress (for size limits)."""
    rnd = random.Random(7)
    rows = b"".join(
        b"\x00" + b"".join(bytes(rnd.randrange(256) for _ in range(3)) if noise else bytes(rgb) for _ in range(width))
        for _ in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def wav(seconds: float = 0.3, rate: int = 8000) -> bytes:
    """A short mono 8-bit WAV (a square-ish tone)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(rate)
        w.writeframes(bytes(200 if (i // 20) % 2 else 56 for i in range(int(seconds * rate))))
    return out.getvalue()


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


async def token(hub: Hub, username: str) -> str:
    return (await login(hub.url, username, PASSWORD))["access_token"]


async def gql_raw(hub: Hub, query: str, variables: dict[str, Any] | None = None, as_user: str | None = None) -> dict[str, Any]:
    """The whole GraphQL answer ({data, errors}) for `query` run as `as_user` (or anonymously)."""
    headers = {"Authorization": f"Bearer {await token(hub, as_user)}"} if as_user else {}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{hub.url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers) as resp:
            return await resp.json()


async def gql(hub: Hub, query: str, variables: dict[str, Any] | None = None, as_user: str | None = None) -> dict[str, Any]:
    """The `data` of a GraphQL call that must succeed."""
    body = await gql_raw(hub, query, variables, as_user)
    assert not body.get("errors"), body
    return body["data"]


async def open_logged_in(browser: Any, hub: Hub, username: str, path: str, viewport: dict[str, int] | None = None) -> Any:
    """A new browser context and page at `path`, logged in as `username` through the header form."""
    context = await browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(WAIT)
    await page.goto(hub.url + path)
    await log_in(page, username)
    return page


async def log_in(page: Any, username: str, password: str = PASSWORD) -> None:
    form = page.locator("header form.login")
    await form.get_by_label("Username").fill(username)
    await form.get_by_label("Password").fill(password)
    await form.get_by_role("button", name="Log in").click()
    await page.locator("header .username", has_text=username).wait_for()


async def upload_as(hub: Hub, username: str, filename: str, data: bytes, media_type: str, frame_of: str | None = None) -> dict[str, Any]:
    """`POST /api/media` as `username` (for setting up a test; the pages upload through the browser)."""
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename)
    form.add_field("type", media_type)
    if frame_of:
        form.add_field("frameOf", frame_of)
    headers = {"Authorization": f"Bearer {await token(hub, username)}"}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{hub.url}/api/media", data=form, headers=headers) as resp:
            body = await resp.json()
    assert resp.status == 201 and body["ok"], body
    return body["media"]
