"""Accounts over GraphQL: login, refresh, logout, registration, passwords and admin user management.

A player can only read themself and change their own password; everything else about users is
for admins, and the hub always keeps one active admin.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from storage import ADMIN_ROLES, USER_ROLES, DuplicateError, User

from .. import accounts
from ..auth import password_problem
from ..cli import USERNAME
from ..clock import now_ms
from ..login_guard import Throttled
from ..media_files import remove_unused
from ..signup import self_signup_open
from .context import Context, fail, parse_id
from .stages import close_room

MAX_UPLOAD_LIMIT = 1024 * 1024 * 1024


def _payload(ctx: Context, pair: accounts.TokenPair) -> dict[str, Any]:
    ctx.revealed.add(pair.user.id)
    return {
        "accessToken": pair.access_token,
        "refreshToken": pair.refresh_token,
        "expiresIn": pair.expires_in,
        "user": pair.user,
    }


@contextlib.contextmanager
def account_refusals() -> Iterator[None]:
    """Account refusals as GraphQL errors: a malformed credential names its field, a throttled
    call says when to try again (`extensions.retryAfter`, seconds)."""
    try:
        yield
    except accounts.InvalidInput as exc:
        fail("bad_request", exc.message, "refreshToken" if exc.field == "refresh_token" else exc.field)
    except Throttled as exc:
        raise GraphQLError(exc.message, extensions={"code": exc.code, "retryAfter": exc.retry_after}) from None


async def login(_: Any, info: GraphQLResolveInfo, username: str, password: str) -> dict[str, Any]:
    ctx: Context = info.context
    with account_refusals():
        return _payload(ctx, await ctx.services.accounts.log_in(username, password, ctx.address))


async def refresh_token(_: Any, info: GraphQLResolveInfo, refreshToken: str) -> dict[str, Any]:
    ctx: Context = info.context
    with account_refusals():
        return _payload(ctx, await ctx.services.accounts.refresh(refreshToken, ctx.address))


async def logout(_: Any, info: GraphQLResolveInfo, refreshToken: str) -> bool:
    ctx: Context = info.context
    with account_refusals():
        await ctx.services.accounts.log_out(refreshToken)
    return True


def check_password(password: str, username: str, field: str = "password") -> None:
    problem = password_problem(password, username)
    if problem:
        fail("bad_request", problem[0].upper() + problem[1:] + ".", field)


async def register(_: Any, info: GraphQLResolveInfo, username: str, password: str) -> User:
    """A new player, inactive until an admin activates them, while self sign-up is open;
    registrations from one address are throttled before anything else."""
    ctx: Context = info.context
    if not await self_signup_open(ctx.store):  # the same switch as /signup (hub/signup.py)
        fail("forbidden", "Sign-up is closed on this site: ask an admin for an account.")
    with account_refusals():
        ctx.services.accounts.guard.registration(ctx.address)
    if not USERNAME.fullmatch(username):  # `match` would let "name\n" through
        fail("bad_request", "A username has 2-40 letters, digits, '.', '_' or '-'.", "username")
    check_password(password, username)
    password_hash = await ctx.services.accounts.passwords.hash(password)
    try:
        created = await ctx.store.create_user(username, password_hash, "player", active=False)
    except DuplicateError:
        fail("conflict", f"The username {username!r} is taken.", "username")
    ctx.revealed.add(created.id)
    return created


async def change_password(_: Any, info: GraphQLResolveInfo, oldPassword: str, newPassword: str) -> bool:
    """The caller's own password, checked (and throttled) like a login first."""
    ctx: Context = info.context
    user = ctx.require_user()
    service = ctx.services.accounts
    with account_refusals():
        accounts.check_text(oldPassword, "oldPassword", accounts.MAX_PASSWORD)
        service.guard.attempt(ctx.address)
        right = await service.check_password(user.username, user.password_hash, oldPassword, ctx.address)
    if not right:
        fail("forbidden", "The current password is wrong.", "oldPassword")
    check_password(newPassword, user.username, "newPassword")
    # Every session of the account ends, this one too: whoever knew the old password is out.
    password_hash = await service.passwords.hash(newPassword)
    await ctx.store.update_user(user.id, password_hash=password_hash, sessions_after=now_ms())
    await sign_out(ctx, user.id)
    return True


async def whoami(_: Any, info: GraphQLResolveInfo) -> User | None:
    return info.context.user


async def list_users(
    _: Any, info: GraphQLResolveInfo, search: str | None = None, active: bool | None = None
) -> list[User]:
    ctx: Context = info.context
    ctx.require_admin()
    return await ctx.store.list_users(search, active)


