"""Stage-wide chat and reaction settings set from the `background` topic (show chat, dark mode...)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._util import Json, action

Settings = dict[str, Any]


def _is_bool(value: Json) -> bool:
    return isinstance(value, bool)


def _is_side(value: Json) -> bool:
    return value in ("left", "right")


# setting name -> (validator, the payload type that sets it, the payload field carrying it)
_SETTINGS: dict[str, tuple[Callable[[Json], bool], str, str]] = {
    "chatVisibility": (_is_bool, "setChatVisibility", "visible"),
    "reactionVisibility": (_is_bool, "setReactionVisibility", "visible"),
    "chatDarkMode": (_is_bool, "setDarkModeChat", "enabled"),
    "chatPosition": (_is_side, "setChatPosition", "position"),
    "audienceChat": (_is_bool, "setAudienceChat", "enabled"),
    "playersMayClearChat": (_is_bool, "setPlayersMayClearChat", "enabled"),
}
# A right, not a look: a saved scene never brings it back (a player could save one while it is on).
_NOT_FROM_SCENES = frozenset({"playersMayClearChat"})
_BY_ACTION = {kind: (name, valid, field) for name, (valid, kind, field) in _SETTINGS.items()}

SETTING_ACTIONS = frozenset(_BY_ACTION)


def default_settings() -> Settings:
    """The original client's defaults: chat and reactions shown, light chat on the right; the
    audience may chat, players may not clear the chat (the owner's or an editor's choice)."""
    return {"chatVisibility": True, "reactionVisibility": True, "chatDarkMode": False, "chatPosition": "right",
            "audienceChat": True, "playersMayClearChat": False}  # fmt: skip


def reduce_settings(settings: Settings, payload: Json) -> Settings:
    """Apply one `set...` payload of the `background` topic; invalid values are ignored."""
    found = _BY_ACTION.get(action(payload) or "")
    if found is None:
        return settings
    name, valid, field = found
    value = payload.get(field)
    return {**settings, name: value} if valid(value) else settings


def merge_settings(settings: Settings, incoming: Json) -> Settings:
    """`settings` updated with the valid known entries of `incoming` (a saved scene's settings)."""
    if not isinstance(incoming, dict):
        return settings
    valid = {k: v for k, v in incoming.items() if k in _SETTINGS and k not in _NOT_FROM_SCENES and _SETTINGS[k][0](v)}
    return {**settings, **valid}
