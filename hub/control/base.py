"""What every control engine shares: the message shape, the protocol, the error and the codec.

Control messages (issue 14, item 4) tell every hub process about a change that must reach
sockets wherever they are held: a user signed out, a stage's access, status or existence
changed. They are small JSON objects with a `kind` and the sending process's `node` id. A
process applies a change to its own sockets directly, then publishes it; it never handles its
own messages from the channel.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson

Message = dict[str, Any]
Handler = Callable[[Message], Awaitable[None]]
"""What a process does with another process's message (and with `RESYNC`)."""

RESYNC = "resync"
"""The kind an engine hands its own handler when its subscription came back after a break:
messages sent meanwhile are lost, so the process checks its sockets against the store. The
message's `since` is when the break was noticed (wall-clock ms)."""


class ControlUnavailable(Exception):
    """The control channel cannot be reached (or did not answer in time): nothing was sent."""


class Control(Protocol):
    """One process's end of the control channel shared by every process of the site."""

    node_id: str

    async def start(self, handler: Handler) -> None:
        """Hand every other process's message to `handler` from now on; returns once listening.
        Raises ControlUnavailable when the channel cannot be reached."""
        ...

    async def publish(self, message: Message) -> None:
        """Send `message` (tagged with this process's `node`) to every other process, once.
        Raises ControlUnavailable when it could not be sent (see `Outbox` for retries)."""
        ...

    async def close(self) -> None:
        """Stop listening and let go of connections."""
        ...


def new_node_id() -> str:
    """A process's id on the channel: random, so two processes never share one."""
    return secrets.token_hex(6)


def wall_ms() -> int:
    return int(time.time() * 1000)


def encode(message: Message, node_id: str) -> bytes:
    """A message as it travels: JSON, tagged with the sender."""
    return orjson.dumps({**message, "node": node_id})


def decode(data: bytes) -> Message | None:
    """A received message, or None for anything that is not a tagged message with a kind."""
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(message, dict) or not isinstance(message.get("kind"), str) or "node" not in message:
        return None
    return message
