"""Store-level tests of the management tables on SQLite and Postgres: users, refresh-token families,
media with frames and assignments, stage updates and deleting users with their content."""

from __future__ import annotations

import asyncio

import pytest

from storage import DuplicateError, MediaQuery, Store
from tests.present import present


async def test_user_updates_lists_and_admin_count(store: Store) -> None:
    helen = await store.create_user("helen", "h", "player", active=False)
    assert helen.active is False and helen.upload_limit is None and helen.created_at
    await store.create_user("root", "h", "admin")
    assert await store.count_admins() == 1
    updated = await store.update_user(helen.id, active=True, upload_limit=500, role="admin")
    assert (updated.active, updated.upload_limit, updated.role) == (True, 500, "admin")
    assert await store.count_admins() == 2
    assert [u.username for u in await store.list_users("HEL")] == ["helen"]
    assert [u.username for u in await store.list_users(active=False)] == []
    assert set(await store.users_by_id([helen.id, 999])) == {helen.id}


async def test_refresh_families_rotate_once_and_expire(store: Store) -> None:
    user = await store.create_user("helen", "h")
    await store.start_family("fam", user.id, "t1", 4_000_000_000)
    await store.start_family("fam", user.id, "other", 4_000_000_000)  # an existing family stays as it is
    # Two refreshes of one token at once: exactly one rotates (one statement, compare and set).
    rotated = await asyncio.gather(*(store.rotate_family("fam", "t1", f"t2-{i}", 1000, 4_000_000_000) for i in range(5)))
    assert sorted(rotated) == [False] * 4 + [True]
    family = await store.get_family("fam")
    assert family is not None and family.previous_jti == "t1" and family.current_jti.startswith("t2-")
    assert (family.rotated_at, family.revoked, family.user_id) == (1000, False, user.id)
    assert not await store.rotate_family("fam", "t1", "t3", 2000, 4_000_000_000)  # a retired token never rotates
    await store.revoke_family("fam")
    assert present(await store.get_family("fam")).revoked
    assert not await store.rotate_family("fam", family.current_jti, "t3", 2000, 4_000_000_000)
    await store.start_family("old", user.id, "o1", 1)
    assert not await store.rotate_family("old", "o1", "o2", 2000, 4_000_000_000)  # expired
    await store.db.execute("INSERT INTO revoked_tokens (jti, expires_at) VALUES ('legacy', 1), ('kept', 4000000000)")
    assert await store.is_revoked("legacy") and await store.is_revoked("kept")
    await store.start_family("new", user.id, "n1", 4_000_000_000)  # forgets expired rows on the way
    assert await store.get_family("old") is None and await store.get_family("fam") is not None
    assert not await store.is_revoked("legacy") and await store.is_revoked("kept")


async def test_media_frames_assignments_and_unused_files(store: Store) -> None:
    owner = await store.create_user("helen", "h")
    other = await store.create_user("hector", "h")
    stage = await store.create_stage("show", "Show", owner.id)
    a = await store.create_media(owner.id, "Walker", "avatar", "image/png", 10, ["a.png"])
    a = await store.add_frame(a.id, "b.png", 5)
    assert a.frames == ("a.png", "b.png") and a.size == 15
    b = await store.create_media(other.id, "Twin", "prop", "image/png", 10, ["a.png"])
    await store.update_media(b.id, copyright_level=3, voice={"voice": "en"})
    await store.assign_media(stage.id, [b.id, a.id])
    assert [m.id for m in await store.stage_media(stage.id)] == [b.id, a.id]
    assert await store.media_stage_ids(a.id) == [stage.id]
    assert [m.id for m in await store.list_media(MediaQuery(visible_to=owner.id))] == [a.id]
    assert [m.id for m in await store.list_media(MediaQuery(visible_to=owner.id, stage_ids=[stage.id]))] == [a.id, b.id]
    assert [m.id for m in await store.list_media(MediaQuery(name="TWI", on_stage=stage.id))] == [b.id]
    assert present(await store.get_media(b.id)).voice == {"voice": "en"}
    assert await store.delete_media(a.id) == ["b.png"]  # a.png is still used by the twin
    assert [m.id for m in await store.stage_media(stage.id)] == [b.id]


