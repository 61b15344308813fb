"""`python -m gateway`: run one gateway configured by `HUB_GATEWAY_*` until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from .config import ConfigError, GatewayConfig
from .core import Gateway

EXIT_TAKEN_OVER = 3  # another client took the MQTT client id: restarting would only take it back


async def run(config: GatewayConfig) -> int:
    """Run until SIGTERM/SIGINT (0) or until another client takes the client id (EXIT_TAKEN_OVER)."""
    gateway = Gateway(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    starting = asyncio.create_task(gateway.start())
    await asyncio.wait([starting, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        starting.cancel()
    else:
        print(f"gateway for hub {gateway.hub_id} on {config.broker.host}:{config.broker.port} "
              f"namespace {config.namespace!r}", flush=True)
        assert gateway.link is not None
        ending = [asyncio.create_task(stop.wait()), asyncio.create_task(gateway.link.taken_over.wait())]
        await asyncio.wait(ending, return_when=asyncio.FIRST_COMPLETED)
        for task in ending:
            task.cancel()
    await gateway.close()
    return EXIT_TAKEN_OVER if gateway.link is not None and gateway.link.taken_over.is_set() else 0


class KeyValueFormatter(logging.Formatter):
    """`time level logger message key=value...`: the `extra` fields the gateway logs with, readable in a terminal."""

    standard = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = " ".join(f"{k}={v!r}" for k, v in record.__dict__.items() if k not in self.standard)
        return f"{line} {extras}" if extras else line


def main() -> int:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=os.environ.get("HUB_GATEWAY_LOG_LEVEL", "INFO").upper(), handlers=[handler])
    try:
        config = GatewayConfig.from_env()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(run(config))


if __name__ == "__main__":
    sys.exit(main())
