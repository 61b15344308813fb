"""The operator's command line: `python -m hub serve | migrate | user | stage | scene | recording | token`."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from storage import USER_ROLES, Store, StoreError

from . import streaming
from .auth import TokenIssuer, hash_password, password_problem
from .cli_live import LIVE_COMMANDS, LiveCommandError, add_live_options, run_live
from .config import ConfigError, Settings

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,40}$")


class CliError(Exception):
    """Bad input from the operator: printed as `error: ...`, exit status 2."""


def _names(value: str | None) -> list[str]:
    return [name.strip() for name in (value or "").split(",") if name.strip()]


async def _with_store(settings: Settings, action: Callable[[Store], Awaitable[str]]) -> str:
    """Run one action on a connected store; the schema is brought up to date first."""
    store = Store(settings.database_url)
    await store.connect()
    try:
        applied = await store.migrate()
        result = await action(store)
        return "\n".join(["applied: " + ", ".join(applied)] * bool(applied) + [result])
    finally:
        await store.close()


async def migrate(store: Store) -> str:
    return "schema is up to date"


def user_add(args: argparse.Namespace) -> Callable[[Store], Awaitable[str]]:
    if not USERNAME.match(args.username):
        raise CliError("username must be 2-40 letters, digits, '.', '_' or '-'")
    problem = password_problem(args.password, args.username)
    if problem:
        raise CliError(problem)

    async def run(store: Store) -> str:
        user = await store.create_user(args.username, hash_password(args.password), args.role)
        return f"created {user.role} {user.username!r} (id {user.id})"

    return run


def stage_add(args: argparse.Namespace) -> Callable[[Store], Awaitable[str]]:
    if not SLUG.match(args.slug):
        raise CliError("slug must be lowercase letters, digits and '-', starting with a letter or digit")
    if not args.name.strip():
        raise CliError("name must not be empty")

    async def run(store: Store) -> str:
        (owner,) = await store.users_by_name([args.owner])
        players = await store.users_by_name(_names(args.players))
        editors = await store.users_by_name(_names(args.editors))
        stage = await store.create_stage(
            args.slug, args.name.strip(), owner.id, [u.id for u in players], [u.id for u in editors]
        )
        return f"created stage {stage.slug!r} owned by {owner.username!r}"

    return run


async def _stage_id(store: Store, slug: str) -> int:
    stage = await store.get_stage(slug)
    if stage is None:
        raise CliError(f"no stage {slug!r}")
    return stage.id


def scene_list(args: argparse.Namespace) -> Callable[[Store], Awaitable[str]]:
    async def run(store: Store) -> str:
        scenes = await store.list_scenes(await _stage_id(store, args.stage))
        return "\n".join(f"{scene.id}\t{scene.name}" for scene in scenes) or "no scenes"

    return run


def stage_delete(args: argparse.Namespace) -> Callable[[Store], Awaitable[str]]:
    async def run(store: Store) -> str:
        await store.delete_stage(args.slug)
        return f"deleted stage {args.slug!r}; its performances stay available for replay"

    return run


def recording_list(args: argparse.Namespace) -> Callable[[Store], Awaitable[str]]:
    async def run(store: Store) -> str:
        rows = await store.archive.performances(await _stage_id(store, args.stage))
        return "\n".join(f"{p.id}\t{p.kind}\t{p.name}" for p in rows) or "no performances"

    return run


def service_token(args: argparse.Namespace, settings: Settings) -> Callable[[Store], Awaitable[str]]:
    """Print a long-lived access token for a `service` user (a gateway), signed with the hub's key."""
    if args.days <= 0:
        raise CliError("--days must be positive")

    async def run(store: Store) -> str:
        user = await store.get_user_by_name(args.username)
        if user is None or user.role != "service":
            raise CliError(f"no service user {args.username!r} (create one with: user add --role service)")
        tokens = TokenIssuer(settings.secret_key, settings.access_token_ttl, settings.refresh_token_ttl)
        return tokens.issue(user.id, user.username, user.role, "access", ttl=args.days * 86400)

    return run


