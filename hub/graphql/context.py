"""The caller of one GraphQL request and the permission rules every resolver applies.

Rights as the original intended them: managing a stage is for its owner, editors and admins;
changing its owner or deleting it for its owner and admins; users and site for admins.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from graphql import GraphQLError

from storage import ADMIN_ROLES, Stage, Store, User

from ..accounts import Accounts
from ..auth import TokenIssuer
from ..config import Settings
from ..inbound import Identity
from ..live import LiveStages
from ..mail import Mailer
from ..roles import AUDIENCE, EDITOR, OWNER, PERFORMER_ROLES, may_watch_archive, resolve_role
from ..self_service import SelfService
from .loader import mapped
from .lookups import Lookups

ID_DIGITS = re.compile("[0-9]{1,18}")
ERROR_CODES = frozenset(
    {
        "unauthenticated", "forbidden", "not_found", "bad_request", "conflict", "too_complex", "unavailable",
        "rate_limited",
    }
)


def fail(code: str, message: str, field: str | None = None) -> NoReturn:
    """Raise a GraphQL error with a machine-readable `extensions.code` (and the input field)."""
    assert code in ERROR_CODES, code
    extensions: dict[str, Any] = {"code": code}
    if field is not None:
        extensions["field"] = field
    raise GraphQLError(message[:1].upper() + message[1:], extensions=extensions)


def clean_name(value: str, limit: int, what: str, field: str = "name") -> str:
    """A trimmed name of 1-`limit` characters, or a `bad_request` on the input field."""
    name = value.strip()
    if not 0 < len(name) <= limit:
        fail("bad_request", f"A {what} name has 1-{limit} characters.", field)
    return name


def parse_id(value: Any, field: str = "id") -> int:
    """A GraphQL ID as the integer the store uses: 1-18 ASCII digits (below 2**63, the columns'
    BIGINT), else a `bad_request` naming the argument. Not `str.isdigit`: it accepts '²' and other
    Unicode digits that `int()` refuses."""
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    else:
        text = value if isinstance(value, str) else ""
    if not ID_DIGITS.fullmatch(text):
        fail("bad_request", f"The {field} must be a numeric id (1-18 digits).", field)
    return int(text)


@dataclass(frozen=True)
class Services:
    """What resolvers work with, one set per app. Live stages and sockets are reached through
    `live` only (hub/live.py), never the node's rooms, connections or fan-out."""

    store: Store
    tokens: TokenIssuer
    settings: Settings
    accounts: Accounts
    live: LiveStages
    mailer: Mailer  # mail to send: `ctx.services.mailer.send(to, template, **context)` (docs/mail.md)

    @functools.cached_property
    def self_service(self) -> SelfService:
        """Sign-up and password reset links (hub/self_service.py), one set per app."""
        return SelfService.build(self.store, self.accounts, self.mailer, self.settings, self.live)


@dataclass
class Context:
    """One request: the services and the authenticated caller (None when anonymous)."""

    services: Services
    user: User | None
    address: str = "unknown"  # the caller's address key (hub/addresses.py), for throttles
    # Accounts the caller may read in full besides their own: the one they just logged in as.
    revealed: set[int] = field(default_factory=set)
    lookups: Lookups = field(init=False)

    def __post_init__(self) -> None:
        self.fresh()

    def fresh(self) -> None:
        """Forget what the request has read (before and after a mutation changes things)."""
        self.lookups = Lookups(self.services.store)

    @property
    def store(self) -> Store:
        return self.services.store

    @property
    def live(self) -> LiveStages:
        return self.services.live

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.role in ADMIN_ROLES

    def require_user(self) -> User:
        if self.user is None:
            fail("unauthenticated", "Log in to do this.")
        return self.user

    def require_admin(self) -> User:
        user = self.require_user()
        if user.role not in ADMIN_ROLES:
            fail("forbidden", "Only an admin may do this.")
        return user

    def sees_account(self, user: User) -> bool:
        """Whether the caller may read a user's account details (role, state, limit, creation):
        their own, or any for an admin; others see only id and username."""
        return self.is_admin or (self.user is not None and self.user.id == user.id) or user.id in self.revealed

    def upload_limit(self, user: User) -> int:
        return user.upload_limit if user.upload_limit is not None else self.services.settings.upload_limit

    def user_by_id(self, user_id: int) -> User | None | Awaitable[User | None]:
        """A user, batched and remembered for the request (lists name the same owners again and
        again); the user itself when already fetched (see `Loader.get`)."""
        return self.lookups.users.get(user_id)

    def users(self, user_ids: Iterable[int]) -> list[User] | Awaitable[list[User]]:
        """The users with these ids that exist, by id."""
        return mapped(self.lookups.users.get_many(sorted(user_ids)), lambda found: [u for u in found if u is not None])

    async def visible_stages(self) -> list[Stage]:
        return await self.lookups.once("visible stages", lambda: self.store.list_stages(visible_only=True))

    async def all_stages(self) -> list[Stage]:
        return await self.lookups.once("all stages", self.store.list_stages)

    # stage rights

    def role_on(self, stage: Stage) -> str:
        return resolve_role(stage, self.user.id if self.user else None)

    def can_view(self, stage: Stage) -> bool:
        """Hidden stages, scenes: the stage's performers (owner, editor, player) and admins."""
        return self.is_admin or self.role_on(stage) in PERFORMER_ROLES

    def can_edit(self, stage: Stage) -> bool:
        return self.is_admin or self.role_on(stage) in (OWNER, EDITOR)

    def can_own(self, stage: Stage) -> bool:
        return self.is_admin or self.role_on(stage) == OWNER

    def sees(self, stage: Stage) -> bool:
        """Whether the stage exists for the caller at all (visible, or theirs)."""
        return stage.visible or self.can_view(stage)

    def watches_archive(self, stage: Stage | None) -> bool:
        """Whether the caller may list and replay the performances of a stage (None: deleted);
        the one rule, `roles.may_watch_archive`, the socket's calls apply too."""
        return may_watch_archive(stage, self.role_on(stage) if stage is not None else AUDIENCE, self.is_admin)

    async def stage(self, stage_id: Any, check: str = "edit", field: str = "stageId") -> Stage:
        """A stage by id (the argument `field`) that the caller may `see`, `view`, `edit` or `own`;
        otherwise an error saying why."""
        stage = await self.lookups.stages.load(parse_id(stage_id, field))
        if stage is None or not self.sees(stage):
            fail("not_found", "There is no such stage.")
        rules: dict[str, Callable[[Stage], bool]] = {
            "see": self.sees, "view": self.can_view, "edit": self.can_edit, "own": self.can_own,
        }  # fmt: skip
        if not rules[check](stage):
            self.require_user()
            rights = "its owner and admins" if check == "own" else "its owner, editors and admins"
            if check == "view":
                rights = "its performers and admins"
            fail("forbidden", f"Only {rights} may do this on stage {stage.slug!r}.")
        return stage

    def sender(self, stage: Stage) -> dict[str, Any]:
        """How the stage sees an event made through the management API: the account, by name."""
        user = self.require_user()
        role = self.role_on(stage)
        return Identity(f"user:{user.id}", user.username, role if role != AUDIENCE else "admin").sender()
