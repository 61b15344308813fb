"""How big a stage's state is, measured as its JSON encoding, cheaply enough to check every event.

A state is measured item by item (board objects, speeches, whiteboard commands, chat messages,
audio tracks) and family by family. Reducers share untouched families and items with the state
before (see stage.py), so a meter remembers the size of every family and item it measured, keyed
by identity, and an event costs the encoding of what it changed plus one dictionary lookup per
item of the family it touched. The result is within a few bytes per item of `len(orjson.dumps)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from ._util import State

# Where a family keeps its items: (family, key, "list" | "dict").
_ITEMS = {
    "board": (("objects", "list"), ("speeches", "dict")),
    "whiteboard": (("commands", "list"),),
    "chat": (("messages", "list"), ("privateMessages", "list")),
    "audio": (("tracks", "dict"),),
}


@dataclass
class Measure:
    """One measurement: the state's size, and the items it had to encode anew that are larger
    than the item limit (the items the last event grew past it)."""

    total: int
    oversized: list[tuple[str, int]] = field(default_factory=list)  # (item id or family, bytes)


class StateMeter:
    """Measures successive states of one stage (see the module docstring)."""

    def __init__(self, item_limit: int) -> None:
        self.item_limit = item_limit
        self._families: dict[str, tuple[Any, int]] = {}  # name -> (family measured, its size)
        # (family, part) -> (the list or dict measured, its size, its items' sizes by identity)
        self._parts: dict[tuple[str, str], tuple[Any, int, dict[int, tuple[Any, int]]]] = {}

    def measure(self, state: State) -> Measure:
        result = Measure(2 + max(len(state) - 1, 0))  # braces and commas
        for name, family in state.items():
            cached = self._families.get(name)
            if cached is not None and cached[0] is family:
                size = cached[1]
            else:
                size = self._family(name, family, result)
                self._families[name] = (family, size)
            result.total += _key_size(name) + size
        return result

    def _family(self, name: str, family: Any, result: Measure) -> int:
        parts = _ITEMS.get(name)
        if parts is None or not isinstance(family, dict):
            return len(orjson.dumps(family))
        rest = {k: v for k, v in family.items() if k not in dict(parts)}
        size = len(orjson.dumps(rest))  # with the family's braces
        members = len(rest)
        for key, kind in parts:
            if key in family:
                size += _key_size(key) + (1 if members else 0) + self._part((name, key), family[key], kind, result)
                members += 1
        return size

    def _part(self, where: tuple[str, str], holder: Any, kind: str, result: Measure) -> int:
        """The size of one list or dict of items; an unchanged one (the same object) costs nothing,
        a changed one one lookup per item and the encoding of its new items."""
        cached = self._parts.get(where)
        if cached is not None and cached[0] is holder:
            return cached[1]
        known = cached[2] if cached is not None else {}
        items: dict[int, tuple[Any, int]] = {}
        if kind == "list" and isinstance(holder, list):
            values: Any = holder
            size = 2 + max(len(holder) - 1, 0)
        elif kind == "dict" and isinstance(holder, dict):
            values = holder.values()
            size = 2 + max(len(holder) - 1, 0) + sum(_key_size(k) for k in holder)
        else:
            return len(orjson.dumps(holder))
        for item in values:
            remembered = known.get(id(item))
            if remembered is not None and remembered[0] is item:
                item_size = remembered[1]
            else:
                item_size = len(orjson.dumps(item))
                if item_size > self.item_limit:
                    ident = item.get("id") if isinstance(item, dict) else None
                    result.oversized.append((str(ident) if ident is not None else where[1], item_size))
            items[id(item)] = (item, item_size)
            size += item_size
        self._parts[where] = (holder, size, items)
        return size


def _key_size(key: str) -> int:
    """The bytes of `"key":` in JSON."""
    return len(orjson.dumps(key)) + 1
