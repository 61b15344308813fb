"""CLI commands that act on the running hub's live stages, as a performer would over the socket
(saving a scene, sweeping, recording): the live state lives in the hub, not in the database.

They act as `--username` (with `--password`), or by default as the stage's owner: the operator
who runs the CLI holds the hub's secret key and database, so the CLI signs a short-lived token
for the owner itself.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from client import HubClient, HubError, login
from storage import Store

from .auth import TokenIssuer
from .config import Settings

OPERATOR_TOKEN_TTL = 120

# command -> (socket call, data from args, what to print from the ack)
LiveCommand = tuple[str, Callable[[argparse.Namespace], dict[str, Any]], Callable[[dict[str, Any]], str]]
LIVE_COMMANDS: dict[tuple[str, str], LiveCommand] = {
    ("scene", "save"): (
        "saveScene",
        lambda a: {"name": a.name},
        lambda ack: f"saved scene {ack['scene']['name']!r} (id {ack['scene']['id']})",
    ),
    ("stage", "sweep"): (
        "sweep",
        lambda a: {"name": a.name},
        lambda ack: f"archived as performance {ack['performance']['id']} ({ack['performance']['name']!r})",
    ),
    ("recording", "start"): (
        "startRecording",
        lambda a: {"name": a.name, "blank": a.blank},
        lambda ack: f"recording {ack['performance']['id']} ({ack['performance']['name']!r}) started",
    ),
    ("recording", "save"): (
        "saveRecording",
        lambda a: {"id": a.id},
        lambda ack: f"recording {ack['performance']['id']} saved",
    ),
}


class LiveCommandError(Exception):
    """The hub could not be reached or refused the call."""


async def owner_token(settings: Settings, slug: str) -> tuple[str, str]:
    """(username, access token) of the stage's owner, signed with the hub's own key."""
    store = Store(settings.database_url)
    await store.connect()
    try:
        stage = await store.get_stage(slug)
        owner = await store.get_user(stage.owner_id) if stage is not None else None
    finally:
        await store.close()
    if owner is None:
        raise LiveCommandError(f"no stage {slug!r}")
    tokens = TokenIssuer(settings.secret_key, OPERATOR_TOKEN_TTL, OPERATOR_TOKEN_TTL)
    return owner.username, tokens.issue(owner.id, owner.username, owner.role)


async def run_live(args: argparse.Namespace, settings: Settings) -> str:
    """Join the stage on the running hub and make one call; returns what to print."""
    call, data_of, describe = LIVE_COMMANDS[(args.command, args.action)]
    url = args.url or f"http://{settings.host}:{settings.port}"
    username = args.username or "the stage's owner"
    try:
        if args.username is not None:
            token = (await login(url, args.username, args.password or ""))["access_token"]
        else:
            username, token = await owner_token(settings, args.stage)
        hub = await HubClient(url, token=token).connect()
    except (HubError, OSError) as exc:
        raise LiveCommandError(f"cannot reach the hub at {url} as {username!r}: {exc}") from exc
    try:
        for name, data in (("join", {"stage": args.stage}), (call, data_of(args))):
            ack = await hub.call(name, data)
            if not ack["ok"]:
                raise LiveCommandError(f"{name}: {ack['error']['message']}")
        return f"{describe(ack)} on stage {args.stage!r}"
    finally:
        await hub.close()


def add_live_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stage", help="the stage's slug")
    parser.add_argument("--username", help="act as this user (default: the stage's owner)")
    parser.add_argument("--password", help="the user's password, with --username")
    parser.add_argument("--url", default=None, help="the running hub (default http://HUB_HOST:HUB_PORT)")
