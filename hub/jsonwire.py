"""orjson behind the `json`-module interface python-socketio expects, for fast packet encoding.

orjson refuses two things browsers and Python really send: lone UTF-16 surrogates (JavaScript's
`JSON.stringify` writes `"\\ud83d"` for a string cut inside an emoji) and `NaN`/`Infinity`
(Python's `json` writes them). A lone surrogate is taken as U+FFFD, the character a browser shows
for it; `NaN` and `Infinity` are not JSON and are refused. Whatever cannot be read raises
`BadJson`, whose message says what is wrong, so the call gets a `bad_request` ack.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class BadJson(ValueError):
    """Data that is not JSON the hub accepts; the message says why, for the client."""


def dumps(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj).decode()


def loads(data: str | bytes, **_: Any) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        surrogates = "surrogate" in str(exc)
        reason = _short(exc)
    # The slow path, only for data orjson refused: Python's parser reads lone surrogates, and
    # says better what is wrong (NaN, Infinity) when the data is not JSON at all.
    text = data.decode("utf-8", "surrogatepass") if isinstance(data, bytes) else data
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_int=_bounded_int)
    except RecursionError:
        raise BadJson("the data nests too deep") from None
    except ValueError as exc:
        reason = _short(exc)
    else:
        if surrogates:
            return _clean(value)
    raise BadJson(f"the data is not valid JSON ({reason})")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _bounded_int(text: str) -> int:
    """orjson's range for integers (what the hub can encode again)."""
    value = int(text)
    if not -(2**63) <= value < 2**64:
        raise ValueError("a number is out of range")
    return value


def _clean(value: Any) -> Any:
    """`value` with U+FFFD for every lone surrogate in its strings and keys (iteratively: the
    value may nest as deep as the parser allowed)."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if not isinstance(value, (list, dict)):
        return value
    root: list[Any] = [value]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        parent, key = stack.pop()
        item = parent[key]
        if isinstance(item, str):
            parent[key] = _LONE_SURROGATE.sub("\ufffd", item)
        elif isinstance(item, list):
            stack.extend((item, i) for i in range(len(item)))
        elif isinstance(item, dict):
            cleaned = {_LONE_SURROGATE.sub("\ufffd", k): v for k, v in item.items()}
            parent[key] = cleaned
            stack.extend((cleaned, k) for k in cleaned)
    return root[0]


def _short(exc: Exception) -> str:
    return str(exc).split(":", 1)[0][:80]
