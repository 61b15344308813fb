"""Media over GraphQL: listing, editing, deleting and assigning to stages (upload is HTTP,
`hub/upload.py`).

A caller may use their own media, shared media (copyright level 0 or 1: free, or with
acknowledgement), media shared with them or granted on request (`library.py`) and media already
assigned to stages they edit; admins everything; dormant media is never newly assigned. Media of
level 2 or 3 (with permission, not shared) goes on a stage only by its owner or an admin: an
editor keeps it where it already is, never copies it to another stage. Only the owner or an
admin edits or deletes an item.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import Any

import orjson
from graphql import GraphQLResolveInfo

from storage import Media, MediaQuery, Stage, media_url

from ..media_files import TYPES_OF_KIND, remove_unused
from . import prefetch
from .context import Context, clean_name, fail, parse_id
from .loader import mapped

MAX_NAME = 200
MAX_JSON = 2048
SHARED_LEVEL = 1


async def usable_query(ctx: Context, **filters: Any) -> MediaQuery:
    """The media the caller may use (see the module doc), narrowed by `filters`."""
    user = ctx.require_user()
    if ctx.is_admin:
        return MediaQuery(**filters)
    editable = [s.id for s in await ctx.all_stages() if ctx.can_edit(s)]
    return MediaQuery(visible_to=user.id, stage_ids=editable, shared_level=SHARED_LEVEL, **filters)


async def list_media(
    _: Any, info: GraphQLResolveInfo, filter: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None, requestable: bool = False,
) -> list[Media]:
    """`media(filter)`; `extra` more MediaQuery fields (hub/graphql/library.py), `requestable` lists
    the media in `extra["requestable_by"]` instead of the usable ones."""
    ctx: Context = info.context
    filter = filter or {}
    narrowed: dict[str, Any] = {"type": filter.get("type"), "name": filter.get("name")}
    if filter.get("owner"):
        owner = await ctx.store.get_user_by_name(filter["owner"])
        if owner is None:
            return []
        narrowed["owner_id"] = owner.id
    if filter.get("stage"):
        stage = await ctx.store.get_stage(filter["stage"])
        if stage is None or not ctx.sees(stage):
            return []
        narrowed["on_stage"] = stage.id
    narrowed.update(extra or {})
    query = MediaQuery(**narrowed) if requestable else await usable_query(ctx, **narrowed)
    return await prefetch.media(info, await ctx.store.list_media(query))


async def may_use(ctx: Context, media: Media) -> bool:
    """Whether the caller may use `media` (see the module doc)."""
    return any(m.id == media.id for m in await ctx.store.list_media(await usable_query(ctx)))


async def looked_up(ctx: Context, media_id: int) -> tuple[Media | None, bool]:
    """A medium (None when there is none) and whether the caller may use it, found with the same
    queries either way, so an answer's timing does not tell a hidden medium from a missing one."""
    usable = {m.id for m in await ctx.store.list_media(await usable_query(ctx))}
    media = await ctx.store.get_media(media_id)
    return media, media is not None and media.id in usable


async def owned_media(ctx: Context, media_id: Any) -> Media:
    """A media item the caller owns (or any, for an admin)."""
    user = ctx.require_user()
    media, usable = await looked_up(ctx, parse_id(media_id))
    # Another's medium the caller may not even see (level 3, dormant) is as if absent: no id probe.
    if media is None or (media.owner_id != user.id and not ctx.is_admin and not usable):
        fail("not_found", "There is no such media.")
    if media.owner_id != user.id and not ctx.is_admin:
        fail("forbidden", "Only the media's owner or an admin may change it.")
    return media


def _json_field(value: Any, field: str) -> Any:
    if value is not None and (not isinstance(value, dict) or len(orjson.dumps(value)) > MAX_JSON):
        fail("bad_request", f"{field} must be an object of at most {MAX_JSON} bytes.", field)
    return value


