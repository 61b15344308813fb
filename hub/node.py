"""The node: this process's stages, their sockets, presence and live state, and the one broadcast path.

The broker hands every accepted event, in `seq` order, to `Node.deliver`, which applies it
to the stage's live state, keeps it in the stage's history and writes it to the stage's
sockets through `broadcast`, the single function that does so. All of it is synchronous, so
nothing can interleave between an event's state change and its delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any, AsyncIterator, Hashable, Protocol

import socketio

from storage import EVERYONE, Event, Stage

from . import state as live
from .broker import Broker, now_ms
from .history import History
from .inbound import Identity, Refused
from .metrics import Metrics
from .persistence import Persistence
from .presence import StagePresence
from .ratelimit import TokenBucket
from .roles import sees_all

log = logging.getLogger("hub.node")


class Sender(Protocol):
    """Writes one packet to every socket of a Socket.IO room (see `fanout.py`)."""

    def send(self, room: str, name: str, data: Any, supersedes: Hashable | None = None) -> int: ...

    def close(self) -> None: ...


@dataclass
class Connection:
    """One Socket.IO connection and what the hub knows about it."""

    sid: str
    session: str
    user_id: int | None
    username: str | None
    nickname: str
    bucket: TokenBucket
    room: "StageRoom | None" = None
    role: str = "audience"
    admin: bool = False
    service: bool = False
    replay: Any = None
    address: str = "unknown"  # the client address key (per-address limits); set at connect

    def identity(self) -> Identity:
        return Identity(self.session, self.nickname, self.role)

    def stop_replay(self) -> None:
        if self.replay is not None:
            self.replay.close()
            self.replay = None


@dataclass
class StageRoom:
    """One stage as this node hosts it: Socket.IO rooms, presence, live state and history.

    `state` and `history` hold exactly the events up to `delivered_seq`, the last event
    written to the stage's sockets.
    """

    stage_id: int
    slug: str
    default_color: str | None
    epoch: str
    delivered_seq: int
    presence: StagePresence
    state: dict[str, Any]
    history: History
    presence_timer: asyncio.TimerHandle | None = None
    busy: bool = False

    @property
    def everyone(self) -> str:
        return f"stage:{self.stage_id}"

    @property
    def performers(self) -> str:
        return f"stage:{self.stage_id}:performers"


def session_room(session: str) -> str:
    return f"session:{session}"


@dataclass(frozen=True)
class NodeOptions:
    """The node's tunables (from Settings): presence coalescing, history bounds, state limits."""

    presence_interval: float = 0.25
    presence_grace: float = 30.0
    history_size: int = 2000
    history_age: float = 600.0
    limits: live.Limits = live.DEFAULT_LIMITS


