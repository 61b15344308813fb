"""Backdrop reducer: the background image (stale-guarded by `at`), backdrop colour and curtain.

`changeBackground` and the object form of `drawCurtain` are last-writer-wins by the sender's
`at`, as in the NEW client, so a late or duplicated message never undoes a newer one.
"""

from __future__ import annotations

from typing import Any

from ._util import Json, action, is_number
from .frames import anchor_backdrop

Background = dict[str, Any]


def empty_background(default_color: str) -> Background:
    """No backdrop image, no curtain, the stage's default backdrop colour (kept for blankScene)."""
    return {"backdrop": None, "backdropColor": default_color, "defaultColor": default_color, "curtain": None}


def blank_background(background: Background) -> Background:
    """The backdrop of a blank scene: no image and the default colour; the curtain stays."""
    return {**background, "backdrop": None, "backdropColor": background["defaultColor"]}


def scene_background(background: Background, backdrop: Json, color: Json) -> Background:
    """The backdrop of a switched-to scene; a scene is authoritative, so no `at` guard applies."""
    return {
        **background,
        "backdrop": dict(backdrop) if isinstance(backdrop, dict) else None,
        "backdropColor": color if isinstance(color, str) else background["defaultColor"],
    }


def reduce_background(background: Background, payload: Json) -> Background:
    """Apply `changeBackground`, `setAnimations`, `setBackdropColor` or `drawCurtain`; anything
    else is ignored."""
    kind = action(payload)
    if kind == "changeBackground":
        new = payload.get("background")
        if isinstance(new, dict) and is_newer(new, background["backdrop"]):
            return {**background, "backdrop": anchor_backdrop(background["backdrop"], dict(new))}
    elif kind == "setAnimations":  # the stage's bubble and curtain animations, merged
        animations = payload.get("animations")
        if isinstance(animations, dict):
            current = background.get("animations")
            return {**background, "animations": {**(current if isinstance(current, dict) else {}), **animations}}
    elif kind == "setBackdropColor":
        color = payload.get("color")
        if isinstance(color, str):
            return {**background, "backdropColor": color}
    elif kind == "drawCurtain":
        curtain = payload.get("curtain")
        if curtain is None or isinstance(curtain, str):
            return {**background, "curtain": curtain}
        if isinstance(curtain, dict) and is_newer(curtain, background["curtain"]):
            return {**background, "curtain": dict(curtain)}
    return background


def is_newer(candidate: dict[str, Json], current: Json) -> bool:
    """The stale guard: apply unless both carry an `at` and the current one is not older."""
    new_at = candidate.get("at")
    old_at = current.get("at") if isinstance(current, dict) else None
    if not is_number(new_at) or not is_number(old_at):
        return True
    return old_at < new_at
