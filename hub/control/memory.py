"""The in-process control channel: one process on its own (the embedded default), or several
views made with `sibling()` sharing one channel, as processes share one Redis, for tests."""

from __future__ import annotations

import logging

from .base import ControlUnavailable, Handler, Message, decode, encode, new_node_id

log = logging.getLogger(__name__)


class _Channel:
    """What all views of one memory channel share: who listens, and whether it is 'down'."""

    def __init__(self) -> None:
        self.views: dict[str, MemoryControl] = {}
        self.down = False  # tests: the channel refuses publishes, as Redis during an outage


class MemoryControl:
    """A control channel in this process's memory; `sibling()` is another process on it."""

    def __init__(self, node_id: str | None = None, *, _channel: _Channel | None = None) -> None:
        self.node_id = node_id or new_node_id()
        self._channel = _Channel() if _channel is None else _channel
        self._handler: Handler | None = None

    def sibling(self, node_id: str | None = None) -> MemoryControl:
        """Another process's end of this same channel."""
        return MemoryControl(node_id, _channel=self._channel)

    @property
    def down(self) -> bool:
        return self._channel.down

    @down.setter
    def down(self, value: bool) -> None:
        self._channel.down = value

    async def start(self, handler: Handler) -> None:
        self._handler = handler
        self._channel.views[self.node_id] = self

    async def publish(self, message: Message) -> None:
        if self._channel.down:
            raise ControlUnavailable("the control channel is down")
        data = encode(message, self.node_id)  # through JSON, as on Redis
        for view in [v for v in self._channel.views.values() if v is not self]:
            received = decode(data)
            if view._handler is not None and received is not None:
                try:
                    await view._handler(received)
                except Exception:  # one process's failure is not the sender's
                    log.exception("control handler failed", extra={"kind": message.get("kind")})

    async def close(self) -> None:
        if self._channel.views.get(self.node_id) is self:
            del self._channel.views[self.node_id]
        self._handler = None
