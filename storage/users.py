"""Users in the store: accounts, roles, upload limits, passwords and refresh-token families."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from databases import Database

from .records import DuplicateError, NotFoundError, User

ADMIN_ROLES = frozenset({"admin"})


def timestamp(value: Any) -> str | None:
    """A database timestamp as ISO text (SQLite gives text, Postgres a datetime)."""
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def in_list(prefix: str, values: Iterable[Any]) -> tuple[str, dict[str, Any]]:
    """`(:p0, :p1, ...)` and its values, for an SQL `IN` over a Python list (never empty)."""
    params = {f"{prefix}{i}": value for i, value in enumerate(values)}
    return "(" + (", ".join(f":{key}" for key in params) or "NULL") + ")", params


async def grouped(db: Database, select: str, parent_ids: Iterable[int]) -> dict[int, list[Any]]:
    """Rows of a child table by their parent's id (the first column), for lists loaded in two
    queries; `select` has an `{ids}` slot for the parents' `IN` list."""
    placeholders, values = in_list("p", parent_ids)
    found: dict[int, list[Any]] = {}
    for row in await db.fetch_all(select.format(ids=placeholders), values):
        found.setdefault(row[0], []).append(row)
    return found


def like_pattern(text: str) -> str:
    """A case-insensitive substring pattern for `LIKE ... ESCAPE '\\'`: `%` and `_` in `text` are
    matched literally, not as wildcards."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


LIKE = "LIKE {} ESCAPE '\\'"


def user_of(row: Any) -> User:
    return User(
        row["id"],
        row["username"],
        row["password_hash"],
        row["role"],
        bool(row["active"]),
        row["upload_limit"],
        timestamp(row["created_at"]),
        int(row["sessions_after"]),
        row["email"],
        row["display_name"] or "",
        row["about"] or "",
    )


class UserStore:
    """The user half of `Store` (a mixin: it needs `db`)."""

    db: Database

    async def create_user(self, username: str, password_hash: str, role: str = "player", active: bool = True) -> User:
        """A new account; a name that differs from a taken one only in case is taken too (no
        'Helen' beside 'helen' to impersonate her)."""
        taken = await self.db.fetch_val(
            "SELECT COUNT(*) FROM users WHERE LOWER(username) = :u", {"u": username.lower()}
        )
        if taken:
            raise DuplicateError(f"user {username!r} already exists")
        user_id = await self.db.execute(
            "INSERT INTO users (username, password_hash, role, active) VALUES (:u, :h, :r, :a) RETURNING id",
            {"u": username, "h": password_hash, "r": role, "a": active},
        )
        user = await self.get_user(user_id)
        assert user is not None
        return user

    async def get_user(self, user_id: int) -> User | None:
        row = await self.db.fetch_one("SELECT * FROM users WHERE id = :id", {"id": user_id})
        return user_of(row) if row else None

    async def get_user_by_name(self, username: str) -> User | None:
        row = await self.db.fetch_one("SELECT * FROM users WHERE username = :u", {"u": username})
        return user_of(row) if row else None

    async def users_by_name(self, usernames: Iterable[str]) -> list[User]:
        """The users with these names, in the order asked; raises NotFoundError for any unknown."""
        found = []
        for name in usernames:
            user = await self.get_user_by_name(name)
            if user is None:
                raise NotFoundError(f"unknown user {name!r}")
            found.append(user)
        return found

    async def users_by_id(self, user_ids: Iterable[int]) -> dict[int, User]:
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        placeholders, values = in_list("u", ids)
        rows = await self.db.fetch_all(f"SELECT * FROM users WHERE id IN {placeholders}", values)
        return {row["id"]: user_of(row) for row in rows}

    async def count_users(self) -> int:
        return int(await self.db.fetch_val("SELECT COUNT(*) FROM users"))

    async def list_users(self, search: str | None = None, active: bool | None = None) -> list[User]:
        """Users by name; `search` matches a substring of the username, case-insensitively."""
        clauses: list[str] = []
        values: dict[str, Any] = {}
        if search:
            clauses.append("LOWER(username) " + LIKE.format(":s"))
            values["s"] = like_pattern(search)
        if active is not None:
            clauses.append("active = :a")
            values["a"] = active
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self.db.fetch_all(f"SELECT * FROM users{where} ORDER BY username", values)
        return [user_of(row) for row in rows]

    async def update_user(self, user_id: int, **changes: Any) -> User:
        """Set some of `role`, `active`, `upload_limit`, `password_hash`, `sessions_after`; others
        keep their value."""
        allowed = {"role", "active", "upload_limit", "password_hash", "sessions_after"}
        assert set(changes) <= allowed, changes
        if changes:
            assignments = ", ".join(f"{column} = :{column}" for column in changes)
            await self.db.execute(f"UPDATE users SET {assignments} WHERE id = :id", {**changes, "id": user_id})
        user = await self.get_user(user_id)
        if user is None:
            raise NotFoundError(f"no user {user_id}")
        return user

    async def get_user_by_email(self, email: str) -> User | None:
        """The user with this address (compared lower-cased, as stored), or None."""
        row = await self.db.fetch_one("SELECT * FROM users WHERE email = :e", {"e": email.strip().lower()})
        return user_of(row) if row else None

    async def admin_emails(self) -> list[str]:
        """The addresses of the active admins who have one (for notices such as a sign-up waiting)."""
        placeholders, values = in_list("r", sorted(ADMIN_ROLES))
        sql = f"SELECT email FROM users WHERE active AND email IS NOT NULL AND role IN {placeholders} ORDER BY id"
        return [row[0] for row in await self.db.fetch_all(sql, values)]

    async def set_profile(self, user_id: int, **changes: Any) -> User:
        """Set some of `email` (stored lower-cased; None or "" removes it), `display_name`, `about`;
        the others keep their value. Raises DuplicateError when another user has the address,
        NotFoundError for an unknown user. Checking the values is the caller's job."""
        allowed = {"email", "display_name", "about"}
        assert set(changes) <= allowed, changes
        if "email" in changes:
            email = (changes["email"] or "").strip().lower()
            changes["email"] = email or None
            if email:
                owner = await self.get_user_by_email(email)
                if owner is not None and owner.id != user_id:
                    raise DuplicateError("that email address is taken")
        if changes:
            assignments = ", ".join(f"{column} = :{column}" for column in changes)
            try:
                await self.db.execute(f"UPDATE users SET {assignments} WHERE id = :id", {**changes, "id": user_id})
            except Exception as exc:  # the unique index: another user took it since the check above
                if "unique" in str(exc).lower():
                    raise DuplicateError("that email address is taken") from exc
                raise
        user = await self.get_user(user_id)
        if user is None:
            raise NotFoundError(f"no user {user_id}")
        return user

    async def count_admins(self) -> int:
        """Active users with an admin role (the hub keeps at least one)."""
        placeholders, values = in_list("r", sorted(ADMIN_ROLES))
        sql = f"SELECT COUNT(*) FROM users WHERE active AND role IN {placeholders}"
        return int(await self.db.fetch_val(sql, values))

    async def is_revoked(self, jti: str) -> bool:
        """Whether a refresh token from before rotation existed was logged out (`revoked_tokens`)."""
        return bool(await self.db.fetch_val("SELECT COUNT(*) FROM revoked_tokens WHERE jti = :j", {"j": jti}))

    # refresh-token families (one per login; see storage/sql/0006_refresh_families.sql)

    async def start_family(self, family: str, user_id: int, jti: str, expires_at: int) -> None:
        """Record a new login whose current refresh token is `jti`; an existing family is left as
        it is. Expired families (and expired pre-rotation revocations) are forgotten on the way."""
        now = int(time.time())
        for table in ("refresh_families", "revoked_tokens"):
            await self.db.execute(f"DELETE FROM {table} WHERE expires_at < :now", {"now": now})
        await self.db.execute(
            "INSERT INTO refresh_families (id, user_id, current_jti, expires_at) VALUES (:f, :u, :j, :e) "
            "ON CONFLICT (id) DO NOTHING",
            {"f": family, "u": user_id, "j": jti, "e": expires_at},
        )

    async def rotate_family(self, family: str, used_jti: str, new_jti: str, now_ms: int, expires_at: int) -> bool:
        """Make `new_jti` current if `used_jti` still is (and the family is live); False when
        another refresh got there first or the token is not the current one. One statement, so
        two refreshes of one token can never both rotate."""
        rotated = await self.db.fetch_val(
            "UPDATE refresh_families SET previous_jti = current_jti, current_jti = :new, rotated_at = :now, "
            "expires_at = :e WHERE id = :f AND current_jti = :used AND NOT revoked AND expires_at >= :now_s "
            "RETURNING id",
            {"f": family, "used": used_jti, "new": new_jti, "now": now_ms, "e": expires_at, "now_s": now_ms // 1000},
        )
        return rotated is not None

    async def get_family(self, family: str) -> RefreshFamily | None:
        row = await self.db.fetch_one("SELECT * FROM refresh_families WHERE id = :f", {"f": family})
        if row is None:
            return None
        return RefreshFamily(
            row["id"], int(row["user_id"]), row["current_jti"], row["previous_jti"], int(row["rotated_at"]),
            bool(row["revoked"]), int(row["expires_at"]),
        )

    async def revoke_family(self, family: str) -> None:
        """End a login: none of its refresh tokens will be accepted again."""
        await self.db.execute("UPDATE refresh_families SET revoked = TRUE WHERE id = :f", {"f": family})


@dataclass(frozen=True)
class RefreshFamily:
    """One login's refresh-token chain: the token that may be used now and the one it replaced."""

    id: str
    user_id: int
    current_jti: str
    previous_jti: str | None
    rotated_at: int  # ms, when `previous_jti` was replaced
    revoked: bool
    expires_at: int  # epoch seconds
