"""Helpers for the browser tests: people in their own browser contexts (logged in or not), stage
pages that have joined, media on a stage's toolbox, and waits with generous timeouts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from client import login
from tests.conftest import PASSWORD, Hub

WAIT_MS = 10_000  # a second is the target; the headroom is for a busy 2-core machine
DEMO = Path(__file__).resolve().parent.parent / "static" / "demo"


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
    page.errors = errors  # type: ignore[attr-defined]
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


async def seed_media(hub: Hub, owner: str, slug: str = "show") -> dict[str, int]:
    """The demo images as the stage's toolbox media (avatar, prop, backdrop), by type -> media id."""
    store = hub.store
    user = await store.get_user_by_name(owner)
    stage = await store.cached_stage(slug)
    ids: dict[str, int] = {}
    for kind, file in (("avatar", "avatar.svg"), ("prop", "prop.svg"), ("backdrop", "backdrop.svg")):
        data = (DEMO / file).read_bytes()
        media = await store.create_media(user.id, f"Demo {kind}", kind, "image/svg+xml", len(data), [file])
        ids[kind] = media.id
    await store.assign_media(stage.id, list(ids.values()))
    return ids
