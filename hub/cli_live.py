"""CLI commands that act on the running hub's live stages, as a performer would over the socket
(saving a scene, sweeping, recording): the live state lives in the hub, not in the database."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from client import HubClient, HubError, login

# command -> (socket call, data from args, what to print from the ack)
LIVE_COMMANDS: dict[tuple[str, str], tuple[str, Callable[[argparse.Namespace], dict[str, Any]], Callable[[dict[str, Any]], str]]] = {
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


async def run_live(args: argparse.Namespace, url: str) -> str:
    """Log in, join the stage and make one call; returns what to print."""
    call, data_of, describe = LIVE_COMMANDS[(args.command, args.action)]
    try:
        tokens = await login(url, args.username, args.password)
        hub = await HubClient(url, token=tokens["access_token"]).connect()
    except (HubError, OSError) as exc:
        raise LiveCommandError(f"cannot reach the hub at {url} as {args.username!r}: {exc}") from exc
    try:
        for name, data in (("join", {"stage": args.stage}), (call, data_of(args))):
            ack = await hub.call(name, data)
            if not ack["ok"]:
                raise LiveCommandError(f"{name}: {ack['error']['message']}")
        return f"{describe(ack)} on stage {args.stage!r}"
    finally:
        await hub.close()


def add_live_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", required=True)
    parser.add_argument("--username", required=True, help="a performer who may do this on the stage")
    parser.add_argument("--password", required=True)
    parser.add_argument("--url", default=None, help="the running hub (default http://HUB_HOST:HUB_PORT)")
