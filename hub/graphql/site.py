"""The site's foyer texts, kept in `hub_meta` and edited by admins."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from .context import Context, fail

DEFAULTS = {"title": "UpStage", "description": "A live stage for cyberformance: performers and audiences meet online."}
MAX_LENGTH = {"title": 100, "description": 2000}


async def site(_: Any, info: GraphQLResolveInfo) -> dict[str, str]:
    """The foyer texts, read once per request however many aliases ask."""
    ctx: Context = info.context
    return await ctx.lookups.once("site", lambda: _texts(ctx))


async def _texts(ctx: Context) -> dict[str, str]:
    return {key: await ctx.store.archive.get_meta(f"site.{key}") or default for key, default in DEFAULTS.items()}


async def update_site(_: Any, info: GraphQLResolveInfo, **changes: str | None) -> dict[str, str]:
    ctx: Context = info.context
    ctx.require_admin()
    for key, value in changes.items():
        if value is None:
            continue
        value = value.strip()
        if not value or len(value) > MAX_LENGTH[key]:
            fail("bad_request", f"{key} must be 1-{MAX_LENGTH[key]} characters", key)
        await ctx.store.archive.set_meta(f"site.{key}", value)
    return await site(None, info)


RESOLVERS = {"Query": {"site": site}, "Mutation": {"updateSite": update_site}}
