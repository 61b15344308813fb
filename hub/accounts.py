"""Logging in, refreshing and logging out: the account rules (and throttles) shared by `/api/*`
and GraphQL.

Refresh tokens rotate: each login is a family (a row in `refresh_families`) whose one current
token may be used; using it returns a new pair and retires it. A retired token presented again
means it was copied, so the whole family is revoked (thief and owner log in again), except the
token retired last, within `HUB_REFRESH_REUSE_GRACE` seconds of its rotation: that is two tabs
or a retried request refreshing at the same moment, and it gets the family's current token
again (re-signed, same id) without rotating further.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from storage import Store, User

from .auth import AuthError, Claims, Passwords, TokenIssuer
from .config import Settings
from .inbound import Refused
from .login_guard import LoginGuard

MAX_USERNAME = 40
MAX_PASSWORD = 1024
MAX_TOKEN = 4096


class AccountError(Refused):
    """A refused login or refresh; `code` is `unauthenticated` or `forbidden`."""


class InvalidInput(Refused):
    """A malformed credential, refused before any work; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__("bad_request", message)
        self.field = field


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User


async def bearer(store: Store, claims: Claims) -> User:
    """The active user a verified token names, as long as the token is not older than the
    account's last password change; AuthError saying why otherwise (socket, GraphQL, refresh)."""
    user = await store.get_user(claims.user_id)
    if user is None or not user.active:
        raise AuthError("account unknown or disabled")
    if claims.issued_ms < user.sessions_after:
        raise AuthError("session ended by a password change: log in again")
    return user


def check_text(value: object, field: str, limit: int) -> str:
    """`value` as a non-empty string of at most `limit` characters, or InvalidInput naming `field`."""
    if not isinstance(value, str) or not value:
        raise InvalidInput(field, f"{field} is required and must be a string")
    if len(value) > limit:
        raise InvalidInput(field, f"{field} must have at most {limit} characters")
    return value


class Accounts:
    """Password checks, logins and refresh-token families for one hub process."""

    def __init__(self, store: Store, tokens: TokenIssuer, settings: Settings) -> None:
        self.store, self.tokens = store, tokens
        self.guard = LoginGuard(settings)
        self.passwords = Passwords(settings.password_concurrency, settings.password_queue)
        self.reuse_grace_ms = int(settings.refresh_reuse_grace * 1000)

    async def check_password(self, username: str, password_hash: str | None, password: str, address: str) -> bool:
        """Whether `password` is right, throttled per account and address (Throttled before any
        argon2 work when the account failed too often); a wrong one counts as a failure."""
        with self.guard.password_check(username, address) as check:
            check.failed = not await self.passwords.verify(password_hash, password)
        return not check.failed

    async def log_in(self, username: object, password: object, address: str) -> TokenPair:
        """Check a password; an inactive account (a fresh registration) is refused until activated."""
        name = check_text(username, "username", MAX_USERNAME)
        secret = check_text(password, "password", MAX_PASSWORD)
        self.guard.attempt(address)
        user = await self.store.get_user_by_name(name)
        if not await self.check_password(name, user.password_hash if user else None, secret, address) or user is None:
            raise AccountError("unauthenticated", "wrong username or password")
        if not user.active:
            raise AccountError("forbidden", "this account is not active yet: an admin has to activate it")
        family, jti = uuid.uuid4().hex, uuid.uuid4().hex
        expires = int(time.time()) + self.tokens.refresh_ttl
        await self.store.start_family(family, user.id, jti, expires)
        return self._pair(user, family, jti, expires)

    async def refresh(self, refresh_token: object, address: str) -> TokenPair:
        """A new pair for the current refresh token of a live family of an active user."""
        self.guard.attempt(address)
        claims = self._refresh_claims(refresh_token)
        family = await self._family_of(claims)
        user = await self._owner(claims)
        now_ms = time.time_ns() // 1_000_000
        new_jti = uuid.uuid4().hex
        expires = now_ms // 1000 + self.tokens.refresh_ttl
        if await self.store.rotate_family(family, claims.jti, new_jti, now_ms, expires):
            return self._pair(user, family, new_jti, expires)
        found = await self.store.get_family(family)
        if found is None or found.expires_at * 1000 < now_ms:
            raise AccountError("unauthenticated", "this login has expired: log in again")
        if found.revoked:
            raise AccountError(
                "unauthenticated",
                "this login was revoked (logged out, or a refresh token was used twice): log in again",
            )
        if found.previous_jti == claims.jti and now_ms - found.rotated_at <= self.reuse_grace_ms:
            return self._pair(user, family, found.current_jti, found.expires_at)  # two tabs at once
        await self.store.revoke_family(family)
        raise AccountError(
            "unauthenticated",
            "this refresh token was already used, so it may have been copied: the login is revoked, log in again",
        )

    async def log_out(self, refresh_token: object) -> None:
        """End the login a refresh token belongs to: none of its tokens works again."""
        claims = self._refresh_claims(refresh_token)
        family = claims.family or claims.jti
        await self.store.start_family(family, claims.user_id, claims.jti, claims.expires)  # a pre-rotation token
        await self.store.revoke_family(family)

    def _pair(self, user: User, family: str, jti: str, expires: int) -> TokenPair:
        return TokenPair(
            self.tokens.issue(user.id, user.username, user.role, "access"),
            self.tokens.issue(user.id, user.username, user.role, "refresh", jti=jti, family=family, expires=expires),
            self.tokens.access_ttl,
            user,
        )

    def _refresh_claims(self, refresh_token: object) -> Claims:
        token = check_text(refresh_token, "refresh_token", MAX_TOKEN)
        try:
            claims = self.tokens.verify(token, "refresh")
        except AuthError as exc:
            raise AccountError("unauthenticated", str(exc)) from exc
        if not claims.jti:
            raise AccountError("unauthenticated", "invalid token")
        return claims

    async def _family_of(self, claims: Claims) -> str:
        """The family a refresh token belongs to. A token from before rotation existed has none:
        its own id becomes its family's, so it is rotated (and reuse detected) from now on."""
        if claims.family:
            return claims.family
        if await self.store.is_revoked(claims.jti):
            raise AccountError("unauthenticated", "this refresh token was revoked: log in again")
        await self.store.start_family(claims.jti, claims.user_id, claims.jti, claims.expires)
        return claims.jti

    async def _owner(self, claims: Claims) -> User:
        try:
            return await bearer(self.store, claims)
        except AuthError as exc:
            raise AccountError("unauthenticated", str(exc)) from exc
