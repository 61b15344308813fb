"""What people do for their own accounts without an admin: sign up and reset a password
(hub/signup.py, hub/password_reset.py), bundled for the GraphQL services and `/api/*`."""

from __future__ import annotations

from dataclasses import dataclass

from storage import Store

from .accounts import Accounts
from .config import Settings
from .live import LiveStages
from .password_reset import Mail, PasswordResets
from .signup import SignUps


@dataclass(frozen=True)
class SelfService:
    resets: PasswordResets
    signups: SignUps

    @classmethod
    def build(cls, store: Store, accounts: Accounts, mail: Mail, settings: Settings, live: LiveStages) -> SelfService:
        return cls(
            PasswordResets(store, accounts, mail, settings, live.sign_out),
            SignUps(store, accounts, mail),
        )
