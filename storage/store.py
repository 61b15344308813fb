"""The `Store` seam: users and stages over `databases`, on SQLite (default) or Postgres."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterable

import orjson
from databases import Database

from . import migrations
from .archive import Archive
from .records import ACCESS_LEVELS, DuplicateError, NotFoundError, Scene, Stage, StoreError, User


STAGE_CACHE_SECONDS = 2.0


def dialect_of(url: str) -> str:
    """`sqlite` or `postgresql`, from a database URL."""
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if scheme in ("postgres", "postgresql"):
        return "postgresql"
    if scheme == "sqlite":
        return "sqlite"
    raise StoreError(f"unsupported database URL scheme: {scheme!r}")


class Store:
    """Persistence for the hub; one instance per process, connected for the app's lifetime."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = dialect_of(url)
        if self.dialect == "postgresql" and url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://") :]
        self.db = Database(url)
        self.archive = Archive(self.db, self.dialect)
        self._stage_cache: dict[str, tuple[float, Stage | None]] = {}

    async def connect(self) -> None:
        if self.dialect == "sqlite":
            path = self.url.split(":///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        await self.db.connect()

    async def close(self) -> None:
        await self.db.disconnect()

    async def migrate(self) -> list[str]:
        """Bring the schema up to date; returns the migrations applied now."""
        return await migrations.migrate(self.db, self.dialect)

    # users

    async def create_user(self, username: str, password_hash: str, role: str = "player") -> User:
        if await self.get_user_by_name(username) is not None:
            raise DuplicateError(f"user {username!r} already exists")
        user_id = await self.db.execute(
            "INSERT INTO users (username, password_hash, role) VALUES (:u, :h, :r) RETURNING id",
            {"u": username, "h": password_hash, "r": role},
        )
        return User(user_id, username, password_hash, role, True)

    async def get_user(self, user_id: int) -> User | None:
        row = await self.db.fetch_one("SELECT * FROM users WHERE id = :id", {"id": user_id})
        return _user(row) if row else None

    async def get_user_by_name(self, username: str) -> User | None:
        row = await self.db.fetch_one("SELECT * FROM users WHERE username = :u", {"u": username})
        return _user(row) if row else None

    async def users_by_name(self, usernames: Iterable[str]) -> list[User]:
        """The users with these names, in the order asked; raises NotFoundError for any unknown."""
        found = []
        for name in usernames:
            user = await self.get_user_by_name(name)
            if user is None:
                raise NotFoundError(f"unknown user {name!r}")
            found.append(user)
        return found

    async def count_users(self) -> int:
        return int(await self.db.fetch_val("SELECT COUNT(*) FROM users"))

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
        async with self.db.transaction():
            stage_id = await self.db.execute(
                "INSERT INTO stages (slug, name, owner_id, config) "
                "VALUES (:slug, :name, :owner, :config) RETURNING id",
                {"slug": slug, "name": name, "owner": owner_id, "config": _json(config or {})},
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
        process is seen within `STAGE_CACHE_SECONDS`, one changed through this store at once."""
        hit = self._stage_cache.get(slug)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        stage = await self.get_stage(slug)
        self._stage_cache[slug] = (now + STAGE_CACHE_SECONDS, stage)
        return stage

    async def stage_slugs(self) -> list[str]:
        """Every stage's slug, in slug order (a gateway bridging all stages polls this)."""
        rows = await self.db.fetch_all("SELECT slug FROM stages ORDER BY slug")
        return [row["slug"] for row in rows]

    async def get_stage(self, slug: str) -> Stage | None:
        row = await self.db.fetch_one("SELECT * FROM stages WHERE slug = :slug", {"slug": slug})
        if row is None:
            return None
        access = await self.db.fetch_all(
            "SELECT user_id, level FROM stage_access WHERE stage_id = :id", {"id": row["id"]}
        )
        return _stage(row, access)

    async def delete_stage(self, slug: str) -> None:
        """Delete a stage; its live log goes, its performances stay (detached) for replay."""
        stage = await self.get_stage(slug)
        if stage is None:
            raise NotFoundError(f"no stage {slug!r}")
        async with self.db.transaction():
            await self.archive.detach_stage(stage.id)
            await self.db.execute("DELETE FROM scenes WHERE stage_id = :id", {"id": stage.id})
            await self.db.execute("DELETE FROM stage_access WHERE stage_id = :id", {"id": stage.id})
            await self.db.execute("DELETE FROM stages WHERE id = :id", {"id": stage.id})
        self._stage_cache.pop(slug, None)

    # scenes

    async def save_scene(self, stage_id: int, name: str, payload: dict[str, Any], user_id: int | None) -> Scene:
        """Store a scene; names are unique among a stage's active scenes."""
        taken = await self.db.fetch_val(
            "SELECT COUNT(*) FROM scenes WHERE stage_id = :s AND name = :n AND active",
            {"s": stage_id, "n": name},
        )
        if taken:
            raise DuplicateError(f"a scene named {name!r} already exists on this stage")
        scene_id = await self.db.execute(
            "INSERT INTO scenes (stage_id, name, payload, created_by) VALUES (:s, :n, :p, :u) RETURNING id",
            {"s": stage_id, "n": name, "p": _json(payload), "u": user_id},
        )
        return Scene(scene_id, stage_id, name, payload)

    async def list_scenes(self, stage_id: int, include_inactive: bool = False) -> list[Scene]:
        rows = await self.db.fetch_all(
            "SELECT * FROM scenes WHERE stage_id = :s" + ("" if include_inactive else " AND active") + " ORDER BY id",
            {"s": stage_id},
        )
        return [_scene(row) for row in rows]

    async def get_scene(self, scene_id: int) -> Scene | None:
        row = await self.db.fetch_one("SELECT * FROM scenes WHERE id = :id", {"id": scene_id})
        return _scene(row) if row else None


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _from_json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value


def _scene(row: Any) -> Scene:
    return Scene(row["id"], row["stage_id"], row["name"], _from_json(row["payload"]), bool(row["active"]))


def _user(row: Any) -> User:
    return User(row["id"], row["username"], row["password_hash"], row["role"], bool(row["active"]))


def _stage(row: Any, access: list[Any]) -> Stage:
    return Stage(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        owner_id=row["owner_id"],
        description=row["description"],
        status=row["status"],
        visible=bool(row["visible"]),
        config=_from_json(row["config"]),
        players=frozenset(a["user_id"] for a in access if a["level"] == "player"),
        editors=frozenset(a["user_id"] for a in access if a["level"] == "editor"),
    )
