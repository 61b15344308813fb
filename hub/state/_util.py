"""Tiny pure helpers shared by the reducers: JSON type checks, id matching and bounded lists."""

from __future__ import annotations

import math
from typing import Any, TypeGuard

Json = Any
State = dict[str, Any]


def is_number(value: Json) -> TypeGuard[int | float]:
    """A finite JSON number (bools are not numbers here, unlike in Python)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value)


def is_id(value: Json) -> TypeGuard[str | int]:
    """An id as the wire contract allows it: a non-empty string or an integer."""
    return (isinstance(value, str) and value != "") or (isinstance(value, int) and not isinstance(value, bool))


def same_id(a: Json, b: Json) -> bool:
    """Strict id equality, as JavaScript's `===` would compare two ids (5 is not "5")."""
    return is_id(a) and type(a) is type(b) and a == b


def id_key(value: Json) -> str:
    """An id as a JSON object key."""
    return value if isinstance(value, str) else str(value)


def action(payload: Json) -> str | None:
    """The `type` of a `{type, ...}` payload, or None when there is none."""
    if isinstance(payload, dict):
        kind = payload.get("type")
        if isinstance(kind, str):
            return kind
    return None


def event_at(event: dict[str, Any]) -> int | float:
    """The hub time of an event in epoch ms (0 if the hub left it out)."""
    at = event.get("at")
    return at if is_number(at) else 0


def index_of(items: list[Json], ident: Json) -> int:
    """The position of the dict whose `id` is `ident`, or -1."""
    for i, item in enumerate(items):
        if isinstance(item, dict) and same_id(item.get("id"), ident):
            return i
    return -1


def bounded_append(items: list[Json], item: Json, limit: int) -> list[Json]:
    """A new list with `item` appended, keeping only the newest `limit` entries."""
    if limit <= 0:
        return []
    grown = [*items, item]
    return grown[-limit:] if len(grown) > limit else grown


def same_items(a: list[Json], b: list[Json]) -> bool:
    """Whether two lists hold the very same objects in the same order (an identity check)."""
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def nests_deeper_than(value: Json, limit: int) -> bool:
    """Whether lists and dicts nest more than `limit` levels (orjson refuses past 254 levels, so a
    deeper payload kept in the state would make the state impossible to send or store)."""
    stack: list[tuple[Json, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def without_key(mapping: dict[str, Json], key: str) -> dict[str, Json]:
    """A shallow copy of `mapping` without `key`."""
    return {k: v for k, v in mapping.items() if k != key}
