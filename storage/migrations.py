"""Versioned schema migrations: numbered SQL files applied once, in order, on SQLite or Postgres.

The files use a few placeholders (`{serial}`, `{json}`, `{timestamp}`) so that one file serves
both dialects; everything else in them is portable SQL.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from importlib import resources

from databases import Database

# The Postgres advisory lock key migrations hold: several hub processes starting at once on one
# database migrate one after the other (unlocked, their CREATE TABLEs collide in pg_type).
MIGRATION_LOCK = 0x75707374  # "upst"

DIALECT_TYPES: dict[str, dict[str, str]] = {
    "sqlite": {
        "serial": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "json": "TEXT",
        "timestamp": "TIMESTAMP",
    },
    "postgresql": {
        "serial": "BIGSERIAL PRIMARY KEY",
        "json": "JSONB",
        "timestamp": "TIMESTAMPTZ",
    },
}


def available() -> list[tuple[int, str, str]]:
    """All migrations shipped with the package as (version, name, sql template), by version."""
    found = []
    for entry in resources.files("storage").joinpath("sql").iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text()))
    return sorted(found)


def render(template: str, dialect: str) -> list[str]:
    """Fill the dialect placeholders and split the file into single statements."""
    sql = template
    for name, value in DIALECT_TYPES[dialect].items():
        sql = sql.replace("{" + name + "}", value)
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


@contextlib.asynccontextmanager
async def _locked(db: Database, dialect: str) -> AsyncIterator[None]:
    """Hold the migration lock on this task's connection (Postgres; a SQLite file serves one hub process)."""
    if dialect != "postgresql":
        yield
        return
    async with db.connection():  # the session lock and the statements share one connection
        await db.execute("SELECT pg_advisory_lock(:key)", {"key": MIGRATION_LOCK})
        try:
            yield
        finally:
            await db.execute("SELECT pg_advisory_unlock(:key)", {"key": MIGRATION_LOCK})


async def migrate(db: Database, dialect: str) -> list[str]:
    """Apply every migration not yet recorded in `schema_migrations`, one process at a time;
    return the names applied."""
    async with _locked(db, dialect):
        return await _apply(db, dialect)


async def _apply(db: Database, dialect: str) -> list[str]:
    await db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)"
    )
    done = {row[0] for row in await db.fetch_all("SELECT version FROM schema_migrations")}
    applied = []
    for version, name, template in available():
        if version in done:
            continue
        async with db.transaction():
            for statement in render(template, dialect):
                await db.execute(statement)
            await db.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (:version, :name)",
                {"version": version, "name": name},
            )
        applied.append(name)
    return applied
