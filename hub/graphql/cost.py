"""The cost of a query, estimated before it runs: how many field values it would resolve.

Every field costs 1 for each object it is resolved on; the fields under a list are resolved once
per item of the list. A list's items are estimated from the data (`ListSize`): the most items one
parent has (a stage's media, performances...) times the number of parents, and, when the parents
are distinct objects (the stages of one foyer, not the same media listed under many stages), at
most the number there are in all. So `{ foyer { media { id } } }` costs 1 + stages + the stages'
media assignments, and 25 aliases of it cost 25 times as much. The sizes are real counts, read
from the store at most every `SIZES_MAX_AGE` seconds (`SizeCache`); introspection's from the
schema. A list field without a known size counts `UNKNOWN_LIST` items per parent.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLCompositeType,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    TypeNameMetaFieldDef,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_list_type,
)

from storage import Store

SIZES_MAX_AGE = 5.0
UNKNOWN_LIST = 100


@dataclass(frozen=True)
class ListSize:
    """How long a list field is: at most `per_parent` items on one parent, `total` in all (None:
    no bound but per parent); `owned`: each item belongs to one parent (a stage's performances,
    not its media), so the items of distinct parents are distinct too."""

    per_parent: int
    total: int | None = None
    owned: bool = False


Sizes = Mapping[tuple[str, str], ListSize]


def data_sizes(counts: Mapping[str, int]) -> dict[tuple[str, str], ListSize]:
    """The data's list fields sized from `Store.list_sizes()`."""
    def c(name: str) -> int:
        return counts.get(name, 0)

    stages, media, performances, scenes = c("stages"), c("media"), c("performances"), c("scenes")
    return {
        ("Query", "foyer"): ListSize(c("visible_stages"), c("visible_stages"), True),
        ("Query", "stages"): ListSize(stages, stages, True),
        ("Query", "media"): ListSize(media, media, True),
        ("Query", "users"): ListSize(c("users"), c("users"), True),
        ("Query", "scenes"): ListSize(c("scenes_per_stage"), scenes, True),
        ("Query", "performances"): ListSize(c("performances_per_stage"), performances, True),
        ("Query", "streamKeys"): ListSize(c("stream_keys_per_stage"), c("stream_keys"), True),
        ("Stage", "media"): ListSize(c("media_per_stage"), c("stage_media")),
        ("Stage", "scenes"): ListSize(c("scenes_per_stage"), scenes, True),
        ("Stage", "performances"): ListSize(c("performances_per_stage"), performances, True),
        ("Stage", "playerAccess"): ListSize(c("players_per_stage"), c("players")),
        ("Stage", "editorAccess"): ListSize(c("editors_per_stage"), c("editors")),
        ("Media", "stages"): ListSize(c("stages_per_media"), c("stage_media")),
        ("Media", "sharedWith"): ListSize(c("shares_per_media"), c("media_shares")),
        ("Query", "mediaRequests"): ListSize(c("media_requests"), c("media_requests"), True),
        ("Mutation", "createUsers"): ListSize(200, 200, True),  # account_admin.MAX_LINES lines at most
    }


def schema_sizes(schema: GraphQLSchema) -> dict[tuple[str, str], ListSize]:
    """Introspection's list fields sized from the schema itself (its types, their fields...)."""
    types = list(schema.type_map.values())

    def sized(lengths: list[int], owned: bool = True) -> ListSize:
        return ListSize(max(lengths, default=0), sum(lengths), owned)

    def lengths(kind: type | tuple[type, ...], attribute: str) -> list[int]:
        return [len(getattr(t, attribute)) for t in types if isinstance(t, kind)]

    objects = (GraphQLObjectType, GraphQLInterfaceType)
    fields = [f for t in types if isinstance(t, objects) for f in t.fields.values()]
    return {
        ("__Schema", "types"): ListSize(len(types), len(types), True),
        ("__Schema", "directives"): ListSize(len(schema.directives), len(schema.directives), True),
        ("__Type", "fields"): sized(lengths(objects, "fields")),
        ("__Type", "inputFields"): sized(lengths(GraphQLInputObjectType, "fields")),
        ("__Type", "enumValues"): sized(lengths(GraphQLEnumType, "values")),
        ("__Type", "interfaces"): sized(lengths(objects, "interfaces"), owned=False),
        ("__Type", "possibleTypes"): ListSize(len(types), len(types)),
        ("__Field", "args"): sized([len(f.args) for f in fields]),
        ("__Directive", "args"): sized([len(d.args) for d in schema.directives]),
    }