def serve(settings: Settings) -> int:
    """Run the hub: one process, a worker of a supervising parent, or (HUB_WORKERS > 1) that parent."""
    import uvloop
    from aiohttp import web

    from . import logs, workers
    from .app import create_app
    from .inflight import answer_then_exit, drain_window

    logs.setup(settings.log_level)
    if settings.workers > 1:
        return supervise(settings)
    parent = os.environ.get(workers.WORKER_OF)
    app = create_app(settings)
    app.on_startup.append(answer_then_exit(drain_window(settings)))
    if parent:
        app.cleanup_ctx.append(workers.watch_parent(int(parent)))
    else:
        print(f"UpStage Hub on http://{settings.host}:{settings.port} (database: {settings.database_url})", flush=True)
    web.run_app(
        app, host=settings.host, port=settings.port, loop=uvloop.new_event_loop(), print=None,
        keepalive_timeout=settings.keepalive_timeout, shutdown_timeout=settings.shutdown_timeout,
        reuse_port=bool(parent) or None, handle_signals=False,  # hub/inflight.py handles SIGTERM and SIGINT
    )  # fmt: skip
    return 0


def supervise(settings: Settings) -> int:
    """HUB_WORKERS > 1: migrate once, then run and watch that many workers on the one port."""
    from . import workers

    problem = workers.refusal(settings)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    asyncio.run(workers.prepare(settings))
    print(
        f"UpStage Hub on http://{settings.host}:{settings.port} with {settings.workers} workers "
        f"(database: {settings.database_url})",
        flush=True,
    )
    return asyncio.run(workers.Supervisor(settings.workers, workers.worker_environ(os.getpid())).run())


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m hub", description="UpStage Hub")
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the hub (HUB_HOST, HUB_PORT, HUB_DATABASE_URL, ...)")
    commands.add_parser("migrate", help="bring the database schema up to date")
    commands.add_parser("streaming", help="run nginx-rtmp for live streams (docs/streaming.md)")

    user = commands.add_parser("user", help="manage users").add_subparsers(dest="action", required=True)
    add = user.add_parser("add", help="create a user")
    add.add_argument("--username", required=True)
    add.add_argument("--password", required=True)
    add.add_argument("--role", choices=USER_ROLES, default="player")

    stage = commands.add_parser("stage", help="manage stages").add_subparsers(dest="action", required=True)
    add = stage.add_parser("add", help="create a stage")
    add.add_argument("--slug", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--owner", required=True, help="username of the owner")
    add.add_argument("--players", help="comma-separated usernames with player access")
    add.add_argument("--editors", help="comma-separated usernames with editor access")

    delete = stage.add_parser("delete", help="delete a stage (its performances stay for replay)")
    delete.add_argument("--slug", required=True)
    sweep = stage.add_parser("sweep", help="archive the running hub's live log of a stage as a performance")
    add_live_options(sweep)
    sweep.add_argument("--name", default="Performance")

    scene = commands.add_parser("scene", help="saved scenes").add_subparsers(dest="action", required=True)
    scene.add_parser("list", help="list a stage's scenes").add_argument("--stage", required=True)
    save = scene.add_parser("save", help="save the running hub's live stage as a scene")
    add_live_options(save)
    save.add_argument("--name", required=True)

    recording = commands.add_parser("recording", help="recordings").add_subparsers(dest="action", required=True)
    recording.add_parser("list", help="list a stage's performances").add_argument("--stage", required=True)
    start = recording.add_parser("start", help="start recording a stage on the running hub")
    add_live_options(start)
    start.add_argument("--name", required=True)
    start.add_argument("--blank", action="store_true", help="blank the stage first")
    save = recording.add_parser("save", help="stop and save a recording")
    add_live_options(save)
    save.add_argument("--id", required=True, type=int)

    token = commands.add_parser("token", help="print a long-lived access token for a service user (a gateway)")
    token.add_argument("--username", required=True)
    token.add_argument("--days", type=int, default=365, help="lifetime in days (default 365)")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        return serve(settings)
    if args.command == "streaming":
        return streaming.run(settings)
    actions: dict[Any, Callable[[argparse.Namespace], Callable[[Store], Awaitable[str]]]] = {
        ("user", "add"): user_add,
        ("stage", "add"): stage_add,
        ("stage", "delete"): stage_delete,
        ("scene", "list"): scene_list,
        ("recording", "list"): recording_list,
    }
    try:
        if (args.command, getattr(args, "action", None)) in LIVE_COMMANDS:
            print(asyncio.run(run_live(args, settings)))
            return 0
        action: Callable[[Store], Awaitable[str]]
        if args.command == "migrate":
            action = migrate
        elif args.command == "token":
            action = service_token(args, settings)
        else:
            action = actions[(args.command, args.action)](args)
        print(asyncio.run(_with_store(settings, action)))
    except (CliError, StoreError, LiveCommandError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