class Node:
    """Owns the local stages and connections and talks to the broker behind its seam."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        broker: Broker,
        fanout: Sender,
        persistence: Persistence,
        metrics: Metrics,
        options: NodeOptions = NodeOptions(),
    ) -> None:
        self.sio = sio
        self.broker = broker
        self.fanout = fanout
        self.persistence = persistence
        self.metrics = metrics
        self.options = options
        self.connections: dict[str, Connection] = {}
        self.rooms: dict[int, StageRoom] = {}
        self.hub_id = ""  # set at start-up (HUB_ID or hub_meta); the join ack names it for gateways
        broker.attach(self.deliver)

    # stages

    async def room(self, stage: Stage) -> StageRoom:
        """The node's room for a stage, rebuilt from the store on first use."""
        room = self.rooms.get(stage.id)
        if room is None:
            default_color = stage.default_color
            restored = await self.persistence.restore(stage.id, default_color)
            room = self.rooms.get(stage.id)
            if room is None:
                opts = self.options
                history = History(opts.history_size, opts.history_age)
                for event in restored.recent:
                    history.append(event)
                presence = StagePresence(opts.presence_grace)
                room = StageRoom(
                    stage.id, stage.slug, default_color, restored.epoch, restored.seq, presence, restored.state, history
                )
                self.broker.restore(stage.id, restored.seq)
                self.rooms[stage.id] = room
        return room

    async def publish(
        self,
        room: StageRoom,
        topic: str,
        payload: Any,
        sender: dict[str, Any],
        audience: str = EVERYONE,
        target_session: str | None = None,
    ) -> tuple[Event, asyncio.Future[None]]:
        """Accept one event: numbered by the broker, delivered, and handed to the archive.

        Returns the event and a future that resolves once it is stored. Raises Refused
        (`unavailable`) when the archive's buffer is full, before anything happens.
        """
        if self.persistence.full:
            raise Refused("unavailable", "the archive is not keeping up; try again shortly")
        if room.busy:
            raise Refused("unavailable", "the stage is being archived; try again shortly")
        event = await self.broker.publish(room.stage_id, topic, payload, sender, audience, target_session)
        return event, self.persistence.record(event, room.state, room.epoch)

    @contextlib.asynccontextmanager
    async def exclusive(self, room: StageRoom) -> AsyncIterator[None]:
        """Hold a stage still: its publishes are refused and everything published so far is stored."""
        room.busy = True
        try:
            await self.persistence.writer.flush()
            yield
        finally:
            room.busy = False

    def restart_history(self, room: StageRoom, epoch: str, state: dict[str, Any]) -> None:
        """Begin a new epoch for a stage (after a sweep): empty history, given state, clients told."""
        room.epoch, room.state = epoch, state
        room.history.clear()
        self.broker.restore(room.stage_id, room.delivered_seq)
        self.persistence.snapshot(room.stage_id, epoch, room.delivered_seq, state)
        self.fanout.send(room.everyone, "epoch", {"epoch": epoch, "seq": room.delivered_seq})

    def deliver(self, event: Event) -> None:
        """Broker callback, in `seq` order: apply the event, keep it, and write it to the stage."""
        room = self.rooms.get(event.stage_id)
        if room is None:
            log.warning("event for a stage with no room", extra={"stage_id": event.stage_id, "seq": event.seq})
            return
        wire = event.wire()
        try:
            room.state = live.apply(room.state, wire, self.options.limits)
        except Exception:  # reducers never raise by design; if one does, the show goes on
            log.exception("reducer failed", extra={"stage_id": room.stage_id, "seq": event.seq})
        room.history.append(event)
        room.delivered_seq = event.seq
        self.broadcast(room, event, wire)

    def broadcast(self, room: StageRoom, event: Event, wire: dict[str, Any]) -> None:
        """The fan-out path: one encoded event to every socket of the stage that may see it."""
        if event.audience == EVERYONE:
            target = room.everyone
        elif event.target_session is None:
            target = room.performers
        else:
            if event.target_session not in room.presence.performers:
                return
            target = session_room(event.target_session)
        self.metrics.deliveries.inc(self.fanout.send(target, "event", wire, supersedes(event)))

    # membership

    async def enter(
        self, conn: Connection, stage: Stage, role: str, nickname: str, since: tuple[str, int] | None = None
    ) -> dict[str, Any]:
        """Put a connection on a stage and return the join ack; leaves its previous stage first.

        With `since` (epoch, seq) inside the kept history the ack carries exactly the missed
        events; otherwise the whole live state as this role may see it.
        """
        room = await self.room(stage)
        if conn.room is not None:
            self.exit(conn)
        # From here to the return nothing awaits: the socket enters the room at exactly
        # `delivered_seq`, so it receives every later event once and no earlier one.
        conn.room, conn.role, conn.nickname = room, role, nickname
        everything = sees_all(role)
        self._rooms_of(conn.sid, enter=(room.everyone, room.performers) if everything else (room.everyone,))
        if not conn.service:  # a gateway is not someone on the stage
            room.presence.join(conn.session, conn.sid, nickname, role)
            self.presence_changed(room)
        self._count_stages()
        ack: dict[str, Any] = {
            "ok": True,
            "role": role,
            "session": conn.session,
            "stage": stage.public(),
            "epoch": room.epoch,
            "seq": room.delivered_seq,
            "presence": room.presence.snapshot(),
            "hub": self.hub_id,
        }
        missed = self._missed(room, since, everything, conn.session)
        if missed is None:
            ack["recovered"] = False
            ack["state"] = live.view(room.state, now_ms(), audience=not everything)
        else:
            ack["recovered"] = True
            ack["events"] = missed
        return ack

    @staticmethod
    def _missed(
        room: StageRoom, since: tuple[str, int] | None, performer: bool, session: str
    ) -> list[dict[str, Any]] | None:
        """The events after `since` this socket may see, or None when continuity is lost."""
        if since is None or since[0] != room.epoch:
            return None
        kept = room.history.after(since[1], room.delivered_seq)
        if kept is None:
            return None
        return [event.wire() for event in kept if event.visible_to(performer, session)]

    def exit(self, conn: Connection) -> None:
        """Take a connection off its stage (leave, join elsewhere, or disconnect)."""
        room = conn.room
        if room is None:
            return
        conn.room, conn.role = None, "audience"
        self._rooms_of(conn.sid, leave=(room.everyone, room.performers))
        if not conn.service:
            room.presence.leave(conn.session, conn.sid)
            self.presence_changed(room)
        self._count_stages()

    def evict(self, room: StageRoom, reason: dict[str, Any], audience_only: bool = True) -> int:
        """Take sockets off a stage (its audience, or everyone), each told why by a `stageClosed`
        message first; returns how many left. Used when a stage closes to audience or is deleted."""
        leaving = [
            conn for conn in self.connections.values()
            if conn.room is room and not (audience_only and (sees_all(conn.role) or conn.admin))
        ]  # fmt: skip
        for conn in leaving:
            self.fanout.send(conn.sid, "stageClosed", reason)
            self.exit(conn)
        return len(leaving)

    def forget(self, stage_id: int) -> None:
        """Drop a deleted stage's room (after evicting everyone from it)."""
        room = self.rooms.pop(stage_id, None)
        if room is not None and room.presence_timer is not None:
            room.presence_timer.cancel()

    def _rooms_of(self, sid: str, enter: tuple[str, ...] = (), leave: tuple[str, ...] = ()) -> None:
        """Change a socket's Socket.IO rooms synchronously (the server's own calls are coroutines)."""
        manager = self.sio.manager
        for name in leave:
            manager.basic_leave_room(sid, "/", name)
        for name in enter:
            manager.basic_enter_room(sid, "/", name)

    # presence

    def presence_changed(self, room: StageRoom) -> None:
        """Schedule one presence message for the stage; changes within the interval coalesce."""
        if room.presence_timer is None:
            loop = asyncio.get_running_loop()
            room.presence_timer = loop.call_later(self.options.presence_interval, self._send_presence, room)

    def _send_presence(self, room: StageRoom) -> None:
        room.presence_timer = None
        self.metrics.presence_updates.inc()
        self.fanout.send(room.everyone, "presence", room.presence.snapshot())

    def _count_stages(self) -> None:
        self.metrics.stages.set(sum(1 for room in self.rooms.values() if room.presence.members))

    async def close(self) -> None:
        """Stop: cancel timers, then snapshot and store everything before the store closes."""
        for room in self.rooms.values():
            if room.presence_timer is not None:
                room.presence_timer.cancel()
        self.fanout.close()
        await self.broker.close()
        await self.persistence.stop([(r.stage_id, r.epoch, r.delivered_seq, r.state) for r in self.rooms.values()])


def supersedes(event: Event) -> tuple[Any, ...] | None:
    """What this event makes obsolete for a lagging socket: an earlier `moveTo` of the same object."""
    payload = event.payload
    if event.topic == "board" and payload.get("type") == "moveTo":
        return ("moveTo", event.stage_id, payload["object"]["id"])
    return None
