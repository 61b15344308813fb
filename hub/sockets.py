"""Socket.IO handlers: connect/disconnect and the contract's `join`, `publish`, `presence`, `leave`.

Each handler checks its input and the caller's rights and answers through the ack; a refused
call reaches nobody and changes nothing.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from storage import Scene, Store, User

from . import board_order, stage_actions
from .accounts import bearer
from .auth import AuthError, Claims, TokenIssuer
from .board_admission import admit_board
from .clock import now_ms
from .config import Settings
from .guard import Guard
from .inbound import (
    DEFAULT_NICKNAME,
    Identity,
    Refused,
    audience_of,
    check_publish,
    clean_nickname,
    publish_id,
    require_dict,
    stamp,
)
from .inflight import CallsInFlight
from .logs import Sparse
from .metrics import Metrics
from .node import Accepted, Connection, Node, StageRoom
from .relay import hold_relays, keep_relay_order, relay_identity
from .roles import SERVICE, closed_message, is_performer, resolve_role, unfederated
from .server import HubServer
from .sessions import SessionSigner
from .stage_rules import check_stage_rules
from .video_checks import check_video

log = logging.getLogger("hub.sockets")
MAX_AVATAR_ID = 200
MAX_SLUG = 64
# How long a connection waits for the database to check its token's account (an outage), then is refused.
ACCOUNT_WAIT = 120.0

Handler = Callable[[Connection, dict[str, Any]], Awaitable[dict[str, Any]]]


RESTARTING = "the hub is restarting; reconnect and try again"


class SocketHandlers:
    """Binds the contract's calls to a Socket.IO server."""

    def __init__(
        self, sio: HubServer, node: Node, store: Store, tokens: TokenIssuer, settings: Settings, metrics: Metrics
    ) -> None:
        self.sio, self.node, self.store, self.tokens = sio, node, store, tokens
        self.settings, self.metrics = settings, metrics
        self.guard = Guard(settings, node.connections, metrics)
        self._sparse = Sparse(log)  # what a database outage makes every call say
        self.inflight = CallsInFlight()  # answered before the transports close at SIGTERM
        self.sessions = SessionSigner(settings.secret_key)
        sio.gate = self.guard
        self.on_disconnect: list[Callable[[Connection], None]] = []  # what else to forget of a connection
        sio.on("connect", self.connect)
        sio.on("disconnect", self.disconnect)
        calls: dict[str, Handler] = {
            "join": self.join,
            "publish": self.publish,
            "presence": self.presence,
            "leave": self.leave,
            "saveScene": self.save_scene,
            "scenes": self.scenes,
            "stages": self.stages,
        }
        for name, handler in calls.items():
            self.register(name, handler)

    def register(self, name: str, handler: Handler) -> None:
        """Serve a contract call: `handler(conn, data)` answers through the ack (see `_call`)."""
        self.sio.on(name, self._call(name, handler))
        self.guard.calls = self.guard.calls | {name}

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        """Accept a Socket.IO connection as the token's user or as anonymous audience, with a
        session it may resume (see `sessions.py`); refused with a reason, never downgraded."""
        if auth is None:
            auth = {}
        user_id = username = None
        admin = service = False
        try:
            if not isinstance(auth, dict):
                raise AuthError("auth must be an object")
            if "token" in auth:
                user = await self._account(sid, self.tokens.verify(_token(auth["token"])))
                user_id, username, admin, service = user.id, user.username, user.role == "admin", user.role == SERVICE
        except AuthError as exc:
            self.metrics.refused.labels("unauthorized").inc()
            raise socketio.exceptions.ConnectionRefusedError(str(exc)) from exc
        session, resume = self.sessions.claim(auth.get("session"), auth.get("resume"), user_id)
        guard = self.guard
        if service:
            guard.not_counted(self.sio.manager.eio_sid_from_sid(sid, "/"))
        self.node.connections[sid] = Connection(
            sid, session, user_id, username, username or DEFAULT_NICKNAME, guard.connection_bucket(service),
            guard.join_bucket(), address=guard.address_of(environ), resume=resume, admin=admin, service=service,
        )  # fmt: skip
        self.metrics.connections.inc()

    async def _account(self, sid: str, claims: Claims) -> User:
        """The token's account (`bearer`). While the database cannot be read (an outage) the
        connection waits for it, up to `ACCOUNT_WAIT` seconds: a CONNECT must be answered, and a
        refusal would stop the client's own reconnection, so the client is answered once the
        account can be checked and joins again with `since` as after any reconnect."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ACCOUNT_WAIT
        delay = 0.1
        while True:
            try:
                # Each try on a task of its own: a connection the database cut may stay bound to
                # the task that used it (see storage.archive._unbind_if_stuck).
                return await asyncio.create_task(bearer(self.store, claims))
            except AuthError:
                raise
            except Exception as exc:
                eio_socket = self.sio.eio.sockets.get(self.sio.manager.eio_sid_from_sid(sid, "/"))
                if eio_socket is None or eio_socket.closed or loop.time() >= deadline:
                    log.warning("cannot check an account: the database is unreachable", extra={"error": repr(exc)})
                    raise AuthError("the hub cannot check accounts now (database unavailable): try again") from exc
            await asyncio.sleep(delay)
            delay = min(2 * delay, 1.0)

    async def disconnect(self, sid: str, *_: Any) -> None:
        conn = self.node.connections.pop(sid, None)
        if conn is not None:
            conn.stop_replay()
            self.node.exit(conn)
            for forget in self.on_disconnect:
                forget(conn)
            self.metrics.connections.dec()

    def _call(self, name: str, handler: Handler) -> Callable[..., Awaitable[dict[str, Any]]]:
        """Wrap a handler: connection lookup, rate limit, and every failure turned into an error ack."""

        @functools.wraps(handler)
        async def call(sid: str, data: Any = None, *_: Any) -> dict[str, Any]:
            conn = self.node.connections.get(sid)
            task = self.inflight.enter()
            try:
                if conn is None:
                    raise Refused("unavailable", "connection is closing")
                if self.inflight.stopping:
                    raise Refused("unavailable", RESTARTING)
                self.guard.check(conn, name)
                return await handler(conn, require_dict(data, name))
            except asyncio.CancelledError:
                if not self.inflight.stopping:
                    raise
                self.metrics.refused.labels("unavailable").inc()
                return Refused("unavailable", RESTARTING).ack()  # outcome unknown: retried after reconnecting
            except Refused as refused:
                self.metrics.refused.labels(refused.code).inc()
                if name == "publish":
                    hold_relays(conn, data, refused.code)  # what follows must not overtake it
                return refused.ack()
            except Exception as exc:
                if not await self.store.reachable():  # an outage, not a bug: no traceback per call
                    self._sparse.warning("database", "a call failed: the database is unreachable", call=name,
                                         error=repr(exc)[:200])  # fmt: skip
                    self.metrics.refused.labels("unavailable").inc()
                    return Refused("unavailable", "the database is unreachable; try again shortly").ack()
                log.exception("handler failed", extra={"call": name})
                self.metrics.refused.labels("internal").inc()
                return Refused("internal", "the hub failed to handle this call").ack()
            finally:
                self.inflight.leave(task)

        return call

    async def join(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        slug = data.get("stage")
        if not isinstance(slug, str) or not 0 < len(slug) <= MAX_SLUG:
            raise Refused("bad_request", f"stage must be a stage's slug (a string of 1-{MAX_SLUG} characters)")
        nickname = clean_nickname(data["nickname"]) if data.get("nickname") is not None else conn.nickname
        stage = await self.store.cached_stage(slug)
        if stage is None:
            raise Refused("not_found", f"no stage {slug[:80]!r}")
        role = SERVICE if conn.service else resolve_role(stage, conn.user_id)
        chat_window = data.get("chatWindow", False)
        if not isinstance(chat_window, bool):
            raise Refused("bad_request", "chatWindow must be true or false")
        if stage.status != "live" and not is_performer(role) and not conn.admin and not conn.service:
            raise Refused("forbidden", closed_message(stage.status))
        conn.stop_replay()
        return await self.node.enter(conn, stage, role, nickname, parse_since(data.get("since")), chat_window)

    async def publish(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        async with conn.order:  # one connection's publishes are numbered in the order they came
            keep_relay_order(conn, data)
            accepting = await self._accept(conn, data)
        accepted = await accepting
        self.metrics.accepted.labels(accepted.event.topic).inc()
        await accepted.stored  # the ack means the event is in the archive
        if accepted.duplicate:  # a retried publish: the first one's event
            return {"ok": True, "seq": accepted.event.seq, "duplicate": True}
        return {"ok": True, "seq": accepted.event.seq}

    async def _accept(self, conn: Connection, data: dict[str, Any]) -> Awaitable[Accepted]:
        """Check a publish (awaiting what it needs, a scene) and start it: the returned awaitable
        gives its outcome. On a shared log the append is queued (in this order) by a task started
        here, so the next publish of the connection need not wait for Redis's reply; in memory
        it is done at once."""
        room = conn.room
        if room is None:
            raise Refused("not_joined", "join a stage before publishing")
        who, relayed = self._speaker(conn, data.get("relay"))
        topic, payload = check_publish(who.role, data, self.settings.max_payload, self.settings.limits)
        check_stage_rules(who.role, topic, payload, room.state["settings"])
        if topic == "board":
            check_video(payload, room.state["board"]["objects"])
        sender = {**who.sender(), **relayed, **publish_id(data.get("id"))}
        at = now_ms()
        payload = stamp(topic, payload, who, at)
        if relayed and not is_performer(who.role):
            # An audience-level relay (a legacy client, a peer's audience) on a stage not live
            # here is refused, as this hub's own audience could not be on it; nor on a hidden one.
            stage = await self.store.cached_stage(room.slug)
            why = closed_message("deleted") if stage is None else unfederated(stage)
            if why is not None:
                raise Refused("forbidden", why)
            if conn.room is not room:
                raise Refused("not_joined", "the connection left the stage")
        if topic == "background" and payload["type"] == "switchScene":
            scene = await self._scene_of(room.stage_id, payload["scene"])
            payload = {**payload, "snapshot": scene.payload}
            if conn.room is not room:
                raise Refused("not_joined", "the connection left the stage")
        audience, target = audience_of(topic, payload)
        if topic == "board":  # costumes checked; backstage objects reach performers only (decided on the state)
            if self.node.log.shared:
                await board_order.wait_decided(conn, room, payload)  # its earlier publishes folded first
                if conn.room is not room:
                    raise Refused("not_joined", "the connection left the stage")
            payload, audience = admit_board(payload, room.state["board"], at, self.settings.limits)
        publishing = self.node.publish(room, topic, payload, sender, audience, target, at)
        if self.node.log.shared:
            task = asyncio.ensure_future(publishing)  # tasks start in creation order: queued in order
            task.add_done_callback(_seen)  # its caller may be gone (a disconnect): no unread exception
            if topic == "board":
                board_order.remember(conn, room, payload, task)
            return task
        return _done_with(await publishing)

    @staticmethod
    def _speaker(conn: Connection, relay: Any) -> tuple[Identity, dict[str, Any]]:
        """Who a publish speaks as: the connection itself, or (service connections only) a relay."""
        if relay is None:
            if conn.service:
                raise Refused("forbidden", "a service connection publishes relayed events only")
            return conn.identity(), {}
        if not conn.service:
            raise Refused("forbidden", "only service connections may relay events")
        return relay_identity(relay, conn.session)

    async def stages(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        """**Extension** for gateways: this hub's id and the slugs of every stage, to bridge them all."""
        if not conn.service:
            raise Refused("forbidden", "only service connections may list stages")
        return {"ok": True, "hub": self.node.hub_id, "stages": await self.store.stage_slugs()}

    async def presence(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        room = conn.room
        if room is None:
            raise Refused("not_joined", "join a stage first")
        if conn.service:
            raise Refused("forbidden", "service connections are not in presence")
        if conn.chat_window:
            raise Refused("forbidden", "a chat window is not in presence")
        nickname = clean_nickname(data["nickname"]) if "nickname" in data else None
        avatar_id = data.get("avatarId")
        if "avatarId" in data:
            if avatar_id is not None and (not isinstance(avatar_id, str) or not 0 < len(avatar_id) <= MAX_AVATAR_ID):
                raise Refused("bad_request", "avatarId must be a string id or null")
            if avatar_id is not None and not is_performer(conn.role):
                raise Refused("forbidden", "audience cannot hold avatars")
        if "avatarId" in data:
            await self.node.attendance.hold(room, conn.session, avatar_id)
            if conn.room is not room:
                raise Refused("not_joined", "the connection left the stage")
        if nickname is not None:
            conn.nickname = nickname
            room.presence.rename(conn.session, nickname)
        self.node.presence_changed(room)
        return {"ok": True}

    async def leave(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        self.node.exit(conn)
        return {"ok": True}

    async def save_scene(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        """Store the stage's current state as a named scene, then tell the stage to reload its list."""
        room = self._performer_room(conn)
        scene = await stage_actions.save_scene(
            self.node, self.store, room, data.get("name"), conn.user_id, conn.identity().sender()
        )
        return {"ok": True, "scene": scene.public()}

    async def scenes(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        room = self._performer_room(conn)
        return {"ok": True, "scenes": [scene.public() for scene in await self.store.list_scenes(room.stage_id)]}

    @staticmethod
    def _performer_room(conn: Connection) -> StageRoom:
        if conn.room is None:
            raise Refused("not_joined", "join a stage first")
        if not is_performer(conn.role):
            raise Refused("forbidden", "only performers manage scenes")
        return conn.room

    async def _scene_of(self, stage_id: int, scene_id: Any) -> Scene:
        text = str(scene_id)
        # A database id: 1-18 ASCII digits (str.isdigit also takes "²", which int() refuses).
        numeric = text.isascii() and text.isdigit() and len(text) <= 18
        scene = await self.store.get_scene(int(text)) if numeric else None
        if scene is None or scene.stage_id != stage_id or not scene.active:
            raise Refused("not_found", f"no scene {str(scene_id)[:40]!r} on this stage")
        return scene


def _token(value: Any) -> str:
    """`auth.token` as sent; an empty, null or non-string token is refused, not taken as anonymous."""
    if not isinstance(value, str) or not value:
        raise AuthError("invalid token: omit auth.token to join as audience")
    return value


def parse_since(value: Any) -> tuple[str, int] | None:
    """The `since` of a join as (epoch, seq), or None for a fresh join."""
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("epoch"), str)
        or not isinstance(value.get("seq"), int)
        or isinstance(value.get("seq"), bool)
        or value["seq"] < 0
    ):
        raise Refused("bad_request", "since must be {epoch: string, seq: integer >= 0}")
    return value["epoch"], value["seq"]


def _done_with(accepted: Accepted) -> asyncio.Future[Accepted]:
    done: asyncio.Future[Accepted] = asyncio.get_running_loop().create_future()
    done.set_result(accepted)
    return done


def _seen(task: asyncio.Future[Accepted]) -> None:
    """Mark a publish task's exception as read (the call's ack carries it when anyone waits)."""
    if not task.cancelled():
        task.exception()
