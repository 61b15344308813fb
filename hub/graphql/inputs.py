"""Every argument checked before its resolver runs, whatever the resolver does with it: an ID is
1-18 ASCII digits (`context.parse_id`) and a string holds no NUL character (Postgres text cannot,
so it would fail in the store instead of being refused); inside lists and input objects too. A
bad value is a `bad_request` naming the argument or input field.
"""

from __future__ import annotations

from typing import Any, Callable

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


def checked(resolve: Callable[..., Any], arguments: dict[str, GraphQLArgument]) -> Callable[..., Any]:
    """`resolve`, called only once each of its arguments passed `check_value`."""

    def resolver(source: Any, info: GraphQLResolveInfo, **values: Any) -> Any:
        for name, value in values.items():
            check_value(value, arguments[name].type, name)
        return resolve(source, info, **values)

    return resolver
