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

from storage.files import private_dir

from .addresses import AddressPolicy, Network, parse_networks
from .origins import OriginPolicy
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
    # Processes `serve` runs on the one port (SO_REUSEPORT); more than 1 needs Postgres and Redis.
    workers: int = 1
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
    presence_ttl: float = 15.0
    history_size: int = 2000
    history_age: float = 600.0
    # Several hub processes as one site (issue 14): their shared Redis, empty for one process
    # on its own (everything in memory); every key and channel starts with the prefix.
    redis_url: str = ""
    redis_prefix: str = "upstage:"
    recovery_bytes: int = 1024 * 1024
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
    # Origins whose pages may call /api/*, /graphql and Socket.IO: empty means the hub's own only.
    cors_origins: str = ""
    upload_limit: int = 10 * 1024 * 1024
    upload_quota: int = 500 * 1024 * 1024
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
    state_limit: int = 4 * 1024 * 1024
    object_limit: int = 64 * 1024
    room_idle: float = 300.0
    scenes_per_stage: int = 200
    scene_save_rate: float = 0.2
    scene_save_burst: int = 10
    keepalive_timeout: float = 15.0
    shutdown_timeout: float = 5.0
    # Passwords and refresh tokens (docs/security.md): attempts per address, failures per
    # account, registrations per address, argon2 work in flight, refresh-token reuse grace.
    login_rate_limit: float = 0.5
    login_rate_burst: int = 30
    login_failure_rate_limit: float = 1 / 60
    login_failure_burst: int = 10
    account_failure_rate_limit: float = 1 / 30
    account_failure_burst: int = 50
    register_rate_limit: float = 1 / 60
    register_rate_burst: int = 10
    password_concurrency: int = 2
    password_queue: int = 16
    refresh_reuse_grace: float = 10.0
    # Password reset links (docs/security.md): how long a link works, and how many may be asked
    # for per address and per login (username or email) over time.
    reset_ttl: int = 3600
    reset_rate_limit: float = 1 / 300
    reset_rate_burst: int = 5
    # Replays of archived performances (docs/protocol.md, "Archive and replay").
    replays_total: int = 200
    replays_per_address: int = 10
    replay_rate_limit: float = 3.0
    replay_rate_burst: int = 6
    replay_checkpoint_every: int = 100
    replay_memory: int = 32 * 1024 * 1024
    replay_keep_idle: int = 4
    # Live streams (docs/streaming.md): stream keys, the media server's callback and playback.
    stream_key_ttl: int = 24 * 3600
    stream_key_max_ttl: int = 7 * 24 * 3600
    stream_keys_per_performer: int = 20
    stream_callback_from: str = "127.0.0.1, ::1"
    stream_callback_rate_limit: float = 5.0
    stream_callback_rate_burst: int = 20
    # Empty: nginx-rtmp on the ports below, on the host the browser used ({host}).
    stream_playback_url: str = ""
    stream_publish_url: str = ""
    stream_rtmp_port: int = 1935
    stream_hls_port: int = 8088
    stream_hub_url: str = ""
    # Where a revoked key's running publish is cut (nginx-rtmp's control API); "off": never.
    stream_control_url: str = ""
    # Mail (docs/mail.md): the SMTP server (empty: mail is written to the log), the sender, the
    # site's address for links in mail, the queue and its retries.
    smtp_url: str = ""
    mail_from: str = "UpStage <noreply@localhost>"
    smtp_timeout: float = 30.0
    smtp_tls_verify: bool = True
    public_url: str = ""
    mail_queue: int = 1000
    mail_attempts: int = 10
    mail_retry_min: float = 1.0
    mail_retry_max: float = 300.0
    test_mail_rate_limit: float = 1 / 60
    test_mail_rate_burst: int = 5

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

    @functools.cached_property
    def origins(self) -> OriginPolicy:
        """Which web pages may call the hub: one policy for HTTP and Socket.IO (hub/origins.py)."""
        return OriginPolicy.parse(self.cors_origins)

    @functools.cached_property
    def stream_callers(self) -> tuple[Network, ...]:
        """The addresses the media server's publish callbacks may come from."""
        return parse_networks(self.stream_callback_from, "HUB_STREAM_CALLBACK_FROM")

    @property
    def playback_pattern(self) -> str:
        """Where browsers play a stream: `{name}` is the stream's, `{host}` the page's host."""
        return self.stream_playback_url or f"http://{{host}}:{self.stream_hls_port}/hls/{{name}}.m3u8"

    @property
    def publish_base(self) -> str:
        """Where performers publish (OBS's "server"); the stream name and key follow it."""
        return (self.stream_publish_url or f"rtmp://{{host}}:{self.stream_rtmp_port}/live").rstrip("/")

    @property
    def stream_control(self) -> str | None:
        """nginx-rtmp's control API (`.../drop/publisher` cuts a publish), or None when off."""
        if self.stream_control_url.strip().lower() == "off":
            return None
        return (self.stream_control_url or f"http://127.0.0.1:{self.stream_hls_port}/control").rstrip("/")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
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
        if values.get("workers", cls.workers) < 1:
            raise ConfigError(f"HUB_WORKERS must be an integer of at least 1, not {env['HUB_WORKERS']!r}")
        settings = cls(**values)
        try:
            settings.addresses  # noqa: B018 - parse the proxy list now, not at the first request
            settings.origins  # noqa: B018 - and the origin list
            settings.stream_callers  # noqa: B018 - and the media server's addresses
            check_mail_settings(settings)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        return settings


def check_mail_settings(settings: Settings) -> None:
    """Refuse at start a HUB_SMTP_URL, HUB_MAIL_FROM or HUB_PUBLIC_URL the mailer could not use."""
    from .mail.compose import parse_sender  # the mail package needs these settings: imported late
    from .mail.transport import parse_smtp_url

    if settings.smtp_url.strip():
        parse_smtp_url(settings.smtp_url)
    try:
        parse_sender(settings.mail_from)
    except ValueError as exc:
        raise ConfigError(f"HUB_MAIL_FROM: {exc}") from None
    if settings.public_url and not settings.public_url.startswith(("http://", "https://")):
        raise ConfigError(f"HUB_PUBLIC_URL must start with http:// or https://, not {settings.public_url!r}")


def _parse(name: str, text: str, default: Any) -> Any:
    """A variable's text as the type of the field's default."""
    if isinstance(default, bool):
        return text.strip().lower() not in FALSE
    if isinstance(default, (int, float)):
        kind = "an integer" if isinstance(default, int) else "a number"
        try:
            value = int(text) if isinstance(default, int) else float(text)
        except ValueError:
            raise ConfigError(f"{name} must be {kind}, not {text!r}") from None
        if not value >= 0 or value == float("inf"):  # also NaN
            raise ConfigError(f"{name} must be {kind} of at least 0, not {text!r}")
        return value
    if isinstance(default, Path):
        return Path(text)
    return text


def load_or_create_secret(var_dir: Path) -> str:
    """Return the JWT signing key kept in `var/secret_key`, creating it (mode 0600) on first use."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    private_dir(var_dir)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
