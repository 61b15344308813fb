"""Logging in, refreshing and logging out: the account rules shared by `/api/*` and GraphQL."""

from __future__ import annotations

from dataclasses import dataclass

from storage import Store, User

from .auth import AuthError, Claims, TokenIssuer, verify_password_async
from .inbound import Refused


class AccountError(Refused):
    """A refused login or refresh; `code` is `unauthenticated` or `forbidden`."""


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User


def issue_pair(tokens: TokenIssuer, user: User) -> TokenPair:
    return TokenPair(
        tokens.issue(user.id, user.username, user.role, "access"),
        tokens.issue(user.id, user.username, user.role, "refresh"),
        tokens.access_ttl,
        user,
    )


async def bearer(store: Store, claims: Claims) -> User:
    """The active user a verified token names, as long as the token is not older than the
    account's last password change; AuthError saying why otherwise (socket, GraphQL, refresh)."""
    user = await store.get_user(claims.user_id)
    if user is None or not user.active:
        raise AuthError("account unknown or disabled")
    if claims.issued_ms < user.sessions_after:
        raise AuthError("session ended by a password change: log in again")
    return user


async def log_in(store: Store, tokens: TokenIssuer, username: str, password: str) -> TokenPair:
    """Check a password; an inactive account (a fresh registration) is refused until activated."""
    user = await store.get_user_by_name(username)
    matches = await verify_password_async(user.password_hash if user else None, password)
    if user is None or not matches:
        raise AccountError("unauthenticated", "wrong username or password")
    if not user.active:
        raise AccountError("forbidden", "this account is not active yet: an admin has to activate it")
    return issue_pair(tokens, user)


def _refresh_claims(tokens: TokenIssuer, refresh_token: str) -> Claims:
    try:
        return tokens.verify(refresh_token, "refresh")
    except AuthError as exc:
        raise AccountError("unauthenticated", str(exc)) from exc


async def refresh(store: Store, tokens: TokenIssuer, refresh_token: str) -> TokenPair:
    """A new pair for a valid, unrevoked refresh token of an active user."""
    claims = _refresh_claims(tokens, refresh_token)
    if not claims.jti or await store.is_revoked(claims.jti):
        raise AccountError("unauthenticated", "this refresh token was revoked: log in again")
    try:
        user = await bearer(store, claims)
    except AuthError as exc:
        raise AccountError("unauthenticated", str(exc)) from exc
    return issue_pair(tokens, user)


async def log_out(store: Store, tokens: TokenIssuer, refresh_token: str) -> None:
    """Revoke a refresh token so that it can never be used again."""
    claims = _refresh_claims(tokens, refresh_token)
    await store.revoke_token(claims.jti, claims.expires)
