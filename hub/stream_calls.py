"""The socket calls for stream keys on the joined stage (docs/protocol.md, "Live streams"):
`streamKeys`, `createStreamKey {label?, ttl?}` and `revokeStreamKey {id}`, for performers; the
work and the rights are in hub/streams.py, shared with GraphQL."""

from __future__ import annotations

from typing import Any

from storage import Stage, Store

from .inbound import Refused
from .node import Connection
from .roles import is_performer
from .sockets import SocketHandlers
from .streams import StreamKeys


class StreamKeyCalls:
    """Registers the stream-key calls on the socket handlers."""

    def __init__(self, sockets: SocketHandlers, store: Store, keys: StreamKeys) -> None:
        self.store, self.keys = store, keys
        sockets.register("streamKeys", self.list)
        sockets.register("createStreamKey", self.create)
        sockets.register("revokeStreamKey", self.revoke)

    async def _stage(self, conn: Connection) -> Stage:
        """The joined stage as the store has it now (roles change), for a performer on it."""
        if conn.room is None:
            raise Refused("not_joined", "join a stage first")
        if not is_performer(conn.role):
            raise Refused("forbidden", "only performers have stream keys")
        stage = await self.store.get_stage_by_id(conn.room.stage_id)
        if stage is None:
            raise Refused("not_found", "this stage was deleted")
        return stage

    async def list(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "keys": await self.keys.listed(await self._stage(conn), conn.user_id)}

    async def create(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        created = await self.keys.create(await self._stage(conn), conn.user_id, data.get("label"), data.get("ttl"))
        return {"ok": True, **created}

    async def revoke(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "key": await self.keys.revoke(await self._stage(conn), conn.user_id, data.get("id"))}
