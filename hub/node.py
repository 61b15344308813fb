"""The node: this process's stages, their sockets, presence and live state, and the one broadcast path.

The broker hands every accepted event, in `seq` order, to `Node.deliver`, which applies it
to the stage's live state, keeps it in the stage's history and writes it to the stage's
sockets through `broadcast`, the single function that does so. All of it is synchronous, so
nothing can interleave between an event's state change and its delivery.

A publish is refused (`too_large`) before it is numbered when the state it leads to would hold an
item past `object_limit` bytes or grow past `state_limit` bytes. A stage with no socket here for
`room_idle` seconds is unloaded (snapshotted first) and rebuilt from the store when next used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Hashable
from dataclasses import dataclass
from typing import Any, Protocol

import socketio

from storage import EVERYONE, Event, Stage

from . import state as live
from .broker import Broker, now_ms
from .history import History, RecentKeys
from .inbound import Refused, idempotency_key
from .metrics import Metrics
from .persistence import Persistence
from .presence import StagePresence
from .ratelimit import KeyedBuckets
from .roles import sees_all
from .rooms import Connection, Prepared, StageRoom

__all__ = ["Connection", "Node", "NodeOptions", "Sender", "StageRoom"]

log = logging.getLogger("hub.node")
CHAT = "chat"  # bounded by its message counts: chat is never refused for the stage's size


class Sender(Protocol):
    """Writes one packet to every socket of a Socket.IO room (see `fanout.py`)."""

    def send(self, room: str, name: str, data: Any, supersedes: Hashable | None = None) -> int: ...

    def release_all(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class NodeOptions:
    """The node's tunables (from Settings): presence coalescing, history bounds, state limits."""

    presence_interval: float = 0.25
    presence_grace: float = 30.0
    history_size: int = 2000
    history_age: float = 600.0
    limits: live.Limits = live.DEFAULT_LIMITS
    state_limit: int = 4 * 1024 * 1024
    object_limit: int = 64 * 1024
    room_idle: float = 300.0
    scenes_per_stage: int = 200
    scene_save_rate: float = 0.2
    scene_save_burst: int = 10


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
        self._unloader: asyncio.Task[None] | None = None
        # A scene holds a whole stage: saving them is limited per stage (socket and GraphQL alike).
        self.scene_saves = KeyedBuckets(options.scene_save_rate, options.scene_save_burst)
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
                recent = RecentKeys(opts.history_size, opts.history_age)
                for event in restored.recent:
                    history.append(event)
                    key = idempotency_key(event.sender)
                    if key is not None:  # a publish retried across a restart is still the same one
                        recent.put(key, (event, _stored()), age=(now_ms() - event.at) / 1000)
                presence = StagePresence(opts.presence_grace)
                meter = live.StateMeter(opts.object_limit)
                room = StageRoom(
                    stage.id, stage.slug, default_color, restored.epoch, restored.seq, presence, restored.state,
                    history, meter, recent, meter.measure(restored.state).total,
                )  # fmt: skip
                self.broker.restore(stage.id, restored.seq)
                self.rooms[stage.id] = room
                self._start_unloader()
        return room

    async def publish(
        self,
        room: StageRoom,
        topic: str,
        payload: Any,
        sender: dict[str, Any],
        audience: str = EVERYONE,
        target_session: str | None = None,
        at: int | None = None,
    ) -> tuple[Event, asyncio.Future[None]]:
        """Accept one event: numbered by the broker, delivered, and handed to the archive.

        Returns the event and a future that resolves once it is stored. Raises Refused
        (`unavailable`) when the archive's buffer is full, before anything happens. When the
        sender's idempotency key (a publish id, a relayed event id) was used on this stage within
        the history window, nothing is published: the first publish's event and future are
        returned. `at` is the event's hub time (now when None), the same the payload was stamped with.
        """
        key = idempotency_key(sender)
        if key is not None:
            first = room.recent.get(key)
            if first is not None:
                return first
        if self.persistence.full:
            raise Refused("unavailable", "the archive is not keeping up; try again shortly")
        if room.busy:
            raise Refused("unavailable", "the stage is being archived; try again shortly")
        at = now_ms() if at is None else at
        room.prepared = self._prepare(room, topic, payload, at)
        event = await self.broker.publish(room.stage_id, topic, payload, sender, audience, target_session, at)
        accepted = event, self.persistence.record(event, room.state, room.epoch)
        if key is not None:
            room.recent.put(key, accepted)
        return accepted

    def _prepare(self, room: StageRoom, topic: str, payload: Any, at: int) -> Prepared:
        """The state this publish leads to, measured; Refused (`too_large`) when it would hold an
        item past `object_limit` or grow the state past `state_limit` (shrinking is always fine)."""
        state = live.apply(room.state, {"topic": topic, "payload": payload, "at": at}, self.options.limits)
        if state is room.state:
            return Prepared(room.state, payload, state, room.size)
        measure = room.meter.measure(state)
        opts = self.options
        if measure.oversized:
            what, size = measure.oversized[0]
            raise Refused("too_large", f"{topic}: {what!r} would be {size} bytes, the limit is {opts.object_limit}")
        if measure.total > opts.state_limit and measure.total > room.size and topic != CHAT:
            raise Refused(
                "too_large",
                f"the stage's state would be {measure.total} bytes, the limit is {opts.state_limit}: "
                "clear the whiteboard, remove objects or blank the scene",
            )
        return Prepared(room.state, payload, state, measure.total)

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
        room.size = room.meter.measure(state).total
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
        prepared, room.prepared = room.prepared, None
        if prepared is not None and prepared.base is room.state and prepared.payload is event.payload:
            room.state, room.size = prepared.state, prepared.size
        else:  # another process's event came in between (a shared broker): apply it here
            try:
                room.state = live.apply(room.state, wire, self.options.limits)
                room.size = room.meter.measure(room.state).total
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
            target = room.session(event.target_session)
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
        room.sockets += 1
        everything = sees_all(role)
        targeted = (room.performers, room.session(conn.session)) if everything else ()
        self._rooms_of(conn.sid, enter=(room.everyone, *targeted))
        if not conn.service:  # a gateway is not someone on the stage
            room.presence.join(conn.session, conn.sid, nickname, role)
            self.presence_changed(room)
        self._count_stages()
        ack: dict[str, Any] = {
            "ok": True,
            "role": role,
            "session": conn.session,
            "resume": conn.resume,
            "stage": stage.public(),
            "epoch": room.epoch,
            "seq": room.delivered_seq,
            "presence": room.presence.snapshot(),
            "hub": self.hub_id,
        }
        missed = self._missed(room, since, everything, conn.session)
        if missed is None:
            ack["recovered"] = False
            ack["state"] = room.view(not everything, now_ms())
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
        room.sockets -= 1
        if not room.sockets:
            room.idle_since = time.monotonic()
        self._rooms_of(conn.sid, leave=(room.everyone, room.performers, room.session(conn.session)))
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

    # unloading idle stages

    def _start_unloader(self) -> None:
        if self._unloader is None and self.options.room_idle > 0:
            self._unloader = asyncio.create_task(self._unload_idle_rooms(), name="unload-idle-stages")

    async def _unload_idle_rooms(self) -> None:
        idle = self.options.room_idle
        while True:
            await asyncio.sleep(min(idle / 2, 30.0))
            for room in [r for r in self.rooms.values() if not r.sockets and time.monotonic() - r.idle_since >= idle]:
                try:
                    await self.unload(room)
                except Exception:  # the store is down: keep the room, try again next round
                    log.warning("could not unload an idle stage", extra={"stage_id": room.stage_id}, exc_info=True)

    async def unload(self, room: StageRoom) -> bool:
        """Drop a stage nobody is on from memory, once its snapshot and events are stored; it is
        rebuilt from the store (same epoch, same history) when next used. False when it was
        used again meanwhile."""
        if room.sockets or room.busy or self.rooms.get(room.stage_id) is not room:
            return False
        seq = room.delivered_seq
        self.persistence.snapshot(room.stage_id, room.epoch, seq, room.state)
        await self.persistence.writer.flush()
        if room.sockets or room.busy or room.delivered_seq != seq or self.rooms.get(room.stage_id) is not room:
            return False
        self.forget(room.stage_id)
        return True

    async def close(self) -> None:
        """Stop: cancel timers, then snapshot and store everything before the store closes."""
        if self._unloader is not None:
            self._unloader.cancel()
        for room in self.rooms.values():
            if room.presence_timer is not None:
                room.presence_timer.cancel()
        self.fanout.close()
        await self.broker.close()
        await self.persistence.stop([(r.stage_id, r.epoch, r.delivered_seq, r.state) for r in self.rooms.values()])


def _stored() -> asyncio.Future[None]:
    """The `stored` of an event read back from the archive: done."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    done.set_result(None)
    return done


def supersedes(event: Event) -> tuple[Any, ...] | None:
    """What this event makes obsolete for a lagging socket: an earlier `moveTo` of the same object."""
    payload = event.payload
    if event.topic == "board" and payload.get("type") == "moveTo":
        return ("moveTo", event.stage_id, payload["object"]["id"])
    return None
