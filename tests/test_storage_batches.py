"""Store queries for many parents at once (what a GraphQL request batches), on SQLite and
Postgres: each returns by parent what the one-parent query returns, and list sizes count."""

from __future__ import annotations

from storage import Event, Store


async def _performance(store: Store, stage_id: int, slug: str, seq: int, events: int) -> int:
    await store.archive.append([Event(stage_id, seq + i, "chat", {"message": "hi"}, 1000 + i, {"nickname": "x"}) for i in range(events)])
    return (await store.archive.sweep(stage_id, slug, "Show")).id


async def test_batched_lookups_match_the_one_parent_queries(store: Store) -> None:
    owner = await store.create_user("helen", "h")
    pat = await store.create_user("pat", "h")
    show = await store.create_stage("show", "Show", owner.id, [pat.id])
    other = await store.create_stage("other", "Other", owner.id, editors=[pat.id])
    empty = await store.create_stage("empty", "Empty", owner.id)
    a = await store.create_media(owner.id, "A", "prop", "image/png", 1, ["a.png", "a2.png"])
    b = await store.create_media(owner.id, "B", "prop", "image/png", 1, ["b.png"])
    await store.assign_media(show.id, [b.id, a.id])
    await store.assign_media(other.id, [a.id])
    scene = await store.save_scene(show.id, "Act 1", {"board": {}}, owner.id)
    gone = await store.save_scene(show.id, "Cut", {}, owner.id)
    await store.delete_scene(gone.id)
    first = await _performance(store, show.id, "show", 1, 3)
    second = await _performance(store, show.id, "show", 4, 2)
    third = await _performance(store, other.id, "other", 1, 1)

    ids = [show.id, other.id, empty.id]
    media = await store.media_of_stages(ids)
    assert [m.name for m in media[show.id]] == ["B", "A"] and media[show.id][1].frames == ("a.png", "a2.png")
    assert media[other.id] == await store.stage_media(other.id) and empty.id not in media
    assert await store.stage_ids_of_media([a.id, b.id, 999]) == {a.id: sorted([show.id, other.id]), b.id: [show.id]}
    scenes = await store.scenes_of_stages(ids)
    assert scenes == {show.id: await store.list_scenes(show.id)} and [s.id for s in scenes[show.id]] == [scene.id]
    performances = await store.archive.performances_of_stages(ids)
    assert [p.id for p in performances[show.id]] == [second, first] and [p.id for p in performances[other.id]] == [third]
    assert set(await store.archive.performances_by_id([first, third, 999])) == {first, third}
    assert await store.archive.event_counts([first, second, third, 999]) == {first: 3, second: 2, third: 1}
    assert await store.archive.event_count(999) == 0
    by_id = await store.stages_by_id([show.id, other.id, 999])
    assert by_id[show.id].players == {pat.id} and by_id[other.id].editors == {pat.id} and 999 not in by_id
    assert set(await store.stages_by_slug(["show", "nope"])) == {"show"}

    await store.update_stage(empty.id, {"visible": False})
    await store.set_shares(a.id, [pat.id])  # the media library's lists (issue 18)
    assert await store.create_request(b.id, pat.id, "for act 2") is not None
    sizes = await store.list_sizes()
    assert sizes == {
        "stages": 3, "visible_stages": 2, "users": 2, "media": 2, "stage_media": 3, "media_per_stage": 2,
        "stages_per_media": 2, "performances": 3, "performances_per_stage": 2, "scenes": 1, "scenes_per_stage": 1,
        "players": 1, "players_per_stage": 1, "editors": 1, "editors_per_stage": 1, "stream_keys": 0,
        "stream_keys_per_stage": 0, "media_shares": 1, "shares_per_media": 1, "media_requests": 1,
    }  # fmt: skip
