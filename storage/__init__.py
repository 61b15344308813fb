"""Persistence for UpStage Hub behind one `Store` seam (SQLite by default, Postgres by URL)."""

from .records import (
    ACCESS_LEVELS,
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

__all__ = [
    "ACCESS_LEVELS",
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
