"""Persistence for UpStage Hub behind one `Store` seam (SQLite by default, Postgres by URL)."""

from .archive import Archive
from .media import MediaQuery
from .records import (
    ACCESS_LEVELS,
    DEFAULT_COLOR,
    EVERYONE,
    MEDIA_TYPES,
    PERFORMANCE_KINDS,
    PERFORMERS,
    STAGE_STATUSES,
    USER_ROLES,
    BufferFull,
    DuplicateError,
    Event,
    EventsUnwritten,
    Media,
    NotFoundError,
    NothingToArchive,
    Performance,
    Scene,
    Snapshot,
    Stage,
    StoreError,
    User,
    WriterClosed,
    media_url,
)
from .store import Store, dialect_of
from .streams import StreamKey
from .users import ADMIN_ROLES
from .writer import EventWriter

__all__ = [
    "ADMIN_ROLES",
    "ACCESS_LEVELS",
    "DEFAULT_COLOR",
    "MEDIA_TYPES",
    "Media",
    "MediaQuery",
    "media_url",
    "Archive",
    "BufferFull",
    "EVERYONE",
    "EventWriter",
    "EventsUnwritten",
    "NothingToArchive",
    "PERFORMANCE_KINDS",
    "Performance",
    "Snapshot",
    "PERFORMERS",
    "Event",
    "STAGE_STATUSES",
    "USER_ROLES",
    "DuplicateError",
    "NotFoundError",
    "Scene",
    "Stage",
    "StreamKey",
    "Store",
    "StoreError",
    "User",
    "WriterClosed",
    "dialect_of",
]
