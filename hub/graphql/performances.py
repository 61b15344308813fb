"""Scenes and performances over GraphQL, through the same code as the socket calls
(`hub/stage_actions.py`).

Scenes are for the stage's performers and admins; managing the archive (sweep, recordings,
edits, trims) for the stage's owner, editors and admins only: in the original any player could
sweep any stage. Performances are public when their stage is visible (the foyer links replays),
and so are those of deleted stages, which the socket's `replay` plays to anyone.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from storage import Performance, Scene, Stage

from .. import stage_actions as actions
from .context import Context, fail, parse_id


async def _performance(ctx: Context, performance_id: Any, check: str = "edit") -> tuple[Performance, Stage | None]:
    """A performance and its stage, if the caller may `see` it or `edit` its stage's archive."""
    performance = await ctx.store.archive.get_performance(parse_id(performance_id))
    if performance is None:
        fail("not_found", "There is no such performance.")
    if performance.stage_id is None:
        if check != "see" and not ctx.is_admin:
            ctx.require_user()
            fail("forbidden", "Only an admin manages the performances of deleted stages.")
        return performance, None
    return performance, await ctx.stage(performance.stage_id, check)


async def scenes(_: Any, info: GraphQLResolveInfo, stageId: Any) -> list[Scene]:
    ctx: Context = info.context
    return await ctx.store.list_scenes((await ctx.stage(stageId, "view")).id)


async def save_scene(_: Any, info: GraphQLResolveInfo, stageId: Any, name: str) -> Scene:
    ctx: Context = info.context
    stage = await ctx.stage(stageId, "view")
    room = await ctx.node.room(stage)
    return await actions.save_scene(ctx.node, ctx.store, room, name, ctx.require_user().id, ctx.sender(stage))


async def delete_scene(_: Any, info: GraphQLResolveInfo, id: Any) -> bool:
    """Soft delete, by the scene's creator, the stage's owner or editors, or an admin."""
    ctx: Context = info.context
    user = ctx.require_user()
    scene = await ctx.store.get_scene(parse_id(id))
    if scene is None or not scene.active:
        fail("not_found", "There is no such scene.")
    stage = await ctx.stage(scene.stage_id, "view" if scene.created_by == user.id else "edit")
    await ctx.store.delete_scene(scene.id)
    room = ctx.node.rooms.get(stage.id)
    if room is not None:
        await ctx.node.publish(room, "background", {"type": "loadScenes"}, ctx.sender(stage))
    return True


async def performances(_: Any, info: GraphQLResolveInfo, stageId: Any) -> list[Performance]:
    ctx: Context = info.context
    return await ctx.store.archive.performances((await ctx.stage(stageId, "see")).id)


async def performance(_: Any, info: GraphQLResolveInfo, id: Any) -> Performance | None:
    ctx: Context = info.context
    found = await ctx.store.archive.get_performance(parse_id(id))
    if found is None or found.stage_id is None:
        return found
    stage = await ctx.store.get_stage_by_id(found.stage_id)
    return found if stage is None or ctx.sees(stage) else None


async def sweep_stage(_: Any, info: GraphQLResolveInfo, stageId: Any) -> Performance:
    ctx: Context = info.context
    stage = await ctx.stage(stageId, "edit")
    room = await ctx.node.room(stage)
    swept, _epoch = await actions.sweep(ctx.node, ctx.store, room, ctx.sender(stage), "Performance")
    return swept


async def start_recording(
    _: Any, info: GraphQLResolveInfo, stageId: Any, name: str, description: str | None = None
) -> Performance:
    ctx: Context = info.context
    stage = await ctx.stage(stageId, "edit")
    room = await ctx.node.room(stage)
    name, description = actions.check_name(name), actions.check_description(description) or ""
    return await actions.start_recording(ctx.node, ctx.store, room, ctx.sender(stage), name, description)


async def save_recording(_: Any, info: GraphQLResolveInfo, id: Any) -> Performance:
    ctx: Context = info.context
    recording, stage = await _performance(ctx, id)
    if stage is None:
        fail("bad_request", "This recording's stage was deleted; it was saved then.")
    return await actions.save_recording(ctx.node, ctx.store, await ctx.node.room(stage), recording)


async def update_performance(
    _: Any, info: GraphQLResolveInfo, id: Any, name: str | None = None, description: str | None = None
) -> Performance:
    ctx: Context = info.context
    found, _stage = await _performance(ctx, id)
    name = actions.check_name(name) if name is not None else None
    description = actions.check_description(description)
    return await ctx.store.archive.update_performance(found.id, name=name, description=description)


async def delete_performance(_: Any, info: GraphQLResolveInfo, id: Any) -> bool:
    ctx: Context = info.context
    found, _stage = await _performance(ctx, id)
    await ctx.store.archive.delete_performance(found.id)
    return True


async def trim_performance(
    _: Any, info: GraphQLResolveInfo, id: Any, minPauseSeconds: float, name: str | None = None
) -> Performance:
    ctx: Context = info.context
    found, _stage = await _performance(ctx, id)
    return await actions.trim(ctx.store, found, minPauseSeconds, name)


async def stage_ref(found: Performance, info: GraphQLResolveInfo) -> Stage | None:
    return await info.context.store.get_stage_by_id(found.stage_id) if found.stage_id is not None else None


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
        "eventCount": lambda found, info: info.context.store.archive.event_count(found.id),
        "replayUrl": lambda found, info: f"/replay/{found.stage_slug}/{found.id}",
    },
}
