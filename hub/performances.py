"""Socket calls for a stage's archive: sweep, recordings, performances, trimming and replay.

Managing the archive is for the stage's owner and editors (and admins); listing and replaying
follow `roles.may_watch_archive`, and a performance the caller may not watch answers exactly
like one that does not exist. Replays share each loaded performance (`replay_cache`) and are
bounded (`replay_slots`). See docs/protocol.md, "Archive and replay".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import Gauge

from storage import DEFAULT_COLOR, NotFoundError, Performance, Stage, Store

from . import stage_actions as actions
from .inbound import Refused
from .node import Connection, Node, StageRoom
from .replay import MAX_SPEED, MIN_SPEED, Replay
from .replay_cache import CacheFull, LoadedPerformance, PerformanceCache
from .replay_slots import ReplaySlots
from .roles import AUDIENCE, EDITOR, OWNER, is_performer, may_watch_archive, resolve_role
from .sockets import SocketHandlers

REPLAY_ACTIONS = ("play", "pause", "seek", "speed", "loop")
MAX_ID = 2**63 - 1  # ids are 64-bit on both databases; a larger number names nothing
MAX_POSITION = 2**53  # ms; any seek target past the end is the end, but must still be a sane number


class PerformanceHandlers:
    """Registers the archive calls on the socket handlers."""

    def __init__(self, sockets: SocketHandlers, node: Node, store: Store) -> None:
        self.node, self.store = node, store
        settings = sockets.settings
        self.replays = PerformanceCache(
            store.archive.performance_events,
            memory=settings.replay_memory,
            keep_idle=settings.replay_keep_idle,
            limits=settings.limits,
            checkpoint_every=max(1, settings.replay_checkpoint_every),
        )
        self.slots = ReplaySlots(
            settings.replays_total, settings.replays_per_address, settings.replay_rate_limit, settings.replay_rate_burst
        )
        _export(sockets.metrics.registry, self.replays, self.slots)
        sockets.on_disconnect.append(lambda conn: self.slots.forget(conn.sid))
        for name, handler in (
            ("sweep", self.sweep),
            ("startRecording", self.start_recording),
            ("saveRecording", self.save_recording),
            ("performances", self.performances),
            ("updatePerformance", self.update_performance),
            ("deletePerformance", self.delete_performance),
            ("trimPerformance", self.trim_performance),
            ("replay", self.replay),
            ("replayControl", self.replay_control),
        ):
            sockets.register(name, handler)

    # managing (the work itself is in stage_actions, shared with GraphQL)

    async def sweep(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        """Archive the live log as a performance; the stage starts a new epoch with a blank scene."""
        room = self._managed_room(conn)
        name = actions.check_name(data.get("name"), default="Performance")
        performance, epoch = await actions.sweep(self.node, self.store, room, conn.identity().sender(), name)
        return {"ok": True, "performance": performance.public(), "epoch": epoch}

    async def start_recording(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        """Open a recording window; it begins with a snapshot of the stage (after blanking it if asked)."""
        room = self._managed_room(conn)
        name = actions.check_name(data.get("name"), default="Recording")
        blank = data.get("blank", False)
        if not isinstance(blank, bool):
            raise Refused("bad_request", "blank must be true or false")
        performance = await actions.start_recording(
            self.node, self.store, room, conn.identity().sender(), name, blank=blank
        )
        return {"ok": True, "performance": performance.public()}

    async def save_recording(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        room = self._managed_room(conn)
        performance = await self._performance_of(room, data.get("id"))
        saved = await actions.save_recording(self.node, self.store, room, performance, conn.identity().sender())
        return {"ok": True, "performance": saved.public()}

    async def update_performance(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        room = self._managed_room(conn)
        performance = await self._performance_of(room, data.get("id"))
        description = actions.check_description(data.get("description"))
        name = actions.check_name(data["name"]) if "name" in data else None
        updated = await self.store.archive.update_performance(performance.id, name=name, description=description)
        return {"ok": True, "performance": updated.public()}

    async def delete_performance(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        room = self._managed_room(conn)
        performance = await self._performance_of(room, data.get("id"))
        await self.store.archive.delete_performance(performance.id)
        return {"ok": True}

    async def trim_performance(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        """Copy a performance with every idle gap longer than `gap` seconds shortened to `gap`."""
        room = self._managed_room(conn)
        performance = await self._performance_of(room, data.get("id"))
        trimmed = await actions.trim(self.store, performance, data.get("gap"), data.get("name"))
        return {"ok": True, "performance": trimmed.public()}

    # watching

    async def performances(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        room, role = conn.room, conn.role  # as called: a leave or replay may run while this awaits
        if room is None:
            raise Refused("not_joined", "join a stage to list its performances")
        stage = await self.store.get_stage_by_id(room.stage_id)
        if not may_watch_archive(stage, role, conn.admin):
            raise Refused("not_found", "this stage has no performances for you to watch")
        listed = await self.store.archive.performances(room.stage_id)
        return {"ok": True, "performances": [p.public() for p in listed]}

    async def replay(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        """Leave any live stage and play a performance to this socket alone, with its timing."""
        self.slots.spend(conn.sid)
        performance_id = _checked_id(data.get("performance"), "performance")
        speed = _checked_speed(data.get("speed", 1), "speed")
        loop = data.get("loop", False)
        if not isinstance(loop, bool):
            raise Refused("bad_request", "loop must be true or false")
        performance, stage = await self._watchable(conn, performance_id)
        performer = stage is not None and is_performer(resolve_role(stage, conn.user_id))
        conn.stop_replay()  # a connection has one replay: the old one ends (and frees its slot) first
        loaded, release = await self._admitted(conn, performance)
        if self.node.connections.get(conn.sid) is not conn:  # it disconnected during the load
            release()
            raise Refused("unavailable", "connection is closing")
        conn.stop_replay()  # a replay started by a call that overtook this one
        self.node.exit(conn)
        timeline = loaded.timeline(performer, conn.session, stage.default_color if stage else DEFAULT_COLOR)
        send = self.node.fanout.send
        conn.replay = Replay(
            timeline, lambda name, payload: send(conn.sid, name, payload), speed=speed, loop=loop, on_close=release
        )
        conn.replay.play()
        status = conn.replay.status()
        return {"ok": True, "performance": performance.public(), "status": status, "density": timeline.density()}

    async def _admitted(
        self, conn: Connection, performance: Performance
    ) -> tuple[LoadedPerformance, Callable[[], None]]:
        """A replay slot for the connection's address and the loaded performance, with the one
        call that hands both back; refused past the bounds."""
        release_slot = self.slots.take(conn.address)
        try:
            loaded = await self.replays.acquire(performance)
        except CacheFull as full:
            release_slot()
            refusal = "the hub holds as many performances for replay as it may; try again later"
            raise Refused("unavailable", refusal) from full
        except NotFoundError as gone:  # deleted since it was looked up
            release_slot()
            raise Refused("not_found", "no such performance") from gone
        except BaseException:
            release_slot()
            raise

        def release() -> None:
            release_slot()
            self.replays.release(loaded)

        return loaded, release

    async def replay_control(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        self.slots.spend(conn.sid)
        replay: Replay | None = conn.replay
        if replay is None:
            raise Refused("not_joined", "start a replay first")
        action, value = data.get("action"), data.get("value")
        if action == "play":
            replay.play()
        elif action == "pause":
            replay.pause()
        elif action == "seek":
            await replay.prepared_seek(_checked_position(value))
        elif action == "speed":
            replay.set_speed(_checked_speed(value, "value"))
        elif action == "loop":
            if not isinstance(value, bool):
                raise Refused("bad_request", "value must be true or false for loop")
            replay.set_loop(value)
        else:
            raise Refused("bad_request", f"action must be one of {', '.join(REPLAY_ACTIONS)}")
        return {"ok": True, "status": replay.status()}

    async def _watchable(self, conn: Connection, performance_id: int | None) -> tuple[Performance, Stage | None]:
        """The performance and its stage (None once deleted), if it exists and the caller may
        watch it; otherwise `not_found`, the same answer either way, so ids cannot be probed."""
        performance = await self.store.archive.get_performance(performance_id) if performance_id else None
        stage = None
        if performance is not None and performance.stage_id is not None:
            stage = await self.store.get_stage_by_id(performance.stage_id)
        role = resolve_role(stage, conn.user_id) if stage is not None else AUDIENCE
        if performance is None or not may_watch_archive(stage, role, conn.admin):
            raise Refused("not_found", "no such performance")
        return performance, stage

    # helpers

    def _managed_room(self, conn: Connection) -> StageRoom:
        if conn.room is None:
            raise Refused("not_joined", "join the stage first")
        if conn.role not in (OWNER, EDITOR) and not conn.admin:
            raise Refused("forbidden", "only the stage's owner and editors manage its archive")
        return conn.room

    async def _performance_of(self, room: StageRoom, performance_id: Any) -> Performance:
        """A performance of the managed stage, by the call's `id`."""
        checked = _checked_id(performance_id, "id")
        performance = await self.store.archive.get_performance(checked) if checked else None
        if performance is None or performance.stage_id != room.stage_id:
            raise Refused("not_found", "no such performance on this stage")
        return performance


