"""Presence across processes, for the node: each stage's local `StagePresence` is this process's
part of the stage; the roster (`hub/roster/`) sums every process's part and holds the avatars.

A change here or a notice from another process schedules one `presence` message per stage per
interval (coalesced): publish this process's part, read the whole, send it to the stage's
sockets. While the roster cannot be reached the last whole is kept: presence freezes, it never
drops to nobody.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .inbound import Refused
from .logs import Sparse
from .metrics import Metrics
from .presence import StagePresence
from .rooms import StageRoom
from .roster import Coalescer, Part, Roster, RosterUnavailable, Snapshots, part_of

log = logging.getLogger("hub.attendance")


class Attendance:
    """The node's side of the roster: parts published, presence sent, avatars claimed."""

    def __init__(
        self,
        roster: Roster,
        room_of: Callable[[int], StageRoom | None],
        send: Callable[[str, str, Any], int],
        metrics: Metrics,
        interval: float,
    ) -> None:
        self.roster = roster
        self.room_of = room_of
        self.send = send
        self.metrics = metrics
        self.snapshots = Snapshots(roster)
        self.coalescer = Coalescer(interval, self._send)
        self._sparse = Sparse(log)

    async def watch(self, room: StageRoom) -> None:
        """Hear other processes' changes to the stage (a roster away: only this process's, until it returns)."""
        try:
            await self.roster.watch(room.stage_id, self.coalescer.changed)
        except RosterUnavailable as exc:
            self._sparse.warning("roster", "the roster cannot be reached", error=str(exc)[:200])

    def changed(self, room: StageRoom) -> None:
        """Someone joined, left or changed here: one presence message soon (coalesced)."""
        self.coalescer.changed(room.stage_id)

    async def hold(self, room: StageRoom, session: str, avatar_id: str | None) -> None:
        """Claim (or with None release) an avatar on every process: the newest claim wins."""
        try:
            await self.roster.hold(room.stage_id, session, avatar_id)
        except RosterUnavailable as exc:
            raise Refused("unavailable", "avatars cannot be claimed now; try again shortly") from exc
        if session in room.presence.members:  # it may have left during the claim
            room.presence.hold(session, avatar_id)
        self.changed(room)

    def view(self, room: StageRoom) -> dict[str, Any]:
        """The stage's presence for a join ack, now: the other processes' as last read, and this
        process's as it is (the joiner included)."""
        last = self.snapshots.last.get(room.stage_id)
        if last is None:
            return room.presence.snapshot()
        return combine(last, room.presence_part, room.presence)

    async def counts(self, stage_id: int) -> tuple[int, int]:
        """(players, audience) on a stage across every process: this process's now, the others' as
        the roster last said (the roster's whole when the stage is not hosted here)."""
        room = self.room_of(stage_id)
        if room is not None:
            message = self.view(room)
        else:
            message = await self.snapshots.get(stage_id)
            self.snapshots.forget(stage_id)  # kept only for the stages hosted here
        return message["players"], message["audience"]

    async def release(self, room: StageRoom) -> None:
        """The stage is no longer hosted here (unloaded, deleted): withdraw its part."""
        await self.coalescer.cancel(room.stage_id)
        try:
            await self.roster.publish(room.stage_id, Part())
            await self.roster.unwatch(room.stage_id)
        except RosterUnavailable:  # the part expires by itself
            pass
        self.snapshots.forget(room.stage_id)

    async def close(self) -> None:
        await self.coalescer.close()
        await self.roster.close()

    async def _send(self, stage_id: int) -> None:
        room = self.room_of(stage_id)
        if room is None:
            return
        part = part_of(room.presence)
        try:
            await self.roster.publish(stage_id, part)
        except RosterUnavailable as exc:  # the next heartbeat publishes it
            self._sparse.warning("roster", "the roster cannot be reached", error=str(exc)[:200])
        message = await self.snapshots.get(stage_id, room.presence.snapshot)
        if self.room_of(stage_id) is not room:
            return
        room.presence_part = part
        holds = {entry["session"]: entry["avatarId"] for entry in message["roster"]}
        for member in room.presence.performers.values():  # a claim on another process took it
            if member.session in holds:
                member.avatar_id = holds[member.session]
        self.metrics.presence_updates.inc()
        self.send(room.everyone, "presence", message)


def combine(whole: dict[str, Any], published: Part, local: StagePresence) -> dict[str, Any]:
    """`whole` (a roster snapshot that counted `published` as this process's part) with this
    process's part as it is now, `local`."""
    mine = {p.session for p in published.performers}
    holds = {entry["session"]: entry["avatarId"] for entry in whole["roster"]}
    roster = [
        {"session": m.session, "nickname": m.nickname, "role": m.role, "avatarId": m.avatar_id or holds.get(m.session)}
        for m in local.performers.values()
    ]
    here = {entry["session"] for entry in roster}
    roster += [e for e in whole["roster"] if e["session"] not in mine and e["session"] not in here]
    _, audience = local.counts()
    others = max(0, whole["audience"] - published.audience)
    return {"players": len(roster), "audience": others + audience, "roster": roster}
