"""The media library the original had: tags, grants (a medium shared with chosen users, or a
permission request approved) and permission requests for others' level-2 media."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from databases import Database

from .transactions import transaction
from .users import grouped, timestamp

if TYPE_CHECKING:
    from .media import MediaQuery

# Media granted to the user `:me` (shared with them, or their request approved).
GRANTED = "id IN (SELECT media_id FROM media_grants WHERE user_id = :me)"
REQUESTABLE_LEVEL = 2
PENDING, APPROVED, REFUSED = "pending", "approved", "refused"


@dataclass(frozen=True)
class MediaRequest:
    """A user's request to use a level-2 medium of someone else's; `status` pending, approved or refused."""

    id: int
    media_id: int
    user_id: int
    note: str
    status: str
    created_at: str | None = None
    answered_at: str | None = None


def library_clauses(query: MediaQuery, values: dict[str, Any]) -> list[str]:
    """The SQL conditions (and their values) for `MediaQuery`'s tag, dormant and requestable parts."""
    clauses = []
    if query.visible_to is not None:  # others' dormant media is nobody else's business
        clauses.append("(NOT dormant OR owner_id = :me)")
    if query.tag is not None:
        clauses.append("id IN (SELECT media_id FROM media_tags WHERE tag = :tag)")
        values["tag"] = query.tag
    if query.dormant is not None:
        clauses.append("dormant = :dormant")
        values["dormant"] = query.dormant
    if query.requestable_by is not None:
        clauses.append(
            "copyright_level = :requestable AND owner_id <> :asker AND NOT dormant AND id NOT IN "
            "(SELECT media_id FROM media_grants WHERE user_id = :asker)"
        )
        values.update(requestable=REQUESTABLE_LEVEL, asker=query.requestable_by)
    return clauses


async def tags_of(db: Database, media_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each item's tags in alphabetical order (no query for no items)."""
    if not media_ids:
        return {}
    sql = "SELECT media_id, tag FROM media_tags WHERE media_id IN {ids} ORDER BY media_id, tag"
    rows = await grouped(db, sql, sorted(set(media_ids)))
    return {media_id: [row["tag"] for row in found] for media_id, found in rows.items()}


class LibraryStore:
    """Tags, grants and requests (a mixin of `Store`: it needs `db` and `dialect`)."""

    db: Database
    dialect: str

    async def set_tags(self, media_id: int, tags: Sequence[str]) -> None:
        """Replace an item's tags."""
        async with transaction(self.db, self.dialect):
            await self.db.execute("DELETE FROM media_tags WHERE media_id = :m", {"m": media_id})
            for tag in dict.fromkeys(tags):
                sql = "INSERT INTO media_tags (media_id, tag) VALUES (:m, :t)"
                await self.db.execute(sql, {"m": media_id, "t": tag})

    async def shared_with(self, media_ids: Sequence[int]) -> dict[int, list[int]]:
        """The users each item is shared with by its owner (not those whose request was approved)."""
        sql = (
            "SELECT media_id, user_id FROM media_grants WHERE kind = 'share' AND media_id IN {ids} "
            "ORDER BY media_id, user_id"
        )
        rows = await grouped(self.db, sql, media_ids)
        return {media_id: [int(row["user_id"]) for row in found] for media_id, found in rows.items()}

    async def set_shares(self, media_id: int, user_ids: Sequence[int]) -> None:
        """Replace the users the owner shares an item with (approved requests stay granted)."""
        async with transaction(self.db, self.dialect):
            await self.db.execute("DELETE FROM media_grants WHERE media_id = :m AND kind = 'share'", {"m": media_id})
            for user_id in dict.fromkeys(user_ids):
                await self._grant(media_id, user_id, "share")

    async def is_granted(self, media_id: int, user_id: int) -> bool:
        sql = "SELECT COUNT(*) FROM media_grants WHERE media_id = :m AND user_id = :u"
        return bool(await self.db.fetch_val(sql, {"m": media_id, "u": user_id}))

    async def create_request(self, media_id: int, user_id: int, note: str) -> MediaRequest | None:
        """A new pending request, or None when that user already has one pending for the item."""
        request_id = await self.db.fetch_val(  # one statement: requests sent at once make one (the index)
            "INSERT INTO media_requests (media_id, user_id, note) VALUES (:m, :u, :n) "
            "ON CONFLICT DO NOTHING RETURNING id",
            {"m": media_id, "u": user_id, "n": note},
        )
        return None if request_id is None else await self.get_request(int(request_id))

    async def get_request(self, request_id: int) -> MediaRequest | None:
        found = await self._requests("id = :id", {"id": request_id})
        return found[0] if found else None

    async def requests_to(self, owner_id: int | None) -> list[MediaRequest]:
        """Requests for an owner's media (None: everyone's), pending first, newest first."""
        where = "media_id IN (SELECT id FROM media WHERE owner_id = :o)" if owner_id is not None else "TRUE"
        return await self._requests(where, {"o": owner_id} if owner_id is not None else {})

    async def requests_by(self, user_id: int) -> list[MediaRequest]:
        """A user's own requests, pending first, newest first."""
        return await self._requests("user_id = :u", {"u": user_id})

    async def answer_request(self, request_id: int, approve: bool) -> MediaRequest | None:
        """Approve (and grant use) or refuse a pending request; None when it is no longer pending."""
        async with transaction(self.db, self.dialect):  # claimed by the write itself: two answers at once, one wins
            claimed = await self.db.fetch_val(
                "UPDATE media_requests SET status = :s, answered_at = CURRENT_TIMESTAMP "
                "WHERE id = :id AND status = :p RETURNING id",
                {"s": APPROVED if approve else REFUSED, "id": request_id, "p": PENDING},
            )
            request = await self.get_request(request_id) if claimed is not None else None
            if request is None:
                return None
            if approve and not await self.is_granted(request.media_id, request.user_id):
                await self._grant(request.media_id, request.user_id, "permission")
        return await self.get_request(request_id)

    async def pending_count(self, owner_id: int) -> int:
        sql = (
            "SELECT COUNT(*) FROM media_requests WHERE status = :p "
            "AND media_id IN (SELECT id FROM media WHERE owner_id = :o)"
        )
        return int(await self.db.fetch_val(sql, {"p": PENDING, "o": owner_id}) or 0)

    async def _grant(self, media_id: int, user_id: int, kind: str) -> None:
        await self.db.execute(
            "INSERT INTO media_grants (media_id, user_id, kind) VALUES (:m, :u, :k)",
            {"m": media_id, "u": user_id, "k": kind},
        )

    async def _requests(self, where: str, values: dict[str, Any]) -> list[MediaRequest]:
        pending_first = "CASE WHEN status = 'pending' THEN 0 ELSE 1 END"
        sql = f"SELECT * FROM media_requests WHERE {where} ORDER BY {pending_first}, id DESC"
        rows = await self.db.fetch_all(sql, values)
        return [
            MediaRequest(
                id=int(row["id"]), media_id=int(row["media_id"]), user_id=int(row["user_id"]), note=row["note"],
                status=row["status"], created_at=timestamp(row["created_at"]),
                answered_at=timestamp(row["answered_at"]),
            )
            for row in rows
        ]


__all__ = ["GRANTED", "LibraryStore", "MediaRequest", "library_clauses", "tags_of"]
