"""Stages over GraphQL: the public foyer, one stage, the studio's lists, and their management.

`foyer` and `stage(slug)` are public, but a hidden stage exists only for its performers and
admins. Editing is for the owner, editors and admins; changing the owner or deleting the stage
for the owner and admins. Live stages and their sockets are reached through `ctx.live`
(hub/live.py): on every hub process. Live counts are this process's presence.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from typing import Any

from graphql import GraphQLResolveInfo

from storage import DuplicateError, Performance, Scene, Stage

from ..cli import SLUG
from ..stage_animations import animations_problem
from . import notices, prefetch
from .context import Context, clean_name, fail
from .media import copyable_media

RATIO = re.compile(r"^([1-9][0-9]{0,4}):([1-9][0-9]{0,4})$")
COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
COVER = re.compile(r"^(?:/|https?://)\S{0,500}$")
MAX_NAME, MAX_DESCRIPTION = 100, 5000


async def close_room(ctx: Context, stage: Stage, message: str, delete: bool = False) -> None:
    """Tell the stage's audience (or, when it is deleted, everyone) it closed, and take them off,
    on every hub process (`LiveStages.close_stage`)."""
    await ctx.live.close_stage(stage, message, delete)


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:56].strip("-")
    return slug or "stage"


async def free_slug(ctx: Context, base: str) -> str:
    """`base`, or `base-2`, `base-3`... whichever no stage has yet."""
    for n in range(1, 1000):
        slug = base if n == 1 else f"{base}-{n}"
        if await ctx.store.get_stage(slug) is None:
            return slug
    fail("conflict", "No free address for this stage; choose a slug.", "slug")


async def _usernames(ctx: Context, names: list[str], field: str) -> list[int]:
    ids = []
    for name in dict.fromkeys(names):
        user = await ctx.store.get_user_by_name(name)
        if user is None:
            fail("bad_request", f"There is no user {name!r}.", field)
        ids.append(user.id)
    return ids


async def stage_changes(
    ctx: Context, data: dict[str, Any], stage: Stage | None
) -> tuple[dict[str, Any], list[int] | None, list[int] | None]:
    """Check a StageInput: the column changes and the new player and editor lists (None: kept)."""
    changes: dict[str, Any] = {}
    if data.get("name") is not None:
        changes["name"] = clean_name(data["name"], MAX_NAME, "stage")
    if data.get("slug") is not None:
        if not SLUG.match(data["slug"]):
            rule = "A slug has lowercase letters, digits and '-', and starts with a letter or digit."
            fail("bad_request", rule, "slug")
        changes["slug"] = data["slug"]
    if data.get("description") is not None:
        if len(data["description"]) > MAX_DESCRIPTION:
            fail("bad_request", f"A description has at most {MAX_DESCRIPTION} characters.", "description")
        changes["description"] = data["description"]
    if "cover" in data:
        cover = (data["cover"] or "").strip() or None
        if cover is not None and not COVER.match(cover):
            fail("bad_request", "The cover is a URL: /media/... or http(s)://...", "cover")
        changes["cover"] = cover
    for key in ("status", "visible"):
        if data.get(key) is not None:
            changes[key] = data[key]
    config = dict(stage.config if stage else {})
    if data.get("aspectRatio") is not None:
        match = RATIO.match(data["aspectRatio"])
        if match is None:
            fail("bad_request", "The aspect ratio is written W:H, for example 16:9.", "aspectRatio")
        config["ratio"] = {"width": int(match[1]), "height": int(match[2])}
    if data.get("defaultColor") is not None:
        if not COLOR.match(data["defaultColor"]):
            fail("bad_request", "The default colour is a hex colour such as #30ac45.", "defaultColor")
        config.pop("defaultcolor", None)
        config["defaultColor"] = data["defaultColor"]
    if data.get("animations") is not None:  # the stage's bubble and curtain animations (hub/stage_animations.py)
        problem = animations_problem(data["animations"])
        if problem is not None:
            fail("bad_request", problem[0].upper() + problem[1:], "animations")
        config["animations"] = data["animations"]
    if stage is None or config != stage.config:
        changes["config"] = config
    if data.get("owner") is not None:
        if stage is not None and not ctx.can_own(stage):
            fail("forbidden", "Only the stage's owner or an admin can give it to someone else.", "owner")
        (changes["owner_id"],) = await _usernames(ctx, [data["owner"]], "owner")
        if stage is None and not ctx.is_admin and changes["owner_id"] != ctx.require_user().id:
            fail("forbidden", "Only an admin can create a stage for someone else.", "owner")
    players = await _usernames(ctx, data["players"], "players") if data.get("players") is not None else None
    editors = await _usernames(ctx, data["editors"], "editors") if data.get("editors") is not None else None
    return changes, players, editors


# queries


async def foyer(_: Any, info: GraphQLResolveInfo) -> list[Stage]:
    return await prefetch.stages(info, await info.context.visible_stages())


async def stage(_: Any, info: GraphQLResolveInfo, slug: str) -> Stage | None:
    ctx: Context = info.context
    found = await ctx.lookups.stages_by_slug.load(slug)
    return (await prefetch.stages(info, [found]))[0] if found is not None and ctx.sees(found) else None


async def stages(_: Any, info: GraphQLResolveInfo, mine: bool | None = None) -> list[Stage]:
    ctx: Context = info.context
    user = ctx.require_user()
    listed = await ctx.all_stages()
    if mine:
        return await prefetch.stages(info, [s for s in listed if s.owner_id == user.id])
    return await prefetch.stages(info, [s for s in listed if ctx.can_view(s)])


# mutations


async def create_stage(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> Stage:
    ctx: Context = info.context
    user = ctx.require_user()
    if not (input.get("name") or "").strip():
        fail("bad_request", "A new stage needs a name.", "name")
    changes, players, editors = await stage_changes(ctx, input, None)
    slug = changes.pop("slug", None) or await free_slug(ctx, slugify(changes["name"]))
    owner_id = changes.pop("owner_id", user.id)
    try:
        created = await ctx.store.create_stage(
            slug, changes.pop("name"), owner_id, players or (), editors or (), changes.pop("config")
        )
    except DuplicateError:
        fail("conflict", f"The address {slug!r} is taken by another stage.", "slug")
    return await ctx.store.update_stage(created.id, changes) if changes else created


async def update_stage(_: Any, info: GraphQLResolveInfo, id: Any, input: dict[str, Any]) -> Stage:
    """Edit a stage; live sockets see the change at their next join (rooms are keyed by id), a
    performer who lost their role and an audience on a stage that stops being live are told and
    taken off it, on every hub process (`LiveStages.stage_changed`)."""
    ctx: Context = info.context
    before = await ctx.stage(id, "edit", "id")
    changes, players, editors = await stage_changes(ctx, input, before)
    try:
        after = await ctx.store.update_stage(before.id, changes, players, editors)
    except DuplicateError:
        fail("conflict", f"The address {changes.get('slug')!r} is taken by another stage.", "slug")
    await ctx.live.stage_changed(before, after)
    await notices.access_given(ctx, before, after)
    return after


async def duplicate_stage(_: Any, info: GraphQLResolveInfo, id: Any, name: str | None = None) -> Stage:
    """A copy of a stage the caller edits, owned by the caller: settings, access and the media the
    caller may use (`copyable_media`), no history."""
    ctx: Context = info.context
    source = await ctx.stage(id, "edit", "id")
    user = ctx.require_user()
    copy_name = (name or f"{source.name} (copy)").strip()[:MAX_NAME] or source.name
    slug = await free_slug(ctx, slugify(copy_name))
    copy = await ctx.store.create_stage(
        slug, copy_name, user.id, source.players - {user.id}, source.editors - {user.id}, source.config
    )
    keep = {
        "description": source.description, "cover": source.cover, "status": source.status, "visible": source.visible,
    }  # fmt: skip
    await ctx.store.assign_media(copy.id, await copyable_media(ctx, source))
    return await ctx.store.update_stage(copy.id, keep)


async def delete_stage(_: Any, info: GraphQLResolveInfo, id: Any) -> bool:
    """Delete a stage; its performances stay for replay (see `Store.delete_stage`)."""
    ctx: Context = info.context
    doomed = await ctx.stage(id, "own", "id")
    await ctx.store.delete_stage(doomed.slug)  # first: nobody taken off can join it again
    await close_room(ctx, doomed, "this stage was deleted", delete=True)
    return True


# Stage fields


def aspect_ratio(stage: Stage, info: GraphQLResolveInfo) -> str:
    ratio = stage.config.get("ratio")
    if isinstance(ratio, dict) and isinstance(ratio.get("width"), int) and isinstance(ratio.get("height"), int):
        return f"{ratio['width']}:{ratio['height']}"
    return "16:9"


async def live_counts(stage: Stage, info: GraphQLResolveInfo) -> dict[str, int]:
    players, audiences = await info.context.live.live_counts(stage.id)
    return {"players": players, "audiences": audiences}


# Lookups of the request (`prefetch.py` fetched them ahead for lists): values, not awaitables,
# when they are there already.


def scenes(stage: Stage, info: GraphQLResolveInfo) -> list[Scene] | Awaitable[list[Scene]]:
    ctx: Context = info.context
    return ctx.lookups.scenes.get(stage.id) if ctx.can_view(stage) else []


def performances(stage: Stage, info: GraphQLResolveInfo) -> list[Performance] | Awaitable[list[Performance]]:
    ctx: Context = info.context
    return ctx.lookups.performances.get(stage.id) if ctx.watches_archive(stage) else []


RESOLVERS = {
    "Query": {"foyer": foyer, "stage": stage, "stages": stages},
    "Mutation": {
        "createStage": create_stage,
        "updateStage": update_stage,
        "duplicateStage": duplicate_stage,
        "deleteStage": delete_stage,
    },
    "Stage": {
        "aspectRatio": aspect_ratio,
        "defaultColor": lambda stage, info: stage.default_color,
        "owner": lambda stage, info: info.context.user_by_id(stage.owner_id),
        "myRole": lambda stage, info: info.context.role_on(stage),
        "canEdit": lambda stage, info: info.context.can_edit(stage),
        "playerAccess": lambda stage, info: info.context.users(stage.players),
        "editorAccess": lambda stage, info: info.context.users(stage.editors),
        "live": live_counts,
        "media": lambda stage, info: info.context.lookups.stage_media.get(stage.id),
        "scenes": scenes,
        "performances": performances,
    },
}
