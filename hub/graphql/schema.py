"""The executable schema: the SDL contract in `schema.graphql` with the resolvers bound to it."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graphql import GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema, build_schema

from . import account_admin, library, mail, media, performances, site, stages, streams, users
from .inputs import checked
from .lookups import fresh_for_mutations

SDL = Path(__file__).with_name("schema.graphql")
Resolvers = dict[str, dict[str, Callable[..., Any]]]
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def merged() -> Resolvers:
    """Every module's resolvers by type name, then field name."""
    result: Resolvers = {}
    for module in (users, account_admin, site, stages, media, library, performances, streams, mail):
        for type_name, fields in module.RESOLVERS.items():
            result.setdefault(type_name, {}).update(fields)
    return result


def default_resolver(source: Any, info: GraphQLResolveInfo, **_: Any) -> Any:
    """Dicts by key; records by attribute, `camelCase` field -> `snake_case` attribute."""
    name = info.field_name
    if isinstance(source, dict):
        return source.get(name)
    return getattr(source, _attribute(name), None)


@functools.lru_cache(maxsize=1024)
def _attribute(field_name: str) -> str:
    return _CAMEL.sub("_", field_name).lower()


def build() -> GraphQLSchema:
    """Build the schema from the SDL and bind the resolvers; an unknown field name is an error.
    Every field with arguments checks them first (`inputs.checked`); every mutation reads the
    store afresh (`lookups.fresh_for_mutations`). The JSON scalar keeps graphql-core's defaults:
    any JSON value, as given."""
    schema = build_schema(SDL.read_text())
    for type_name, fields in merged().items():
        graphql_type = schema.get_type(type_name)
        assert isinstance(graphql_type, GraphQLObjectType), type_name
        for field_name, resolver in fields.items():
            assert field_name in graphql_type.fields, f"{type_name}.{field_name} is not in the schema"
            graphql_type.fields[field_name].resolve = resolver
    object_types = [t for t in schema.type_map.values() if isinstance(t, GraphQLObjectType)]
    for graphql_type in (t for t in object_types if not t.name.startswith("__")):
        for field in graphql_type.fields.values():
            if field.args:
                field.resolve = checked(field.resolve or default_resolver, field.args)
            if graphql_type is schema.mutation_type:
                field.resolve = fresh_for_mutations(field.resolve or default_resolver)
    return schema

