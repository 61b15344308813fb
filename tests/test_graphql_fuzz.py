"""Fuzzing `POST /graphql` with hypothesis: documents built from the schema's own fields with
wrong-typed and hostile arguments (huge strings, Unicode edge cases, lone surrogates, deep
nesting, many aliases, fragments, variables of the wrong type) and hostile bodies (not an
object, not JSON, too large). Every answer must be a well-formed GraphQL response with a known
`extensions.code` and an expected status; nothing may be logged as a failure; the hub stays up.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    get_named_type,
    is_leaf_type,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.graphql.context import ERROR_CODES
from hub.graphql.schema import build
from tests.conftest import Hub
from tests.gql import token

SCHEMA = build()
# Each runs argon2 (slow by design, one per request: test_graphql_security covers them).
PASSWORD_FIELDS = {"login", "register", "changePassword"}
STATUSES = {200, 400, 413, 503}

often = st.sampled_from([True] * 9 + [False])  # (sampled_from draws evenly; integers() favours 0)
rarely = st.sampled_from([False] * 15 + [True])
ODD_TEXT = [
    "", " ", "²", "١٢", "１２", "\u202eevil", "\ufeff", "💥", "a\x00b", "\x7f", "e\u0301", "𝔘𝔭", "null", "0", "-1",
    "9" * 40, "' OR 1=1 --", "%_\\", "../../etc/passwd", "<script>alert(1)</script>", "\n\r\t",
]  # fmt: skip
short_texts = st.one_of(st.text(max_size=30), st.sampled_from(ODD_TEXT))
long_texts = st.builds(lambda n, c: c * n, st.integers(500, 6_000), st.sampled_from(["a", "é", "💥", "\\"]))
texts = st.one_of(*[short_texts] * 9, long_texts)


def graphql_string(text: str) -> str:
    """`text` as a GraphQL string literal (JSON's escapes are GraphQL's)."""
    return json.dumps(text)


broken_literals = st.sampled_from(['"\\uD800"', '"\\uDC00x"', '"\\u{110000}"', '"\\x41"', '"unterminated', "$undeclared"])
scalar_literals = st.one_of(
    short_texts.map(graphql_string),
    st.integers(-(2**80), 2**80).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["true", "false", "null", "avatar", "REASSIGN_TO_ADMIN", "nosuchenum", "$v", "1e400", '"""block"""']),
    st.one_of(long_texts.map(graphql_string), *[short_texts.map(graphql_string)] * 5),
)
literals = st.recursive(
    scalar_literals,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        st.dictionaries(st.sampled_from(["id", "name", "type", "slug", "voice", "players", "x"]), inner, max_size=4).map(
            lambda fields: "{" + ", ".join(f"{k}: {v}" for k, v in fields.items()) + "}"
        ),
    ),
    max_leaves=8,
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False), texts),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=10,
)


def typed(kind: Any) -> st.SearchStrategy[str]:
    """A literal of the argument's own type, often well-formed, with hostile values inside."""
    if isinstance(kind, GraphQLNonNull):
        return typed(kind.of_type)
    if isinstance(kind, GraphQLList):
        return st.lists(typed(kind.of_type), max_size=3).map(lambda items: "[" + ", ".join(items) + "]")
    if isinstance(kind, GraphQLInputObjectType):
        fields = st.fixed_dictionaries({}, optional={name: typed(f.type) for name, f in kind.fields.items()})
        return fields.map(lambda values: "{" + ", ".join(f"{k}: {v}" for k, v in values.items()) + "}")
    if isinstance(kind, GraphQLEnumType):
        return st.sampled_from(list(kind.values))
    return {
        "ID": st.sampled_from(["1", "2", "3", "999", "²", "0", "-1", "9" * 25]).map(graphql_string),
        "String": texts.map(graphql_string),
        "Int": st.integers(-(2**33), 2**33).map(str),
        "Float": st.floats(allow_nan=False, allow_infinity=False).map(repr),
        "Boolean": st.sampled_from(["true", "false"]),
        "JSON": st.sampled_from(['{voice: "espeak", pitch: 50}', '{url: "javascript:alert(1)", blank: true}', "[1, 2]", '"x"', "null",
                                 "{a: " * 40 + "1" + "}" * 40]),
    }.get(kind.name, literals)


def deep_json(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"a": value}
    return value


@st.composite
def selections(draw: st.DrawFn, type_name: str, depth: int) -> str:
    """A selection set on an object type: its fields (sometimes an unknown one), with aliases,
    arguments of any shape, inline fragments, directives, nested down to `depth`."""
    kind = SCHEMA.get_type(type_name)
    assert isinstance(kind, GraphQLObjectType)
    names = [n for n in kind.fields if n not in PASSWORD_FIELDS]
    parts = []
    for index in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(names * 8 + ["__typename", "nosuch", "id"]))
        field = kind.fields.get(name)
        alias = draw(st.sampled_from(["", f"a{index}: ", f"__x{index}: ", "b: " if draw(rarely) else ""]))
        arguments = {}
        declared = field.args if field is not None else {}
        required = [n for n, a in declared.items() if isinstance(a.type, GraphQLNonNull)] if draw(often) else []
        optional = draw(st.lists(st.sampled_from(list(declared)), max_size=2, unique=True)) if declared else []
        for arg_name in dict.fromkeys(required + optional + (["bogus"] if draw(rarely) else [])):
            well_typed = arg_name in declared and draw(often)
            arguments[arg_name] = draw(typed(declared[arg_name].type) if well_typed else literals)
        args = "(" + ", ".join(f"{k}: {v}" for k, v in arguments.items()) + ")" if arguments else ""
        directive = draw(st.sampled_from([""] * 20 + [" @skip(if: false)", " @include(if: $v)", " @nosuch"]))
        inner = ""
        if field is not None and not is_leaf_type(get_named_type(field.type)):
            inner = " { " + draw(selections(get_named_type(field.type).name, depth - 1)) + " }" if depth > 0 else " { __typename }"
        if draw(rarely):
            inner = draw(st.sampled_from(["", " { id }"]))  # a selection on a leaf, or none on an object
        parts.append(f"{alias}{name}{args}{directive}{inner}")
    if draw(rarely):
        parts.append(f"... on {type_name} {{ __typename }}")
    return " ".join(parts)


