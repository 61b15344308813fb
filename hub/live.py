"""What management may do to live stages and sockets: the one narrow interface (issue 14, item 6).

GraphQL resolvers (and anything else that manages the site) call `LiveStages` instead of
reaching into the node's rooms, connections or fan-out. Each change acts on this process's
sockets at once and goes out on the control channel (`hub/control/`), so every other process
does the same to the sockets it holds (item 4). A process that receives a message reads the
stage or user again from the store: the message says what changed, never what it became, so a
message that arrives late or twice does no harm.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from storage import Performance, Scene, Stage, Store

from . import stage_actions as actions
from .control import RESYNC, Control, Message, Outbox
from .node import Connection, Node, StageRoom
from .roles import SERVICE, closed_message, is_performer, resolve_role
from .stagelog import LogUnavailable

log = logging.getLogger("hub.live")
DELETED = "this stage was deleted"
ROLE_CHANGED = "your role on this stage changed"


class LiveStages:
    """This process's live stages as management sees them; owned next to the node."""

    def __init__(self, node: Node, store: Store, control: Control, outbox: Outbox | None = None) -> None:
        self.node, self.store, self.control = node, store, control
        self.outbox = outbox or Outbox(control)

    @property
    def node_id(self) -> str:
        """This process's id on the control channel."""
        return self.control.node_id

    async def start(self) -> None:
        """Listen to the other processes' control messages."""
        await self.control.start(self.handle)

    async def close(self) -> None:
        await self.outbox.flush(1.0)
        await self.outbox.close()
        await self.control.close()

    # what management calls

    async def live_counts(self, stage_id: int) -> tuple[int, int]:
        """(players, audiences) on the stage, across every process (the roster)."""
        return await self.node.attendance.counts(stage_id)

    async def stage_changed(self, before: Stage, after: Stage) -> bool:
        """A stage was edited: sockets get its new slug and colour at their next join, a performer
        who lost their role is taken off, and an audience on a stage that stops being live is told
        and taken off. False when the other processes could not be told yet (retried)."""
        closes = before.status == "live" and after.status != "live"
        self._reconcile(after, closes)
        slugs = sorted({before.slug, after.slug})
        return await self._send({"kind": "stage", "stage": after.id, "slugs": slugs, "closes": closes})

    async def close_stage(self, stage: Stage, message: str, delete: bool = False) -> bool:
        """Tell the stage's audience (or, when it is deleted, everyone) it closed, and take them off."""
        self._close(stage.id, stage.slug, stage.status, message, delete)
        if delete:
            self.store.forget_cached_stages(stage.slug)
            try:
                await self.node.log.drop(stage.id)
            except LogUnavailable:  # what stays is only a number: a stage made later with this id continues it
                log.warning("a deleted stage's log stays in Redis", extra={"stage_id": stage.id})
            closed = {"stage": stage.id, "slug": stage.slug, "status": stage.status, "message": message}
            return await self._send({"kind": "deleted", **closed})
        return await self._send({"kind": "stage", "stage": stage.id, "slugs": [stage.slug], "closes": True})

    async def sign_out(self, user_id: int) -> bool:
        """Disconnect the user's sockets on every process: a deactivated or deleted account, one
        whose role or password changed, must not keep acting with what it was when it connected."""
        await self._disconnect(c for c in self.node.connections.values() if c.user_id == user_id)
        return await self._send({"kind": "signout", "user": user_id})

    # what performers do to a live stage, from management (the work is in stage_actions)

    async def save_scene(self, stage: Stage, name: Any, user_id: int | None, sender: dict[str, Any]) -> Scene:
        return await actions.save_scene(self.node, self.store, await self.node.room(stage), name, user_id, sender)

    async def scenes_changed(self, stage: Stage, sender: dict[str, Any]) -> None:
        """Tell the stage's performers to reload its scene list (if anyone is on it here)."""
        room = self.node.rooms.get(stage.id)
        if room is not None:
            await self.node.publish(room, "background", {"type": "loadScenes"}, sender)

    async def sweep(self, stage: Stage, sender: dict[str, Any], name: str) -> Performance:
        performance, _epoch = await actions.sweep(self.node, self.store, await self.node.room(stage), sender, name)
        return performance

    async def start_recording(
        self, stage: Stage, sender: dict[str, Any], name: str, description: str = ""
    ) -> Performance:
        room = await self.node.room(stage)
        return await actions.start_recording(self.node, self.store, room, sender, name, description)

    async def save_recording(self, stage: Stage, recording: Performance, sender: dict[str, Any]) -> Performance:
        return await actions.save_recording(self.node, self.store, await self.node.room(stage), recording, sender)

    async def stream_changed(self, stage: Stage, payload: dict[str, Any], sender: dict[str, Any]) -> bool:
        """Publish a stream's start or end (the hub-only `stream` topic) on the stage; a stream
        said to stop that the stage does not show live is left alone (False)."""
        room = await self.node.room(stage)
        if not payload["live"] and not room.state.get("streams", {}).get(payload["name"], {}).get("live"):
            return False
        await actions.announce(self.node, room, sender, payload, topic="stream")
        return True

    async def dress(self, stage: Stage, events: Iterable[tuple[str, dict[str, Any]]], sender: dict[str, Any]) -> None:
        """Publish hub-made stage events in `sender`'s name, each stored before the next (the demo
        stage's first dressing, `hub/demo_stage.py`)."""
        room = await self.node.room(stage)
        for topic, payload in events:
            await actions.announce(self.node, room, sender, payload, topic=topic)

    # what the other processes' messages do here

    async def handle(self, message: Message) -> None:
        """Another process's control message (or the channel's RESYNC), applied to this process."""
        kind = message["kind"]
        if kind == "signout":
            user_id = message["user"]
            await self._disconnect(c for c in self.node.connections.values() if c.user_id == user_id)
        elif kind == "deleted":
            self.store.forget_cached_stages(message["slug"])
            self._close(message["stage"], message["slug"], message["status"], message["message"], delete=True)
        elif kind == "stage":
            self.store.forget_cached_stages(*message["slugs"])
            await self._reload(message["stage"], bool(message.get("closes")))
        elif kind == RESYNC:
            await self.resync(message["since"])
        else:
            log.warning("unknown control message", extra={"kind": kind, "from": message.get("node")})

    async def _reload(self, stage_id: int, closes: bool) -> None:
        """Bring this process's sockets on a stage up to the stage as the store has it now."""
        self._follow(stage_id, await self.store.get_stage_by_id(stage_id), closes)

    def _follow(self, stage_id: int, stage: Stage | None, closes: bool) -> None:
        """The stage's sockets here follow `stage` as read from the store (None: deleted)."""
        if stage is None:  # deleted meanwhile: its own message does (or did) the same
            room = self.node.rooms.get(stage_id)
            if room is not None:
                self._close(stage_id, room.slug, "deleted", DELETED, delete=True)
            return
        self._reconcile(stage, closes and stage.status != "live")

    async def resync(self, since: int) -> None:
        """After a break in the control channel (messages may be lost): every stage here and every
        signed-in socket checked against the store. A socket whose account is gone, inactive,
        changed role or changed password since `since` (ms) is disconnected; stages are reloaded
        and a non-live stage's audience taken off."""
        self.store.forget_cached_stages()
        stages = await self.store.stages_by_id(self.node.rooms) if self.node.rooms else {}
        for stage_id in list(self.node.rooms):
            stage = stages.get(stage_id)
            self._follow(stage_id, stage, False)
            room = self.node.rooms.get(stage_id)
            if room is not None and stage is not None and stage.status != "live":
                self._evict_audience(room, self._reason(stage.slug, stage.status, closed_message(stage.status)))
        user_ids = {c.user_id for c in self.node.connections.values() if c.user_id is not None}
        users = await self.store.users_by_id(user_ids) if user_ids else {}
        stale = []
        for conn in self.node.connections.values():
            if conn.user_id is None:
                continue
            user = users.get(conn.user_id)
            if (
                user is None or not user.active or user.sessions_after >= since
                or conn.admin != (user.role == "admin") or conn.service != (user.role == SERVICE)
            ):  # fmt: skip
                stale.append(conn)
        await self._disconnect(stale)

    # this process's sockets

    def _reconcile(self, stage: Stage, close: bool) -> None:
        """The stage's room follows its slug, colour and access lists; its audience is taken off
        when `close`; whoever stays hears of a new status or visibility (`stageStatus`)."""
        room = self.node.rooms.get(stage.id)
        if room is not None:
            room.slug, room.default_color = stage.slug, stage.default_color
            self._apply_access(room, stage)
        if close:
            self._close(stage.id, stage.slug, stage.status, closed_message(stage.status), delete=False)
        if room is not None and room.exposure != (stage.status, stage.visible):
            room.exposure = (stage.status, stage.visible)
            status = {"stage": stage.slug, "status": stage.status, "visible": stage.visible}
            self.node.fanout.send(room.everyone, "stageStatus", status)

    def _apply_access(self, room: StageRoom, stage: Stage) -> None:
        """A performer who lost their role is told and taken off (they may join again as
        audience); other performers get their new role."""
        reason = self._reason(stage.slug, stage.status, ROLE_CHANGED)
        for conn in [c for c in self.node.connections.values() if c.room is room and is_performer(c.role)]:
            role = resolve_role(stage, conn.user_id)
            if not is_performer(role):
                self.node.fanout.send(conn.sid, "stageClosed", reason)
                self.node.exit(conn)
            else:
                conn.role = role

    def _close(self, stage_id: int, slug: str, status: str, message: str, delete: bool) -> None:
        room = self.node.rooms.get(stage_id)
        if room is None:
            return
        self.node.evict(room, self._reason(slug, status, message), audience_only=not delete)
        if delete:
            self.node.forget(stage_id)

    def _evict_audience(self, room: StageRoom, reason: dict[str, Any]) -> None:
        """Take the stage's audience off it, as a join would refuse them (admins and services stay)."""
        for conn in [c for c in self.node.connections.values() if c.room is room]:
            if not (is_performer(conn.role) or conn.admin or conn.service):
                self.node.fanout.send(conn.sid, "stageClosed", reason)
                self.node.exit(conn)

    @staticmethod
    def _reason(slug: str, status: str, message: str) -> dict[str, Any]:
        return {"stage": slug, "code": "forbidden", "status": status, "message": message}

    async def _disconnect(self, conns: Iterable[Connection]) -> None:
        for conn in list(conns):
            await self.node.sio.disconnect(conn.sid)

    async def _send(self, message: Message) -> bool:
        """Tell the other processes; a message the channel refused is logged and retried."""
        return await self.outbox.send(message)
