"""`python -m gateway`: run one gateway configured by `HUB_GATEWAY_*` until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from .config import ConfigError, GatewayConfig
from .core import Gateway


async def run(config: GatewayConfig) -> None:
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
        await stop.wait()
    await gateway.close()


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
    asyncio.run(run(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
