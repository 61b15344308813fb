"""The reset-link table (migration 0009) on SQLite and Postgres: a link is claimed once, its
use voids the user's other links, expired ones cannot be used, and logins end together."""

from __future__ import annotations

import asyncio

from storage import Store


async def test_a_link_is_used_once_and_voids_the_others(store: Store) -> None:
    user = await store.create_user("ada", "x")
    await store.create_reset("h1", user.id, 2000, 1000)
    await store.create_reset("h2", user.id, 2000, 1000)
    await store.create_reset("old", user.id, 1500, 1000)
    assert not await store.use_reset("old", 1600)  # expired
    claims = await asyncio.gather(store.use_reset("h1", 1700), store.use_reset("h1", 1700))
    assert sorted(claims) == [False, True]
    second = await store.get_reset("h2")
    assert second is not None and second.used_at == 1700
    assert await store.get_reset("nope") is None
    await store.create_reset("h3", user.id, 10**12, 10**9)  # long after: the expired rows are gone
    assert await store.get_reset("old") is None and await store.get_reset("h3") is not None


async def test_every_login_of_a_user_ends_and_names_are_taken_ignoring_case(store: Store) -> None:
    user = await store.create_user("Helen", "x")
    await store.start_family("f1", user.id, "j1", 10**10)
    await store.start_family("f2", user.id, "j2", 10**10)
    await store.revoke_user_families(user.id)
    for family in ("f1", "f2"):
        found = await store.get_family(family)
        assert found is not None and found.revoked
    assert await store.username_taken("helen") and not await store.username_taken("helena")
