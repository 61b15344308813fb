"""Transactions every store shares: the driver's own, with SQLite's write lock taken up front.

A deferred SQLite transaction that reads, then writes, fails at once with "database is locked"
when another connection wrote meanwhile (it cannot wait for the lock it would deadlock on);
`BEGIN IMMEDIATE` makes writers queue behind each other for the busy timeout instead.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from databases import Database
from databases.core import Connection


@contextlib.asynccontextmanager
async def transaction(db: Database, dialect: str) -> AsyncIterator[Connection]:
    """One transaction on this task's connection (a savepoint inside the caller's).

    It is the driver's own transaction, not `databases`': when a connection dies mid-way,
    `databases` fails its rollback and keeps the dead connection bound to the task for good;
    here the error goes through `connection()`, which hands the connection back to the pool.
    On SQLite it takes the write lock at once (BEGIN IMMEDIATE), so two writers wait for each
    other instead of one failing when it upgrades a read lock.
    """
    conn = db.connection()
    try:
        async with conn:
            raw = conn.raw_connection
            if dialect == "postgresql":
                async with raw.transaction():
                    yield conn
            elif raw.in_transaction:  # inside a caller's: a savepoint (the outer one holds the lock)
                name = f"inner_{uuid.uuid4().hex}"
                await raw.execute(f"SAVEPOINT {name}")
                try:
                    yield conn
                except BaseException:
                    with contextlib.suppress(Exception):
                        await raw.execute(f"ROLLBACK TO SAVEPOINT {name}")
                        await raw.execute(f"RELEASE SAVEPOINT {name}")
                    raise
                await raw.execute(f"RELEASE SAVEPOINT {name}")
            else:
                await raw.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    with contextlib.suppress(Exception):  # closing the connection rolls back anyway
                        await raw.execute("ROLLBACK")
                    raise
                await raw.execute("COMMIT")
    finally:
        unbind_if_stuck(db, conn)


def unbind_if_stuck(db: Database, conn: Connection) -> None:
    """Undo what a failed hand-back leaves on the task. `databases`' `Connection.__aexit__`
    releases the driver's connection to the pool, then unbinds it from the task; when the release
    raises (asyncpg re-raises a failed reset of a connection the database cut, after terminating
    it and freeing its pool slot) neither happens, and every later use on the task fails with
    "Connection is already acquired". The event writer is one long-lived task: after a database
    outage it then never wrote again, while `/healthz` said the database was fine."""
    if conn._connection_counter == 0 and db._connection is conn:
        backend: Any = conn._connection
        backend._connection = None
        db._connection = None