@st.composite
def documents(draw: st.DrawFn) -> str:
    operation = draw(st.sampled_from(["query"] * 6 + ["mutation"] * 6 + ["query Named", "{", "subscription"]))
    root = "Mutation" if operation == "mutation" else "Query"
    body = draw(selections(root, draw(st.integers(0, 10))))
    copies = draw(st.sampled_from([0, 0, 0, 3, 25, 60]))  # many aliases of one field
    repeated = draw(st.sampled_from(["__typename", "foyer { id media { id } performances { id eventCount } }", "site { title }"]))
    body += "".join(f" x{i}: {repeated if root == 'Query' else '__typename'}" for i in range(copies))
    variables = "($v: Boolean)" if "$v" in body else ""
    if draw(rarely):
        variables = draw(st.sampled_from(["", "($v: ID!)", "($v: [String!]!)", "($v: StageInput)", "($v: Nope)", "($w: Int)"]))
    fragment = ""
    if draw(st.sampled_from([False] * 4 + [True])):
        fragment = f" fragment F on {root} {{ {body} }}"
        body = "...F ...F"
    if draw(rarely):
        fragment += f" fragment A on {root} {{ ...B }} fragment B on {root} {{ ...A }}"
        body += " ...A"
    head = "{" if operation == "{" else f"{operation}{variables} {{"
    if draw(rarely):  # a literal the lexer refuses, somewhere
        body += f" __typename @skip(if: {draw(broken_literals)})"
    return f"{head} {body} }}{fragment}"


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """The raw body of one request."""
    kind = draw(st.sampled_from(range(40)))
    if kind == 0:
        return json.dumps(draw(st.one_of(st.lists(json_values, max_size=3), texts, st.integers(), st.none(), st.booleans()))).encode()
    if kind == 1:
        return draw(st.binary(max_size=200))
    if kind == 2:
        return b'{"query": "' + b"x" * (70 * 1024) + b'"}'
    if kind == 3:
        return json.dumps({"query": draw(json_values), "variables": draw(json_values)}).encode()
    if kind == 4:  # a lone surrogate, as a JSON escape (not valid Unicode)
        return b'{"query": "query($s: String!) { stage(slug: $s) { id } }", "variables": {"s": "\\ud800"}}'
    if kind == 5:  # a JSON value nested deeper than anything accepts
        voice = deep_json(draw(st.integers(200, 900)))
        return json.dumps({"query": "mutation($i: MediaInput!) { saveMedia(input: $i) { id } }",
                           "variables": {"i": {"id": "1", "voice": voice}}}).encode()  # fmt: skip
    request: dict[str, Any] = {"query": draw(documents())}
    if draw(st.booleans()):
        request["variables"] = {"v": draw(json_values)}
    if draw(rarely):
        request["operationName"] = draw(st.one_of(st.none(), st.text(max_size=10), st.integers()))
    return json.dumps(request).encode()


def check_response(status: int, body: Any) -> None:
    assert status in STATUSES, status
    assert isinstance(body, dict) and body and set(body) <= {"data", "errors"}, body
    assert "data" in body or body.get("errors"), body
    for error in body.get("errors", []):
        assert isinstance(error["message"], str) and error["message"], error
        assert error["extensions"]["code"] in ERROR_CODES, error
        assert "resolver failed" not in error["message"] and "Traceback" not in error["message"], error


@pytest.fixture
async def fuzzed(hub: Hub) -> dict[str, Any]:
    """The hub with a stage, media, a performance, a player and an admin (and their tokens)."""
    await hub.stage("show", "helen", players=("paul",))
    await hub.user("root", "admin")
    helen = await hub.store.get_user_by_name("helen")
    assert helen is not None
    media = await hub.store.create_media(helen.id, "walker", "avatar", "image/png", 10, ["walker.png"])
    stage = await hub.store.get_stage("show")
    assert stage is not None
    await hub.store.assign_media(stage.id, [media.id])
    return {"hub": hub, "tokens": [None, await token(hub, "helen"), await token(hub, "root"), "garbage", "x" * 5000]}


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(body=bodies(), who=st.sampled_from([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 4]))
async def test_every_request_gets_a_well_formed_graphql_answer(
    fuzzed: dict[str, Any], caplog: pytest.LogCaptureFixture, body: bytes, who: int
) -> None:
    caplog.clear()  # one hub, one log capture, many examples
    caplog.set_level(logging.INFO, logger="hub")
    hub, bearer = fuzzed["hub"], fuzzed["tokens"][who]
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {bearer}"} if bearer else {})
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{hub.url}/graphql", data=body, headers=headers) as response:
            status, text = response.status, await response.text()
        check_response(status, json.loads(text))
        async with http.get(f"{hub.url}/healthz") as health:
            assert health.status == 200 and (await health.json())["ok"] is True
    failures = [r for r in caplog.records if r.name.startswith("hub") and (r.levelno >= logging.ERROR or r.exc_info)]
    assert not failures, [r.getMessage() for r in failures]
