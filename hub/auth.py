"""Passwords (argon2id) and JSON Web Tokens (HS256) for players; audience need neither."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .inbound import Refused

_hasher = PasswordHasher()
ALGORITHM = "HS256"
COMMON_PASSWORDS = frozenset(
    {"password", "12345678", "123456789", "qwertyui", "iloveyou", "letmein1", "password1", "upstage1"}
)
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # checked before any argon2 work
T = TypeVar("T")


class AuthError(Exception):
    """A token or password that does not authenticate; the message says why."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class Passwords:
    """argon2 off the event loop, with at most `concurrency` hashes in flight (each holds 64 MiB)
    and at most `queue` callers waiting for one; past that the caller is refused with
    `unavailable` at once, so a flood of logins costs neither memory nor an unbounded wait."""

    def __init__(self, concurrency: int, queue: int) -> None:
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self.queue = queue
        self._waiting = 0
        self._dummy_hash = ""

    async def hash(self, password: str) -> str:
        return await self._run(hash_password, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; without a hash (no such user) it verifies against a dummy
        one, so that an unknown username takes as long to refuse as a wrong password."""
        if password_hash is None:
            if not self._dummy_hash:
                self._dummy_hash = await self.hash(uuid.uuid4().hex)
            await self._run(verify_password, self._dummy_hash, password)
            return False
        return await self._run(verify_password, password_hash, password)

    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        if self._slots.locked() and self._waiting >= self.queue:
            raise Refused("unavailable", "The hub is busy checking passwords: try again in a moment.")
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        # The slot is given back when the thread ends, not when the caller stops waiting: a
        # cancelled request must not let more hashes run than the cap.
        running = asyncio.ensure_future(asyncio.to_thread(work, *args))
        running.add_done_callback(lambda _: self._slots.release())
        return await asyncio.shield(running)


def password_problem(password: str, username: str = "") -> str | None:
    """Why a password is too weak to accept, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"password must have at most {MAX_PASSWORD_LENGTH} characters"
    if len(set(password)) < 4:
        return "password must use at least 4 different characters"
    if password.lower() in COMMON_PASSWORDS or (username and username.lower() in password.lower()):
        return "password is too easy to guess"
    return None


@dataclass(frozen=True)
class Claims:
    """What a verified token says about its bearer."""

    user_id: int
    username: str
    role: str
    kind: str
    jti: str = ""
    expires: int = 0
    issued_ms: int = 0  # when the token was signed, in ms: tokens older than a password change end
    family: str = ""  # a refresh token's login (rotation, reuse detection); "" before rotation existed


class TokenIssuer:
    """Signs and verifies access and refresh tokens with one secret key."""

    def __init__(self, secret: str, access_ttl: int, refresh_ttl: int) -> None:
        self._secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl

    def issue(
        self, user_id: int, username: str, role: str, kind: str = "access", ttl: int | None = None,
        jti: str | None = None, family: str | None = None, expires: int | None = None,
    ) -> str:
        """A signed token of `kind`; `ttl` (seconds) overrides the kind's lifetime (service tokens),
        `expires` (epoch seconds) sets it outright; a refresh token names its `family` and `jti`."""
        now_ms = time.time_ns() // 1_000_000
        now = now_ms // 1000
        if ttl is None:
            ttl = self.access_ttl if kind == "access" else self.refresh_ttl
        claims: dict[str, Any] = {
            "sub": str(user_id),
            "name": username,
            "role": role,
            "typ": kind,
            "iat": now,
            "iatm": now_ms,
            "exp": now + ttl if expires is None else expires,
            "jti": jti or uuid.uuid4().hex,
        }
        if family:
            claims["fam"] = family
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str, kind: str = "access") -> Claims:
        """Decode a token of the expected kind or raise AuthError saying why it is refused."""
        try:
            data = jwt.decode(token, self._secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("token expired") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthError("invalid token") from exc
        if data.get("typ") != kind:
            raise AuthError(f"not an {kind} token" if kind == "access" else f"not a {kind} token")
        try:
            return Claims(
                int(data["sub"]), str(data.get("name", "")), str(data.get("role", "")), kind,
                str(data.get("jti", "")), int(data["exp"]), int(data.get("iatm", int(data.get("iat", 0)) * 1000)),
                str(data.get("fam", "")),
            )
        except (TypeError, ValueError) as exc:
            raise AuthError("invalid token") from exc
