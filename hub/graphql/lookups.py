"""What one GraphQL request reads from the store, batched across its parents and remembered for
the request (see `loader.py`): one query per field for all the stages of a foyer, not one per
stage, and none again for the same stage under another alias.

A mutation starts from fresh lookups and its result is read with fresh ones again, so nothing
read before a change is served after it (`fresh_for_mutations`).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from graphql import GraphQLResolveInfo

from storage import Media, Performance, Scene, Stage, Store, User

from .loader import Batches, Loader

T = TypeVar("T")


def _none() -> None:
    return None


class Lookups:
    """The batched lookups of one request (or of one mutation in it)."""

    def __init__(self, store: Store) -> None:
        self._batches = batches = Batches()
        self.users: Loader[int, User | None] = Loader(store.users_by_id, _none, batches)
        self.stages: Loader[int, Stage | None] = Loader(store.stages_by_id, _none, batches)
        self.stages_by_slug: Loader[str, Stage | None] = Loader(store.stages_by_slug, _none, batches)
        self.stage_media: Loader[int, list[Media]] = Loader(store.media_of_stages, list, batches)
        self.scenes: Loader[int, list[Scene]] = Loader(store.scenes_of_stages, list, batches)
        self.performances: Loader[int, list[Performance]] = Loader(store.archive.performances_of_stages, list, batches)
        self.performance: Loader[int, Performance | None] = Loader(store.archive.performances_by_id, _none, batches)
        self.event_counts: Loader[int, int] = Loader(store.archive.event_counts, int, batches)
        self.media_stage_ids: Loader[int, list[int]] = Loader(store.stage_ids_of_media, list, batches)
        self.media_shares: Loader[int, list[int]] = Loader(store.shared_with, list, batches)
        self._once: dict[str, asyncio.Future[Any]] = {}

    def once(self, name: str, fetch: Callable[[], Awaitable[T]]) -> Awaitable[T]:
        """`fetch()` run once for the request under `name` (every alias of `foyer` shares one list)."""
        if name not in self._once:
            self._once[name] = asyncio.ensure_future(self._batches.fetch(fetch()))
        return self._once[name]


def fresh_for_mutations(resolve: Callable[..., Any]) -> Callable[..., Any]:
    """A mutation's resolver that reads nothing remembered from before it, and whose result is
    read after its change (mutations run one after the other, each with its whole result)."""

    async def resolver(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        info.context.fresh()
        result = resolve(source, info, **args)
        if inspect.isawaitable(result):
            result = await result
        info.context.fresh()
        return result

    return resolver
