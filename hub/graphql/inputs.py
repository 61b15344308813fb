"""Every argument checked before its resolver runs, whatever the resolver does with it: an ID is
1-18 ASCII digits (`context.parse_id`), a string holds no NUL character (Postgres text cannot,
so it would fail in the store instead of being refused) and a JSON value nests at most
`MAX_JSON_DEPTH` levels (orjson, and Python, give up on deeper ones); inside lists and input
objects too. A bad value is a `bad_request` naming the argument or input field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLID,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLResolveInfo,
    GraphQLString,
)

from .context import fail, parse_id

MAX_JSON_DEPTH = 32


def check_value(value: Any, kind: GraphQLInputType, name: str) -> None:
    """Raise a `bad_request` naming `name` when a coerced argument value is not acceptable."""
    if value is None:
        return
    if isinstance(kind, GraphQLNonNull):
        check_value(value, kind.of_type, name)
    elif isinstance(kind, GraphQLList):
        for item in value if isinstance(value, list) else [value]:
            check_value(item, kind.of_type, name)
    elif isinstance(kind, GraphQLInputObjectType):
        for key, item in value.items():
            check_value(item, kind.fields[key].type, key)
    elif kind is GraphQLID:
        parse_id(value, name)
    elif kind is GraphQLString and "\x00" in value:
        fail("bad_request", f"The {name} must not contain NUL characters.", name)
    elif kind.name == "JSON" and json_depth(value) > MAX_JSON_DEPTH:
        fail("bad_request", f"The {name} must nest at most {MAX_JSON_DEPTH} levels deep.", name)


def json_depth(value: Any) -> int:
    """How deep lists and objects nest in a JSON value (0 for a scalar), counted without recursion
    (a value may be nested a thousand levels)."""
    deepest, level = 0, [(value, 0)]
    while level:
        item, depth = level.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, depth + 1)
            if deepest > MAX_JSON_DEPTH:
                return deepest
            level.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def checked(resolve: Callable[..., Any], arguments: dict[str, GraphQLArgument]) -> Callable[..., Any]:
    """`resolve`, called only once each of its arguments passed `check_value`."""

    def resolver(source: Any, info: GraphQLResolveInfo, **values: Any) -> Any:
        for name, value in values.items():
            check_value(value, arguments[name].type, name)
        return resolve(source, info, **values)

    return resolver
