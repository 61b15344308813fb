"""The caller of one GraphQL request and the permission rules every resolver applies.

Rights as the original intended them: managing a stage is for its owner, editors and admins;
changing its owner or deleting it for its owner and admins; users and site for admins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NoReturn

from graphql import GraphQLError

from storage import ADMIN_ROLES, Stage, Store, User

from ..accounts import Accounts
from ..auth import TokenIssuer
from ..config import Settings
from ..inbound import Identity
from ..node import Node
from ..roles import AUDIENCE, EDITOR, OWNER, PERFORMER_ROLES, resolve_role

ERROR_CODES = frozenset(
    {"unauthenticated", "forbidden", "not_found", "bad_request", "conflict", "too_complex", "unavailable", "rate_limited"}
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


def parse_id(value: Any, what: str = "id") -> int:
    """A GraphQL ID as the integer the store uses."""
    text = str(value)
    if not text.isdigit() or len(text) > 18:
        fail("bad_request", f"The {what} must be a numeric id.", what)
    return int(text)


@dataclass(frozen=True)
class Services:
    """What resolvers work with, one set per app."""

    store: Store
    node: Node
    tokens: TokenIssuer
    settings: Settings
    accounts: Accounts


@dataclass
class Context:
    """One request: the services and the authenticated caller (None when anonymous)."""

    services: Services
    user: User | None
    address: str = "unknown"  # the caller's address key (hub/addresses.py), for login throttles
    _users: dict[int, User] = field(default_factory=dict)
    # Accounts the caller may read in full besides their own: the one they just logged in as.
    revealed: set[int] = field(default_factory=set)

    @property
    def store(self) -> Store:
        return self.services.store

    @property
    def node(self) -> Node:
        return self.services.node

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

    async def user_by_id(self, user_id: int) -> User:
        """A user, cached for the request (stage lists name the same owners again and again)."""
        if user_id not in self._users:
            self._users.update(await self.store.users_by_id([user_id]))
        return self._users[user_id]

    async def users(self, user_ids: Any) -> list[User]:
        missing = [i for i in user_ids if i not in self._users]
        self._users.update(await self.store.users_by_id(missing))
        return [self._users[i] for i in sorted(user_ids) if i in self._users]

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

    async def stage(self, stage_id: Any, check: str = "edit") -> Stage:
        """A stage by id that the caller may `view`, `edit` or `own`; otherwise an error saying why."""
        stage = await self.store.get_stage_by_id(parse_id(stage_id, "stageId"))
        if stage is None or not self.sees(stage):
            fail("not_found", "There is no such stage.")
        allowed = {"see": True, "view": self.can_view, "edit": self.can_edit, "own": self.can_own}[check]
        if allowed is not True and not allowed(stage):
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
