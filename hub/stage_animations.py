"""The stage's animations, as the original's stage config had them (`animations {bubble, curtain,
bubbleSpeed, curtainSpeed}`, upstage-spec §4.2): how speech bubbles appear and how the curtain
closes and opens, and how fast. The stage config (`updateStage(animations)`) holds the defaults;
performers change them live with `background {type: "setAnimations", animations}`, kept in the
live state's `background.animations` (docs/decisions.md, "Stage animations"). One schema for both.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

BUBBLE_ANIMATIONS = ("fade", "bounce", "none")
CURTAIN_ANIMATIONS = ("drop", "fade", "close", "none")
MAX_SPEED_MS = 10_000

ANIMATIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "bubble": {"enum": list(BUBBLE_ANIMATIONS)},
        "curtain": {"enum": list(CURTAIN_ANIMATIONS)},
        "bubbleSpeed": {"type": "number", "minimum": 0, "maximum": MAX_SPEED_MS},
        "curtainSpeed": {"type": "number", "minimum": 0, "maximum": MAX_SPEED_MS},
    },
}
_VALIDATOR = Draft202012Validator(ANIMATIONS_SCHEMA)


def animations_problem(value: Any) -> str | None:
    """Why `value` is not a valid `animations` object (a short message), or None."""
    error = next(iter(_VALIDATOR.iter_errors(value)), None)
    if error is None:
        return None
    where = ".".join(str(part) for part in error.absolute_path)
    return f"animations{'.' + where if where else ''}: {error.message[:200]}"
