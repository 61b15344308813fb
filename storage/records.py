"""Plain records the store returns: what the hub knows of users and stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

USER_ROLES = ("player", "admin", "service")  # service: a gateway or bot, see docs/federation.md
STAGE_STATUSES = ("live", "rehearsal", "upcoming")
ACCESS_LEVELS = ("player", "editor")
MEDIA_TYPES = ("avatar", "prop", "backdrop", "audio", "curtain", "video")
DEFAULT_COLOR = "#30ac45"


@dataclass(frozen=True)
class User:
    id: int
    username: str
    password_hash: str
    role: str
    active: bool
    upload_limit: int | None = None  # bytes; None means the hub's default (HUB_UPLOAD_LIMIT)
    created_at: str | None = None
    sessions_after: int = 0  # ms: tokens signed before this (a password change) are refused
    email: str | None = None  # lower-cased; None: no address (storage/sql/0008_user_profile.sql)
    display_name: str = ""
    about: str = ""

    def public(self) -> dict[str, Any]:
        """The fields a client may see."""
        return {"id": self.id, "username": self.username, "role": self.role, "active": self.active}


@dataclass(frozen=True)
class Stage:
    id: int
    slug: str
    name: str
    owner_id: int
    description: str = ""
    status: str = "live"
    visible: bool = True
    config: dict[str, Any] = field(default_factory=dict)
    players: frozenset[int] = frozenset()
    editors: frozenset[int] = frozenset()
    cover: str | None = None

    @property
    def default_color(self) -> str:
        """The backdrop colour of a blank stage: `defaultColor` in the config (or the original's
        `defaultcolor`), else the hub's green."""
        for key in ("defaultColor", "defaultcolor"):
            value = self.config.get(key)
            if isinstance(value, str) and value:
                return value
        return DEFAULT_COLOR

    def public(self) -> dict[str, Any]:
        """The fields sent to a joining client."""
        return {
            "id": self.id,
            "slug": self.slug,
            "name": self.name,
            "description": self.description,
            "status": self.status,
            "visible": self.visible,
            "config": self.config,
        }


@dataclass(frozen=True)
class Scene:
    """A named snapshot of a stage (board, backdrop, settings, audio) to switch to later."""

    id: int
    stage_id: int
    name: str
    payload: dict[str, Any]
    active: bool = True
    created_by: int | None = None
    created_at: str | None = None

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "active": self.active}


@dataclass(frozen=True)
class Media:
    """An uploaded media item: one file, or several frames, under `var/media` (content-named)."""

    id: int
    owner_id: int
    name: str
    type: str
    mime: str
    size: int
    frames: tuple[str, ...]  # file names in frame order
    copyright_level: int = 0
    voice: Any = None
    link: Any = None
    created_at: str | None = None

    def public(self) -> dict[str, Any]:
        """The upload response's `media` object (the id as a string, as GraphQL's ID)."""
        urls = [media_url(name) for name in self.frames]
        return {
            "id": str(self.id),
            "name": self.name,
            "type": self.type,
            "url": urls[0] if urls else "",
            "frames": urls,
            "mime": self.mime,
            "size": self.size,
            "copyrightLevel": self.copyright_level,
        }


def media_url(file: str) -> str:
    """Where a stored media file is served."""
    return f"/media/{file}"


# Who may receive an event: everyone on the stage, or performers only (optionally one session).
EVERYONE = "everyone"
PERFORMERS = "performers"


@dataclass(frozen=True, slots=True)
class Event:
    """One accepted event of one stage; `seq` increases by one per stage and never goes back."""

    stage_id: int
    seq: int
    topic: str
    payload: Any
    at: int
    sender: dict[str, Any]
    audience: str = EVERYONE
    target_session: str | None = None

    def wire(self) -> dict[str, Any]:
        """The `event` message of the wire contract."""
        return {"seq": self.seq, "topic": self.topic, "payload": self.payload, "at": self.at, "from": self.sender}

    def visible_to(self, performer: bool, session: str) -> bool:
        """Whether a socket with this role and session may receive the event."""
        if self.audience == EVERYONE:
            return True
        return performer and (self.target_session is None or self.target_session == session)


class StoreError(Exception):
    """A store operation that cannot be done as asked."""


class DuplicateError(StoreError):
    """A unique name (username, slug) is already taken."""


class NotFoundError(StoreError):
    """A referenced user or stage does not exist."""


# The event archive: performances made from a stage's live log, and periodic live-state snapshots.
PERFORMANCE_KINDS = ("archive", "recording", "trim")


@dataclass(frozen=True)
class Performance:
    """A named, replayable run of events: a sweep of the live log, a recording window or a trim.

    `stage_id` is None once the stage is deleted; `stage_slug` keeps the name it had.
    `recording` is True while a recording window is open (events after `start_seq` belong to it).
    Times are hub clock, epoch milliseconds.
    """

    id: int
    stage_id: int | None
    stage_slug: str
    name: str
    description: str
    kind: str
    recording: bool
    start_seq: int
    started_at: int
    saved_at: int | None

    def public(self) -> dict[str, Any]:
        """The fields sent to clients."""
        return {
            "id": self.id,
            "stageSlug": self.stage_slug,
            "name": self.name,
            "description": self.description,
            "kind": self.kind,
            "recording": self.recording,
            "startedAt": self.started_at,
            "savedAt": self.saved_at,
        }


@dataclass(frozen=True)
class Snapshot:
    """A stage's persisted live state as of `seq` in `epoch`; a restart replays only what follows."""

    stage_id: int
    epoch: str
    seq: int
    state: dict[str, Any]
    at: int


class NothingToArchive(StoreError):
    """A sweep or recording found no events to keep."""


class BufferFull(StoreError):
    """The event writer already holds its bound of unwritten events: refuse new publishes."""


class WriterClosed(StoreError):
    """The event writer is closing or closed and takes no more events."""


class EventsUnwritten(StoreError):
    """The event writer gave up closing with events still unwritten (the database never came back)."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} accepted events could not be written before the close timeout")
        self.count = count
