"""Self sign-up: a new player, inactive until an admin activates them, when the site allows it.

The site setting `site.selfSignup` (hub_meta, `updateSite(selfSignup:)`) is off unless an admin
turns it on. A taken username is said (the form cannot go on otherwise); a taken email is not:
the answer is the same as for a new account, no account is made, and the address's owner is told
by mail that someone tried to sign up with it (docs/security.md).
"""

from __future__ import annotations

from storage import DuplicateError, Store, User

from . import account_fields as fields
from .accounts import AccountError, Accounts
from .password_reset import Mail
from .ratelimit import KeyedBuckets

SELF_SIGNUP_KEY = "site.selfSignup"
# "Someone signed up with your address" per account: twice, then one a day (sign-ups from many
# client addresses must not turn it on an inbox; the answer is the same whether mailed or not).
TAKEN_MAIL_RATE, TAKEN_MAIL_BURST = 1 / 86400, 2
# "A sign-up waits" to the admins: 10, then 10 an hour for all sign-ups together (a flood from many
# addresses would fill their inboxes and push others' mail out of the queue; /admin lists them all).
ADMIN_NOTICE_RATE, ADMIN_NOTICE_BURST = 10 / 3600, 10


async def self_signup_open(store: Store) -> bool:
    """Whether anyone may sign up (off by default: an admin opens it in /admin)."""
    return await store.archive.get_meta(SELF_SIGNUP_KEY) == "on"


class SignUps:
    """Sign-ups and the mail around them, for one hub process."""

    def __init__(self, store: Store, accounts: Accounts, mail: Mail) -> None:
        self.store, self.accounts, self.mail = store, accounts, mail
        self.taken_mails = KeyedBuckets(TAKEN_MAIL_RATE, TAKEN_MAIL_BURST)
        self.admin_notices = KeyedBuckets(ADMIN_NOTICE_RATE, ADMIN_NOTICE_BURST)

    async def sign_up(self, username: object, email: object, password: object, address: str) -> None:
        """Check and record a sign-up (or, for a taken email, only tell its owner)."""
        if not await self_signup_open(self.store):
            raise AccountError("forbidden", "Sign-up is closed on this site: ask an admin for an account.")
        self.accounts.guard.registration(address)
        name = fields.username(username)
        address_text = fields.email(email)
        secret = fields.password(password, name)
        password_hash = await self.accounts.passwords.hash(secret)  # the same work, taken email or not
        if await self.store.username_taken(name):
            raise AccountError("conflict", f"The username {name!r} is taken.")
        owner = await self.store.get_user_by_email(address_text)
        if owner is not None:
            if not self.taken_mails.take(str(owner.id)):
                return
            self.mail.send(owner.email or address_text, "signup_email_taken", username=owner.username,
                           attempted=name, forgot_url=f"{self.mail.site_url}/forgot")  # fmt: skip
            return
        try:
            user = await self.store.create_user(name, password_hash, "player", active=False)
        except DuplicateError:
            raise AccountError("conflict", f"The username {name!r} is taken.") from None
        try:
            user = await self.store.set_profile(user.id, email=address_text)
        except DuplicateError:  # a sign-up at the same moment took the address: as if taken before
            await self.store.delete_user(user.id, None)
            return
        await self.tell_admins(user)

    async def tell_admins(self, user: User) -> None:
        """Mail every active admin with an address that `user` waits for activation."""
        if not self.admin_notices.take("sign-ups"):
            return
        for address in await self.store.admin_emails():
            self.mail.send(address, "signup_pending_admin", username=user.username, email=user.email or "",
                           admin_url=f"{self.mail.site_url}/admin")  # fmt: skip

    def activated(self, user: User) -> None:
        """Tell a user their account was activated (an admin's `updateUser(active: true)`)."""
        if user.email:
            self.mail.send(user.email, "account_activated", username=user.username, login_url=f"{self.mail.site_url}/")
