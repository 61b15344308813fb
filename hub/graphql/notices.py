"""Notices by mail (issue 18): a stage's owner hears when someone is given access to it, a
medium's owner when someone asks to use it, and the asker when the owner answers. Mail is only
queued (`Mailer.send` never blocks); a user without an email address is simply not mailed."""

from __future__ import annotations

import logging
import weakref
from typing import Any

from storage import Media, Stage, Store, User
from storage.library import APPROVED, MediaRequest

from ..ratelimit import KeyedBuckets
from .context import Context

log = logging.getLogger(__name__)

# Access notices cannot be turned on an inbox or the mail queue (access given, taken and given
# again; hundreds of users added at once): a user hears about one stage at most twice, then once
# an hour; one person's changes send at most 30 access notices, then 30 an hour.
RECIPIENT_RATE, RECIPIENT_BURST = 1 / 3600, 2
ACTOR_RATE, ACTOR_BURST = 30 / 3600, 30
_throttles: weakref.WeakKeyDictionary[Store, tuple[KeyedBuckets, KeyedBuckets]] = weakref.WeakKeyDictionary()


def access_notice_allowed(ctx: Context, recipient: User, stage: Stage, about: User) -> bool:
    """Whether one more notice of `about`'s access to `stage` may go to `recipient` (spends a token if so)."""
    per_actor, per_recipient = _throttles.setdefault(
        ctx.store, (KeyedBuckets(ACTOR_RATE, ACTOR_BURST), KeyedBuckets(RECIPIENT_RATE, RECIPIENT_BURST))
    )
    actor, key = str(ctx.user.id if ctx.user else "anonymous"), f"{stage.id}:{recipient.id}:{about.id}"
    if not recipient.email or per_actor.wait(actor) or per_recipient.wait(key):
        if recipient.email:
            log.warning("access notice to user %s about stage %s not sent: throttled", recipient.id, stage.id)
        return False
    return per_actor.take(actor) and per_recipient.take(key)


def site_url(ctx: Context) -> str:
    settings = ctx.services.settings
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def mail(ctx: Context, user: User | None, template: str, **context: Any) -> None:
    """Queue `template` for `user` when they have an address; a refused address is logged, not raised."""
    if user is None or not user.email:
        return
    try:
        ctx.services.mailer.send(user.email, template, **context)
    except ValueError as exc:
        log.warning("not mailing %s to user %s: %s", template, user.id, exc)


def name_of(user: User) -> str:
    return user.display_name or user.username


async def media_requested(ctx: Context, media: Media, requester: User, note: str) -> None:
    owner = await ctx.store.get_user(media.owner_id)
    if owner is not None:
        mail(
            ctx, owner, "media_permission_request", owner_name=name_of(owner), username=requester.username,
            media_name=media.name, note=note or "(none)", studio_url=f"{site_url(ctx)}/studio#requests",
        )


async def media_answered(ctx: Context, media: Media, request: MediaRequest) -> None:
    requester = await ctx.store.get_user(request.user_id)
    owner = await ctx.store.get_user(media.owner_id)
    if requester is not None and owner is not None:
        answer = "approved" if request.status == APPROVED else "refused"
        mail(
            ctx, requester, "media_permission_answer", username=name_of(requester), owner_name=name_of(owner),
            media_name=media.name, answer=answer, studio_url=f"{site_url(ctx)}/studio#requests",
        )


async def access_given(ctx: Context, before: Stage, after: Stage) -> None:
    """Mail the stage's owner about each user newly given player or editor access (unless the owner
    gave it themselves), and the user given it."""
    added = [(uid, "editor") for uid in sorted(after.editors - before.editors)]
    added += [(uid, "player") for uid in sorted(after.players - before.players - after.editors)]
    if not added:
        return
    owner = await ctx.store.get_user(after.owner_id)
    stage_url = f"{site_url(ctx)}/stage/{after.slug}"
    for user_id, access in added:
        user = await ctx.store.get_user(user_id)
        if user is None or owner is None:
            continue
        if (ctx.user is None or ctx.user.id != owner.id) and access_notice_allowed(ctx, owner, after, user):
            mail(
                ctx, owner, "stage_access_given", owner_name=name_of(owner), username=user.username,
                access=access, stage_name=after.name, stage_url=stage_url,
            )
        if access_notice_allowed(ctx, user, after, user):
            mail(ctx, user, "stage_access_to_you", username=name_of(user), owner_name=name_of(owner),
                 access=access, stage_name=after.name, stage_url=stage_url)