async def test_update_stage_and_cache(store: Store) -> None:
    owner = await store.create_user("helen", "h")
    player = await store.create_user("paul", "h")
    stage = await store.create_stage("show", "Show", owner.id, editors=[player.id])
    assert present(await store.cached_stage("show")).status == "live"
    updated = await store.update_stage(
        stage.id, {"slug": "renamed", "status": "rehearsal", "cover": "/media/x.png", "config": {"defaultColor": "#111"}},
        players=[player.id], editors=[],
    )
    assert (updated.slug, updated.status, updated.cover, updated.default_color) == ("renamed", "rehearsal", "/media/x.png", "#111")
    assert updated.players == {player.id} and updated.editors == frozenset()
    assert await store.cached_stage("show") is None
    assert present(await store.cached_stage("renamed")).status == "rehearsal"
    await store.create_stage("taken", "Taken", owner.id)
    with pytest.raises(DuplicateError):
        await store.update_stage(stage.id, {"slug": "taken"})
    assert [s.slug for s in await store.list_stages()] == ["renamed", "taken"]


async def test_delete_user_reassigns_or_deletes_content(store: Store) -> None:
    admin = await store.create_user("root", "h", "admin")
    helen = await store.create_user("helen", "h")
    kept = await store.create_stage("kept", "Kept", helen.id, editors=[admin.id])
    await store.create_media(helen.id, "M", "prop", "image/png", 1, ["m.png"])
    assert await store.delete_user(helen.id, admin.id) == []
    stage = present(await store.get_stage("kept"))
    assert stage.owner_id == admin.id and admin.id not in stage.editors
    hector = await store.create_user("hector", "h")
    await store.create_stage("gone", "Gone", hector.id)
    await store.create_media(hector.id, "N", "prop", "image/png", 1, ["n.png"])
    assert await store.delete_user(hector.id, None) == ["n.png"]
    assert await store.get_stage("gone") is None and await store.get_user(hector.id) is None
    assert kept.id == stage.id


async def test_name_searches_match_percent_and_underscore_literally(store: Store) -> None:
    """`%` and `_` were LIKE wildcards: searching `__` listed every user."""
    for name in ("helen", "he_len", "ab%cd", "back\\slash"):
        await store.create_user(name, "h")
    assert [u.username for u in await store.list_users("__")] == []
    assert [u.username for u in await store.list_users("_")] == ["he_len"]
    assert [u.username for u in await store.list_users("%")] == ["ab%cd"]
    assert [u.username for u in await store.list_users("\\")] == ["back\\slash"]
    helen = await store.get_user_by_name("helen")
    assert helen is not None
    await store.create_media(helen.id, "100% Walker", "avatar", "image/png", 1, ["a.png"])
    await store.create_media(helen.id, "1000 Walkers", "avatar", "image/png", 1, ["b.png"])
    assert [m.name for m in await store.list_media(MediaQuery(name="0%"))] == ["100% Walker"]
    assert [m.name for m in await store.list_media(MediaQuery(name="0_"))] == []


async def test_a_username_differing_only_in_case_is_taken(store: Store) -> None:
    await store.create_user("helen", "h")
    with pytest.raises(DuplicateError):
        await store.create_user("Helen", "h")
    assert [u.username for u in await store.list_users()] == ["helen"]


async def test_delete_user_failing_half_way_changes_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """DELETE_ALL ran stage by stage and item by item: a failure left a user without stages."""
    hector = await store.create_user("hector", "h")
    await store.create_stage("gone", "Gone", hector.id)
    first = await store.create_media(hector.id, "N", "prop", "image/png", 1, ["n.png"])
    await store.create_media(hector.id, "O", "prop", "image/png", 1, ["o.png"])
    delete_media = store.delete_media

    async def failing(media_id: int) -> list[str]:
        if media_id != first.id:
            raise RuntimeError("disk on fire")
        return await delete_media(media_id)

    monkeypatch.setattr(store, "delete_media", failing)
    with pytest.raises(RuntimeError):
        await store.delete_user(hector.id, None)
    assert await store.get_user(hector.id) is not None and await store.get_stage("gone") is not None
    assert await store.get_media(first.id) is not None


async def test_json_columns_take_a_nul_on_both_dialects(store: Store) -> None:
    """Postgres jsonb refuses U+0000: every JSON column stores it as U+FFFD, as the archive does."""
    owner = await store.create_user("nul", "h")
    stage = await store.create_stage("nul", "Nul", owner.id, config={"note": "a\x00b"})
    assert stage.config == {"note": "a\ufffdb"}
    scene = await store.save_scene(stage.id, "board", {"chat": ["a\x00b"]}, owner.id)
    assert present(await store.get_scene(scene.id)).payload == {"chat": ["a\ufffdb"]}
    media = await store.create_media(owner.id, "m", "avatar", "image/png", 1, ["f.png"])
    assert (await store.update_media(media.id, voice={"v": "a\x00b"})).voice == {"v": "a\ufffdb"}
