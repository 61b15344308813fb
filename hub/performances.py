"""Socket calls for a stage's archive: sweep, recordings, performances, trimming and replay.

Managing the archive is for the stage's owner and editors (and admins); listing and replaying
are for anyone who may watch the stage. See docs/protocol.md, "Archive and replay".
"""

from __future__ import annotations

from typing import Any

from storage import DEFAULT_COLOR, Performance, Store

from . import stage_actions as actions
from .inbound import Refused
from .node import Connection, Node, StageRoom
from .replay import Replay
from .roles import EDITOR, OWNER, is_performer, resolve_role
from .sockets import SocketHandlers

REPLAY_ACTIONS = ("play", "pause", "seek", "speed", "loop")


class PerformanceHandlers:
    """Registers the archive calls on the socket handlers."""

    def __init__(self, sockets: SocketHandlers, node: Node, store: Store) -> None:
        self.node, self.store = node, store
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
        performance = await actions.start_recording(
            self.node, self.store, room, conn.identity().sender(), name, blank=data.get("blank") is True
        )
        return {"ok": True, "performance": performance.public()}

    async def save_recording(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        room = self._managed_room(conn)
        performance = await self._performance_of(room, data.get("id"))
        saved = await actions.save_recording(self.node, self.store, room, performance)
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
        if conn.room is None:
            raise Refused("not_joined", "join a stage to list its performances")
        listed = await self.store.archive.performances(conn.room.stage_id)
        return {"ok": True, "performances": [p.public() for p in listed]}

    async def replay(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        """Leave any live stage and play a performance to this socket alone, with its timing."""
        performance = await self._performance(data.get("performance"))
        stage = await self.store.get_stage(performance.stage_slug) if performance.stage_id is not None else None
        stage = stage if stage is not None and stage.id == performance.stage_id else None
        performer = stage is not None and is_performer(resolve_role(stage, conn.user_id))
        events = await self.store.archive.performance_events(performance.id)
        conn.stop_replay()
        self.node.exit(conn)
        conn.replay = Replay(
            events,
            lambda name, payload: self.node.fanout.send(conn.sid, name, payload),
            performer=performer,
            session=conn.session,
            default_color=stage.default_color if stage else DEFAULT_COLOR,
            speed=_speed(data.get("speed", 1)),
            loop=data.get("loop") is True,
            limits=self.node.options.limits,
        )
        conn.replay.play()
        return {"ok": True, "performance": performance.public(), "status": conn.replay.status()}

    async def replay_control(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        replay: Replay | None = conn.replay
        if replay is None:
            raise Refused("not_joined", "start a replay first")
        action, value = data.get("action"), data.get("value")
        if action == "play":
            replay.play()
        elif action == "pause":
            replay.pause()
        elif action == "seek" and isinstance(value, (int, float)) and not isinstance(value, bool):
            replay.seek(float(value))
        elif action == "speed":
            replay.set_speed(_speed(value))
        elif action == "loop" and isinstance(value, bool):
            replay.set_loop(value)
        else:
            raise Refused("bad_request", f"action must be one of {', '.join(REPLAY_ACTIONS)} with a valid value")
        return {"ok": True, "status": replay.status()}

    # helpers

    def _managed_room(self, conn: Connection) -> StageRoom:
        if conn.room is None:
            raise Refused("not_joined", "join the stage first")
        if conn.role not in (OWNER, EDITOR) and not conn.admin:
            raise Refused("forbidden", "only the stage's owner and editors manage its archive")
        return conn.room

    async def _performance(self, performance_id: Any) -> Performance:
        performance = (
            await self.store.archive.get_performance(performance_id)
            if isinstance(performance_id, int) and not isinstance(performance_id, bool)
            else None
        )
        if performance is None:
            raise Refused("not_found", f"no performance {str(performance_id)[:40]!r}")
        return performance

    async def _performance_of(self, room: StageRoom, performance_id: Any) -> Performance:
        performance = await self._performance(performance_id)
        if performance.stage_id != room.stage_id:
            raise Refused("not_found", "no such performance on this stage")
        return performance


def _speed(value: Any) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.5 <= value <= 32:
        raise Refused("bad_request", "speed must be between 0.5 and 32")
    return float(value)
