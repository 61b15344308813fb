"""Helpers for the studio/backstage/admin browser tests: a sound file, logging in through the page
header, generous waits for a shared 2-core machine; GraphQL calls and images come from tests.gql."""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any

from tests.conftest import PASSWORD, Hub
from tests.gql import data, gql, png, upload

__all__ = ["WAIT", "data", "gql", "log_in", "open_logged_in", "png", "upload_as", "wav", "write"]

WAIT = 20_000  # ms: every browser wait; the machine is small and shared


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


async def upload_as(hub: Hub, username: str, filename: str, content: bytes, media_type: str, frame_of: str | None = None) -> dict[str, Any]:
    """The media made by an upload that must succeed (setting up a test; pages upload in the browser)."""
    fields = {"type": media_type, **({"frameOf": frame_of} if frame_of else {})}
    status, body = await upload(hub, username, content, filename, **fields)
    assert status == 201 and body["ok"], body
    return body["media"]
