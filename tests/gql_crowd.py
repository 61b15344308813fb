"""A hub with many visible stages, each with media, players and performances: the load that made
anonymous GraphQL queries cost seconds; and a count of the SQL statements a request issues."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from storage import Event
from tests.conftest import Hub

STAGE_FIELDS = "id media {id} performances {id eventCount}"


def aliased_foyer(aliases: int = 25, fields: str = STAGE_FIELDS) -> str:
    """`{a0: foyer {...} a1: foyer {...} ...}`: under the depth and field limits, one request."""
    return "{ " + " ".join(f"a{i}: foyer {{ {fields} }}" for i in range(aliases)) + " }"


async def crowd(
    hub: Hub, stages: int = 30, media: int = 3, performances: int = 3, events: int = 4, prefix: str = "stage"
) -> list[int]:
    """`stages` visible stages (`<prefix>-000`...) of the player olga, each with `media` media
    items, the players pat and ann and `performances` swept performances of `events` events;
    returns the stage ids."""
    owner, *players = [await _user(hub, name) for name in ("olga", "pat", "ann")]
    async with hub.store.db.transaction():  # one commit: seconds less on SQLite
        return [await _stage(hub, n, owner, players, media, performances, events, prefix) for n in range(stages)]


async def _stage(hub: Hub, n: int, owner: int, players: list[int], media: int, performances: int, events: int, prefix: str) -> int:
    store = hub.store
    stage = await store.create_stage(f"{prefix}-{n:03}", f"{prefix.title()} {n}", owner, players)
    items = [await store.create_media(owner, f"{prefix}{n}-{k}", "prop", "image/png", 10, [f"{prefix}{n}-{k}.png"]) for k in range(media)]
    await store.assign_media(stage.id, [m.id for m in items])
    for p in range(performances):
        first = p * events + 1
        await store.archive.append([Event(stage.id, first + i, "chat", {"message": f"hi {i}"}, 1000 + i, {"nickname": "x"}) for i in range(events)])
        await store.archive.sweep(stage.id, stage.slug, f"Show {p}")
    return stage.id


async def _user(hub: Hub, name: str) -> int:
    user = await hub.store.get_user_by_name(name)
    return user.id if user is not None else await hub.user(name)


@contextlib.contextmanager
def counting_statements(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Count the SQL statements the hub's store issues while the block runs, by their first table
    (`FROM x` / `INTO x` / `UPDATE x`); the Counter's total is every statement."""
    counts: Counter[str] = Counter()
    db = hub.store.db
    for name in ("fetch_all", "fetch_one", "fetch_val", "execute", "execute_many", "iterate"):
        original = getattr(db, name)

        def counted(query: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            counts[_table(str(query))] += 1
            return _original(query, *args, **kwargs)

        monkeypatch.setattr(db, name, counted)
    try:
        yield counts
    finally:
        for name in ("fetch_all", "fetch_one", "fetch_val", "execute", "execute_many", "iterate"):
            monkeypatch.delattr(db, name)


def _table(sql: str) -> str:
    words = sql.replace("(", " ").replace(",", " ").split()
    for keyword in ("FROM", "INTO", "UPDATE"):
        if keyword in words:
            return words[words.index(keyword) + 1]
    return words[0] if words else ""
