"""What an accepted publish becomes: a stage `Event` (defined in `storage`, which persists it)."""

from storage import EVERYONE, PERFORMERS, Event

__all__ = ["EVERYONE", "PERFORMERS", "Event"]
