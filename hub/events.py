"""What an accepted publish becomes: a stage event with its hub-assigned `seq` and audience."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Who may receive an event: everyone on the stage, performers only, or one performer session.
EVERYONE = "everyone"
PERFORMERS = "performers"


@dataclass(frozen=True, slots=True)
class Event:
    """One accepted event of one stage; `seq` increases by one per stage within an epoch."""

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
