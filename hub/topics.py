"""The stage topics clients may publish: each one's schema, size limit, rights and audience.

This is the hub's side of the contract's "Topics and rights" table. Everything that arrives
through `publish` is checked here before it reaches any socket, state or store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from .roles import PERFORMER_ROLES
from .stage_animations import ANIMATIONS_SCHEMA

CHAT_CONTROLS = ("clear", "clearPlayerChat", "remove", "highlight")
# Topics only the hub publishes (`stream`: the media server's publish callbacks, hub/stream_http.py).
HUB_TOPICS = frozenset({"stream"})

_ID = {"type": ["string", "integer"], "maxLength": 200}
_STR = {"type": "string", "maxLength": 2000}
# `wornBy`: the avatar wearing this prop as a costume (null: taken off); `backstage`: seen by
# performers only until it is turned off ("the lightbulb", hub/board_admission.py).
_FRAMES = {"type": "array", "maxItems": 100}  # frame URLs: a wire ceiling above uploads (hub/upload.py MAX_FRAMES)
_OBJECT = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": _ID,
        "wornBy": {"type": ["string", "integer", "null"], "maxLength": 200},
        "backstage": {"type": "boolean"},
        "frames": _FRAMES,
        "autoplayFrames": {"type": "number", "minimum": 0, "maximum": 600_000},  # ms a frame, 0 stopped
        "frameLoop": {"type": "boolean"},
    },
}
_SECONDS = {"type": "number", "minimum": 0, "maximum": 3600}
_BACKDROP = {
    "type": "object",
    "properties": {
        "frames": _FRAMES,
        "opacity": {"type": "number", "minimum": 0, "maximum": 1},
        "speed": _SECONDS,  # fade seconds a frame, 0 paused
        "dwell": _SECONDS,
        "frameLoop": {"type": "boolean"},
        "currentFrame": {"type": "integer", "minimum": 0, "maximum": 99},
    },
}
_CHAT_MESSAGE = {
    "type": "object",
    "properties": {
        "message": {"type": "string", "maxLength": 4000},
        "behavior": {"enum": ["speak", "think", "shout"]},
        "isPrivate": {"type": "boolean"},
        "isPlayer": {"type": "boolean"},
        "id": _ID,
        "user": {"type": "string", "maxLength": 100},
        "color": {"type": "string", "maxLength": 50},
    },
}


def _typed(types: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A schema for `{"type": <one of types>, ...}` payloads, each type with its own schema."""
    return {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": sorted(types)}},
        "allOf": [
            {"if": {"properties": {"type": {"const": name}}}, "then": schema}
            for name, schema in types.items()
            if schema
        ],
    }


def _with(*required: str, **properties: Any) -> dict[str, Any]:
    return {"required": list(required), "properties": properties}


