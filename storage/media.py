"""Media in the store: items with ordered frames (content-named files) and stage assignments."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from databases import Database

from .jsontext import dump_json, load_json
from .library import GRANTED, library_clauses, tags_of
from .records import Media, NotFoundError
from .transactions import transaction
from .users import LIKE, grouped, in_list, like_pattern, timestamp


@dataclass(frozen=True)
class MediaQuery:
    """Which media to list: `visible_to` None lists everything (admins), else the user's own, the
    shared ones (copyright level <= `shared_level`), those granted to them (shared with them, or a
    request approved) and those assigned to `stage_ids`. `requestable_by` lists instead the
    others' level-2 media that user may ask for; `tag` narrows to one tag; `dormant` False leaves
    dormant media out."""

    visible_to: int | None = None
    stage_ids: Sequence[int] = ()
    shared_level: int = 1
    type: str | None = None
    owner_id: int | None = None
    on_stage: int | None = None
    name: str | None = None
    tag: str | None = None
    dormant: bool | None = None
    requestable_by: int | None = None


def _dump(value: Any) -> str | None:
    return None if value is None else dump_json(value)


class MediaStore:
    """The media half of `Store` (a mixin: it needs `db` and `dialect`)."""

    db: Database
    dialect: str

    async def create_media(
        self, owner_id: int, name: str, type: str, mime: str, size: int, frames: Sequence[str]
    ) -> Media:
        async with transaction(self.db, self.dialect):
            media_id = await self.db.execute(
                "INSERT INTO media (owner_id, name, type, mime, size) VALUES (:o, :n, :t, :m, :s) RETURNING id",
                {"o": owner_id, "n": name, "t": type, "m": mime, "s": size},
            )
            await self._set_frames(media_id, frames)
        return await self.require_media(media_id)

    async def get_media(self, media_id: int) -> Media | None:
        found = await self._media_where("id = :id", {"id": media_id})
        return found[0] if found else None

    async def require_media(self, media_id: int) -> Media:
        media = await self.get_media(media_id)
        if media is None:
            raise NotFoundError(f"no media {media_id}")
        return media

    async def list_media(self, query: MediaQuery) -> list[Media]:
        clauses: list[str] = []
        values: dict[str, Any] = {}
        if query.visible_to is not None:
            stages, stage_values = in_list("vs", query.stage_ids)
            clauses.append(
                "(owner_id = :me OR copyright_level <= :shared OR id IN "
                f"(SELECT media_id FROM stage_media WHERE stage_id IN {stages}) OR {GRANTED})"
            )
            values.update(stage_values, me=query.visible_to, shared=query.shared_level)
        if query.type is not None:
            clauses.append("type = :type")
            values["type"] = query.type
        if query.owner_id is not None:
            clauses.append("owner_id = :owner")
            values["owner"] = query.owner_id
        if query.on_stage is not None:
            clauses.append("id IN (SELECT media_id FROM stage_media WHERE stage_id = :on_stage)")
            values["on_stage"] = query.on_stage
        if query.name:
            clauses.append("LOWER(name) " + LIKE.format(":name"))
            values["name"] = like_pattern(query.name)
        clauses.extend(library_clauses(query, values))
        return await self._media_where(" AND ".join(clauses) or "TRUE", values)

    async def update_media(self, media_id: int, frames: Sequence[str] | None = None, **changes: Any) -> Media:
        """Set some of `name`, `type`, `copyright_level`, `voice`, `link`, `size`, `dormant`, and the frame list."""
        assert set(changes) <= {"name", "type", "copyright_level", "voice", "link", "size", "dormant"}, changes
        values = {k: _dump(v) if k in ("voice", "link") else v for k, v in changes.items()}
        async with transaction(self.db, self.dialect):
            if values:
                assignments = ", ".join(f"{column} = :{column}" for column in values)
                await self.db.execute(f"UPDATE media SET {assignments} WHERE id = :id", {**values, "id": media_id})
            if frames is not None:
                await self.db.execute("DELETE FROM media_frames WHERE media_id = :id", {"id": media_id})
                await self._set_frames(media_id, frames)
        return await self.require_media(media_id)

    async def add_frame(self, media_id: int, file: str, size: int) -> Media:
        """Append a file as the media's last frame; its size adds to the item's."""
        media = await self.require_media(media_id)
        async with transaction(self.db, self.dialect):
            await self.db.execute(
                "INSERT INTO media_frames (media_id, position, file) VALUES (:m, :p, :f)",
                {"m": media_id, "p": len(media.frames), "f": file},
            )
            await self.db.execute("UPDATE media SET size = size + :s WHERE id = :id", {"s": size, "id": media_id})
        return await self.require_media(media_id)

    async def delete_media(self, media_id: int) -> list[str]:
        """Delete an item, its frames and assignments; returns its files that nothing uses any more."""
        media = await self.require_media(media_id)
        async with transaction(self.db, self.dialect):
            for table in ("stage_media", "media_frames", "media_tags", "media_grants", "media_requests"):
                await self.db.execute(f"DELETE FROM {table} WHERE media_id = :id", {"id": media_id})
            await self.db.execute("DELETE FROM media WHERE id = :id", {"id": media_id})
        return [file for file in dict.fromkeys(media.frames) if not await self.file_in_use(file)]

    async def media_bytes(self, owner_id: int) -> int:
        """The total size of a user's media items (their upload quota counts it)."""
        total = await self.db.fetch_val("SELECT SUM(size) FROM media WHERE owner_id = :o", {"o": owner_id})
        return int(total or 0)

    async def file_in_use(self, file: str) -> bool:
        return bool(await self.db.fetch_val("SELECT COUNT(*) FROM media_frames WHERE file = :f", {"f": file}))

    async def assign_media(self, stage_id: int, media_ids: Sequence[int]) -> None:
        """Replace a stage's media list; the order given is the toolbar order."""
        async with transaction(self.db, self.dialect):
            await self.db.execute("DELETE FROM stage_media WHERE stage_id = :s", {"s": stage_id})
            for position, media_id in enumerate(dict.fromkeys(media_ids)):
                await self.db.execute(
                    "INSERT INTO stage_media (stage_id, media_id, position) VALUES (:s, :m, :p)",
                    {"s": stage_id, "m": media_id, "p": position},
                )

    async def stage_media(self, stage_id: int) -> list[Media]:
        """A stage's media in toolbar order."""
        return (await self.media_of_stages([stage_id])).get(stage_id, [])

    async def media_of_stages(self, stage_ids: Sequence[int]) -> dict[int, list[Media]]:
        """Each stage's media in toolbar order, for many stages at once (a query, and one for frames)."""
        placeholders, values = in_list("s", stage_ids)
        rows = await self.db.fetch_all(
            "SELECT stage_media.stage_id AS on_stage, media.* "
            "FROM stage_media JOIN media ON media.id = stage_media.media_id "
            f"WHERE stage_media.stage_id IN {placeholders} ORDER BY stage_media.stage_id, stage_media.position",
            values,
        )
        frames = await self._frames([row["id"] for row in rows])
        tags = await tags_of(self.db, [row["id"] for row in rows])
        found: dict[int, list[Media]] = {}
        for row in rows:
            item = _media(row, frames.get(row["id"], []), tags.get(row["id"], ()))
            found.setdefault(row["on_stage"], []).append(item)
        return found

    async def media_stage_ids(self, media_id: int) -> list[int]:
        return (await self.stage_ids_of_media([media_id])).get(media_id, [])

    async def stage_ids_of_media(self, media_ids: Sequence[int]) -> dict[int, list[int]]:
        """The stages each media item is assigned to, for many items in one query."""
        sql = "SELECT media_id, stage_id FROM stage_media WHERE media_id IN {ids} ORDER BY media_id, stage_id"
        rows = await grouped(self.db, sql, media_ids)
        return {media_id: [int(row["stage_id"]) for row in found] for media_id, found in rows.items()}

    async def _set_frames(self, media_id: int, frames: Iterable[str]) -> None:
        for position, file in enumerate(frames):
            await self.db.execute(
                "INSERT INTO media_frames (media_id, position, file) VALUES (:m, :p, :f)",
                {"m": media_id, "p": position, "f": file},
            )

    async def _media_where(self, where: str, values: dict[str, Any]) -> list[Media]:
        rows = await self.db.fetch_all(f"SELECT * FROM media WHERE {where} ORDER BY id", values)
        frames = await self._frames([row["id"] for row in rows])
        tags = await tags_of(self.db, [row["id"] for row in rows])
        return [_media(row, frames.get(row["id"], []), tags.get(row["id"], ())) for row in rows]

    async def _frames(self, media_ids: Sequence[int]) -> dict[int, list[str]]:
        """Each item's files in frame order (no query for no items)."""
        if not media_ids:
            return {}
        rows = await grouped(
            self.db, "SELECT media_id, file FROM media_frames WHERE media_id IN {ids} ORDER BY media_id, position",
            sorted(set(media_ids)),
        )
        return {media_id: [row["file"] for row in found] for media_id, found in rows.items()}


def _media(row: Any, frames: list[str], tags: Sequence[str] = ()) -> Media:
    return Media(
        id=row["id"],
        owner_id=row["owner_id"],
        name=row["name"],
        type=row["type"],
        mime=row["mime"],
        size=int(row["size"]),
        frames=tuple(frames),
        copyright_level=int(row["copyright_level"]),
        voice=load_json(row["voice"]),
        link=load_json(row["link"]),
        created_at=timestamp(row["created_at"]),
        dormant=bool(row["dormant"]),
        tags=tuple(tags),
    )
