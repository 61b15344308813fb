"""The control channel: changes that must reach sockets on every hub process (issue 14, item 4).

`Control` is the protocol; `MemoryControl` keeps it in this process (the embedded default),
`RedisControl` on one Redis channel (several processes, chosen by HUB_REDIS_URL); `Outbox`
re-sends what the channel refused. `hub/live.py` is what sends and handles the messages.
"""

from __future__ import annotations

from .base import RESYNC, Control, ControlUnavailable, Handler, Message, new_node_id
from .memory import MemoryControl
from .outbox import Outbox
from .redis_control import RedisControl


def open_control(url: str, prefix: str = "upstage:", node_id: str | None = None) -> Control:
    """The control channel HUB_REDIS_URL asks for: in memory when `url` is empty, else on that Redis."""
    if not url:
        return MemoryControl(node_id)
    return RedisControl(url, prefix, node_id)


__all__ = [
    "RESYNC",
    "Control",
    "ControlUnavailable",
    "Handler",
    "MemoryControl",
    "Message",
    "Outbox",
    "RedisControl",
    "new_node_id",
    "open_control",
]
