"""The node: this process's stages, their sockets, presence and live state, and the one broadcast path.

Each stage's events are numbered by the stage log (`hub/stagelog/`, in memory or in Redis): a
publish appends a draft there, and every process hosting the stage, this one included, receives
the numbered event from the log and folds it into its replica of the stage (`hub/replica.py`),
which writes it to the stage's sockets through `broadcast`, the single function that does so.

A publish is refused (`too_large`) before it is numbered when the state it leads to would hold an
item past `object_limit` bytes or grow past `state_limit` bytes. A stage with no socket here for
`room_idle` seconds is unloaded (snapshotted first, unfollowed) and loaded again when next used.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import socketio

from storage import EVERYONE, Event, Stage

from . import state as live
from .attendance import Attendance
from .clock import now_ms
from .inbound import Refused, idempotency_key
from .logs import Sparse
from .metrics import Metrics
from .persistence import Persistence
from .presence import StagePresence
from .ratelimit import KeyedBuckets
from .replica import Replica
from .roles import sees_all
from .rooms import Connection, Prepared, StageRoom
from .roster import MemoryRoster, Roster
from .stagelog import Appended, Draft, Fenced, LogUnavailable, Position, StageLog, Unseeded
from .state.video import is_video

__all__ = ["Accepted", "Connection", "Node", "NodeOptions", "Sender", "StageRoom"]

log = logging.getLogger("hub.node")
CHAT = "chat"  # bounded by its message counts: chat is never refused for the stage's size
UNAVAILABLE = "the stage log cannot be reached; try again shortly"


class Sender(Protocol):
    """Writes one packet to every socket of a Socket.IO room (see `fanout.py`)."""

    def send(self, room: str, name: str, data: Any, supersedes: Hashable | None = None) -> int: ...

    def release(self, room: str | None = None) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class NodeOptions:
    """The node's tunables (from Settings): presence coalescing, state limits, idle stages, scenes."""

    presence_interval: float = 0.25
    presence_grace: float = 30.0
    presence_ttl: float = 15.0
    recovery_bytes: int = 1024 * 1024
    limits: live.Limits = live.DEFAULT_LIMITS
    state_limit: int = 4 * 1024 * 1024
    object_limit: int = 64 * 1024
    room_idle: float = 300.0
    scenes_per_stage: int = 200
    scene_save_rate: float = 0.2
    scene_save_burst: int = 10


class Accepted(NamedTuple):
    """A publish's outcome: its event, a future done once it is stored, and whether it is an
    earlier publish's event (a retry with the same idempotency key)."""

    event: Event
    stored: asyncio.Future[None]
    duplicate: bool


