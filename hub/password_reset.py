"""Forgotten passwords: mailing a single-use, expiring reset link and using it.

Asking always answers the same, whether the username or email is known or not: the rate limits
are keyed on the address and on the text asked for (never on what it names), and the lookup,
token and mail happen after the answer, in a task, so timing tells nothing either. The token is
32 random bytes; only its SHA-256 is stored (storage/sql/0009_password_resets.sql). Using a link
sets the password and ends every session of the account: refresh families revoked, access
tokens older than the change refused (`sessions_after`), sockets disconnected.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from storage import Store, User

from . import account_fields
from .accounts import MAX_PASSWORD, Accounts, check_text
from .clock import now_ms
from .config import Settings
from .inbound import Refused
from .login_guard import Throttled
from .ratelimit import KeyedBuckets

log = logging.getLogger(__name__)

MAX_LOGIN = 254  # an email address at most
MAX_TOKEN = 128
MIN_TTL = 60


class Mail(Protocol):
    """What sends mail (hub/mail): queues a message and returns at once."""

    @property
    def site_url(self) -> str:
        """Where links in mail point (`HUB_PUBLIC_URL`, never a request's Host header)."""

    def send(self, to: str, template: str, **context: Any) -> Any: ...


class ResetRefused(Refused):
    """A reset link that cannot be used; the message says why (unknown, used, expired, gone)."""

    def __init__(self, message: str) -> None:
        super().__init__("bad_request", message)
        self.field = "token"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class PasswordResets:
    """Reset links for one hub process: asked for by anyone, issued by admins, used once."""

    def __init__(
        self, store: Store, accounts: Accounts, mail: Mail, settings: Settings,
        sign_out: Callable[[int], Awaitable[object]],
    ) -> None:  # fmt: skip
        self.store, self.accounts, self.mail = store, accounts, mail
        self.ttl = max(MIN_TTL, settings.reset_ttl)
        self.sign_out = sign_out
        self.per_address = KeyedBuckets(settings.reset_rate_limit, settings.reset_rate_burst)
        self.per_login = KeyedBuckets(settings.reset_rate_limit, settings.reset_rate_burst)
        self._tasks: set[asyncio.Task[None]] = set()

    def ask(self, login: object, address: str) -> None:
        """Someone forgot their password: mail a link if `login` names an active account with an
        email, later; the caller answers the same either way. Throttled per address and per login."""
        text = check_text(login, "login", MAX_LOGIN).strip()
        self.accounts.guard.attempt(address)
        for buckets, key, what in (
            (self.per_address, address, "your address"),
            (self.per_login, text.lower(), "this name or address"),
        ):
            if not buckets.take(key):
                raise Throttled(buckets.wait(key), f"Too many reset requests for {what}")
        task = asyncio.get_running_loop().create_task(self._mail_link(text))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _mail_link(self, login: str) -> None:
        try:
            user = await self.store.get_user_by_email(login) if "@" in login else None
            user = user or await self.store.get_user_by_name(login)
            if user is None or not user.active or not user.email:
                return
            if not self.per_login.take(f"user:{user.id}"):  # asked for by name and by email in turn
                return
            await self.issue(user)
        except Exception:  # a background task: nobody else would hear of it
            log.exception("mailing a password reset link failed")

    async def issue(self, user: User, template: str = "password_reset") -> str:
        """Store a new link for `user` and mail it to their address; returns the link."""
        token = secrets.token_urlsafe(32)
        now = int(time.time())
        await self.store.create_reset(token_hash(token), user.id, now + self.ttl, now)
        link = f"{self.mail.site_url}/reset#token={token}"
        if user.email:
            self.mail.send(
                user.email, template, username=user.username, reset_link=link, expires_minutes=self.ttl // 60
            )
        return link

    async def use(self, token: object, password: object, address: str) -> User:
        """Set a new password with a link's token and end every session of its account."""
        text = check_text(token, "token", MAX_TOKEN)
        secret = check_text(password, "password", MAX_PASSWORD)
        self.accounts.guard.attempt(address)
        hashed = token_hash(text)
        link = await self.store.get_reset(hashed)
        if link is None:  # looked up by the hash itself: nothing left to compare
            raise ResetRefused("This reset link is not valid (mistyped or cut short?): ask for a new one.")
        if link.used_at is not None:
            raise ResetRefused("This reset link was already used: ask for a new one if you need it.")
        if link.expires_at < time.time():
            raise ResetRefused("This reset link has expired: ask for a new one.")
        user = await self.store.get_user(link.user_id)
        if user is None:
            raise ResetRefused("The account this link was for no longer exists.")
        account_fields.password(secret, user.username)
        password_hash = await self.accounts.passwords.hash(secret)
        if not await self.store.use_reset(hashed, int(time.time())):
            raise ResetRefused("This reset link was already used: ask for a new one if you need it.")
        updated = await self.store.update_user(user.id, password_hash=password_hash, sessions_after=now_ms())
        await self.store.revoke_user_families(user.id)
        await self.sign_out(user.id)
        return updated

    async def drain(self) -> None:
        """Wait for the links being mailed (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
