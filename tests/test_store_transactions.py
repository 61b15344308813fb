"""Store writes of several statements at once: on SQLite each takes the write lock up front
(BEGIN IMMEDIATE), so concurrent ones queue instead of failing with "database is locked"."""

from __future__ import annotations

import asyncio

from storage import Store


async def test_users_deleted_at_once_are_all_deleted(store: Store) -> None:
    """Each delete reads (stages, media) before it writes: deferred transactions on SQLite failed
    the later ones at once when another had written meanwhile."""
    users = [await store.create_user(f"gone{i}", "x") for i in range(8)]
    for user in users:
        await store.create_stage(f"stage-{user.id}", "Stage", user.id, [])
    await asyncio.gather(*(store.delete_user(user.id, None) for user in users))
    assert [await store.get_user_by_name(user.username) for user in users] == [None] * len(users)
    assert [await store.get_stage(f"stage-{user.id}") for user in users] == [None] * len(users)
