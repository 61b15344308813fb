"""Stream keys over GraphQL (backstage), through the same code as the socket calls
(`hub/streams.py`): a performer's keys on a stage, making one (the secret shown once) and
revoking one. Owners, editors and admins see and revoke everyone's keys on the stage."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from ..streams import StreamKeys
from .context import Context


def _keys(ctx: Context) -> StreamKeys:
    return StreamKeys(ctx.store, ctx.services.settings)


async def stream_keys(_: Any, info: GraphQLResolveInfo, stageId: Any) -> list[dict[str, Any]]:
    ctx: Context = info.context
    stage = await ctx.stage(stageId, "view")
    return await _keys(ctx).listed(stage, ctx.require_user().id, ctx.is_admin)


async def create_stream_key(
    _: Any, info: GraphQLResolveInfo, stageId: Any, label: str | None = None, ttl: int | None = None
) -> dict[str, Any]:
    ctx: Context = info.context
    stage = await ctx.stage(stageId, "view")
    return await _keys(ctx).create(stage, ctx.require_user().id, label, ttl)


async def revoke_stream_key(_: Any, info: GraphQLResolveInfo, stageId: Any, keyId: str) -> dict[str, Any]:
    ctx: Context = info.context
    stage = await ctx.stage(stageId, "view")
    return await _keys(ctx).revoke(stage, ctx.require_user().id, keyId, ctx.is_admin)


RESOLVERS = {
    "Query": {"streamKeys": stream_keys},
    "Mutation": {"createStreamKey": create_stream_key, "revokeStreamKey": revoke_stream_key},
}
