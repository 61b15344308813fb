"""Account self-service in the store: password reset links (hashed tokens, single-use and
expiring; storage/sql/0009_password_resets.sql, rules in hub/password_reset.py), ending every
login of a user, and whether a username is taken."""

from __future__ import annotations

from dataclasses import dataclass

from databases import Database

# Rows are kept this long past their expiry, so an expired link is still told apart from a
# mistyped one ("this link has expired" rather than "unknown link").
KEEP_EXPIRED = 7 * 24 * 3600


@dataclass(frozen=True)
class ResetLink:
    """One mailed link: whose, until when (epoch seconds), and when it was used (None: not yet)."""

    token_hash: str
    user_id: int
    expires_at: int
    used_at: int | None


class AccountStore:
    """The self-service part of `Store` (a mixin: it needs `db`)."""

    db: Database

    async def create_reset(self, token_hash: str, user_id: int, expires_at: int, now: int) -> None:
        """Record a new link; links long expired are forgotten on the way."""
        await self.db.execute("DELETE FROM password_resets WHERE expires_at < :t", {"t": now - KEEP_EXPIRED})
        await self.db.execute(
            "INSERT INTO password_resets (token_hash, user_id, expires_at) VALUES (:h, :u, :e)",
            {"h": token_hash, "u": user_id, "e": expires_at},
        )

    async def get_reset(self, token_hash: str) -> ResetLink | None:
        row = await self.db.fetch_one("SELECT * FROM password_resets WHERE token_hash = :h", {"h": token_hash})
        if row is None:
            return None
        used = row["used_at"]
        return ResetLink(
            row["token_hash"], int(row["user_id"]), int(row["expires_at"]), None if used is None else int(used)
        )

    async def use_reset(self, token_hash: str, now: int) -> bool:
        """Mark a live link used, and every other link of its user with it; False when another
        request used it first (one statement claims it, so two uses can never both pass)."""
        claimed = await self.db.fetch_val(
            "UPDATE password_resets SET used_at = :t WHERE token_hash = :h AND used_at IS NULL AND expires_at >= :t "
            "RETURNING user_id",
            {"h": token_hash, "t": now},
        )
        if claimed is None:
            return False
        await self.db.execute(
            "UPDATE password_resets SET used_at = :t WHERE user_id = :u AND used_at IS NULL", {"u": claimed, "t": now}
        )
        return True

    async def void_resets(self, user_id: int, now: int) -> None:
        """Mark every unused link of a user used (their email changed: the links went to the old one)."""
        sql = "UPDATE password_resets SET used_at = :t WHERE user_id = :u AND used_at IS NULL"
        await self.db.execute(sql, {"u": user_id, "t": now})

    async def revoke_user_families(self, user_id: int) -> None:
        """End every login of a user: none of their refresh tokens will be accepted again."""
        await self.db.execute("UPDATE refresh_families SET revoked = TRUE WHERE user_id = :u", {"u": user_id})

    async def username_taken(self, username: str) -> bool:
        """Whether a name is taken, ignoring case (as `create_user` does)."""
        sql = "SELECT COUNT(*) FROM users WHERE LOWER(username) = :u"
        return bool(await self.db.fetch_val(sql, {"u": username.lower()}))
