"""Settings read from `HUB_*` environment variables, with safe defaults for the embedded setup.

Every field of `Settings` is read from `HUB_<FIELD NAME>` (see docs/configuration.md); a value
that does not parse is refused at start with a message naming the variable.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .addresses import AddressPolicy, parse_networks
from .state import Limits

MAX_PAYLOAD_CAP = 64 * 1024
# Fields whose variable is not simply HUB_<FIELD NAME>.
ENV_NAMES = {"hub_id": "HUB_ID"}
FALSE = ("0", "false", "no", "off")


class ConfigError(ValueError):
    """A `HUB_*` variable that cannot be used; the message names it."""


@dataclass(frozen=True)
class Settings:
    """Everything the hub can be configured with; see docs/configuration.md."""

    host: str = "127.0.0.1"
    port: int = 8080
    var_dir: Path = Path("var")
    database_url: str = ""
    secret_key: str = ""
    access_token_ttl: int = 15 * 60
    refresh_token_ttl: int = 30 * 24 * 3600
    demo: bool = True
    demo_password: str = ""
    rate_limit: float = 20.0
    rate_burst: int = 40
    max_payload: int = 64 * 1024
    presence_interval: float = 0.25
    presence_grace: float = 30.0
    history_size: int = 2000
    history_age: float = 600.0
    chat_messages: int = 100
    write_batch: int = 1000
    write_interval: float = 0.01
    write_buffer: int = 50_000
    snapshot_every: int = 1000
    fanout: str = "direct"
    write_soft_limit: int = 256 * 1024
    write_hard_limit: int = 4 * 1024 * 1024
    fanout_tick: float = 0.015
    gc_threshold: int = 50_000
    ping_interval: float = 25.0
    ping_timeout: float = 20.0
    log_level: str = "WARNING"
    cors_origins: str = "*"
    upload_limit: int = 10 * 1024 * 1024
    graphql_max_depth: int = 8
    graphql_max_fields: int = 200
    # GraphQL cost and anonymous work (docs/management.md, "Limits").
    graphql_max_cost: int = 10_000
    graphql_anonymous_max_cost: int = 2_000
    graphql_anonymous_concurrency: int = 2
    graphql_anonymous_queue: int = 20
    graphql_anonymous_wait: float = 2.0
    graphql_anonymous_per_address: int = 4
    hub_id: str = ""
    service_rate_limit: float = 5000.0
    service_rate_burst: int = 10000
    # Client addresses and the limits that span connections (docs/security.md).
    trusted_proxies: str = ""
    client_address_header: str = "X-Forwarded-For"
    address_connections: int = 50
    address_rate_limit: float = 60.0
    address_rate_burst: int = 120
    join_rate_limit: float = 1.0
    join_rate_burst: int = 5
    address_join_rate_limit: float = 5.0
    address_join_rate_burst: int = 30

    @property
    def media_dir(self) -> Path:
        """Where uploaded media files live (served under /media/)."""
        return self.var_dir / "media"

    @functools.cached_property
    def limits(self) -> Limits:
        """How much live state a stage keeps: the one source for live stages, restores and replays."""
        return Limits(chat_messages=self.chat_messages, private_messages=self.chat_messages)

    @functools.cached_property
    def addresses(self) -> AddressPolicy:
        return AddressPolicy(parse_networks(self.trusted_proxies), self.client_address_header)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Build settings from `HUB_*` variables; the secret key is loaded or created under `var/`."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            name = ENV_NAMES.get(field.name, f"HUB_{field.name.upper()}")
            if name in env:
                values[field.name] = _parse(name, env[name], field.default)
        var_dir = values.get("var_dir", cls.var_dir)
        values.setdefault("database_url", f"sqlite:///{var_dir / 'hub.db'}")
        values["secret_key"] = values.get("secret_key") or load_or_create_secret(var_dir)
        values["max_payload"] = min(values.get("max_payload", cls.max_payload), MAX_PAYLOAD_CAP)
        values["log_level"] = values.get("log_level", cls.log_level).upper()
        settings = cls(**values)
        try:
            settings.addresses  # noqa: B018 - parse the proxy list now, not at the first request
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        return settings


def _parse(name: str, text: str, default: Any) -> Any:
    """A variable's text as the type of the field's default."""
    try:
        if isinstance(default, bool):
            return text.strip().lower() not in FALSE
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
    except ValueError:
        kind = "an integer" if isinstance(default, int) else "a number"
        raise ConfigError(f"{name} must be {kind}, not {text!r}") from None
    if isinstance(default, Path):
        return Path(text)
    return text


def load_or_create_secret(var_dir: Path) -> str:
    """Return the JWT signing key kept in `var/secret_key`, creating it (mode 0600) on first use."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