class SizeCache:
    """The data's list sizes, read from the store at most every `max_age` seconds; concurrent
    requests share one read."""

    def __init__(self, store: Store, schema: GraphQLSchema, max_age: float = SIZES_MAX_AGE) -> None:
        self.store, self.max_age = store, max_age
        self._static = schema_sizes(schema)
        self._sizes: dict[tuple[str, str], ListSize] = dict(self._static)
        self._read_at: float | None = None
        self._reading: asyncio.Future[None] | None = None

    async def get(self) -> Sizes:
        if self._read_at is None or time.monotonic() - self._read_at >= self.max_age:
            if self._reading is None or self._reading.done():
                self._reading = asyncio.ensure_future(self._read())
            await asyncio.shield(self._reading)
        return self._sizes

    async def _read(self) -> None:
        counts = await self.store.list_sizes()
        self._sizes = {**self._static, **data_sizes(counts)}
        self._read_at = time.monotonic()


def introspects_only(document: DocumentNode, operation_name: str | None) -> bool:
    """Whether the operation that would run asks only about the schema (`__schema`, `__type`,
    `__typename`), as GraphiQL does: it reads no data, whoever asks."""
    operation, fragments = get_operation_ast(document, operation_name), _fragments(document)

    def only(selection_set: SelectionSetNode) -> bool:
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                if not node.name.value.startswith("__"):
                    return False
            elif isinstance(node, InlineFragmentNode):
                if not only(node.selection_set):
                    return False
            elif isinstance(node, FragmentSpreadNode):
                fragment = fragments.get(node.name.value)
                if fragment is not None and not only(fragment.selection_set):
                    return False
        return True

    return operation is not None and only(operation.selection_set)


def estimate(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, sizes: Sizes) -> int:
    """The cost of the operation that would run (0 when none would: execution reports that).
    The document must be valid for the schema; @skip and @include are counted as included."""
    operation = get_operation_ast(document, operation_name)
    root = schema.get_root_type(operation.operation) if operation is not None else None
    if operation is None or root is None:
        return 0
    return _Estimate(schema, _fragments(document), sizes).selections(root, operation.selection_set, 1, True)


class _Estimate:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode], sizes: Sizes) -> None:
        self.schema, self.fragments, self.sizes = schema, fragments, sizes
        self.max_wrapping = wrapping_depth(schema)

    def selections(
        self, parent: GraphQLCompositeType, selection_set: SelectionSetNode, parents: int, distinct: bool,
        wraps: int = 0,
    ) -> int:
        """The cost of a selection set resolved on `parents` objects of type `parent` (`distinct`:
        no object among them twice; `wraps`: how many `ofType` steps led here)."""
        cost = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                cost += self.field(parent, node, parents, distinct, wraps)
                continue
            if isinstance(node, InlineFragmentNode):
                condition, inner = node.type_condition, node.selection_set
            elif isinstance(node, FragmentSpreadNode) and node.name.value in self.fragments:
                fragment = self.fragments[node.name.value]  # validation refused cycles
                condition, inner = fragment.type_condition, fragment.selection_set
            else:
                continue
            narrowed = self.schema.get_type(condition.name.value) if condition is not None else None
            cost += self.selections(narrowed or parent, inner, parents, distinct, wraps)  # type: ignore[arg-type]
        return cost

    def field(self, parent: GraphQLCompositeType, node: FieldNode, parents: int, distinct: bool, wraps: int) -> int:
        name = node.name.value
        definition = _field(self.schema, parent, name)
        if definition is None or node.selection_set is None:
            return parents
        inner_wraps = wraps + 1 if (parent.name, name) == ("__Type", "ofType") else 0
        if inner_wraps > self.max_wrapping:  # no type in the schema is wrapped this deep: null
            return parents
        if is_list_type(get_nullable_type(definition.type)):
            size = self.sizes.get((parent.name, name), ListSize(UNKNOWN_LIST))
            items = parents * size.per_parent
            if distinct and size.total is not None:
                items = min(items, size.total)
            inner_distinct = distinct and size.owned
        else:
            items, inner_distinct = parents, parents <= 1
        inner = get_named_type(definition.type)
        return parents + self.selections(inner, node.selection_set, items, inner_distinct, inner_wraps)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=8)
def wrapping_depth(schema: GraphQLSchema) -> int:
    """How many list and non-null wrappers the most wrapped type in the schema has ([ID!]!: 3)."""
    def depth(kind: Any) -> int:
        return 1 + depth(kind.of_type) if hasattr(kind, "of_type") else 0

    fields = [f for t in schema.type_map.values() for f in getattr(t, "fields", {}).values()]
    kinds = [f.type for f in fields]
    kinds += [a.type for f in fields for a in getattr(f, "args", {}).values()]
    kinds += [a.type for d in schema.directives for a in d.args.values()]
    return max(map(depth, kinds), default=0)


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _field(schema: GraphQLSchema, parent: GraphQLCompositeType, name: str) -> GraphQLField | None:
    if name == "__typename":
        return TypeNameMetaFieldDef
    if parent is schema.query_type and name in ("__schema", "__type"):
        return SchemaMetaFieldDef if name == "__schema" else TypeMetaFieldDef
    return getattr(parent, "fields", {}).get(name)
