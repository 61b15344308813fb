"""Persistence for UpStage Hub behind one `Store` seam (SQLite by default, Postgres by URL)."""

from .records import (
    ACCESS_LEVELS,
    EVERYONE,
    PERFORMERS,
    Event,
    STAGE_STATUSES,
    USER_ROLES,
    DuplicateError,
    NotFoundError,
    Scene,
    Stage,
    StoreError,
    User,
)
from .store import Store, dialect_of

__all__ = [
    "ACCESS_LEVELS",
    "EVERYONE",
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
    "dialect_of",
]