async def usernames(_: Any, info: GraphQLResolveInfo, search: str) -> list[str]:
    """Active users' names matching `search`, so a player can pick who plays on or edits their
    stage (the backstage access picker); names only, nothing else about them."""
    ctx: Context = info.context
    ctx.require_user()
    search = search.strip()
    if len(search) < 2:
        return []
    return [user.username for user in await ctx.store.list_users(search, active=True)][:20]


async def _target(ctx: Context, user_id: Any) -> User:
    ctx.require_admin()
    target = await ctx.store.get_user(parse_id(user_id))
    if target is None:
        fail("not_found", "There is no such user.")
    return target


async def _keep_an_admin(ctx: Context, target: User) -> None:
    if target.role in ADMIN_ROLES and target.active and await ctx.store.count_admins() <= 1:
        fail("conflict", "This is the last active admin: make another admin first.")


async def update_user(
    _: Any, info: GraphQLResolveInfo, id: Any, role: str | None = None, active: bool | None = None,
    uploadLimit: int | None = None,
) -> User:
    """Admins set a user's role, whether they may log in, and their upload limit."""
    ctx: Context = info.context
    target = await _target(ctx, id)
    changes: dict[str, Any] = {}
    if role is not None:
        if role not in USER_ROLES:
            fail("bad_request", f"The role must be one of {', '.join(USER_ROLES)}.", "role")
        changes["role"] = role
    if active is not None:
        changes["active"] = active
    if uploadLimit is not None:
        if not 0 < uploadLimit <= MAX_UPLOAD_LIMIT:
            fail("bad_request", f"The upload limit must be between 1 byte and {MAX_UPLOAD_LIMIT} bytes.", "uploadLimit")
        changes["upload_limit"] = uploadLimit
    if changes.get("role", target.role) not in ADMIN_ROLES or changes.get("active", target.active) is False:
        await _keep_an_admin(ctx, target)
    updated = await ctx.store.update_user(target.id, **changes)
    if updated.active and not target.active:  # the user hears of it by mail (hub/signup.py)
        ctx.services.self_service.signups.activated(updated)
    if updated.role != target.role or not updated.active:
        await sign_out(ctx, target.id)
    return updated


async def sign_out(ctx: Context, user_id: int) -> None:
    """Disconnect the user's sockets on every hub process (`LiveStages.sign_out`): a deactivated
    or deleted account, or one whose role or password changed, must not keep acting with what it
    was when it connected."""
    await ctx.live.sign_out(user_id)


async def delete_user(_: Any, info: GraphQLResolveInfo, id: Any, content: str = "REASSIGN_TO_ADMIN") -> bool:
    """Delete a user; their stages and media go to the calling admin, or are deleted too."""
    ctx: Context = info.context
    target = await _target(ctx, id)
    admin = ctx.require_admin()
    if target.id == admin.id:
        fail("forbidden", "You cannot delete your own account.")
    await _keep_an_admin(ctx, target)
    heir = admin.id if content == "REASSIGN_TO_ADMIN" else None
    owned = [s for s in await ctx.store.list_stages() if s.owner_id == target.id]
    unused = await ctx.store.delete_user(target.id, heir)
    await sign_out(ctx, target.id)
    if heir is None:
        for stage in owned:
            await close_room(ctx, stage, "this stage was deleted", delete=True)
    remove_unused(ctx.services.settings.media_dir, unused)
    return True


def _account_field(read: Callable[[Context, User], Any]) -> Callable[[User, GraphQLResolveInfo], Any]:
    """A User field only the user themself and admins may read (see `Context.sees_account`)."""

    def resolve(user: User, info: GraphQLResolveInfo) -> Any:
        ctx: Context = info.context
        if not ctx.sees_account(user):
            fail("forbidden", "Only the user themself and admins see this about an account.")
        return read(ctx, user)

    return resolve


RESOLVERS = {
    "Query": {"whoami": whoami, "users": list_users, "usernames": usernames},
    "Mutation": {
        "login": login,
        "refreshToken": refresh_token,
        "logout": logout,
        "register": register,
        "changePassword": change_password,
        "updateUser": update_user,
        "deleteUser": delete_user,
    },
    "User": {
        "role": _account_field(lambda ctx, user: user.role),
        "active": _account_field(lambda ctx, user: user.active),
        "uploadLimit": _account_field(lambda ctx, user: ctx.upload_limit(user)),
        "createdAt": _account_field(lambda ctx, user: user.created_at),
        "email": _account_field(lambda ctx, user: user.email),
    },
}
