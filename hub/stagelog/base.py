"""What every stage log engine shares: positions, drafts, the protocol, errors and the codec.

The stage log is the seam between the node and other processes (issue 14): it numbers each
stage's events, keeps a bounded recent history for exact recovery, remembers idempotency keys
for the history window, hands appended events to every process that follows the stage, and
fences a stage across processes for a sweep. Engines: `MemoryStageLog` (one process) and
`RedisStageLog` (several processes on one Redis).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from storage import EVERYONE, Event

Deliver = Callable[[Event, str], None]
"""A follower's callback: an appended event and the epoch it was appended in."""

Restarted = Callable[["Position"], None]
"""A follower's callback when the stage begins a new epoch (a sweep): history and state restart,
the next event follows `position.seq`."""


class Appended(tuple[Event, str]):
    """What `append` returns: `(event, epoch)`, and whether it is an earlier append's answer
    (`duplicate`: a key used before)."""

    duplicate: bool

    def __new__(cls, event: Event, epoch: str, duplicate: bool = False) -> Appended:
        appended = super().__new__(cls, (event, epoch))
        appended.duplicate = duplicate
        return appended


class LogUnavailable(Exception):
    """The log cannot be reached (or did not answer in time): the hub answers `unavailable`.

    Raised by an append means the append may or may not have happened; retrying it with the same
    idempotency key is safe (it returns the first result if there was one)."""


class Unseeded(LogUnavailable):
    """An append to a stage the log holds nothing of (never seeded, or its data was lost): the
    caller seeds it first (`seed`), so no seq is ever given twice."""


class Fenced(LogUnavailable):
    """An append while the stage is fenced (a sweep is archiving it): try again shortly."""


class FenceTimeout(LogUnavailable):
    """Another holder kept the stage's fence past the wait allowed for it."""


@dataclass(frozen=True)
class Position:
    """Where a stage's log stands: its epoch and the `seq` of its last event (0: none yet)."""

    epoch: str
    seq: int


@dataclass(frozen=True)
class Draft:
    """An event before the log numbers it: everything of an `Event` but its stage and `seq`."""

    topic: str
    payload: Any
    at: int
    sender: dict[str, Any]
    audience: str = EVERYONE
    target_session: str | None = None

    def numbered(self, stage_id: int, seq: int) -> Event:
        return Event(stage_id, seq, self.topic, self.payload, self.at, self.sender, self.audience, self.target_session)


def draft_of(event: Event) -> Draft:
    """The draft an event was made from (for seeding a log with stored events)."""
    return Draft(event.topic, event.payload, event.at, event.sender, event.audience, event.target_session)


def fresh_epoch() -> str:
    """An epoch for a stage the log knows nothing of and nobody seeded: `<base>.<generation>`
    with a random base, so it can never equal an epoch a client holds from before."""
    return f"{secrets.token_hex(6)}.0"


def encode(draft: Draft) -> bytes:
    """A draft as the JSON body the Redis engine stores and publishes (no seq: the script adds it)."""
    return orjson.dumps([draft.topic, draft.payload, draft.at, draft.sender, draft.audience, draft.target_session])


def decode(stage_id: int, seq: int, body: bytes) -> Event:
    """An event from its JSON body (see `encode`) and the seq it was given."""
    topic, payload, at, sender, audience, target_session = orjson.loads(body)
    return Event(stage_id, seq, topic, payload, at, sender, audience, target_session)


class StageLog(Protocol):
    """Each stage's numbered events: one sequence and one bounded history shared by every process.

    `shared` is True when other processes may append to the same log (they may be ahead of the
    database), False for a log only this process uses.

    Guarantees: `seq` goes up by one per append and is never reset (a sweep starts a new epoch,
    the seq continues); `read` never gives a partial answer; followers receive a stage's events
    in seq order. A follower that sees a seq jump (a message lost while its connection to the
    log broke) must notice it itself and resynchronise with `read`: `deliver` gets exactly what
    arrives, nothing is made up or reordered.
    """

    @property
    def shared(self) -> bool: ...

    async def append(
        self, stage_id: int, draft: Draft, key: str | None = None, fence: str | None = None
    ) -> Appended:
        """Number the draft, keep it in the history and publish it to followers, atomically.
        While the stage is fenced only the holder appends, passing its token as `fence`.

        Returns the event and its epoch. With a `key` already used on this stage within the
        history window, nothing is appended and the first append's event and epoch are returned
        (`duplicate` set).
        Raises Fenced while the stage is fenced, Unseeded for a stage the log holds nothing of
        (unless the log was opened with `create_unknown`), LogUnavailable when the log cannot be
        reached: an append either returned or raised.
        """
        ...

    async def recall(self, stage_id: int, key: str) -> Appended | None:
        """The first append made with idempotency `key` on the stage within the history window
        (`duplicate` set), or None: what `append` would answer a retry, without appending."""
        ...

    async def read(self, stage_id: int, since: Position, most: int = 0) -> list[Event] | None:
        """The events after `since.seq`, in seq order; [] at the head; None for a gap (another
        epoch, a seq past the head, or a range the history no longer fully holds) or, with `most`,
        for events whose JSON weighs more than `most` bytes (the whole state is cheaper)."""
        ...

    async def position(self, stage_id: int) -> Position | None:
        """The stage's epoch and last seq; None when the log knows nothing of the stage."""
        ...

    async def seed(
        self, stage_id: int, position: Position, recent: list[Event], keys: dict[int, str] | None = None
    ) -> Position:
        """Start a stage the log knows nothing of at `position` (from the database), with `recent`
        (its last stored events) as history and `keys` (seq -> idempotency key) remembered for them.
        A stage the log already has is left as it is and its position returned: a counter is never
        reset, another process may be ahead of the database."""
        ...

    async def new_epoch(self, stage_id: int, epoch: str) -> Position:
        """A sweep: the stage goes into `epoch` with an empty history; its seq continues. Every
        follower's `restarted` is called with the new position."""
        ...

    async def follow(
        self,
        stage_id: int,
        deliver: Deliver,
        restarted: Restarted | None = None,
        resumed: Callable[[], None] | None = None,
    ) -> None:
        """Call `deliver` with every event appended to the stage from now on, by any process, in
        seq order, and `restarted` when a new epoch begins, until `unfollow`; `resumed` when the
        subscription came back after a break (what was appended meanwhile did not arrive: read
        it). Returns once the subscription is in place."""
        ...

    async def unfollow(self, stage_id: int) -> None:
        """Stop delivering the stage's events to this process."""
        ...

    def fence(self, stage_id: int, timeout: float = 10.0) -> AbstractAsyncContextManager[str]:
        """Hold the stage across processes (a sweep): appends are refused (Fenced) except the
        holder's, which pass the token this yields; a second holder waits, up to `timeout`
        seconds, then gets FenceTimeout. Released on exit, also on an exception."""
        ...

    async def drop(self, stage_id: int) -> None:
        """Forget a deleted stage: its position and history (its idempotency keys expire)."""
        ...

    async def ping(self) -> None:
        """Raise LogUnavailable when the log cannot be reached now (for /healthz)."""
        ...

    async def close(self) -> None:
        """Stop following everything and let go of connections."""
        ...
