"""The `Store` seam: users and stages over `databases`, on SQLite (default) or Postgres."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from databases import Database

from . import migrations
from .account_store import AccountStore
from .archive import Archive
from .files import private_file
from .jsontext import dump_json, load_json
from .library import LibraryStore
from .media import MediaStore
from .records import ACCESS_LEVELS, DuplicateError, NotFoundError, Scene, Stage, StoreError
from .streams import StreamKeyStore
from .transactions import transaction
from .users import UserStore, grouped, in_list, timestamp

STAGE_CACHE_SECONDS = 2.0
STAGE_CACHE_SIZE = 10_000
STAGE_COLUMNS = frozenset({"slug", "name", "description", "cover", "status", "visible", "owner_id", "config"})


def dialect_of(url: str) -> str:
    """`sqlite` or `postgresql`, from a database URL."""
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if scheme in ("postgres", "postgresql"):
        return "postgresql"
    if scheme == "sqlite":
        return "sqlite"
    raise StoreError(f"unsupported database URL scheme: {scheme!r}")


class Store(UserStore, MediaStore, LibraryStore, StreamKeyStore, AccountStore):
    """Persistence for the hub; one instance per process, connected for the app's lifetime.

    Users (`users.py`), media (`media.py`), stream keys (`streams.py`) and account self-service
    (`account_store.py`) are mixins over the same database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = dialect_of(url)
        if self.dialect == "postgresql" and url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://") :]
        self.db = Database(url)
        self.archive = Archive(self.db, self.dialect)
        self._stage_cache: dict[str, tuple[float, Stage | None]] = {}

    async def connect(self) -> None:
        """Connect; a SQLite database file is created readable by the hub's user only (0600, in a
        0700 directory when the hub makes it)."""
        if self.dialect == "sqlite":
            path = self.url.split(":///", 1)[-1].split("?", 1)[0]
            if path and path != ":memory:" and not path.startswith("file:"):
                private_file(Path(path))
        await self.db.connect()

    async def reachable(self, timeout: float = 2.0) -> bool:
        """Whether the database answers now (`SELECT 1` within `timeout` seconds): tells an outage
        from a bug when a query failed."""
        try:
            if not self.db.is_connected:
                return False
            async with asyncio.timeout(timeout):
                await self.db.fetch_val("SELECT 1")
        except Exception:  # any failure to answer is an outage here
            return False
        return True

    async def close(self) -> None:
        await self.db.disconnect()

    async def migrate(self) -> list[str]:
        """Bring the schema up to date; returns the migrations applied now."""
        return await migrations.migrate(self.db, self.dialect)

    # stages

    async def create_stage(
        self,
        slug: str,
        name: str,
        owner_id: int,
        players: Iterable[int] = (),
        editors: Iterable[int] = (),
        config: dict[str, Any] | None = None,
    ) -> Stage:
        if await self.get_stage(slug) is not None:
            raise DuplicateError(f"stage {slug!r} already exists")
        self._stage_cache.pop(slug, None)
        async with transaction(self.db, self.dialect):
            stage_id = await self.db.execute(
                "INSERT INTO stages (slug, name, owner_id, config) "
                "VALUES (:slug, :name, :owner, :config) RETURNING id",
                {"slug": slug, "name": name, "owner": owner_id, "config": dump_json(config or {})},
            )
            await self._set_access(stage_id, "player", players)
            await self._set_access(stage_id, "editor", editors)
        stage = await self.get_stage(slug)
        assert stage is not None
        return stage

    async def _set_access(self, stage_id: int, level: str, user_ids: Iterable[int]) -> None:
        assert level in ACCESS_LEVELS
        for user_id in user_ids:
            await self.db.execute(
                "INSERT INTO stage_access (stage_id, user_id, level) VALUES (:s, :u, :l)",
                {"s": stage_id, "u": user_id, "l": level},
            )

    async def cached_stage(self, slug: str) -> Stage | None:
        """`get_stage` through a short-lived cache, for the join path: a stage changed by another
        process is seen within `STAGE_CACHE_SECONDS`, one changed through this store at once.
        While the database cannot be read, the last value read stands."""
        hit = self._stage_cache.get(slug)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            stage = await self.get_stage(slug)
        except Exception:
            # The database cannot be read (an outage): a stage this hub knows keeps being
            # joinable as it was last seen, so clients that reconnect recover their show.
            if hit is None:
                raise
            return hit[1]
        if len(self._stage_cache) >= STAGE_CACHE_SIZE:  # joins to made-up slugs must not grow it
            self._stage_cache = {k: v for k, v in self._stage_cache.items() if v[0] > now}
            if len(self._stage_cache) >= STAGE_CACHE_SIZE:
                self._stage_cache.clear()
        self._stage_cache[slug] = (now + STAGE_CACHE_SECONDS, stage)
        return stage

    def forget_cached_stages(self, *slugs: str) -> None:
        """Make `cached_stage` read these stages (every stage, given none) from the database
        again: another process changed them (hub/live.py, on its control message)."""
        if not slugs:
            self._stage_cache.clear()
        for slug in slugs:
            self._stage_cache.pop(slug, None)

    async def stage_slugs(self) -> list[str]:
        """Every stage's slug, in slug order (a gateway bridging all stages polls this)."""
        rows = await self.db.fetch_all("SELECT slug FROM stages ORDER BY slug")
        return [row["slug"] for row in rows]

    async def get_stage(self, slug: str) -> Stage | None:
        found = await self._stages_where("slug = :slug", {"slug": slug})
        return found[0] if found else None

    async def get_stage_by_id(self, stage_id: int) -> Stage | None:
        found = await self._stages_where("id = :id", {"id": stage_id})
        return found[0] if found else None

    async def stages_by_id(self, stage_ids: Iterable[int]) -> dict[int, Stage]:
        """The stages with these ids (unknown ones left out), in two queries."""
        placeholders, values = in_list("i", sorted(set(stage_ids)))
        return {stage.id: stage for stage in await self._stages_where(f"id IN {placeholders}", values)}

    async def stages_by_slug(self, slugs: Iterable[str]) -> dict[str, Stage]:
        """The stages with these slugs (unknown ones left out), in two queries."""
        placeholders, values = in_list("s", sorted(set(slugs)))
        return {stage.slug: stage for stage in await self._stages_where(f"slug IN {placeholders}", values)}

    async def list_stages(self, visible_only: bool = False) -> list[Stage]:
        """Every stage (or the visible ones) by name, each with its access lists, in two queries."""
        return await self._stages_where("visible" if visible_only else "TRUE", {})

    async def update_stage(
        self,
        stage_id: int,
        changes: dict[str, Any],
        players: Iterable[int] | None = None,
        editors: Iterable[int] | None = None,
    ) -> Stage:
        """Set some of slug, name, description, cover, status, visible, owner_id, config (whole) and
        replace the access lists given; the join cache forgets the old and the new slug at once."""
        assert set(changes) <= STAGE_COLUMNS, changes
        before = await self.get_stage_by_id(stage_id)
        if before is None:
            raise NotFoundError(f"no stage {stage_id}")
        if "slug" in changes and changes["slug"] != before.slug and await self.get_stage(changes["slug"]):
            raise DuplicateError(f"stage {changes['slug']!r} already exists")
        values = {k: dump_json(v) if k == "config" else v for k, v in changes.items()}
        async with transaction(self.db, self.dialect):
            if values:
                assignments = ", ".join(f"{column} = :{column}" for column in values)
                await self.db.execute(f"UPDATE stages SET {assignments} WHERE id = :id", {**values, "id": stage_id})
            for level, ids in (("player", players), ("editor", editors)):  # editor wins over player
                if ids is not None:
                    await self.db.execute(
                        "DELETE FROM stage_access WHERE stage_id = :s AND level = :l", {"s": stage_id, "l": level}
                    )
                    for user_id in ids:  # a user listed here leaves any other list
                        await self.db.execute(
                            "DELETE FROM stage_access WHERE stage_id = :s AND user_id = :u",
                            {"s": stage_id, "u": user_id},
                        )
                    await self._set_access(stage_id, level, ids)
        self._stage_cache.pop(before.slug, None)
        self._stage_cache.pop(changes.get("slug", before.slug), None)
        stage = await self.get_stage_by_id(stage_id)
        assert stage is not None
        return stage

    async def delete_stage(self, slug: str) -> None:
        """Delete a stage; its live log goes, its performances stay (detached) for replay."""
        stage = await self.get_stage(slug)
        if stage is None:
            raise NotFoundError(f"no stage {slug!r}")
        async with transaction(self.db, self.dialect):
            await self.archive.detach_stage(stage.id)
            for table in ("scenes", "stage_media"):
                await self.db.execute(f"DELETE FROM {table} WHERE stage_id = :id", {"id": stage.id})
            await self.db.execute("DELETE FROM stage_access WHERE stage_id = :id", {"id": stage.id})
            await self.db.execute("DELETE FROM stages WHERE id = :id", {"id": stage.id})
        self._stage_cache.pop(slug, None)

    async def list_sizes(self) -> dict[str, int]:
        """How long the lists the API serves are, in one query: counts (`stages`, `media`,
        `performances`...) and the most items one parent has (`media_per_stage`...), for cost
        estimates. Hidden and deleted stages count too: an estimate errs on the large side."""
        rows = ", ".join(f"({sql}) AS {name}" for name, sql in _SIZE_QUERIES.items())
        row = await self.db.fetch_one(f"SELECT {rows}")
        return {name: int(row[name] or 0) for name in _SIZE_QUERIES} if row is not None else {}

    # scenes

    async def save_scene(
        self, stage_id: int, name: str, payload: dict[str, Any], user_id: int | None, most: int | None = None
    ) -> Scene:
        """Store a scene; names are unique among a stage's active scenes, of which there may be at
        most `most` (StoreError past it)."""
        taken = await self.db.fetch_val(
            "SELECT COUNT(*) FROM scenes WHERE stage_id = :s AND name = :n AND active",
            {"s": stage_id, "n": name},
        )
        if taken:
            raise DuplicateError(f"a scene named {name!r} already exists on this stage")
        if most is not None:
            active = await self.db.fetch_val(
                "SELECT COUNT(*) FROM scenes WHERE stage_id = :s AND active", {"s": stage_id}
            )
            if active >= most:
                raise StoreError(f"this stage has {active} scenes, the most it keeps: delete some first")
        scene_id = await self.db.execute(
            "INSERT INTO scenes (stage_id, name, payload, created_by) VALUES (:s, :n, :p, :u) RETURNING id",
            {"s": stage_id, "n": name, "p": dump_json(payload), "u": user_id},
        )
        return Scene(scene_id, stage_id, name, payload, True, user_id)

    async def scenes_of_stages(self, stage_ids: Iterable[int]) -> dict[int, list[Scene]]:
        """Each stage's active scenes by id, for many stages in one query."""
        sql = "SELECT stage_id, * FROM scenes WHERE stage_id IN {ids} AND active ORDER BY stage_id, id"
        rows = await grouped(self.db, sql, stage_ids)
        return {stage_id: [_scene(row) for row in found] for stage_id, found in rows.items()}

    async def list_scenes(self, stage_id: int, include_inactive: bool = False) -> list[Scene]:
        rows = await self.db.fetch_all(
            "SELECT * FROM scenes WHERE stage_id = :s" + ("" if include_inactive else " AND active") + " ORDER BY id",
            {"s": stage_id},
        )
        return [_scene(row) for row in rows]

    async def get_scene(self, scene_id: int) -> Scene | None:
        row = await self.db.fetch_one("SELECT * FROM scenes WHERE id = :id", {"id": scene_id})
        return _scene(row) if row else None

    async def delete_scene(self, scene_id: int) -> None:
        """Soft delete: the scene leaves the lists but stays for events that switched to it."""
        await self.db.execute("UPDATE scenes SET active = FALSE WHERE id = :id", {"id": scene_id})

    # users with content

    async def delete_user(self, user_id: int, heir_id: int | None) -> list[str]:
        """Delete a user; their stages and media pass to `heir_id`, or are deleted with it when None.
        Returns the media files nothing uses any more (for the caller to remove from disk); one
        transaction, so a failure half-way leaves the user and all their content as they were."""
        async with transaction(self.db, self.dialect):  # all or nothing: no half-deleted user
            owned = await self._stages_where("owner_id = :o", {"o": user_id})
            media_rows = await self.db.fetch_all("SELECT id FROM media WHERE owner_id = :o", {"o": user_id})
            unused: list[str] = []
            if heir_id is not None:
                for table in ("stages", "media"):
                    await self.db.execute(
                        f"UPDATE {table} SET owner_id = :h WHERE owner_id = :o", {"h": heir_id, "o": user_id}
                    )
                for stage in owned:  # the heir now owns these: no access entry of their own on them
                    await self.db.execute(
                        "DELETE FROM stage_access WHERE stage_id = :s AND user_id = :h", {"s": stage.id, "h": heir_id}
                    )
            else:
                for stage in owned:
                    await self.delete_stage(stage.slug)
                for row in media_rows:
                    unused += await self.delete_media(row["id"])
            await self.db.execute("UPDATE scenes SET created_by = NULL WHERE created_by = :u", {"u": user_id})
            for table in ("stage_access", "media_grants", "media_requests"):
                await self.db.execute(f"DELETE FROM {table} WHERE user_id = :u", {"u": user_id})
            await self.db.execute("DELETE FROM users WHERE id = :u", {"u": user_id})
        for stage in owned:
            self._stage_cache.pop(stage.slug, None)
        return unused

    async def _stages_where(self, where: str, values: dict[str, Any]) -> list[Stage]:
        rows = await self.db.fetch_all(f"SELECT * FROM stages WHERE {where} ORDER BY name, id", values)
        if not rows:
            return []
        sql = "SELECT stage_id, user_id, level FROM stage_access WHERE stage_id IN {ids}"
        access = await grouped(self.db, sql, [row["id"] for row in rows])
        return [_stage(row, access.get(row["id"], [])) for row in rows]


