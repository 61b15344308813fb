"""Look ahead: a resolver that returns stages (or media, or performances) first loads what its
selection asks of them, for all of them at once and down the tree, so that every field below
resolves from the request's lookups without being awaited. graphql-core runs a resolver that
returns a plain value inline, and one that returns an awaitable as a task of its own: several
times the CPU per value, and the event loop is the live stages' too.

The resolvers do not depend on it: a value not fetched ahead is loaded when it is asked for
(`Loader.get`). Rights are the resolvers': a lookup they would refuse is not fetched ahead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionSetNode,
)

from storage import Media, Performance, Stage

from .context import Context
from .loader import Loader

Fragments = dict[str, FragmentDefinitionNode]


@dataclass(frozen=True)
class Ahead:
    """A field fetched ahead: with which lookup, by which keys of each parent; `then` a second
    lookup by the values of the first (a media item's stage ids, then the stages); `child` the
    type of the values when they have fields of their own."""

    lookup: str
    keys: Callable[[Context, Any], Iterable[Any]]
    child: str | None = None
    then: Ahead | None = None


def _one(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


PLAN: dict[str, dict[str, Ahead]] = {
    "Stage": {
        "owner": Ahead("users", lambda ctx, stage: [stage.owner_id]),
        "playerAccess": Ahead("users", lambda ctx, stage: sorted(stage.players)),
        "editorAccess": Ahead("users", lambda ctx, stage: sorted(stage.editors)),
        "media": Ahead("stage_media", lambda ctx, stage: [stage.id], "Media"),
        "scenes": Ahead("scenes", lambda ctx, stage: [stage.id] if ctx.can_view(stage) else []),
        "performances": Ahead(
            "performances", lambda ctx, stage: [stage.id] if ctx.watches_archive(stage) else [], "Performance"
        ),
    },
    "Media": {
        "owner": Ahead("users", lambda ctx, media: [media.owner_id]),
        "stages": Ahead(
            "media_stage_ids", lambda ctx, media: [media.id], then=Ahead("stages", lambda ctx, stage_id: [stage_id])
        ),
    },
    "Performance": {
        "eventCount": Ahead("event_counts", lambda ctx, performance: [performance.id]),
        "stage": Ahead(
            "stages", lambda ctx, performance: [performance.stage_id] if performance.stage_id is not None else []
        ),
    },
}


async def stages(info: GraphQLResolveInfo, found: list[Stage]) -> list[Stage]:
    """`found`, with what the selection asks of them fetched."""
    await ahead(info.context, "Stage", found, info.field_nodes, info.fragments)
    return found


async def media(info: GraphQLResolveInfo, found: list[Media]) -> list[Media]:
    await ahead(info.context, "Media", found, info.field_nodes, info.fragments)
    return found


async def performances(info: GraphQLResolveInfo, found: list[Performance]) -> list[Performance]:
    await ahead(info.context, "Performance", found, info.field_nodes, info.fragments)
    return found


async def ahead(ctx: Context, type_name: str, parents: list[Any], nodes: list[FieldNode], fragments: Fragments) -> None:
    """Fetch what the selections under `nodes` ask of `parents` (of `type_name`), concurrently
    (so the lookups of every alias meet in the same batches), then what they ask of the values."""
    plan, selected = PLAN[type_name], _fields(nodes, fragments)
    wanted = [(plan[name], inner) for name, inner in selected.items() if name in plan]
    if parents and wanted:
        await asyncio.gather(*(_fetch(ctx, step, parents, inner, fragments) for step, inner in wanted))


async def _fetch(ctx: Context, step: Ahead, parents: list[Any], nodes: list[FieldNode], fragments: Fragments) -> None:
    loader: Loader[Any, Any] = getattr(ctx.lookups, step.lookup)
    values = await loader.load_many(dict.fromkeys(key for parent in parents for key in step.keys(ctx, parent)))
    if step.then is not None:
        await _fetch(ctx, step.then, [key for value in values for key in _one(value)], [], fragments)
    if step.child is not None:
        await ahead(ctx, step.child, [child for value in values for child in _one(value)], nodes, fragments)


def _fields(nodes: list[FieldNode], fragments: Fragments) -> dict[str, list[FieldNode]]:
    """The fields selected under `nodes` by name (aliases merged), fragments expanded."""
    found: dict[str, list[FieldNode]] = {}

    def walk(selection_set: SelectionSetNode | None) -> None:
        for node in selection_set.selections if selection_set is not None else ():
            if isinstance(node, FieldNode):
                found.setdefault(node.name.value, []).append(node)
            elif isinstance(node, InlineFragmentNode):
                walk(node.selection_set)
            elif isinstance(node, FragmentSpreadNode) and node.name.value in fragments:
                walk(fragments[node.name.value].selection_set)  # validation refused cycles

    for node in nodes:
        walk(node.selection_set)
    return found
