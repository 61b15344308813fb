"""A connection's board publishes are decided in order on a shared stage log (issue 17).

`admit_board` decides who sees a board event on the live state. On a shared log (several hub
processes) a publish is appended by a task and folded into the state only when the log hands
it back, so a performer's next publish about the same object, sent at once (place backstage,
then place again or show), would be decided on a state without the first: a re-placement went
to the audience. Here a board publish about an object waits until this connection's earlier
publishes that can change who sees that object (placements, destroys, `backstage` flags) are
folded; moves and other publishes never wait.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .board_admission import object_ids
from .rooms import Connection, StageRoom
from .state._util import id_key

WAIT = 2.0  # seconds at most (the log's round trip is milliseconds; a stalled log is refused later)
POLL = 0.002
KEEP = 64  # entries a connection keeps before forgetting those already folded


def _ids(payload: dict[str, Any]) -> list[str]:
    return [id_key(i) for i in object_ids(payload)]


def _decisive(payload: dict[str, Any]) -> bool:
    """Whether a board publish can change who sees its object (so later ones must see it folded)."""
    kind = payload["type"]
    return kind in ("placeObjectOnStage", "destroy") or ("object" in payload and "backstage" in payload["object"])


async def wait_decided(conn: Connection, room: StageRoom, payload: dict[str, Any]) -> None:
    """Wait until this connection's decisive publishes about the objects of `payload` are folded."""
    for key in _ids(payload):
        task = conn.board_pending.get(key)
        if task is None:
            continue
        deadline = asyncio.get_running_loop().time() + WAIT
        try:
            async with asyncio.timeout(WAIT):
                seq = (await asyncio.shield(task)).event.seq
        except Exception:  # refused, failed or stalled: nothing to wait for (its caller hears why)
            seq = 0
        while room.delivered_seq < seq and conn.room is room and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(POLL)
        if conn.board_pending.get(key) is task:
            del conn.board_pending[key]


def remember(conn: Connection, room: StageRoom, payload: dict[str, Any], accepting: asyncio.Future[Any]) -> None:
    """Note a decisive publish in flight, for `wait_decided`."""
    if not _decisive(payload):
        return
    if len(conn.board_pending) >= KEEP:
        conn.board_pending = {k: t for k, t in conn.board_pending.items() if not _folded(t, room)}
    for key in _ids(payload):
        conn.board_pending[key] = accepting


def _folded(task: asyncio.Future[Any], room: StageRoom) -> bool:
    if not task.done():
        return False
    return task.cancelled() or task.exception() is not None or task.result().event.seq <= room.delivered_seq
