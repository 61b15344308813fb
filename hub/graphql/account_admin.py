"""Admins create users (one, or many from pasted lines) and mail reset links; every user edits
their own profile. Inputs are checked by hub/account_fields.py, errors name the field."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from storage import USER_ROLES, DuplicateError, User

from .. import account_fields as fields
from ..accounts import MAX_PASSWORD, InvalidInput, check_text
from .context import Context, fail
from .users import _target, account_refusals

NO_PASSWORD = "!"  # not an argon2 hash: no password matches it until one is set by a reset link
MAX_LINES = 200


@contextlib.contextmanager
def checked_fields() -> Iterator[None]:
    """A field check's refusal as a `bad_request` naming the field."""
    try:
        yield
    except InvalidInput as exc:
        fail("bad_request", exc.message, exc.field)


async def _create(ctx: Context, username: object, email: object, role: str, active: bool,
                  password: str | None, send_link: bool) -> User:  # fmt: skip
    """One new account, as an admin asked; the reset link is mailed when asked for."""
    with checked_fields():
        name = fields.username(username)
        address = fields.email(email) if email else None
        if role not in USER_ROLES:
            raise InvalidInput("role", f"The role must be one of {', '.join(USER_ROLES)}.")
        if password is None and not send_link:
            raise InvalidInput("password", "Give a password, or have a reset link mailed.")
        if send_link and not address:
            raise InvalidInput("email", "A reset link needs an email address.")
        secret = fields.password(password, name) if password is not None else None
    if address and await ctx.store.get_user_by_email(address):
        fail("conflict", "Another account has this email address.", "email")
    password_hash = await ctx.services.accounts.passwords.hash(secret) if secret else NO_PASSWORD
    try:
        user = await ctx.store.create_user(name, password_hash, role, active=active)
    except DuplicateError:
        fail("conflict", f"The username {name!r} is taken.", "username")
    if address:
        try:
            user = await ctx.store.set_profile(user.id, email=address)
        except DuplicateError:  # taken since the check above: make no account without its address
            await ctx.store.delete_user(user.id, None)
            fail("conflict", "Another account has this email address.", "email")
    if send_link:
        await ctx.services.self_service.resets.issue(user)
    return user


async def create_user(
    _: Any, info: GraphQLResolveInfo, username: str, email: str | None = None, role: str = "player",
    active: bool = True, password: str | None = None, sendResetLink: bool = False,
) -> User:  # fmt: skip
    ctx: Context = info.context
    ctx.require_admin()
    return await _create(ctx, username, email, role, active, password, sendResetLink)


async def create_users(_: Any, info: GraphQLResolveInfo, lines: str) -> list[dict[str, Any]]:
    """Many active accounts from `username,email[,role]` lines, each mailed a reset link; each
    line's result (the user, or why not) in order. Blank lines are skipped."""
    ctx: Context = info.context
    ctx.require_admin()
    rows = [(number, text.strip()) for number, text in enumerate(lines.splitlines(), 1) if text.strip()]
    if len(rows) > MAX_LINES:
        fail("bad_request", f"At most {MAX_LINES} lines at once.", "lines")
    results = []
    for number, text in rows:
        parts = [part.strip() for part in text.split(",")]
        result: dict[str, Any] = {"line": number, "text": text, "ok": False, "user": None, "error": None, "field": None}
        try:
            if len(parts) not in (2, 3):
                raise InvalidInput("lines", "Expected username,email or username,email,role.")
            role = parts[2] if len(parts) == 3 else "player"
            result["user"] = await _create(ctx, parts[0], parts[1], role, True, None, True)
            result["ok"] = True
        except InvalidInput as exc:
            result["error"], result["field"] = exc.message, exc.field
        except GraphQLError as exc:  # from `fail`: this line's answer, not the whole call's
            result["error"], result["field"] = exc.message, (exc.extensions or {}).get("field")
        results.append(result)
    return results


async def send_password_reset(_: Any, info: GraphQLResolveInfo, id: Any) -> bool:
    """An admin mails a user a reset link (their password stays until the link is used)."""
    ctx: Context = info.context
    target = await _target(ctx, id)
    if not target.email:
        fail("bad_request", f"{target.username} has no email address.", "id")
    await ctx.services.self_service.resets.issue(target)
    return True


async def update_profile(
    _: Any, info: GraphQLResolveInfo, displayName: str | None = None, about: str | None = None,
    email: str | None = None, password: str | None = None,
) -> User:  # fmt: skip
    """The caller's own display name, about line and email. A new email needs the current
    password: it is where reset links go, so a borrowed session must not redirect them."""
    ctx: Context = info.context
    user = ctx.require_user()
    changes: dict[str, Any] = {}
    with checked_fields():
        if displayName is not None:
            changes["display_name"] = fields.line(displayName, "displayName", fields.MAX_DISPLAY_NAME)
        if about is not None:
            changes["about"] = fields.line(about, "about", fields.MAX_ABOUT)
        if email is not None:
            changes["email"] = fields.email(email) if email.strip() else None
    if "email" in changes and (changes["email"] or "") != (user.email or ""):
        service = ctx.services.accounts
        with account_refusals():
            secret = check_text(password, "password", MAX_PASSWORD)
            service.guard.attempt(ctx.address)
            right = await service.check_password(user.username, user.password_hash, secret, ctx.address)
        if not right:
            fail("forbidden", "The current password is wrong.", "password")
    try:
        updated = await ctx.store.set_profile(user.id, **changes)
    except DuplicateError:
        fail("conflict", "Another account has this email address.", "email")
    if (updated.email or "") != (user.email or ""):  # links mailed to the old address stop working
        await ctx.store.void_resets(user.id, int(time.time()))
    ctx.revealed.add(updated.id)
    return updated


RESOLVERS = {
    "Mutation": {
        "createUser": create_user,
        "createUsers": create_users,
        "sendPasswordReset": send_password_reset,
        "updateProfile": update_profile,
    },
}
