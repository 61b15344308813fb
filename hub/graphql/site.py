"""The site's foyer texts and whether anyone may sign up, kept in `hub_meta` and edited by admins."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from ..signup import SELF_SIGNUP_KEY, self_signup_open
from .context import Context, fail

DEFAULTS = {"title": "UpStage", "description": "A live stage for cyberformance: performers and audiences meet online."}
MAX_LENGTH = {"title": 100, "description": 2000}


async def site(_: Any, info: GraphQLResolveInfo) -> dict[str, Any]:
    """The foyer texts, read once per request however many aliases ask."""
    ctx: Context = info.context
    return await ctx.lookups.once("site", lambda: _texts(ctx))


async def _texts(ctx: Context) -> dict[str, Any]:
    texts: dict[str, Any] = {
        key: await ctx.store.archive.get_meta(f"site.{key}") or default for key, default in DEFAULTS.items()
    }
    texts["selfSignup"] = await self_signup_open(ctx.store)
    return texts


async def update_site(
    _: Any, info: GraphQLResolveInfo, selfSignup: bool | None = None, **changes: str | None
) -> dict[str, Any]:
    ctx: Context = info.context
    ctx.require_admin()
    for key, value in changes.items():
        if value is None:
            continue
        value = value.strip()
        if not value or len(value) > MAX_LENGTH[key]:
            fail("bad_request", f"{key} must be 1-{MAX_LENGTH[key]} characters", key)
        await ctx.store.archive.set_meta(f"site.{key}", value)
    if selfSignup is not None:
        await ctx.store.archive.set_meta(SELF_SIGNUP_KEY, "on" if selfSignup else "off")
    return await site(None, info)


RESOLVERS = {"Query": {"site": site}, "Mutation": {"updateSite": update_site}}