async def save_media(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> Media:
    """Edit an uploaded item; `frames` may reorder or drop its frames, never add others' files."""
    ctx: Context = info.context
    media = await owned_media(ctx, input["id"])
    changes: dict[str, Any] = {}
    if input.get("name") is not None:
        changes["name"] = clean_name(input["name"], MAX_NAME, "media")
    if input.get("type") is not None:
        kind = media.mime.split("/", 1)[0]  # image, audio or video
        if input["type"] not in TYPES_OF_KIND.get(kind, ()):
            fail("bad_request", f"Media with {kind} content cannot be a {input['type']}.", "type")
        changes["type"] = input["type"]
    if input.get("copyrightLevel") is not None:
        if input["copyrightLevel"] not in (0, 1, 2, 3):
            fail("bad_request", "The copyright level is 0, 1, 2 or 3.", "copyrightLevel")
        changes["copyright_level"] = input["copyrightLevel"]
    for key in ("voice", "link"):
        if key in input:
            changes[key] = _json_field(input[key], key)
    frames = None
    if input.get("frames") is not None:
        by_url = {media_url(file): file for file in media.frames}
        if not input["frames"] or any(url not in by_url for url in input["frames"]):
            fail("bad_request", "Frames can only be reordered or removed, and at least one must stay.", "frames")
        frames = [by_url[url] for url in dict.fromkeys(input["frames"])]
        changes["size"] = max(0, media.size - removed_bytes(ctx.services.settings.media_dir, media.frames, frames))
    updated = await ctx.store.update_media(media.id, frames, **changes)
    if frames is not None:
        remove_unused(ctx.services.settings.media_dir, [f for f in media.frames if not await ctx.store.file_in_use(f)])
    return updated


def removed_bytes(media_dir: Path, before: Sequence[str], after: Sequence[str]) -> int:
    """The bytes of the frames `after` no longer has (each upload counted its file's size against
    the owner's quota, so a removed frame gives its size back)."""
    gone = Counter(before) - Counter(after)
    sizes = {file: (media_dir / file).stat().st_size if (media_dir / file).is_file() else 0 for file in gone}
    return sum(sizes[file] * count for file, count in gone.items())


async def delete_media(_: Any, info: GraphQLResolveInfo, id: Any) -> bool:
    """Delete an item and its assignments; its files go when nothing else uses them."""
    ctx: Context = info.context
    media = await owned_media(ctx, id)
    remove_unused(ctx.services.settings.media_dir, await ctx.store.delete_media(media.id))
    return True


async def usable_on(ctx: Context, stage: Stage | None) -> set[int]:
    """The ids of the media the caller may put on `stage` (None: a new stage): their own, shared,
    and media already on that very stage; admins any."""
    user = ctx.require_user()
    if ctx.is_admin:
        return {m.id for m in await ctx.store.list_media(MediaQuery(dormant=False))}
    stage_ids = [stage.id] if stage else []
    query = MediaQuery(visible_to=user.id, stage_ids=stage_ids, shared_level=SHARED_LEVEL, dormant=False)
    return {m.id for m in await ctx.store.list_media(query)}


async def copyable_media(ctx: Context, source: Stage) -> list[int]:
    """A stage's media list (toolbar order) as the caller may copy it to a new stage of theirs:
    others' media of level 2 or 3 stays behind."""
    usable = await usable_on(ctx, None)
    return [m.id for m in await ctx.store.stage_media(source.id) if m.id in usable]


async def assign_media(_: Any, info: GraphQLResolveInfo, stageId: Any, mediaIds: list[Any]) -> Stage:
    """Replace a stage's media list (toolbar order) with media the caller may use on it."""
    ctx: Context = info.context
    stage = await ctx.stage(stageId, "edit")
    wanted = [parse_id(media_id, "mediaIds") for media_id in mediaIds]
    usable = await usable_on(ctx, stage)
    if any(media_id not in usable for media_id in wanted):
        fail("forbidden", "Some of this media is not yours to use (or does not exist).", "mediaIds")
    await ctx.store.assign_media(stage.id, wanted)
    return stage


def media_stages(media: Media, info: GraphQLResolveInfo) -> list[Stage] | Awaitable[list[Stage]]:
    ctx: Context = info.context
    visible = lambda found: [stage for stage in found if stage is not None and ctx.sees(stage)]  # noqa: E731
    stages = ctx.lookups.stages
    return mapped(ctx.lookups.media_stage_ids.get(media.id), lambda ids: mapped(stages.get_many(ids), visible))


RESOLVERS = {
    "Query": {"media": list_media},
    "Mutation": {"saveMedia": save_media, "deleteMedia": delete_media, "assignMedia": assign_media},
    "Media": {
        "url": lambda media, info: media_url(media.frames[0]) if media.frames else "",
        "frames": lambda media, info: [media_url(file) for file in media.frames],
        "owner": lambda media, info: info.context.user_by_id(media.owner_id),
        "stages": media_stages,
    },
}