SCHEMAS: dict[str, dict[str, Any]] = {
    "chat": {
        "anyOf": [
            {"type": "string", "maxLength": 4000},
            {"allOf": [_CHAT_MESSAGE, {"required": ["message"]}]},
            {"type": "object", "required": ["clear"], "properties": {"clear": {"const": True}}},
            {"type": "object", "required": ["clearPlayerChat"], "properties": {"clearPlayerChat": {"const": True}}},
            {"type": "object", "required": ["remove"], "properties": {"remove": _ID}},
            {"type": "object", "required": ["highlight"], "properties": {"highlight": _ID}},
        ]
    },
    "board": _typed(
        {
            "placeObjectOnStage": _with("object", object=_OBJECT),
            "moveTo": _with("object", object=_OBJECT, zIndex={"type": ["integer", "null"]}),
            "destroy": _with("object", object=_OBJECT),
            "switchFrame": _with("object", object=_OBJECT),
            "toggleAutoplayFrames": _with("object", object=_OBJECT),
            "speak": _with("avatar", "speak", avatar=_OBJECT, speak=_CHAT_MESSAGE, mute={"type": "boolean"}),
            "sendToBack": _with("object", object=_OBJECT),
            "bringToFront": _with("object", object=_OBJECT),
            "bringToFrontOf": _with("front", "back", front=_ID, back=_ID, side={"enum": ["front", "behind"]}),
        }
    ),
    "background": _typed(
        {
            "changeBackground": _with("background", background=_BACKDROP),
            "setAnimations": _with("animations", animations=ANIMATIONS_SCHEMA),
            "setBackdropColor": _with("color", color={"type": "string", "maxLength": 100}),
            "drawCurtain": _with("curtain", curtain={"type": ["null", "string", "object"]}),
            "setChatVisibility": _with("visible", visible={"type": "boolean"}),
            "setReactionVisibility": _with("visible", visible={"type": "boolean"}),
            "setDarkModeChat": _with("enabled", enabled={"type": "boolean"}),
            "setChatPosition": _with("position", position={"enum": ["left", "right"]}),
            "setAudienceChat": _with("enabled", enabled={"type": "boolean"}),
            "setPlayersMayClearChat": _with("enabled", enabled={"type": "boolean"}),
            "loadScenes": {},
            "switchScene": _with("scene", scene=_ID),
            "blankScene": {},
        }
    ),
    "audio": {
        "type": "object",
        "anyOf": [{"required": ["id"]}, {"required": ["src"]}],
        "properties": {
            "id": _ID,
            "src": _STR,
            "isPlaying": {"type": "boolean"},
            "currentTime": {"type": "number", "minimum": 0},
            "saken": {"type": "boolean"},
            "loop": {"type": "boolean"},
            "volume": {"type": "number", "minimum": 0},
            "duration": {"type": "number", "exclusiveMinimum": 0},  # seconds: the hub stops the track there
        },
    },
    "audio_master": {
        "type": "object",
        "required": ["volume"],
        "properties": {
            "volume": {"type": "number", "minimum": 0, "maximum": 1},
            "duration": {"type": "number", "minimum": 0},
        },
    },
    "draw": _typed(
        {
            "newLine": _with("command", command={"type": "object"}),
            "undo": _with("index", index={"type": "integer", "minimum": 0}),
            "clear": {},
        }
    ),
    "reaction": {"type": "string", "minLength": 1, "maxLength": 32},
    "stream_health": {
        "type": "object",
        "required": ["hostId", "objectId", "frozen"],
        "properties": {"hostId": {"type": "string", "maxLength": 200}, "objectId": _ID, "frozen": {"type": "boolean"}},
    },
}


def is_public_chat(payload: Any) -> bool:
    return isinstance(payload, str) or (
        not payload.get("isPrivate") and not any(key in payload for key in CHAT_CONTROLS)
    )


@dataclass(frozen=True)
class Topic:
    """One publishable topic: how big its payload may be and who may publish it."""

    name: str
    max_bytes: int
    audience_may_publish: Callable[[Any], bool]
    validator: Draft202012Validator

    def may_publish(self, role: str, payload: Any) -> bool:
        return role in PERFORMER_ROLES or self.audience_may_publish(payload)

    def problem(self, payload: Any) -> str | None:
        """The first schema violation, as a short message, or None when the payload is valid."""
        error = next(iter(self.validator.iter_errors(payload)), None)
        if error is None:
            return None
        where = "/".join(str(part) for part in error.absolute_path) or "payload"
        return f"{where}: {error.message[:200]}"


def _topic(name: str, max_bytes: int, audience: Callable[[Any], bool] = lambda _: False) -> Topic:
    return Topic(name, max_bytes, audience, Draft202012Validator(SCHEMAS[name]))


TOPICS: dict[str, Topic] = {
    topic.name: topic
    for topic in (
        _topic("chat", 8 * 1024, is_public_chat),
        _topic("board", 64 * 1024),
        _topic("background", 32 * 1024),
        _topic("audio", 4 * 1024),
        _topic("audio_master", 1024),
        _topic("draw", 64 * 1024),
        _topic("reaction", 256, lambda _: True),
        _topic("stream_health", 1024, lambda _: True),
    )
}
