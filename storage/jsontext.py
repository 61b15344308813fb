"""JSON columns: the one way the store writes and reads them, on both dialects."""

from __future__ import annotations

from typing import Any

import orjson


def dump_json(value: Any) -> str:
    """JSON text for a JSON column. Postgres jsonb cannot hold U+0000, so (on both dialects, for
    the same results) a NUL inside a string is stored as U+FFFD rather than failing the write."""
    text = orjson.dumps(value).decode()
    return text if "\\u0000" not in text else orjson.dumps(without_nul(value)).decode()


def without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value


def load_json(value: Any) -> Any:
    """A JSON column's value (SQLite gives text, Postgres may give it decoded already)."""
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value
