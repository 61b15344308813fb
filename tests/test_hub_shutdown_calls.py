"""A hub process stopped with SIGTERM while calls are in flight (issue 15, item 9): every call
sent before the stop gets an answer, `ok` (and then its event is in the archive) or
`unavailable`, before the connection closes; none is left without one."""

from __future__ import annotations

import asyncio
import functools
import signal
from typing import Any

from client import HubClient
from tests.fedproc import SHOW_RATE, stored_chats
from tests.hubproc import HubProcess


def refused_if_unavailable(refused: asyncio.Event, call: asyncio.Task[dict[str, Any]]) -> None:
    if not call.cancelled() and call.exception() is None and not call.result()["ok"]:
        refused.set()


async def fire(performer: HubClient, calls: list[asyncio.Task[dict[str, Any]]], refused: asyncio.Event) -> None:
    """Publish at about 500/s, each call on its own, until the hub answers one `unavailable` (as a
    client would back off then): calls sent before that reach a hub that is still answering."""
    n = 0
    while not refused.is_set() and performer.connected:
        call = asyncio.create_task(performer.publish("chat", {"message": f"term-{n}", "id": f"term-{n}"}))
        call.add_done_callback(functools.partial(refused_if_unavailable, refused))
        calls.append(call)
        n += 1
        await asyncio.sleep(0.002)


async def test_sigterm_answers_every_call_in_flight(tmp_path):
    hub = HubProcess(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", id="hub-t", **SHOW_RATE)
    await hub.seed("owner-t")
    await hub.start()
    try:
        performer = await hub.performer("owner-t")
        calls: list[asyncio.Task[dict[str, Any]]] = []
        refused = asyncio.Event()
        firing = asyncio.create_task(fire(performer, calls, refused))
        await asyncio.sleep(0.5)  # a show under way: some calls answered, some in flight
        assert await hub.stop(signal.SIGTERM) == 0
        await firing
        answers: list[Any] = await asyncio.gather(*calls, return_exceptions=True)
        unanswered = [a for a in answers if not isinstance(a, dict)]
        assert not unanswered, f"{len(unanswered)} of {len(calls)} calls got no answer: {unanswered[:3]}"
        codes = {a["error"]["code"] for a in answers if not a["ok"]}
        assert codes == {"unavailable"}, codes  # the stop fell mid-show
        ok = [f"term-{n}" for n, a in enumerate(answers) if a["ok"]]
        stored = set(stored_chats(hub, "term"))
        assert ok and set(ok) <= stored, sorted(set(ok) - stored)[:10]
        if performer.connected:
            await performer.close()
    finally:
        hub.close()
