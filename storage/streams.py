"""Stream keys in the store: who may publish which named stream on which stage, until when.

The secret itself is never stored (see storage/sql/0007_stream_keys.sql and hub/streams.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from databases import Database

from .users import timestamp


@dataclass(frozen=True)
class StreamKey:
    """One stream key: `name` is the public stream name, `nonce_hash` a hash of its secret part."""

    id: str
    stage_id: int
    user_id: int
    name: str
    label: str
    nonce_hash: str
    expires_at: int  # epoch seconds
    revoked: bool = False
    created_at: str | None = None

    def public(self) -> dict[str, Any]:
        """What its owner (and the stage's owner and editors) see; never the secret."""
        return {
            "id": self.id, "stageId": self.stage_id, "userId": self.user_id, "name": self.name, "label": self.label,
            "expiresAt": self.expires_at, "revoked": self.revoked, "createdAt": self.created_at,
        }  # fmt: skip


def _key_of(row: Any) -> StreamKey:
    return StreamKey(
        row["id"], int(row["stage_id"]), int(row["user_id"]), row["name"], row["label"], row["nonce_hash"],
        int(row["expires_at"]), bool(row["revoked"]), timestamp(row["created_at"]),
    )  # fmt: skip


class StreamKeyStore:
    """The stream-key half of `Store` (a mixin: it needs `db`)."""

    db: Database

    async def create_stream_key(self, key: StreamKey) -> StreamKey:
        await self.db.execute(
            "INSERT INTO stream_keys (id, stage_id, user_id, name, label, nonce_hash, expires_at) "
            "VALUES (:id, :s, :u, :n, :l, :h, :e)",
            {"id": key.id, "s": key.stage_id, "u": key.user_id, "n": key.name, "l": key.label,
             "h": key.nonce_hash, "e": key.expires_at},
        )  # fmt: skip
        stored = await self.get_stream_key(key.id)
        assert stored is not None
        return stored

    async def get_stream_key(self, key_id: str) -> StreamKey | None:
        row = await self.db.fetch_one("SELECT * FROM stream_keys WHERE id = :id", {"id": key_id})
        return None if row is None else _key_of(row)

    async def stream_keys(self, stage_id: int, user_id: int | None = None, limit: int = 1000) -> list[StreamKey]:
        """A stage's keys (only `user_id`'s when given), the newest `limit`, newest first."""
        sql = "SELECT * FROM stream_keys WHERE stage_id = :s"
        values: dict[str, Any] = {"s": stage_id, "n": limit}
        if user_id is not None:
            sql += " AND user_id = :u"
            values["u"] = user_id
        rows = await self.db.fetch_all(sql + " ORDER BY created_at DESC, id LIMIT :n", values)
        return [_key_of(row) for row in rows]

    async def count_stream_keys(self, stage_id: int, user_id: int, now: int) -> int:
        """How many usable (unrevoked, unexpired) keys a performer holds on a stage."""
        sql = "SELECT COUNT(*) FROM stream_keys WHERE stage_id = :s AND user_id = :u AND NOT revoked"
        sql += " AND expires_at > :t"
        return int(await self.db.fetch_val(sql, {"s": stage_id, "u": user_id, "t": now}))

    async def revoke_stream_key(self, key_id: str) -> None:
        await self.db.execute("UPDATE stream_keys SET revoked = TRUE WHERE id = :id", {"id": key_id})

    async def purge_stream_keys(self, expired_before: int) -> None:
        """Forget the keys that expired before `expired_before` (epoch seconds)."""
        await self.db.execute("DELETE FROM stream_keys WHERE expires_at < :t", {"t": expired_before})
