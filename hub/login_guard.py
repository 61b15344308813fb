"""Throttles for the calls that check or set a password, or mint tokens: online guessing and
registration floods are refused (`rate_limited`, with a wait) before any argon2 work.

- Every attempt (login, register, changePassword, refreshToken) spends from its client
  address's bucket (`HUB_LOGIN_RATE_*`), so one address cannot spray many accounts.
- A wrong password spends from the account's bucket for that address (`HUB_LOGIN_FAILURE_*`)
  and from the account's bucket for all addresses (`HUB_ACCOUNT_FAILURE_*`), so a guesser
  cannot try many passwords on one account. A single address never drains the second one
  faster than it refills (its own failure rate is lower), so one guesser cannot lock the owner
  out; many addresses together can, and then the owner waits with them (docs/security.md).
- Registrations also spend from the address's registration bucket (`HUB_REGISTER_RATE_*`).

Checks still in flight count as failures in advance, so parallel guesses cannot overshoot.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

from .config import Settings
from .inbound import Refused
from .ratelimit import KeyedBuckets, KeyedCounter

MAX_RETRY_AFTER = 24 * 3600


class Throttled(Refused):
    """Too many attempts: `retry_after` is whole seconds until the next one may succeed."""

    def __init__(self, wait: float, message: str) -> None:
        self.retry_after = int(min(MAX_RETRY_AFTER, max(1, math.ceil(wait))))
        super().__init__("rate_limited", f"{message}: try again in {self.retry_after} s.")


@dataclass
class PasswordCheck:
    """One password check under way; set `failed` when the password was wrong."""

    failed: bool = False


class LoginGuard:
    """The buckets of the module doc, for one hub process."""

    def __init__(self, settings: Settings) -> None:
        self.attempts = KeyedBuckets(settings.login_rate_limit, settings.login_rate_burst)
        self.failures = KeyedBuckets(settings.login_failure_rate_limit, settings.login_failure_burst)
        self.account_failures = KeyedBuckets(settings.account_failure_rate_limit, settings.account_failure_burst)
        self.registrations = KeyedBuckets(settings.register_rate_limit, settings.register_rate_burst)
        self._in_flight = KeyedCounter(limit=1 << 30)

    def attempt(self, address: str) -> None:
        """Count one attempt from `address`, or raise Throttled."""
        if not self.attempts.take(address):
            raise Throttled(self.attempts.wait(address), "Too many attempts from your address")

    def registration(self, address: str) -> None:
        """Count one registration (and attempt) from `address`, or raise Throttled."""
        self.attempt(address)
        if not self.registrations.take(address):
            raise Throttled(self.registrations.wait(address), "Too many new accounts from your address")

    @contextlib.contextmanager
    def password_check(self, username: str, address: str) -> Iterator[PasswordCheck]:
        """Around one password check of `username` from `address`: Throttled before it when the
        account has failed too often; a failed check spends the account's buckets after it."""
        account = username.lower()
        keys = ((self.failures, f"{account}\n{address}"), (self.account_failures, account))
        for buckets, key in keys:
            needed = self._in_flight.count(key) + 1
            wait = buckets.wait(key, min(needed, buckets.burst))
            if needed > buckets.burst:  # more checks in flight than the account may fail
                wait = max(wait, 1.0)
            if wait > 0:
                raise Throttled(wait, "Too many failed logins for this account")
        for _, key in keys:
            self._in_flight.acquire(key)
        check = PasswordCheck()
        try:
            yield check
        finally:
            for buckets, key in keys:
                self._in_flight.release(key)
                if check.failed:
                    buckets.take(key)
