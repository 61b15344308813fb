"""Every argument is checked before its resolver runs: an ID is 1-18 ASCII digits, a string holds
no NUL; a bad one is `bad_request` naming the argument, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLID,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLString,
    get_named_type,
    is_leaf_type,
)

from hub.graphql.schema import build
from tests.conftest import Hub
from tests.gql import gql, refused

BAD_IDS = ["²", "１２", "٣", "1" * 19, "-1", "1.0", " 1", "1 ", "", "0x1", "1_000", "+1"]
ONE = "query($id: ID!) { performance(id: $id) { id } }"


def _sample(kind: GraphQLInputType) -> Any:
    """A well-formed value of an input type (required fields only)."""
    if isinstance(kind, GraphQLNonNull):
        return _sample(kind.of_type)
    if isinstance(kind, GraphQLList):
        return [_sample(kind.of_type)]
    if isinstance(kind, GraphQLInputObjectType):
        return {name: _sample(f.type) for name, f in kind.fields.items() if isinstance(f.type, GraphQLNonNull)}
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    assert isinstance(kind, GraphQLScalarType)
    return {"ID": "1", "String": "text", "Int": 1, "Float": 1.0, "Boolean": True, "JSON": {}}[kind.name]


def _planted(kind: GraphQLInputType, target: GraphQLScalarType, bad: Any) -> Iterator[tuple[Any, str]]:
    """Values of `kind` with `bad` in one place where a `target` scalar goes, and the name of
    that place (the argument, or the input field)."""
    inner = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
    if inner is target:
        yield bad, ""
    elif isinstance(inner, GraphQLList):
        for value, name in _planted(inner.of_type, target, bad):
            yield [value], name
    elif isinstance(inner, GraphQLInputObjectType):
        for field_name, field in inner.fields.items():
            for value, name in _planted(field.type, target, bad):
                yield {**_sample(inner), field_name: value}, name or field_name


def _requests(target: GraphQLScalarType, bad: Any) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Every root field called with `bad` where a `target` goes: (query, variables, field named)."""
    schema = build()
    for operation, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        assert root is not None
        for field_name, field in root.fields.items():
            selection = "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"
            declared = ", ".join(f"${name}: {arg.type}" for name, arg in field.args.items())
            passed = ", ".join(f"{name}: ${name}" for name in field.args)
            query = f"{operation}({declared}) {{ {field_name}({passed}){selection} }}"
            for arg_name, arg in field.args.items():
                for value, name in _planted(arg.type, target, bad):
                    variables = {n: _sample(a.type) for n, a in field.args.items() if isinstance(a.type, GraphQLNonNull)}
                    yield query, {**variables, arg_name: value}, name or arg_name


def _no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    failures = [r for r in caplog.records if r.name.startswith("hub") and (r.exc_info or "failed" in r.getMessage())]
    assert not failures, [r.getMessage() for r in failures]


async def test_unicode_digits_and_odd_ids_are_bad_requests_naming_the_argument(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    """`performance(id: "²")` logged a traceback: `str.isdigit()` accepts digits `int()` refuses."""
    caplog.set_level(logging.INFO, logger="hub")
    for bad in BAD_IDS:
        error = await refused(hub, "bad_request", ONE, {"id": bad})
        assert error["extensions"] == {"code": "bad_request", "field": "id"}, (bad, error)
    literal = await refused(hub, "bad_request", '{ performance(id: "²") { id } }')
    assert literal["extensions"]["field"] == "id"
    assert (await gql(hub, ONE, {"id": "9" * 18}))["data"] == {"performance": None}
    assert (await gql(hub, ONE, {"id": 7}))["data"] == {"performance": None}  # an Int is an ID too
    _no_traceback(caplog)


async def test_every_id_argument_in_the_schema_is_checked(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    await hub.user("root", "admin")
    caplog.set_level(logging.INFO, logger="hub")
    checked = set()
    for query, variables, field in _requests(GraphQLID, "²"):
        for user in (None, "root"):
            error = await refused(hub, "bad_request", query, variables, user=user)
            assert error["extensions"].get("field") == field, (query, variables, error)
        checked.add(field)
    assert checked == {"id", "stageId", "mediaIds"}
    _no_traceback(caplog)


async def test_a_nul_in_any_string_argument_is_a_bad_request(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    """Postgres text cannot hold U+0000: such a name failed in the store, with a traceback."""
    await hub.user("root", "admin")
    caplog.set_level(logging.INFO, logger="hub")
    count = 0
    for query, variables, field in _requests(GraphQLString, "a\x00b"):
        error = await refused(hub, "bad_request", query, variables, user="root")
        assert error["extensions"].get("field") == field and "NUL" in error["message"], (query, variables, error)
        count += 1
    assert count > 20
    _no_traceback(caplog)


async def test_a_json_argument_nested_too_deep_is_a_bad_request(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    """A voice nested 300 levels deep failed in orjson ("Recursion limit reached"), with a traceback."""
    await hub.user("helen")
    helen = await hub.store.get_user_by_name("helen")
    assert helen is not None
    media = await hub.store.create_media(helen.id, "walker", "avatar", "image/png", 10, ["walker.png"])
    caplog.set_level(logging.INFO, logger="hub")
    save = "mutation($i: MediaInput!) { saveMedia(input: $i) { voice } }"
    deep: Any = "bottom"
    for _ in range(300):
        deep = {"a": deep}
    error = await refused(hub, "bad_request", save, {"i": {"id": str(media.id), "voice": deep}}, user="helen")
    assert error["extensions"]["field"] == "voice" and "32 levels" in error["message"]
    shallow = {"voice": "en", "pitch": {"a": [1, 2]}}
    assert (await gql(hub, save, {"i": {"id": str(media.id), "voice": shallow}}, user="helen"))["data"]["saveMedia"]["voice"] == shallow
    _no_traceback(caplog)
