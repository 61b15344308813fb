"""What the node keeps per connection and per stage it hosts.

`StageRoom` is one stage on this node: its Socket.IO room names, presence, the replica of its
live state (with its size, see `hub/state/meter.py`), and the join view encoded once per change.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from storage import Event

from . import state as live
from .inbound import Identity
from .presence import StagePresence
from .ratelimit import TokenBucket
from .roster import Part

if TYPE_CHECKING:
    from .replica import Replica

# How long a join view that depends on the clock (playing audio, speech bubbles) may be reused.
VIEW_MAX_AGE = 0.5


@dataclass
class Connection:
    """One Socket.IO connection and what the hub knows about it."""

    sid: str
    session: str
    user_id: int | None
    username: str | None
    nickname: str
    bucket: TokenBucket
    joins: TokenBucket
    address: str = "unknown"  # the client address key (hub/addresses.py), for per-address limits
    resume: str = ""  # the secret that lets this session's owner, and only them, resume it
    room: StageRoom | None = None
    role: str = "audience"
    admin: bool = False
    service: bool = False
    chat_window: bool = False  # joined as the standalone chat page: not in presence
    replay: Any = None
    order: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)  # its publishes, one at a time
    board_pending: dict[str, asyncio.Future[Any]] = field(default_factory=dict, repr=False)  # hub/board_order.py
    relay_hold: set[str] | None = None  # relays refused for now: later ones wait for them (hub/relay.py)

    def identity(self) -> Identity:
        return Identity(self.session, self.nickname, self.role)

    def stop_replay(self) -> None:
        if self.replay is not None:
            self.replay.close()
            self.replay = None


@dataclass
class StageRoom:
    """One stage as this node hosts it: Socket.IO rooms, presence and the replica of its state.

    `state` holds exactly the events of `epoch` up to `delivered_seq`, the last event written to
    the stage's sockets. While `pending` is not None the replica is catching up with the stage
    log (a gap, a load): what the log delivers meanwhile waits there, and joins wait.
    """

    stage_id: int
    slug: str
    default_color: str | None
    epoch: str
    delivered_seq: int
    presence: StagePresence
    state: dict[str, Any]
    meter: live.StateMeter
    size: int = 0  # bytes of `state` encoded (the meter's measure)
    epoch_start: int | None = None  # the seq `epoch` began after, when this process saw it begin
    presence_part: Part = field(default_factory=Part)  # this process's part, as last published
    busy: bool = False
    sockets: int = 0  # connections on the stage here, gateways included (presence counts people)
    idle_since: float = field(default_factory=time.monotonic)
    prepared: Prepared | None = None
    pending: list[Arrival] | None = None
    caught_up: asyncio.Event = field(default_factory=asyncio.Event)
    exposure: tuple[str, bool] | None = None  # (status, visible) the stage's sockets last heard of
    replica: Replica = field(init=False, repr=False)
    _views: dict[bool, tuple[dict[str, Any], float, orjson.Fragment]] = field(default_factory=dict)

    @property
    def everyone(self) -> str:
        return f"stage:{self.stage_id}"

    @property
    def performers(self) -> str:
        return f"stage:{self.stage_id}:performers"

    def session(self, session: str) -> str:
        """The Socket.IO room of one session's performer sockets on this stage (targeted events)."""
        return f"stage:{self.stage_id}:session:{session}"

    def view(self, audience: bool, now_ms: int) -> orjson.Fragment:
        """The join ack's `state` for the audience or for performers, encoded once and reused
        until the next event (or, when it depends on the clock, for VIEW_MAX_AGE seconds)."""
        cached = self._views.get(audience)
        now = time.monotonic()
        if cached is not None and cached[0] is self.state and cached[1] > now:
            return cached[2]
        view = live.view(self.state, now_ms, audience=audience)
        expires = now + VIEW_MAX_AGE if live.depends_on_time(self.state) else float("inf")
        encoded = orjson.Fragment(orjson.dumps(view))
        self._views[audience] = (self.state, expires, encoded)
        return encoded


Arrival = tuple[Event | int, str]
"""What the stage log delivered: an event, or the seq a new epoch begins after, with its epoch."""


@dataclass(frozen=True)
class Prepared:
    """The state an accepted publish leads to, computed (and measured) before it was numbered, so
    that delivery need not apply it again when nothing came in between."""

    base: dict[str, Any]
    topic: str
    payload: Any
    at: int
    state: dict[str, Any]
    size: int

    def leads(self, state: dict[str, Any], event: Event) -> bool:
        """Whether this is `event` applied to `state` (the reducers read only topic, payload and
        `at`); the payload is the same object in one process, an equal copy from Redis."""
        return (
            self.base is state
            and self.topic == event.topic
            and self.at == event.at
            and (self.payload is event.payload or self.payload == event.payload)
        )


