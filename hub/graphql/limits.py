"""Cost limits checked before a query runs: text size, nesting depth and number of fields; and
which short anonymous requests only work on accounts (they have lanes of their own, `gate.py`).

Introspection (`__schema`, `__type`) is allowed deeper, since GraphiQL's own query nests its
type references, but it is still bounded and counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    parse,
)

MAX_QUERY_BYTES = 16 * 1024
INTROSPECTION_DEPTH = 20
MAX_TOKENS = 4000
# Mutations that hash or verify a password (argon2, costly by design): one per request, so that
# aliases cannot turn one request into hundreds of password guesses or hashes.
PASSWORD_FIELDS = frozenset({"login", "register", "changePassword", "updateProfile", "createUser"})
# Mutations that keep a session going or end it: a token check and a row, no search.
SESSION_FIELDS = frozenset({"refreshToken", "logout"})
ACCOUNT_QUERY_BYTES = 2048


def account_operation(query: object) -> str | None:
    """What a short anonymous request does when it only works on sessions and accounts (one or
    two root fields): `session` (refreshToken, logout), `password` (login, register), or None
    for anything else, including a text too long to be one of them."""
    if not isinstance(query, str) or len(query) > ACCOUNT_QUERY_BYTES:
        return None
    try:
        document = parse(query, max_tokens=200)
    except GraphQLError:
        return None
    names: list[str] = []
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode) or definition.operation != OperationType.MUTATION:
            return None
        for node in definition.selection_set.selections:
            if not isinstance(node, FieldNode):
                return None
            names.append(node.name.value)
    if not 0 < len(names) <= 2 or not set(names) <= SESSION_FIELDS | PASSWORD_FIELDS | {"__typename"}:
        return None  # (no aliases to make one request many refreshes)
    return "session" if not PASSWORD_FIELDS.intersection(names) else "password"


class TooComplex(Exception):
    """The query is refused before it runs; the message says which limit it passed."""


@dataclass(frozen=True)
class Limits:
    max_depth: int = 8
    max_fields: int = 200


def check(document: DocumentNode, limits: Limits) -> None:
    """Raise TooComplex when an operation nests too deep or selects too many fields in all."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    for operation in document.definitions:
        if isinstance(operation, OperationDefinitionNode):
            walker = _Walker(fragments, limits)
            walker.walk(operation.selection_set, 0, False, ())
            if operation.operation == OperationType.MUTATION and walker.password_fields > 1:
                raise TooComplex("it may log in, register or change a password only once")


class _Walker:
    def __init__(self, fragments: dict[str, FragmentDefinitionNode], limits: Limits) -> None:
        self.fragments, self.limits, self.fields, self.password_fields = fragments, limits, 0, 0

    def walk(self, selections: SelectionSetNode | None, depth: int, introspection: bool, seen: tuple[str, ...]) -> None:
        if selections is None:
            return
        for node in selections.selections:
            if isinstance(node, FieldNode):
                inner = introspection or node.name.value.startswith("__")
                self.password_fields += depth == 0 and node.name.value in PASSWORD_FIELDS
                self._count(depth + 1, inner)
                self.walk(node.selection_set, depth + 1, inner, seen)
            elif isinstance(node, InlineFragmentNode):
                self.walk(node.selection_set, depth, introspection, seen)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:  # cycles are refused by validation
                    self.walk(fragment.selection_set, depth, introspection, seen + (name,))

    def _count(self, depth: int, introspection: bool) -> None:
        self.fields += 1
        if self.fields > self.limits.max_fields and not introspection:
            raise TooComplex(f"the query selects more than {self.limits.max_fields} fields")
        if self.fields > self.limits.max_fields * 5:
            raise TooComplex(f"the query selects more than {self.limits.max_fields * 5} fields")
        limit = INTROSPECTION_DEPTH if introspection else self.limits.max_depth
        if depth > limit:
            raise TooComplex(f"the query nests deeper than {limit} levels")
