"""Helpers for the replay tests: performances written straight into a hub's archive, the hub's
replay gauges, and a counter of reducer applications."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from hub.state import stage as reducers
from storage import EVERYONE, PERFORMERS, Event
from tests.conftest import Hub

T0 = 1_721_980_000_000
SENDER = {"session": "s-performer", "nickname": "Ann", "role": "owner"}


def moves(count: int, spacing_ms: int = 1000, stage_id: int = 0, secret_every: int = 0) -> list[Event]:
    """`count` events `spacing_ms` apart: an object placed, then moved; with `secret_every`, every
    that many events is a private (performers only) chat message instead."""
    events = [Event(stage_id, 1, "board", {"type": "placeObjectOnStage", "object": {"id": "moon", "x": 0}}, T0, SENDER)]
    for seq in range(2, count + 1):
        at = T0 + (seq - 1) * spacing_ms
        if secret_every and seq % secret_every == 0:
            payload = {"message": f"secret {seq}", "id": f"m{seq}", "isPrivate": True}
            events.append(Event(stage_id, seq, "chat", payload, at, SENDER, PERFORMERS))
        else:
            events.append(Event(stage_id, seq, "board", {"type": "moveTo", "object": {"id": "moon", "x": seq}}, at, SENDER, EVERYONE))
    return events


async def archived(hub: Hub, slug: str, count: int = 3, spacing_ms: int = 1000, secret_every: int = 0) -> int:
    """A performance of `count` events swept from the stage's live log, written to the store
    directly (nobody may be on the stage); returns its id."""
    stage = await hub.store.get_stage(slug)
    assert stage is not None
    await hub.store.archive.append(moves(count, spacing_ms, stage.id, secret_every))
    return (await hub.store.archive.sweep(stage.id, slug, f"{slug} night")).id


async def gauges(hub: Hub) -> dict[str, float]:
    """The hub's `hub_replay*` gauges, as /metrics reports them."""
    async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/metrics") as response:
        text = await response.text()
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"^(hub_replay\w*) (\S+)$", text, re.M)}


class Applied:
    """Counts reducer applications (every `hub.state.apply` of an event with a reducer)."""

    def __init__(self) -> None:
        self.count = 0


@contextlib.contextmanager
def counting_reducers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Applied]:
    applied = Applied()
    for topic, reducer in list(reducers._REDUCERS.items()):

        def counted(*args: Any, _reducer: Any = reducer) -> Any:
            applied.count += 1
            return _reducer(*args)

        monkeypatch.setitem(reducers._REDUCERS, topic, counted)
    yield applied
