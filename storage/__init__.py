"""Persistence for UpStage Hub behind one `Store` seam (SQLite by default, Postgres by URL)."""

from .records import (
    ACCESS_LEVELS,
    DEFAULT_COLOR,
    MEDIA_TYPES,
    Media,
    media_url,
    EVERYONE,
    PERFORMANCE_KINDS,
    PERFORMERS,
    BufferFull,
    Event,
    EventsUnwritten,
    NothingToArchive,
    Performance,
    Snapshot,
    STAGE_STATUSES,
    USER_ROLES,
    DuplicateError,
    NotFoundError,
    Scene,
    Stage,
    StoreError,
    User,
    WriterClosed,
)
from .archive import Archive
from .store import Store, dialect_of
from .writer import EventWriter

from .media import MediaQuery
from .users import ADMIN_ROLES

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
    "Store",
    "StoreError",
    "User",
    "WriterClosed",
    "dialect_of",
]
