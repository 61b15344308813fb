"""The media library the original had, over GraphQL: tags, sharing a medium with chosen users,
dormant media, and permission requests for others' level-2 ("ask permission") media.

Only a medium's owner or an admin tags it, shares it, marks it dormant or answers requests for
it. A dormant medium is left out of stage toolboxes (`Stage.media`) and cannot be newly assigned,
but keeps its files and its assignments (replays and stage states still show it). A share or an
approved request makes the medium usable by that user as their own is (listed, assignable).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Awaitable
from typing import Any

from graphql import GraphQLResolveInfo

from storage import Media, MediaQuery, Stage, Store
from storage.library import REQUESTABLE_LEVEL, MediaRequest

from ..ratelimit import KeyedBuckets
from . import media as media_api
from . import notices
from .context import Context, fail, parse_id
from .loader import mapped
from .stages import _usernames

MAX_TAGS = 20
MAX_TAG = 32
MAX_NOTE = 500
MAX_SHARES = 100
TAG_TEXT = re.compile(r"[\w][\w .\-]*", re.UNICODE)
# Permission requests per user: a burst of 5, then one every 6 minutes (10 an hour).
REQUEST_RATE, REQUEST_BURST = 10 / 3600, 5
_request_buckets: weakref.WeakKeyDictionary[Store, KeyedBuckets] = weakref.WeakKeyDictionary()


def normal_tag(text: str, field: str = "tags") -> str:
    """A tag as stored: trimmed, lower case, inner spaces collapsed; 1-32 letters, digits, spaces,
    dots, dashes and underscores, starting with a letter or digit; else a `bad_request`."""
    tag = " ".join(text.split()).lower()
    if not 0 < len(tag) <= MAX_TAG or not TAG_TEXT.fullmatch(tag):
        fail("bad_request", f"A tag has 1-{MAX_TAG} letters, digits, spaces, dots, dashes or underscores.", field)
    return tag


def normal_tags(texts: list[str]) -> list[str]:
    tags = list(dict.fromkeys(normal_tag(text) for text in texts))
    if len(tags) > MAX_TAGS:
        fail("bad_request", f"A medium has at most {MAX_TAGS} tags.", "tags")
    return tags


# queries


async def list_media(_: Any, info: GraphQLResolveInfo, filter: dict[str, Any] | None = None) -> list[Media]:
    """`media(filter)`: as before, narrowed by `tag` and `dormant`; `requestable: true` lists instead
    the others' level-2 media the caller may ask to use."""
    ctx: Context = info.context
    filter = dict(filter or {})
    extra: dict[str, Any] = {}
    if filter.get("tag") is not None:
        extra["tag"] = normal_tag(filter["tag"], "tag")
    if filter.get("dormant") is not None:
        extra["dormant"] = filter["dormant"]
    if filter.pop("requestable", None):
        user = ctx.require_user()
        extra["requestable_by"] = user.id
    return await media_api.list_media(_, info, filter, extra, bool(extra.get("requestable_by")))


async def media_requests(_: Any, info: GraphQLResolveInfo, incoming: bool) -> list[MediaRequest]:
    """The requests for the caller's media (incoming; an admin sees everyone's) or their own."""
    ctx: Context = info.context
    user = ctx.require_user()
    if incoming:
        return await ctx.store.requests_to(None if ctx.is_admin else user.id)
    # Only for media the asker may still see: one its owner has since made level 3 or dormant is as if absent.
    seen = await ctx.store.list_media(await media_api.usable_query(ctx))
    seen += await ctx.store.list_media(MediaQuery(requestable_by=user.id))
    seen_ids = {m.id for m in seen}
    return [request for request in await ctx.store.requests_by(user.id) if request.media_id in seen_ids]


# mutations