def _most(table: str, column: str, where: str = "TRUE") -> str:
    """SQL for the most rows of `table` that share one `column` value (0 rows: NULL)."""
    return f"SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM {table} WHERE {where} GROUP BY {column}) AS per_parent"


_SIZE_QUERIES = {
    "stages": "SELECT COUNT(*) FROM stages",
    "visible_stages": "SELECT COUNT(*) FROM stages WHERE visible",
    "users": "SELECT COUNT(*) FROM users",
    "media": "SELECT COUNT(*) FROM media",
    "stage_media": "SELECT COUNT(*) FROM stage_media",
    "media_per_stage": _most("stage_media", "stage_id"),
    "stages_per_media": _most("stage_media", "media_id"),
    "performances": "SELECT COUNT(*) FROM performances WHERE stage_id IS NOT NULL",
    "performances_per_stage": _most("performances", "stage_id", "stage_id IS NOT NULL"),
    "scenes": "SELECT COUNT(*) FROM scenes WHERE active",
    "scenes_per_stage": _most("scenes", "stage_id", "active"),
    "players": "SELECT COUNT(*) FROM stage_access WHERE level = 'player'",
    "players_per_stage": _most("stage_access", "stage_id", "level = 'player'"),
    "editors": "SELECT COUNT(*) FROM stage_access WHERE level = 'editor'",
    "editors_per_stage": _most("stage_access", "stage_id", "level = 'editor'"),
    "stream_keys": "SELECT COUNT(*) FROM stream_keys",
    "stream_keys_per_stage": _most("stream_keys", "stage_id"),
    "media_shares": "SELECT COUNT(*) FROM media_grants WHERE kind = 'share'",
    "shares_per_media": _most("media_grants", "media_id", "kind = 'share'"),
    "media_requests": "SELECT COUNT(*) FROM media_requests",
}


def _scene(row: Any) -> Scene:
    return Scene(
        row["id"], row["stage_id"], row["name"], load_json(row["payload"]), bool(row["active"]),
        row["created_by"], timestamp(row["created_at"]),
    )


def _stage(row: Any, access: list[Any]) -> Stage:
    return Stage(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        owner_id=row["owner_id"],
        description=row["description"],
        status=row["status"],
        visible=bool(row["visible"]),
        config=load_json(row["config"]),
        players=frozenset(a["user_id"] for a in access if a["level"] == "player"),
        editors=frozenset(a["user_id"] for a in access if a["level"] == "editor"),
        cover=row["cover"],
    )
