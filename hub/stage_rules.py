"""Rights that depend on the stage's live settings, checked after the topic's schema and role rules.

`topics.py` decides by role alone; these rules read the stage's `settings` (hub/state/settings.py),
which performers change during a show: whether the audience may chat or react, and whether the
owner lets players clear the chat. The same rules serve direct and relayed publishes.
"""

from __future__ import annotations

from typing import Any

from .inbound import Refused
from .roles import EDITOR, OWNER, PLAYER, is_performer
from .topics import is_public_chat

AUDIENCE_CHAT_OFF = "the audience chat is off on this stage"
REACTIONS_OFF = "reactions are off on this stage"
PLAYERS_MAY_NOT_CLEAR = "the stage's owner has not allowed players to clear the chat"
OWNER_DECIDES = "only the stage's owner and editors decide whether players may clear the chat"


def check_stage_rules(role: str, topic: str, payload: Any, settings: dict[str, Any]) -> None:
    """Raise `forbidden` for a publish the stage's settings do not allow `role` now."""
    if topic == "chat":
        _check_chat(role, payload, settings)
    elif topic == "reaction" and not is_performer(role) and settings.get("reactionVisibility") is False:
        raise Refused("forbidden", REACTIONS_OFF)
    elif topic == "background" and payload.get("type") == "setPlayersMayClearChat" and role not in (OWNER, EDITOR):
        raise Refused("forbidden", OWNER_DECIDES)


def _check_chat(role: str, payload: Any, settings: dict[str, Any]) -> None:
    clearing = isinstance(payload, dict) and (payload.get("clear") is True or payload.get("clearPlayerChat") is True)
    if clearing and role == PLAYER and settings.get("playersMayClearChat") is not True:
        raise Refused("forbidden", PLAYERS_MAY_NOT_CLEAR)
    if not is_performer(role) and is_public_chat(payload) and settings.get("audienceChat") is False:
        raise Refused("forbidden", AUDIENCE_CHAT_OFF)
