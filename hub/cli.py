"""The operator's command line: `python -m hub serve | migrate | user add | stage add | scene list|save`."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from typing import Any, Awaitable, Callable

from storage import USER_ROLES, Store, StoreError

from .auth import hash_password, password_problem
from .config import Settings

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


def scene_list(args: argparse.Namespace) -> Callable[[Store], Awaitable[str]]:
    async def run(store: Store) -> str:
        stage = await store.get_stage(args.stage)
        if stage is None:
            raise CliError(f"no stage {args.stage!r}")
        scenes = await store.list_scenes(stage.id)
        return "\n".join(f"{scene.id}\t{scene.name}" for scene in scenes) or "no scenes"

    return run


async def scene_save(args: argparse.Namespace) -> str:
    """Save the running hub's live state of a stage as a scene, as a performer would (over the socket)."""
    from client import HubClient, HubError, login

    try:
        tokens = await login(args.url, args.username, args.password)
        hub = await HubClient(args.url, token=tokens["access_token"]).connect()
    except (HubError, OSError) as exc:
        raise CliError(f"cannot reach the hub at {args.url} as {args.username!r}: {exc}") from exc
    try:
        for call, data in (("join", {"stage": args.stage}), ("saveScene", {"name": args.name})):
            ack = await hub.call(call, data)
            if not ack["ok"]:
                raise CliError(f"{call}: {ack['error']['message']}")
        return f"saved scene {ack['scene']['name']!r} (id {ack['scene']['id']}) of stage {args.stage!r}"
    finally:
        await hub.close()


def serve(settings: Settings) -> None:
    import uvloop
    from aiohttp import web

    from . import logs
    from .app import create_app

    logs.setup(settings.log_level)
    print(f"UpStage Hub on http://{settings.host}:{settings.port} (database: {settings.database_url})", flush=True)
    web.run_app(create_app(settings), host=settings.host, port=settings.port, loop=uvloop.new_event_loop(), print=None)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m hub", description="UpStage Hub")
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the hub (HUB_HOST, HUB_PORT, HUB_DATABASE_URL, ...)")
    commands.add_parser("migrate", help="bring the database schema up to date")

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

    scene = commands.add_parser("scene", help="saved scenes").add_subparsers(dest="action", required=True)
    listing = scene.add_parser("list", help="list a stage's scenes")
    listing.add_argument("--stage", required=True)
    save = scene.add_parser("save", help="save the running hub's live stage as a scene (as a performer)")
    save.add_argument("--stage", required=True)
    save.add_argument("--name", required=True)
    save.add_argument("--username", required=True, help="a performer of the stage")
    save.add_argument("--password", required=True)
    save.add_argument("--url", default=None, help="the hub (default http://HUB_HOST:HUB_PORT)")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings.from_env()
    if args.command == "serve":
        serve(settings)
        return 0
    actions: dict[Any, Callable[[argparse.Namespace], Callable[[Store], Awaitable[str]]]] = {
        ("user", "add"): user_add,
        ("stage", "add"): stage_add,
        ("scene", "list"): scene_list,
    }
    try:
        if (args.command, getattr(args, "action", None)) == ("scene", "save"):
            args.url = args.url or f"http://{settings.host}:{settings.port}"
            print(asyncio.run(scene_save(args)))
            return 0
        action = migrate if args.command == "migrate" else actions[(args.command, args.action)](args)
        print(asyncio.run(_with_store(settings, action)))
    except (CliError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
