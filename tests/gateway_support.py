"""Fixtures for the gateway tests: the machine's Mosquitto, a private restartable one, hubs with a
service user and a stage, and in-process gateways closed at the end of each test.

A missing Mosquitto fails the tests under CI=true and skips them elsewhere.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.mosquitto import mosquitto_binary
from bench.proc import free_port, port_open, stop, wait_until
from client import HubClient
from gateway import BrokerConfig, Gateway, GatewayConfig
from tests.conftest import PASSWORD, Hub, missing_service

SYSTEM_BROKER_PORT = int(os.environ.get("HUB_TEST_MQTT_PORT", "1883"))
SERVICE_USER = "gateway"
SLUG = "show"


def require_mosquitto(port: int = SYSTEM_BROKER_PORT) -> None:
    """Fail (under CI) or skip when no broker listens on the port."""
    if port_open(port):
        return
    missing_service(f"Mosquitto is required on 127.0.0.1:{port} for the gateway tests (see README, Services)")


@pytest.fixture
def namespace() -> str:
    """Each test in a namespace of its own on the shared broker."""
    return f"test-{uuid.uuid4().hex[:12]}"


async def seeded_hub(make_hub: Callable[..., Awaitable[Hub]], owner: str, **overrides: Any) -> Hub:
    """A hub with a stage `show` owned by `owner` and a service user for its gateway."""
    hub = await make_hub(**overrides)
    await hub.stage(SLUG, owner)
    await hub.user(SERVICE_USER, role="service")
    return hub


def gateway_config(hub_url: str, namespace: str, port: int = SYSTEM_BROKER_PORT, **overrides: Any) -> GatewayConfig:
    """A gateway logging in as the service user, on the broker's port, quick to retry."""
    settings: dict[str, Any] = dict(
        hub_url=hub_url, username=SERVICE_USER, password=PASSWORD, namespace=namespace,
        broker=BrokerConfig(port=port, session_expiry=120), backoff_min=0.1, backoff_max=1.0, stage_poll=1.0,
    )
    return GatewayConfig(**{**settings, **overrides})


@pytest.fixture
async def make_gateway(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Gateway]]]:
    """Start in-process gateways (`await make_gateway(hub_url, namespace, ...)`), closed after the test;
    each keeps its position file in a directory of its own under the test's tmp dir."""
    started: list[Gateway] = []

    async def make(hub_url: str, namespace: str, ready: bool = True, **overrides: Any) -> Gateway:
        overrides.setdefault("state_dir", str(tmp_path / f"gateway-state-{len(started) + 1}"))
        gateway = Gateway(gateway_config(hub_url, namespace, **overrides))
        started.append(gateway)
        async with asyncio.timeout(30):
            await gateway.start()
        if ready:
            await gateway.ready()
        return gateway

    yield make
    for gateway in started:
        await gateway.close()


def matching(client: HubClient, topic: str, key: str, value: Any) -> list[dict[str, Any]]:
    """The events of `client` on `topic` whose payload has `key` = value (a board object's id: 'object.id')."""
    found = []
    for event in client.events:
        payload = event["payload"]
        for part in key.split(".")[:-1]:
            payload = payload.get(part, {}) if isinstance(payload, dict) else {}
        if event["topic"] == topic and isinstance(payload, dict) and payload.get(key.split(".")[-1]) == value:
            found.append(event)
    return found


async def arrives_once(client: HubClient, topic: str, key: str, value: Any, settle: float = 1.0) -> dict[str, Any]:
    """Wait for the event, then a while longer (the settle window), and require that it came exactly once."""
    await client.wait_for(lambda c: bool(matching(c, topic, key, value)), timeout=30)
    await asyncio.sleep(settle)
    found = matching(client, topic, key, value)
    assert len(found) == 1, found
    return found[0]


async def until(predicate: Callable[[], bool], timeout: float = 30.0, explain: Callable[[], Any] = lambda: None) -> None:
    """Poll `predicate` every 0.1 s until it holds; assert it at the end, with `explain()` as the message."""
    for _ in range(int(timeout * 10)):
        if predicate():
            return
        await asyncio.sleep(0.1)
    assert predicate(), explain()


class PrivateBroker:
    """A Mosquitto of this test on a fixed free port that can be stopped and started again.

    It keeps its sessions and queued messages across a clean restart (`persistence true`), as a
    production broker carrying a federation should, unless made with `persistence=False`.
    """

    def __init__(self, workdir: Path, persistence: bool = True) -> None:
        binary = mosquitto_binary()
        if binary is None:
            missing_service("mosquitto is not installed for the private-broker gateway tests (apt-get install mosquitto)")
        self.binary = binary
        self.port = free_port()
        self.workdir = workdir
        self.conf = workdir / "mosquitto.conf"
        self.log = workdir / "mosquitto.log"
        self.conf.write_text("\n".join([
            # Started by root, mosquitto would drop to its own user, which cannot write under a private tmp dir.
            *(["user root"] if os.geteuid() == 0 else []),
            "per_listener_settings false", "allow_anonymous true",
            f"persistence {'true' if persistence else 'false'}",
            f"persistence_location {workdir}/", "log_dest stderr", "log_type error", "log_type warning",
            f"listener {self.port} 127.0.0.1", "",
        ]))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)], stdout=log, stderr=log)
        wait_until(lambda: port_open(self.port), self.proc, "mosquitto", self.log, timeout=15)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None

    def kill(self) -> None:
        """A crash: SIGKILL, so nothing is saved that was not saved already."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture
def make_private_broker(tmp_path: Path) -> Iterator[Callable[[], PrivateBroker]]:
    """Start private brokers (`make_private_broker()`), each in a directory of its own; stopped after the test."""
    started: list[PrivateBroker] = []

    def make() -> PrivateBroker:
        workdir = tmp_path / f"broker-{len(started) + 1}"
        workdir.mkdir()
        broker = PrivateBroker(workdir)
        started.append(broker)
        broker.start()
        return broker

    yield make
    for broker in started:
        broker.stop()


@pytest.fixture
def private_broker(make_private_broker: Callable[[], PrivateBroker]) -> PrivateBroker:
    return make_private_broker()
