"""Scenes and performances over GraphQL, through the same code as the socket calls
(`hub/stage_actions.py`).

Scenes are for the stage's performers and admins; managing the archive (sweep, recordings,
edits, trims) for the stage's owner, editors and admins only: in the original any player could
sweep any stage. Who may list and read performances is `roles.may_watch_archive`, the socket's
rule too: admins, the stage's performers, and anyone else while the stage is visible and not in
rehearsal; a deleted stage's performances are for admins. A performance the caller may not
watch does not exist for them: `null`, `not_found` or an empty list, as for an unknown one.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from graphql import GraphQLResolveInfo

from storage import Performance, Scene, Stage

from .. import stage_actions as actions
from . import prefetch
from .context import Context, fail, parse_id


async def _watched(ctx: Context, performance_id: Any) -> tuple[Performance, Stage | None] | None:
    """A performance and its stage (None once deleted), if the caller may watch it; else None."""
    performance = await ctx.lookups.performance.load(parse_id(performance_id))
    if performance is None:
        return None
    stage = await ctx.lookups.stages.load(performance.stage_id) if performance.stage_id is not None else None
    return (performance, stage) if ctx.watches_archive(stage) else None


async def _managed(ctx: Context, performance_id: Any) -> tuple[Performance, Stage | None]:
    """A performance whose stage's archive the caller manages (owner, editors, admins; a deleted
    stage's: admins); `not_found` when they may not even watch it."""
    watched = await _watched(ctx, performance_id)
    if watched is None:
        fail("not_found", "There is no such performance.")
    performance, stage = watched
    if stage is not None and not ctx.can_edit(stage):
        ctx.require_user()
        fail("forbidden", f"Only its owner, editors and admins may do this on stage {stage.slug!r}.")
    return performance, stage


async def scenes(_: Any, info: GraphQLResolveInfo, stageId: Any) -> list[Scene]:
    ctx: Context = info.context
    return await ctx.lookups.scenes.load((await ctx.stage(stageId, "view")).id)


async def save_scene(_: Any, info: GraphQLResolveInfo, stageId: Any, name: str) -> Scene:
    ctx: Context = info.context
    stage = await ctx.stage(stageId, "view")
    return await ctx.live.save_scene(stage, name, ctx.require_user().id, ctx.sender(stage))


async def delete_scene(_: Any, info: GraphQLResolveInfo, id: Any) -> bool:
    """Soft delete, by the scene's creator, the stage's owner or editors, or an admin."""
    ctx: Context = info.context
    user = ctx.require_user()
    scene = await ctx.store.get_scene(parse_id(id))
    if scene is None or not scene.active:
        fail("not_found", "There is no such scene.")
    stage = await ctx.stage(scene.stage_id, "view" if scene.created_by == user.id else "edit")
    await ctx.store.delete_scene(scene.id)
    await ctx.live.scenes_changed(stage, ctx.sender(stage))
    return True


async def performances(_: Any, info: GraphQLResolveInfo, stageId: Any) -> list[Performance]:
    ctx: Context = info.context
    stage = await ctx.lookups.stages.load(parse_id(stageId, "stageId"))
    if stage is None or not ctx.watches_archive(stage):
        fail("not_found", "There is no such stage.")
    return await prefetch.performances(info, await ctx.lookups.performances.load(stage.id))


async def performance(_: Any, info: GraphQLResolveInfo, id: Any) -> Performance | None:
    watched = await _watched(info.context, id)
    return watched[0] if watched is not None else None


async def sweep_stage(_: Any, info: GraphQLResolveInfo, stageId: Any) -> Performance:
    ctx: Context = info.context
    stage = await ctx.stage(stageId, "edit")
    return await ctx.live.sweep(stage, ctx.sender(stage), "Performance")


async def start_recording(
    _: Any, info: GraphQLResolveInfo, stageId: Any, name: str, description: str | None = None
) -> Performance:
    ctx: Context = info.context
    stage = await ctx.stage(stageId, "edit")
    name, description = actions.check_name(name), actions.check_description(description) or ""
    return await ctx.live.start_recording(stage, ctx.sender(stage), name, description)


async def save_recording(_: Any, info: GraphQLResolveInfo, id: Any) -> Performance:
    ctx: Context = info.context
    recording, stage = await _managed(ctx, id)
    if stage is None:
        fail("bad_request", "This recording's stage was deleted; it was saved then.")
    return await ctx.live.save_recording(stage, recording, ctx.sender(stage))


async def update_performance(
    _: Any, info: GraphQLResolveInfo, id: Any, name: str | None = None, description: str | None = None
) -> Performance:
    ctx: Context = info.context
    found, _stage = await _managed(ctx, id)
    name = actions.check_name(name) if name is not None else None
    description = actions.check_description(description)
    return await ctx.store.archive.update_performance(found.id, name=name, description=description)


async def delete_performance(_: Any, info: GraphQLResolveInfo, id: Any) -> bool:
    ctx: Context = info.context
    found, _stage = await _managed(ctx, id)
    await ctx.store.archive.delete_performance(found.id)
    return True


async def trim_performance(
    _: Any, info: GraphQLResolveInfo, id: Any, minPauseSeconds: float, name: str | None = None
) -> Performance:
    ctx: Context = info.context
    found, _stage = await _managed(ctx, id)
    return await actions.trim(ctx.store, found, minPauseSeconds, name)


def stage_ref(found: Performance, info: GraphQLResolveInfo) -> Stage | None | Awaitable[Stage | None]:
    return info.context.lookups.stages.get(found.stage_id) if found.stage_id is not None else None


RESOLVERS = {
    "Query": {"scenes": scenes, "performances": performances, "performance": performance},
    "Mutation": {
        "saveScene": save_scene,
        "deleteScene": delete_scene,
        "sweepStage": sweep_stage,
        "startRecording": start_recording,
        "saveRecording": save_recording,
        "updatePerformance": update_performance,
        "deletePerformance": delete_performance,
        "trimPerformance": trim_performance,
    },
    "Performance": {
        "stage": stage_ref,
        "eventCount": lambda found, info: info.context.lookups.event_counts.get(found.id),
        "replayUrl": lambda found, info: f"/replay/{found.stage_slug}/{found.id}",
    },
}