async def save_media(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> Media:
    """`saveMedia` with the library's fields: `tags` (replaced), `dormant`, `sharedWith` (usernames,
    replaced). Everything is checked before anything changes."""
    ctx: Context = info.context
    media = await media_api.owned_media(ctx, input["id"])
    rest = {k: v for k, v in input.items() if k not in ("tags", "dormant", "sharedWith")}
    tags = normal_tags(input["tags"]) if input.get("tags") is not None else None
    shares = None
    if input.get("sharedWith") is not None:
        if len(input["sharedWith"]) > MAX_SHARES:
            fail("bad_request", f"A medium is shared with at most {MAX_SHARES} users.", "sharedWith")
        shares = [i for i in await _usernames(ctx, input["sharedWith"], "sharedWith") if i != media.owner_id]
    updated = await media_api.save_media(_, info, rest)
    if tags is not None:
        await ctx.store.set_tags(media.id, tags)
    if shares is not None:
        await ctx.store.set_shares(media.id, shares)
    if input.get("dormant") is not None:
        updated = await ctx.store.update_media(media.id, dormant=bool(input["dormant"]))
    return await ctx.store.require_media(updated.id)


async def request_media(_: Any, info: GraphQLResolveInfo, id: Any, note: str | None = None) -> MediaRequest:
    """Ask to use someone else's level-2 medium; its owner hears by mail and in the studio. One
    pending request per user and medium; rate limited per user."""
    ctx: Context = info.context
    user = ctx.require_user()
    found, usable = await media_api.looked_up(ctx, parse_id(id))
    if found is None:
        fail("not_found", "There is no such media.", "id")
    if usable:
        fail("conflict", "You may already use this media.", "id")
    if found.copyright_level != REQUESTABLE_LEVEL or found.dormant:  # not theirs to see: as if absent
        fail("not_found", "There is no such media.", "id")
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        fail("bad_request", f"A note has at most {MAX_NOTE} characters.", "note")
    buckets = _request_buckets.setdefault(ctx.store, KeyedBuckets(REQUEST_RATE, REQUEST_BURST))
    if not buckets.take(str(user.id)):
        fail("rate_limited", "Too many requests; try again later.")
    request = await ctx.store.create_request(found.id, user.id, text)
    if request is None:
        fail("conflict", "You have already asked for this media; its owner has not answered yet.", "id")
    await notices.media_requested(ctx, found, user, text)
    return request


async def answer_request(_: Any, info: GraphQLResolveInfo, id: Any, approve: bool) -> MediaRequest:
    """The medium's owner (or an admin) approves (granting use) or refuses a pending request."""
    ctx: Context = info.context
    user = ctx.require_user()
    request = await ctx.store.get_request(parse_id(id))
    found = await ctx.store.get_media(request.media_id) if request is not None else None
    if request is None or found is None or (found.owner_id != user.id and not ctx.is_admin):
        fail("not_found", "There is no such request.", "id")
    answered = await ctx.store.answer_request(request.id, approve)
    if answered is None:
        fail("conflict", "This request has already been answered.", "id")
    await notices.media_answered(ctx, found, answered)
    return answered


async def assign_media(_: Any, info: GraphQLResolveInfo, stageId: Any, mediaIds: list[Any]) -> Stage:
    """`assignMedia`, keeping the stage's dormant media: the toolbox never lists them, so a client
    cannot send them back, and replays and stage states still use them."""
    ctx: Context = info.context
    stage = await ctx.stage(stageId, "edit")
    dormant = [m.id for m in await ctx.store.stage_media(stage.id) if m.dormant]
    wanted = [parse_id(media_id, "mediaIds") for media_id in mediaIds]
    kept = [media_id for media_id in wanted if media_id not in dormant]
    result = await media_api.assign_media(_, info, stageId, [str(i) for i in kept])
    if dormant:
        await ctx.store.assign_media(stage.id, kept + dormant)
    return result


def shared_with(media: Media, info: GraphQLResolveInfo) -> list[Any] | Awaitable[list[Any]]:
    """Whom the owner shares the medium with (batched over a list): for its owner and admins only."""
    ctx: Context = info.context
    if ctx.user is None or (media.owner_id != ctx.user.id and not ctx.is_admin):
        return []
    return mapped(ctx.lookups.media_shares.get(media.id), ctx.users)


def stage_media(stage: Stage, info: GraphQLResolveInfo) -> list[Media] | Awaitable[list[Media]]:
    """`Stage.media` without the dormant media: what a toolbox offers."""
    return mapped(info.context.lookups.stage_media.get(stage.id), lambda found: [m for m in found if not m.dormant])


RESOLVERS = {
    "Query": {"media": list_media, "mediaRequests": media_requests},
    "Mutation": {
        "saveMedia": save_media, "assignMedia": assign_media,
        "requestMedia": request_media, "answerMediaRequest": answer_request,
    },
    "Media": {"sharedWith": shared_with},
    "Stage": {"media": stage_media},
    "MediaRequest": {
        "media": lambda request, info: info.context.store.require_media(request.media_id),
        "requester": lambda request, info: info.context.user_by_id(request.user_id),
    },
}  # fmt: skip
