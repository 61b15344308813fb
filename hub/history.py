"""**Extension** for gateways: `history`, the joined stage's archived live events in a seq range,
so a gateway whose join could not replay (`recovered: false`: a crash, an outage longer than the
hub's history) publishes what the archive holds before going live (docs/protocol.md, Federation).
"""

from __future__ import annotations

import asyncio
from typing import Any

from storage import StoreError

from .inbound import Refused
from .node import Connection, Node
from .sockets import SocketHandlers

MAX_LIMIT = 1000  # events per answer; the gateway pages with `after`
MAX_SEQ = 2**62
FLUSH_WAIT = 5.0  # seconds to wait for the archive writer before answering `unavailable`


class HistoryHandler:
    """Registers `history` on the socket handlers (service connections only)."""

    def __init__(self, sockets: SocketHandlers, node: Node) -> None:
        self.node = node
        sockets.register("history", self.history)

    async def history(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        """`{"after", "upto", "limit"?}` → `{"ok", "events", "more"}`: the stored events of the
        joined stage with after < seq <= upto, oldest first, at most `limit` (default and cap
        MAX_LIMIT). Everything accepted up to now is written first, so the range is whole."""
        if not conn.service:
            raise Refused("forbidden", "only service connections may read the history")
        room = conn.room
        if room is None:
            raise Refused("not_joined", "join a stage first")
        after, upto = _seq(data, "after"), _seq(data, "upto")
        limit = data.get("limit", MAX_LIMIT)
        if type(limit) is not int or not 0 < limit <= MAX_LIMIT:
            raise Refused("bad_request", f"limit must be an integer of 1-{MAX_LIMIT}")
        if upto <= after:
            return {"ok": True, "events": [], "more": False}
        try:  # events up to `upto` were accepted: wait until they are stored (bounded: an outage)
            async with asyncio.timeout(FLUSH_WAIT):
                await self.node.persistence.writer.flush()
        except (StoreError, TimeoutError) as exc:
            raise Refused("unavailable", "the archive cannot be read now; try again shortly") from exc
        events = await self.node.persistence.store.archive.live_events(room.stage_id, after, upto, limit + 1)
        return {"ok": True, "events": [event.wire() for event in events[:limit]], "more": len(events) > limit}


def _seq(data: dict[str, Any], name: str) -> int:
    value = data.get(name)
    if type(value) is not int or not 0 <= value <= MAX_SEQ:
        raise Refused("bad_request", f"{name} must be an integer seq of 0-{MAX_SEQ}")
    return value