class Node:
    """Owns the local stages and connections; numbers events through the stage log."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        stage_log: StageLog,
        fanout: Sender,
        persistence: Persistence,
        metrics: Metrics,
        options: NodeOptions = NodeOptions(),
        roster: Roster | None = None,
    ) -> None:
        self.sio = sio
        self.log = stage_log
        self.fanout = fanout
        self.persistence = persistence
        self.metrics = metrics
        self.options = options
        self.limits = options.limits
        self.connections: dict[str, Connection] = {}
        self.rooms: dict[int, StageRoom] = {}
        self.hub_id = ""  # set at start-up (HUB_ID or hub_meta); the join ack names it for gateways
        self._unloader: asyncio.Task[None] | None = None
        self._loading: dict[int, asyncio.Task[StageRoom]] = {}
        self._closing: dict[int, asyncio.Task[None]] = {}  # unfollowing: a new load waits for it
        self._sparse = Sparse(log)
        roster = roster if roster is not None else MemoryRoster(ttl=options.presence_ttl, grace=options.presence_grace)
        self.attendance = Attendance(roster, self.rooms.get, fanout.send, metrics, options.presence_interval)
        # A scene holds a whole stage: saving them is limited per stage (socket and GraphQL alike).
        self.scene_saves = KeyedBuckets(options.scene_save_rate, options.scene_save_burst)

    # stages

    async def room(self, stage: Stage) -> StageRoom:
        """The node's room for a stage, loaded (from the store and the log) on first use; Refused
        (`unavailable`) when the stage log cannot be reached."""
        room = self.rooms.get(stage.id)
        if room is not None:
            return room
        loading = self._loading.get(stage.id)
        if loading is None:
            loading = self._loading[stage.id] = asyncio.create_task(self._load(stage), name=f"load-stage-{stage.id}")
            loading.add_done_callback(lambda _: self._loading.pop(stage.id, None))
        try:
            return await asyncio.shield(loading)
        except LogUnavailable as exc:
            self._unreachable(exc)
            raise Refused("unavailable", UNAVAILABLE) from exc

    async def _load(self, stage: Stage) -> StageRoom:
        closing = self._closing.get(stage.id)
        if closing is not None:
            await closing
        opts = self.options
        meter = live.StateMeter(opts.object_limit)
        room = StageRoom(
            stage.id, stage.slug, stage.default_color, "", 0, StagePresence(opts.presence_grace), {}, meter
        )
        room.exposure = (stage.status, stage.visible)
        room.replica = Replica(self, room)
        await room.replica.load()
        if await self.persistence.store.get_stage_by_id(stage.id) is None:  # deleted meanwhile
            await room.replica.close()
            raise Refused("not_found", f"no stage {stage.slug!r}")
        await self.attendance.watch(room)
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
        fence: str | None = None,
    ) -> Accepted:
        """Accept one event: numbered by the stage log, folded and delivered by the replicas, and
        handed to the archive.

        Raises Refused (`unavailable`) when the archive's buffer is full, the stage is being
        swept or the log cannot be reached, before anything happens. When the sender's
        idempotency key (a publish id, a relayed event id) was used on this stage within the
        history window, nothing is published: the first publish's event comes back. `at` is the
        event's hub time (now when None), the same the payload was stamped with. `fence` is the
        token of the stage's fence when its holder publishes (a sweep's `blankScene`).
        """
        key = idempotency_key(sender)
        if self.persistence.full:
            # A retry of a publish already accepted (its first ack lost) is answered, not refused.
            first = await self._recall(room, key)
            if first is not None:
                return first
            raise Refused("unavailable", "the archive is not keeping up; try again shortly")
        if room.busy and fence is None:
            raise Refused("unavailable", "the stage is being archived; try again shortly")
        at = now_ms() if at is None else at
        draft = Draft(topic, payload, at, sender, audience, target_session)
        room.prepared = self._prepare(room, topic, payload, at)
        try:
            try:
                appended = await self.log.append(room.stage_id, draft, key, fence)
            except Unseeded:  # the log lost the stage (Redis restarted empty): start it again
                await room.replica.reseed()
                appended = await self.log.append(room.stage_id, draft, key, fence)
        except Fenced as exc:
            room.prepared = None
            raise Refused("unavailable", "the stage is being archived; try again shortly") from exc
        except LogUnavailable as exc:
            room.prepared = None
            self._unreachable(exc)
            raise Refused("unavailable", UNAVAILABLE) from exc
        # On success the replica's fold takes `prepared` (now, or when the event arrives from Redis).
        if not appended.duplicate:
            return Accepted(appended[0], self.persistence.record(appended[0]), False)
        room.prepared = None  # a retry: nothing was appended, so nothing will fold `prepared`
        return self._retried(room, appended)

    async def _recall(self, room: StageRoom, key: str | None) -> Accepted | None:
        """The answer to a retried publish whose key the log holds, without appending; None when
        there is no key, the log has none such, or cannot be reached (the caller refuses then)."""
        if key is None:
            return None
        try:
            first = await self.log.recall(room.stage_id, key)
        except LogUnavailable:
            return None
        return None if first is None else self._retried(room, first)

    def _retried(self, room: StageRoom, first: Appended) -> Accepted:
        """A retry's answer: the first event, stored again (a no-op when its process stored it)
        unless its history was swept meanwhile; with the buffer full, once there is room."""
        event, epoch = first
        if epoch != room.epoch:
            return Accepted(event, _done(), True)
        if not self.persistence.full:
            return Accepted(event, self.persistence.record(event), True)
        return Accepted(event, asyncio.ensure_future(self._record_when_room(event)), True)

    async def _record_when_room(self, event: Event) -> None:
        """Hand `event` to the writer once its buffer has room (the caller's deadline bounds it)."""
        while self.persistence.full and not self.persistence.closing:
            await asyncio.sleep(0.05)
        await self.persistence.record(event)

    def _prepare(self, room: StageRoom, topic: str, payload: Any, at: int) -> Prepared:
        """The state this publish leads to, measured; Refused (`too_large`) when it would hold an
        item past `object_limit` or grow the state past `state_limit` (shrinking is always fine)."""
        state = live.apply(room.state, {"topic": topic, "payload": payload, "at": at}, self.options.limits)
        if state is room.state:
            return Prepared(room.state, topic, payload, at, state, room.size)
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
        return Prepared(room.state, topic, payload, at, state, measure.total)

    def _unreachable(self, exc: LogUnavailable) -> None:
        self.metrics.stagelog_failures.inc()
        self._sparse.warning("stagelog", "the stage log cannot be reached", error=str(exc)[:200])

    def new_history(self, room: StageRoom) -> None:
        """The replica's call when its stage begins a new epoch: tell the stage's sockets."""
        self.fanout.send(room.everyone, "epoch", {"epoch": room.epoch, "seq": room.delivered_seq})

    def reconnect(self, room: StageRoom) -> None:
        """The replica's call when it cannot make its sockets whole: end their transports (not
        their sessions), so that they reconnect and join again with `since`."""
        self.metrics.replica_rebuilds.inc()
        self.fanout.release(room.everyone)

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
        self,
        conn: Connection,
        stage: Stage,
        role: str,
        nickname: str,
        since: tuple[str, int] | None = None,
        chat_window: bool = False,
    ) -> dict[str, Any]:
        """Put a connection on a stage and return the join ack; leaves its previous stage first.

        With `since` (epoch, seq) inside the kept history the ack carries exactly the missed
        events; otherwise the whole live state as this role may see it. A `chat_window` (the
        standalone chat page) receives everything its role may see but is not in presence.
        """
        room = await self.room(stage)
        everything = sees_all(role)
        try:
            await room.replica.synced()
            missed = await self._missed(room, since, everything, conn.session)
        except LogUnavailable as exc:
            raise Refused("unavailable", UNAVAILABLE) from exc
        if self.connections.get(conn.sid) is not conn:
            raise Refused("unavailable", "connection is closing")
        if conn.room is not None:
            self.exit(conn)
        # From here to the return nothing awaits: the socket enters the room at exactly
        # `delivered_seq`, so it receives every later event once and no earlier one.
        conn.room, conn.role, conn.nickname, conn.chat_window = room, role, nickname, chat_window
        room.sockets += 1
        targeted = (room.performers, room.session(conn.session)) if everything else ()
        self._rooms_of(conn.sid, enter=(room.everyone, *targeted))
        if not conn.service and not chat_window:  # a gateway or a chat window is not someone on the stage
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
            "presence": self.attendance.view(room),
            "hub": self.hub_id,
            "now": now_ms(),  # the hub's clock: a late joiner times animations and sound by it
        }
        if missed is None:
            ack["recovered"] = False
            ack["state"] = room.view(not everything, now_ms())
            if conn.service and room.epoch_start is not None:
                ack["epochStart"] = room.epoch_start  # a gateway reads the archive from here (`history`)
        else:
            ack["recovered"] = True
            ack["events"] = [event.wire() for event in missed]
        return ack

    async def _missed(
        self, room: StageRoom, since: tuple[str, int] | None, performer: bool, session: str
    ) -> list[Event] | None:
        """The events after `since` up to the replica's `delivered_seq` that this socket may see,
        or None when continuity is lost (or the log cannot say: the whole state is as good).

        Reading the log may take a moment while the replica moves on: read again until what was
        read reaches the replica (then nothing awaits until the socket is in the room)."""
        for _ in range(5):
            if since is None or since[0] != room.epoch or since[1] > room.delivered_seq:
                return None
            if since[1] == room.delivered_seq:
                return []
            try:
                # Missed events weighing more than the state: the state is the cheaper answer.
                most = max(room.size, self.options.recovery_bytes)
                events = await self.log.read(room.stage_id, Position(*since), most)
            except LogUnavailable:
                return None
            if events is None:
                return None
            upto = room.delivered_seq
            if room.pending is None and since[0] == room.epoch and events and events[-1].seq >= upto:
                return [e for e in events if e.seq <= upto and e.visible_to(performer, session)]
            await room.replica.synced()
        return None

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
        """Drop a stage's room (unloaded, or deleted after evicting everyone) and stop following it."""
        room = self.rooms.pop(stage_id, None)
        if room is None:
            return
        closing = self._closing[stage_id] = asyncio.create_task(self._release(room), name=f"release-{stage_id}")
        closing.add_done_callback(lambda _: self._closed(stage_id, closing))

    async def _release(self, room: StageRoom) -> None:
        await room.replica.close()
        await self.attendance.release(room)

    def _closed(self, stage_id: int, task: asyncio.Task[None]) -> None:
        if self._closing.get(stage_id) is task:
            del self._closing[stage_id]

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
        self.attendance.changed(room)

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
        """Drop a stage nobody is on from memory, once its snapshot and events are stored, and stop
        following its log; it is loaded again (same epoch, the log's history) when next used.
        False when it was used again meanwhile."""
        if room.sockets or room.busy or room.pending is not None or self.rooms.get(room.stage_id) is not room:
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
            room.replica.stop()
        await self.attendance.close()
        self.fanout.close()
        await self.persistence.stop([(r.stage_id, r.epoch, r.delivered_seq, r.state) for r in self.rooms.values()])
        await self.log.close()


def _done() -> asyncio.Future[None]:
    """A `stored` with nothing to wait for."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    done.set_result(None)
    return done


def supersedes(event: Event) -> tuple[Any, ...] | None:
    """What this event makes obsolete for a lagging socket: an earlier `moveTo` of the same object.
    Not for a video: a `moveTo` copying the state keeps its playback, so an earlier play or seek
    still counts (hub/state/video.py)."""
    payload = event.payload
    if event.topic == "board" and payload.get("type") == "moveTo" and not is_video(payload["object"]):
        return ("moveTo", event.stage_id, payload["object"]["id"])
    return None
