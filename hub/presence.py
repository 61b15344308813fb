"""Who is on a stage, kept by the hub: the roster, the counts and who holds which avatar.

Pure bookkeeping with no sockets: the node tells it about joins, leaves and claims, and sends
its `snapshot()` to the stage (coalesced, see `node.py`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .roles import PERFORMER_ROLES


@dataclass
class Member:
    """One session on the stage; a session may have several sockets (a reload overlapping)."""

    session: str
    nickname: str
    role: str
    sids: set[str] = field(default_factory=set)
    avatar_id: str | None = None

    @property
    def is_performer(self) -> bool:
        return self.role in PERFORMER_ROLES

    def entry(self) -> dict[str, Any]:
        return {"session": self.session, "nickname": self.nickname, "role": self.role, "avatarId": self.avatar_id}


class StagePresence:
    """The roster of one stage. Avatar holds survive a short disconnect (`grace` seconds)."""

    def __init__(self, grace: float = 30.0) -> None:
        self.members: dict[str, Member] = {}
        self.performers: dict[str, Member] = {}  # the members with a performer role, kept apart so
        # that counts and the roster cost the number of performers, not the size of the audience
        self.grace = grace
        self._released: dict[str, tuple[str, float]] = {}

    def join(self, session: str, sid: str, nickname: str, role: str) -> Member:
        member = self.members.get(session)
        if member is None:
            member = self.members[session] = Member(session, nickname, role)
            held = self._released.pop(session, None)
            if held and held[1] > time.monotonic() and member.is_performer and not self.holder_of(held[0]):
                member.avatar_id = held[0]
        member.sids.add(sid)
        member.nickname, member.role = nickname, role
        if member.is_performer:
            self.performers[session] = member
        else:
            member.avatar_id = None
            self.performers.pop(session, None)
        return member

    def leave(self, session: str, sid: str) -> bool:
        """Forget one socket of a session; returns True when the session left the stage."""
        member = self.members.get(session)
        if member is None:
            return False
        member.sids.discard(sid)
        if member.sids:
            return False
        del self.members[session]
        self.performers.pop(session, None)
        if member.avatar_id is not None:
            self._released[session] = (member.avatar_id, time.monotonic() + self.grace)
        self._forget_expired()
        return True

    def rename(self, session: str, nickname: str) -> None:
        self.members[session].nickname = nickname

    def hold(self, session: str, avatar_id: str | None) -> None:
        """Claim (or with None release) an avatar: the newest claim wins, one avatar per session."""
        member = self.members[session]
        if avatar_id is not None:
            for other in self.performers.values():
                if other.avatar_id == avatar_id:
                    other.avatar_id = None
        member.avatar_id = avatar_id

    def holder_of(self, avatar_id: str) -> Member | None:
        return next((m for m in self.performers.values() if m.avatar_id == avatar_id), None)

    def counts(self) -> tuple[int, int]:
        players = len(self.performers)
        return players, len(self.members) - players

    def snapshot(self) -> dict[str, Any]:
        """The contract's `presence` message: counts, and a roster of performers only."""
        players, audience = self.counts()
        return {"players": players, "audience": audience, "roster": [m.entry() for m in self.performers.values()]}

    def _forget_expired(self) -> None:
        now = time.monotonic()
        for session in [s for s, (_, until) in self._released.items() if until <= now]:
            del self._released[session]
