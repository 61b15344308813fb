"""Settings read from `HUB_*` environment variables, with safe defaults for the embedded setup."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(f"HUB_{name}", default)


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _env_float(name: str, default: float) -> float:
    return float(_env(name, str(default)))


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

    @property
    def media_dir(self) -> Path:
        """Where uploaded media files live (served under /media/)."""
        return self.var_dir / "media"
    hub_id: str = ""
    service_rate_limit: float = 5000.0
    service_rate_burst: int = 10000

    @classmethod
    def from_env(cls) -> "Settings":
        """Build settings from the environment; the secret key is loaded or created under `var/`."""
        var_dir = Path(_env("VAR_DIR", "var"))
        return cls(
            host=_env("HOST", cls.host),
            port=_env_int("PORT", cls.port),
            var_dir=var_dir,
            database_url=_env("DATABASE_URL", f"sqlite:///{var_dir / 'hub.db'}"),
            secret_key=_env("SECRET_KEY", "") or load_or_create_secret(var_dir),
            access_token_ttl=_env_int("ACCESS_TOKEN_TTL", cls.access_token_ttl),
            refresh_token_ttl=_env_int("REFRESH_TOKEN_TTL", cls.refresh_token_ttl),
            demo=_env("DEMO", "1") not in ("0", "false", "no"),
            demo_password=_env("DEMO_PASSWORD", ""),
            rate_limit=_env_float("RATE_LIMIT", cls.rate_limit),
            rate_burst=_env_int("RATE_BURST", cls.rate_burst),
            max_payload=min(_env_int("MAX_PAYLOAD", cls.max_payload), 64 * 1024),
            presence_interval=_env_float("PRESENCE_INTERVAL", cls.presence_interval),
            presence_grace=_env_float("PRESENCE_GRACE", cls.presence_grace),
            history_size=_env_int("HISTORY_SIZE", cls.history_size),
            history_age=_env_float("HISTORY_AGE", cls.history_age),
            chat_messages=_env_int("CHAT_MESSAGES", cls.chat_messages),
            write_batch=_env_int("WRITE_BATCH", cls.write_batch),
            write_interval=_env_float("WRITE_INTERVAL", cls.write_interval),
            write_buffer=_env_int("WRITE_BUFFER", cls.write_buffer),
            snapshot_every=_env_int("SNAPSHOT_EVERY", cls.snapshot_every),
            fanout=_env("FANOUT", cls.fanout),
            write_soft_limit=_env_int("WRITE_SOFT_LIMIT", cls.write_soft_limit),
            write_hard_limit=_env_int("WRITE_HARD_LIMIT", cls.write_hard_limit),
            fanout_tick=_env_float("FANOUT_TICK", cls.fanout_tick),
            gc_threshold=_env_int("GC_THRESHOLD", cls.gc_threshold),
            ping_interval=_env_float("PING_INTERVAL", cls.ping_interval),
            ping_timeout=_env_float("PING_TIMEOUT", cls.ping_timeout),
            log_level=_env("LOG_LEVEL", cls.log_level).upper(),
            cors_origins=_env("CORS_ORIGINS", cls.cors_origins),
            upload_limit=_env_int("UPLOAD_LIMIT", cls.upload_limit),
            graphql_max_depth=_env_int("GRAPHQL_MAX_DEPTH", cls.graphql_max_depth),
            graphql_max_fields=_env_int("GRAPHQL_MAX_FIELDS", cls.graphql_max_fields),
            hub_id=_env("ID", cls.hub_id),
            service_rate_limit=_env_float("SERVICE_RATE_LIMIT", cls.service_rate_limit),
            service_rate_burst=_env_int("SERVICE_RATE_BURST", cls.service_rate_burst),
        )


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
