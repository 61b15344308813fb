"""What every roster engine shares: parts, the protocol, the error, the codec and the heartbeat.

The roster is presence as its own seam (issue 14): each hub process publishes its own part of a
stage (an audience count and its performers), parts expire unless heartbeated, avatar holds are
claimed atomically across processes, and a change anywhere is noticed by every process that
watches the stage. Engines: `MemoryRoster` (one process) and `RedisRoster` (several on one Redis).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

log = logging.getLogger(__name__)

Notice = Callable[[int], None]
"""A watcher's callback: the stage id on which something changed (by any process)."""


class RosterUnavailable(Exception):
    """The roster cannot be reached (or did not answer in time). Callers keep the last snapshot
    (`Snapshots`): presence freezes rather than empties."""


@dataclass(frozen=True)
class Performer:
    """One performer session as the roster lists it (its avatar comes from the holds)."""

    session: str
    nickname: str
    role: str


@dataclass(frozen=True)
class Part:
    """What one process has on one stage: its audience by number, its performers by name."""

    audience: int = 0
    performers: tuple[Performer, ...] = ()

    @property
    def empty(self) -> bool:
        return self.audience <= 0 and not self.performers


def encode(part: Part) -> bytes:
    """A part as stored: `{"a": audience, "p": [[session, nickname, role], ...]}` (the Lua reads `p`)."""
    return orjson.dumps({"a": part.audience, "p": [[p.session, p.nickname, p.role] for p in part.performers]})


def decode(body: bytes | str) -> Part:
    data = orjson.loads(body)
    return Part(int(data["a"]), tuple(Performer(*entry) for entry in data["p"]))


def assemble(parts: Iterable[Part], holds: dict[str, str]) -> dict[str, Any]:
    """The protocol's `presence` message from live parts (in a stable order) and the holds:
    audience summed, performers listed once per session (the first part naming it wins)."""
    audience, roster, seen = 0, [], set()
    for part in parts:
        audience += part.audience
        for p in part.performers:
            if p.session not in seen:
                seen.add(p.session)
                roster.append({"session": p.session, "nickname": p.nickname, "role": p.role,
                               "avatarId": holds.get(p.session)})  # fmt: skip
    return {"players": len(roster), "audience": audience, "roster": roster}


class Roster(Protocol):
    """Presence across processes: every process's parts of a stage summed, avatar holds shared.

    Guarantees: a process's part lives `ttl` seconds after its last publish or heartbeat (the
    engine heartbeats every ttl/3 on its own); a session holds at most one avatar and the newest
    claim wins; a performer that is in no live part keeps its hold for `grace` seconds (a reload,
    a move to another process, a process that died) and then loses it.
    """

    node_id: str
    ttl: float
    grace: float

    async def publish(self, stage_id: int, part: Part) -> None:
        """Replace this process's part of the stage (an empty part withdraws it) and keep it alive
        by heartbeat. A performer missing from the new part who holds an avatar keeps it for
        `grace` unless another live part lists them. Raises RosterUnavailable; the part is still
        remembered and the next heartbeat publishes it."""
        ...

    async def hold(self, stage_id: int, session: str, avatar_id: str | None) -> None:
        """Claim an avatar for a session (taking it from any other session), or release with None."""
        ...

    async def snapshot(self, stage_id: int) -> dict[str, Any]:
        """The `presence` message over the live parts: `{"players", "audience", "roster"}`."""
        ...

    async def watch(self, stage_id: int, notice: Notice) -> None:
        """Call `notice(stage_id)` whenever a part or hold of the stage changes, by any process
        (expiries too), until `unwatch`. Returns once the subscription is in place."""
        ...

    async def unwatch(self, stage_id: int) -> None:
        """Stop noticing the stage's changes."""
        ...

    async def beat(self) -> None:
        """Heartbeat now (the engine does it every ttl/3 by itself): refresh this process's parts,
        sweep the stages it watches. Never raises: a failure is logged and the next beat retries."""
        ...

    async def close(self, withdraw: bool = True) -> None:
        """Stop heartbeating and watching; with `withdraw` (a clean stop) take this process's parts
        away at once, without it (a test's crash) they expire after `ttl`."""
        ...


class Beating:
    """What both engines share around their one write (`_touch`): `publish`, which sends a stage's
    parts in order and only the latest of publishes that overlap in time, and the heartbeat, which
    every ttl/3 re-publishes this process's non-empty parts and sweeps the stages it watches (so a
    dead process's parts expire and are noticed)."""

    ttl: float
    node_id: str

    def _start_beating(self) -> None:
        self._parts: dict[int, Part] = {}  # what this process has on each stage (non-empty)
        self._sent: dict[int, Part] = {}  # what it last published there
        self._locks: dict[int, asyncio.Lock] = {}  # one write per stage at a time, in order
        self._watched: set[int] = set()
        self._beat: asyncio.Task[None] | None = None
        self._closed = False

    async def _touch(self, stage_id: int, part: Part | None) -> None:
        """Publish `part` (an empty one withdraws) or with None only sweep the stage."""
        raise NotImplementedError

    async def publish(self, stage_id: int, part: Part) -> None:
        if self._closed:
            raise RosterUnavailable("the roster is closed")
        if part.empty:
            self._parts.pop(stage_id, None)
        else:
            self._parts[stage_id] = part
        self._ensure_beating()
        async with self._locks.setdefault(stage_id, asyncio.Lock()):
            # A publish that waited here may find a later one already sent: the latest part wins,
            # and no older part can land after a newer one (writes of a stage never overlap).
            latest = self._parts.get(stage_id, Part())
            if self._sent.get(stage_id) == latest:
                return
            self._sent.pop(stage_id, None)
            await self._touch(stage_id, latest)
            self._sent[stage_id] = latest

    def _ensure_beating(self) -> None:
        if self._beat is None and not self._closed:
            self._beat = asyncio.create_task(self._heartbeat(), name=f"roster-heartbeat-{self.node_id}")

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            await self.beat()

    async def beat(self) -> None:
        """One heartbeat (the task runs it every ttl/3; tests may call it). Failures are logged:
        the next beat tries again, and parts outlive two missed beats."""
        for stage_id in sorted(set(self._parts) | self._watched):
            try:
                async with self._locks.setdefault(stage_id, asyncio.Lock()):
                    await self._touch(stage_id, self._parts.get(stage_id))
            except RosterUnavailable as exc:
                log.warning("roster heartbeat failed", extra={"stage_id": stage_id, "error": str(exc)})

    async def _stop_beating(self, withdraw: bool) -> None:
        self._closed = True
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
            self._beat = None
        if withdraw:
            for stage_id in list(self._parts):
                try:
                    async with self._locks.setdefault(stage_id, asyncio.Lock()):
                        await self._touch(stage_id, Part())
                except RosterUnavailable:  # its ttl ends it
                    log.warning("roster part not withdrawn; it expires", extra={"stage_id": stage_id})
        self._parts.clear()
        self._sent.clear()
        self._watched.clear()
