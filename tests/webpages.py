"""Helpers for the browser tests: people in their own browser contexts (logged in or not), stage
pages that have joined, media on a stage's toolbox, and waits with generous timeouts."""

from __future__ import annotations

import json
from typing import Any

from client import login
from tests.conftest import PASSWORD, Hub
from tests.gql import png, upload
from tests.present import present

WAIT_MS = 10_000  # a second is the target; the headroom is for a busy 2-core machine


async def person(browser: Any, hub: Hub, username: str | None = None, **context: Any) -> Any:
    """A browser context for one person; logged in as `username` (tokens in localStorage as the
    shared header's login leaves them) or anonymous."""
    ctx = await browser.new_context(**context)
    if username:
        body = await login(hub.url, username, PASSWORD)
        auth = {"accessToken": body["access_token"], "refreshToken": body["refresh_token"], "user": body["user"]}
        await ctx.add_init_script(f"localStorage.setItem('upstage.auth', {json.dumps(json.dumps(auth))});")
    return ctx


async def open_stage(ctx: Any, hub: Hub, slug: str = "show") -> Any:
    """A page on /stage/<slug> that has joined (connection indicator says connected)."""
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    await page.goto(f"{hub.url}/stage/{slug}")
    await page.wait_for_selector(".connection[data-status=connected]", timeout=WAIT_MS)
    return page


async def until(page: Any, expression: str, arg: Any = None) -> Any:
    """Wait until the JS `expression` (a function of `arg`) is truthy in the page; return its value."""
    handle = await page.wait_for_function(expression, arg=arg, timeout=WAIT_MS)
    return await handle.json_value()


async def state(page: Any) -> dict[str, Any]:
    """The page's copy of the stage's live state."""
    return await page.evaluate("window.upstage.state")


async def seed_media(hub: Hub, owner: str, slug: str = "show") -> dict[str, dict[str, Any]]:
    """Upload an avatar, a prop and a backdrop (PNGs) through `POST /api/media` as the stage's
    toolbox media; by type -> the upload's media record (`id`, `url`, ...)."""
    stage = present(await hub.store.cached_stage(slug))
    media: dict[str, dict[str, Any]] = {}
    for kind, size, rgb in (("avatar", (48, 64), (200, 40, 40)), ("prop", (40, 40), (240, 200, 40)), ("backdrop", (160, 90), (30, 60, 120))):
        status, body = await upload(hub, owner, png(*size, rgb=rgb), f"{kind}.png", type=kind, name=f"Demo {kind}")
        assert status == 201, body
        media[kind] = body["media"]
    await hub.store.assign_media(stage.id, [int(item["id"]) for item in media.values()])
    return media