def _checked_id(value: Any, name: str) -> int | None:
    """A performance id from a call: `bad_request` naming the field unless an integer; None for an
    integer no row can have (out of the databases' 64-bit range), which the caller answers
    `not_found` like any unknown id."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refused("bad_request", f"{name} must be an integer id")
    return value if 1 <= value <= MAX_ID else None


def _checked_speed(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not MIN_SPEED <= value <= MAX_SPEED:
        raise Refused("bad_request", f"{name} must be a speed between {MIN_SPEED:g} and {MAX_SPEED:g}")
    return float(value)


def _checked_position(value: Any) -> float:
    """A seek target in ms: a finite number from 0 (past the end means the end)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_POSITION:
        raise Refused("bad_request", f"value must be a position in ms between 0 and {MAX_POSITION} for seek")
    return float(value)


def _export(registry: Any, cache: PerformanceCache, slots: ReplaySlots) -> None:
    """Replay gauges, read when /metrics is scraped."""
    for name, text, read in (
        ("hub_replays", "Replays running", lambda: slots.running),
        ("hub_replay_performances", "Performances loaded for replay (in use or idle)", lambda: len(cache)),
        ("hub_replay_events", "Events held by the performances loaded for replay", lambda: cache.events),
        ("hub_replay_bytes", "JSON bytes of the performances loaded for replay", lambda: cache.size),
        (
            "hub_replay_checkpoints", "State checkpoints kept for seeking in loaded performances",
            lambda: cache.checkpoints,
        ),
    ):
        Gauge(name, text, registry=registry).set_function(read)
