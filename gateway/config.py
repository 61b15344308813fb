"""Gateway settings from `HUB_GATEWAY_*` environment variables (see docs/federation.md)."""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

DIRECTIONS = ("out", "in", "both")
TRUSTS = ("audience", "player")
NAMESPACE = re.compile(r"^[^#+/][^#+]*$")


class ConfigError(ValueError):
    """A gateway setting that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class BrokerConfig:
    """Where the MQTT broker is and how to log in to it."""

    host: str = "127.0.0.1"
    port: int = 1883
    tls: bool = False
    ca_file: str | None = None
    username: str | None = None
    password: str | None = None
    client_id: str = ""  # empty: `upstage-gw-<hub id>-<namespace>`, stable so the broker keeps the session
    session_expiry: int = 3600
    keepalive: int = 30

    def ssl_context(self) -> ssl.SSLContext | bool:
        """False for plain TCP, else a verifying context (with `ca_file` when given)."""
        if not self.tls:
            return False
        return ssl.create_default_context(cafile=self.ca_file)


@dataclass(frozen=True)
class GatewayConfig:
    """Everything a gateway is configured with; every field has a safe default but the hub token."""

    hub_url: str = "http://127.0.0.1:8080"
    token: str | None = None
    username: str | None = None
    password: str | None = None
    broker: BrokerConfig = field(default_factory=BrokerConfig)
    namespace: str = "upstage"
    stages: tuple[str, ...] | None = None  # None: every stage of the hub
    direction: str = "both"
    legacy_trust: str = "audience"
    peer_trust: str = "player"
    hop_limit: int = 4
    buffer: int = 10_000
    seen_cache: int = 100_000
    max_message: int = 128 * 1024  # bytes of an inbound payload; the hub's own cap is 64 KiB of JSON
    stage_poll: float = 30.0
    # Legacy input (no origin), per claimed client and per stage; close to a hub socket's 20/s burst 40.
    legacy_rate: float = 20.0
    legacy_burst: float = 40.0
    legacy_stage_rate: float = 100.0
    legacy_stage_burst: float = 200.0
    echo_window: float = 10.0  # seconds a published message is remembered for the bridge echo check
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0  # 0: no metrics server
    backoff_min: float = 0.2
    backoff_max: float = 10.0
    state_dir: str = "var/gateway"  # the durable outbound position (relative to the working directory)

    @property
    def outbound(self) -> bool:
        return self.direction in ("out", "both")

    @property
    def inbound(self) -> bool:
        return self.direction in ("in", "both")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GatewayConfig:
        """Read `HUB_GATEWAY_*`; raises ConfigError naming the variable that is wrong."""
        env = Env(os.environ if environ is None else environ)
        namespace = env.get("NAMESPACE", cls.namespace).strip("/")
        if not NAMESPACE.match(namespace):
            raise ConfigError("HUB_GATEWAY_NAMESPACE must be non-empty and hold no MQTT wildcard (+ #)")
        stages_raw = env.get("STAGES", "*")
        stages = None if stages_raw in ("*", "") else tuple(s.strip() for s in stages_raw.split(",") if s.strip())
        token = env.get("TOKEN") or None
        username = env.get("USERNAME") or None
        if token is None and username is None:
            raise ConfigError("set HUB_GATEWAY_TOKEN (python -m hub token) or HUB_GATEWAY_USERNAME/PASSWORD")
        return cls(
            hub_url=env.get("HUB_URL", cls.hub_url).rstrip("/"),
            token=token,
            username=username,
            password=env.get("PASSWORD") or None,
            broker=broker_from(env.get("BROKER_URL", "mqtt://127.0.0.1:1883"), env),
            namespace=namespace,
            stages=stages,
            direction=env.choice("DIRECTION", cls.direction, DIRECTIONS),
            legacy_trust=env.choice("LEGACY_TRUST", cls.legacy_trust, TRUSTS),
            peer_trust=env.choice("PEER_TRUST", cls.peer_trust, TRUSTS),
            hop_limit=max(1, int(env.number("HOP_LIMIT", cls.hop_limit))),
            buffer=max(1, int(env.number("BUFFER", cls.buffer))),
            seen_cache=max(1, int(env.number("SEEN_CACHE", cls.seen_cache))),
            max_message=max(1024, int(env.number("MAX_MESSAGE", cls.max_message))),
            stage_poll=env.number("STAGE_POLL", cls.stage_poll, float) or cls.stage_poll,
            legacy_rate=env.number("LEGACY_RATE", cls.legacy_rate, float),
            legacy_burst=env.number("LEGACY_BURST", cls.legacy_burst, float),
            legacy_stage_rate=env.number("LEGACY_STAGE_RATE", cls.legacy_stage_rate, float),
            legacy_stage_burst=env.number("LEGACY_STAGE_BURST", cls.legacy_stage_burst, float),
            echo_window=env.number("ECHO_WINDOW", cls.echo_window, float),
            metrics_host=env.get("METRICS_HOST", cls.metrics_host),
            metrics_port=int(env.number("METRICS_PORT", cls.metrics_port)),
            state_dir=env.get("STATE_DIR") or cls.state_dir,
        )


class Env:
    """Typed reads of `HUB_GATEWAY_<NAME>` variables, each error naming its variable."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def get(self, name: str, default: str = "") -> str:
        return self.environ.get(f"HUB_GATEWAY_{name}", default).strip()

    def number(self, name: str, default: float, kind: type = int) -> float:
        raw = self.get(name, str(default))
        try:
            value = kind(raw)
        except ValueError as exc:
            raise ConfigError(f"HUB_GATEWAY_{name} must be a number, not {raw!r}") from exc
        if value < 0:
            raise ConfigError(f"HUB_GATEWAY_{name} must not be negative")
        return float(value)

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        value = self.get(name, default).lower()
        if value not in allowed:
            raise ConfigError(f"HUB_GATEWAY_{name} must be one of {', '.join(allowed)}, not {value!r}")
        return value


def broker_from(url: str, env: Env) -> BrokerConfig:
    """Parse `mqtt://[user:pass@]host[:port]` or `mqtts://...`; separate variables override the URL's."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ConfigError(f"HUB_GATEWAY_BROKER_URL must be mqtt://host[:port] or mqtts://..., not {url!r}")
    tls = parts.scheme == "mqtts"
    return BrokerConfig(
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        tls=tls,
        ca_file=env.get("TLS_CA") or None,
        username=env.get("BROKER_USERNAME") or (unquote(parts.username) if parts.username else None),
        password=env.get("BROKER_PASSWORD") or (unquote(parts.password) if parts.password else None),
        client_id=env.get("CLIENT_ID"),
        session_expiry=int(env.number("SESSION_EXPIRY", BrokerConfig.session_expiry)),
        keepalive=max(5, int(env.number("KEEPALIVE", BrokerConfig.keepalive))),
    )
