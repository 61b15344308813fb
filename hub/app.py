"""The application factory: wires the store, stage log, roster, node, control channel, Socket.IO
handlers and HTTP routes."""

from __future__ import annotations

import gc
import logging
import secrets

import socketio
from aiohttp import web

from storage import Store
from storage.writer import EventWriter

from . import jsonwire
from .accounts import Accounts
from .accounts_http import routes as account_routes
from .auth import TokenIssuer
from .config import Settings
from .control import Control, open_control
from .demo import seed_demo
from .demo_stage import dress_demo
from .fanout import Fanout, StockFanout
from .graphql import setup_graphql
from .graphql.context import Services
from .history import HistoryHandler
from .http import METRICS, STAGE_LOG, STORE, TOKENS, routes
from .inflight import CALLS, drain_window
from .live import LiveStages
from .mail import MAILER, Mailer
from .metrics import Metrics
from .node import Node, NodeOptions, Sender
from .origins import setup_origins
from .performances import PerformanceHandlers
from .persistence import Persistence
from .roster import Roster, open_roster
from .server import HubServer
from .sockets import SocketHandlers
from .stagelog import StageLog, open_stage_log
from .stream_calls import StreamKeyCalls
from .stream_http import setup_stream_callbacks
from .streams import StreamKeys
from .upload import setup_upload
from .web import setup_web

log = logging.getLogger("hub")
NODE = web.AppKey("node", Node)
SIO = web.AppKey("sio", socketio.AsyncServer)
LIVE = web.AppKey("live", LiveStages)
MAX_HTTP_BUFFER = 1024 * 1024


def create_app(
    settings: Settings,
    store: Store | None = None,
    stage_log: StageLog | None = None,
    roster: Roster | None = None,
    control: Control | None = None,
) -> web.Application:
    """Build the hub; the store is connected and migrated (and the demo seeded), and the control
    channel listened to, at start-up. The stage log, roster and control channel are the ones
    HUB_REDIS_URL names unless given (tests share them between nodes)."""
    app = web.Application()
    store = store or Store(settings.database_url)
    metrics = Metrics()
    tokens = TokenIssuer(settings.secret_key, settings.access_token_ttl, settings.refresh_token_ttl)
    sio = HubServer(
        async_mode="aiohttp",
        json=jsonwire,
        cors_allowed_origins=settings.origins.allows_socket,
        ping_interval=settings.ping_interval,
        ping_timeout=settings.ping_timeout,
        max_http_buffer_size=MAX_HTTP_BUFFER,
        body_timeout=settings.keepalive_timeout,
        # Their own loggers, so their lines go through the hub's JSON handler only (given none,
        # each library adds a plain-text handler of its own).
        logger=logging.getLogger("socketio.server"),
        engineio_logger=logging.getLogger("engineio.server"),
    )
    sio.attach(app)
    options = NodeOptions(
        presence_interval=settings.presence_interval,
        presence_grace=settings.presence_grace,
        presence_ttl=settings.presence_ttl,
        recovery_bytes=settings.recovery_bytes,
        limits=settings.limits,
        state_limit=settings.state_limit,
        object_limit=settings.object_limit,
        room_idle=settings.room_idle,
        scenes_per_stage=settings.scenes_per_stage,
        scene_save_rate=settings.scene_save_rate,
        scene_save_burst=settings.scene_save_burst,
    )
    if settings.fanout == "stock":
        fanout: Sender = StockFanout(sio)
    else:
        fanout = Fanout(sio, metrics, settings.write_soft_limit, settings.write_hard_limit, settings.fanout_tick)
    writer = EventWriter(store.archive, settings.write_batch, settings.write_interval, settings.write_buffer)
    if stage_log is None:
        stage_log = open_stage_log(
            settings.redis_url, settings.redis_prefix, settings.history_size, settings.history_age
        )
    persistence = Persistence(
        store, writer, settings.snapshot_every, settings.history_size, settings.limits, shared=stage_log.shared
    )
    metrics.watch_writer(writer)
    node_id = secrets.token_hex(6)  # this node among the processes of one site (presence, control)
    if roster is None:
        roster = open_roster(
            settings.redis_url, settings.redis_prefix, node_id, settings.presence_ttl, settings.presence_grace
        )
    node = Node(sio, stage_log, fanout, persistence, metrics, options, roster)
    sockets = SocketHandlers(sio, node, store, tokens, settings, metrics)
    PerformanceHandlers(sockets, node, store)
    HistoryHandler(sockets, node)
    # Sign-outs, evictions and access changes reach the sockets of every process (hub/live.py).
    live = LiveStages(node, store, control or open_control(settings.redis_url, settings.redis_prefix, node_id))
    app[STORE], app[TOKENS], app[METRICS], app[NODE], app[SIO], app[LIVE] = store, tokens, metrics, node, sio, live
    app[STAGE_LOG] = stage_log
    app[CALLS] = sockets.inflight
    metrics.watch_control(live.outbox)
    mailer = app[MAILER] = Mailer(settings)
    mailer.export(metrics.registry)
    stream_keys = StreamKeys(store, settings)
    StreamKeyCalls(sockets, store, stream_keys)
    app.add_routes(routes)
    app.add_routes(account_routes)  # sign-up and password reset (hub/accounts_http.py)
    setup_stream_callbacks(app, settings, stream_keys, live)
    setup_graphql(app, Services(store, tokens, settings, Accounts(store, tokens, settings), live, mailer))
    setup_upload(app)
    setup_web(app)
    setup_origins(app, settings.origins)

    async def start(app: web.Application) -> None:
        await store.connect()
        await store.migrate()
        await persistence.start()
        node.hub_id = settings.hub_id or await persistence.hub_id()
        await live.start()
        await mailer.start()
        if settings.demo:
            seeded = await seed_demo(store, settings.media_dir, settings.demo_password)
            if seeded is not None:
                await dress_demo(live, seeded)  # a stage to look at, not an empty rectangle (issue 17)
                print(
                    f"Created demo stage 'demo' and player 'demo' with password: {seeded.player_password}", flush=True
                )
                print(f"Created admin 'admin' with password: {seeded.admin_password}", flush=True)
        # Many long-lived connections make full collections long and frequent; collect young
        # objects less often and keep start-up objects out of every collection.
        gc.set_threshold(settings.gc_threshold, 20, 100)
        gc.freeze()

    async def stop_accepting(app: web.Application) -> None:
        """On SIGTERM (the listening socket is already closed): refuse publishes, then end every
        connection at its transport so that clients reconnect by themselves, to the next hub."""
        persistence.closing = True
        # Every call read so far is answered (done, or `unavailable`) before its transport closes;
        # under `serve` the SIGTERM handler has drained them already (hub/inflight.py).
        await sockets.inflight.drain(drain_window(settings), grace=0)
        fanout.release()

    async def stop(app: web.Application) -> None:
        await mailer.close(settings.shutdown_timeout)  # what can go still goes; the rest is logged
        await live.close()
        await node.close()
        await store.close()

    app.on_startup.append(start)
    app.on_shutdown.append(stop_accepting)
    app.on_cleanup.append(stop)
    return app
