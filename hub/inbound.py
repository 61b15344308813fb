"""Admission of inbound calls: shape, topic, size, schema and rights checks, then identity stamping.

Pure functions of (role, identity, data): no sockets, so the same rules serve every entry point.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from storage import EVERYONE, PERFORMERS

from .roles import is_performer
from .state import DEFAULT_LIMITS, Limits, nests_deeper_than
from .topics import HUB_TOPICS, TOPICS

MAX_NICKNAME = 40
MAX_PUBLISH_ID = 100
DEFAULT_NICKNAME = "Guest"
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class Refused(Exception):
    """An inbound call the hub will not carry out; `code` is the contract's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def ack(self) -> dict[str, Any]:
        return {"ok": False, "error": {"code": self.code, "message": self.message}}


@dataclass(frozen=True)
class Identity:
    """Who is speaking, as the hub knows it: the only source of identity fields on the wire."""

    session: str
    nickname: str
    role: str

    def sender(self) -> dict[str, Any]:
        return {"session": self.session, "nickname": self.nickname, "role": self.role}


def require_dict(data: Any, call: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise Refused("bad_request", f"{call} takes an object")
    return data


def clean_nickname(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Refused("bad_request", "nickname must be a non-empty string")
    nickname = " ".join(value.split())
    if len(nickname) > MAX_NICKNAME:
        raise Refused("bad_request", f"nickname is longer than {MAX_NICKNAME} characters")
    return nickname


def check_publish(role: str, data: Any, max_payload: int, limits: Limits = DEFAULT_LIMITS) -> tuple[str, Any]:
    """Validate a `publish` call for a sender with `role`; returns (topic, payload) or raises Refused."""
    data = require_dict(data, "publish")
    topic_name = data.get("topic")
    if not isinstance(topic_name, str):
        raise Refused("bad_request", "topic must be a string naming a topic")
    if topic_name in HUB_TOPICS:
        raise Refused("forbidden", f"topic: {topic_name} events come from the hub only, never from clients")
    topic = TOPICS.get(topic_name)
    if topic is None:
        raise Refused("bad_request", f"topic: there is no topic {topic_name[:50]!r}")
    if "payload" not in data:
        raise Refused("bad_request", "payload is missing")
    payload = data["payload"]
    if nests_deeper_than(payload, limits.payload_depth):
        raise Refused("bad_request", f"payload nests deeper than {limits.payload_depth} levels")
    limit = min(topic.max_bytes, max_payload)
    size = len(orjson.dumps(payload))
    if size > limit:
        raise Refused("too_large", f"{topic_name} payload is {size} bytes, the limit is {limit}")
    problem = topic.problem(payload)
    if problem is not None:
        raise Refused("bad_request", f"invalid {topic_name} payload: {problem}")
    if not topic.may_publish(role, payload):
        raise Refused("forbidden", f"{role} may not publish this on {topic_name}")
    return topic_name, payload


def stamp(topic: str, payload: Any, who: Identity, now_ms: int) -> Any:
    """Overwrite every identity claim in the payload with what the hub knows of the sender."""
    if topic == "chat" and isinstance(payload, dict) and "message" in payload:
        return _stamp_message(payload, who, now_ms)
    if topic == "board" and payload.get("type") == "speak":
        return {**payload, "speak": _stamp_message(payload["speak"], who, now_ms)}
    if topic == "stream_health":
        return {**payload, "viewerSession": who.session}
    if topic == "background" and payload.get("type") in STALE_GUARDED:
        # The reducers keep the newest of these by `at` (a guard against late redeliveries in the
        # original); the hub orders events itself, so `at` is its clock, never the sender's: a
        # far-future `at` would otherwise freeze the backdrop or curtain for everyone.
        field = STALE_GUARDED[payload["type"]]
        if isinstance(payload.get(field), dict):
            return {**payload, field: {**payload[field], "at": now_ms}}
    return payload


STALE_GUARDED = {"changeBackground": "background", "drawCurtain": "curtain"}


def _stamp_message(message: dict[str, Any], who: Identity, now_ms: int) -> dict[str, Any]:
    stamped = {**message, "session": who.session, "at": now_ms}
    stamped.setdefault("id", uuid.uuid4().hex)
    if is_performer(who.role):
        # Performers may speak as someone else ("-Name text"), which the original client marks
        # with isPlayer false; they keep that choice. Audience never claim to be players.
        stamped["isPlayer"] = bool(message.get("isPlayer", True))
        stamped.setdefault("user", who.nickname)
    else:
        stamped["isPlayer"] = False
        stamped["user"] = who.nickname
        stamped.pop("highlighted", None)  # highlighting is a performer's control
        stamped.pop("color", None)  # chat colours are the performers'
    return stamped


def publish_id(value: Any) -> dict[str, Any]:
    """What a publish's optional `id` adds to its event's `from` (`publishId`), once checked."""
    if value is None:
        return {}
    if not isinstance(value, str) or not 0 < len(value) <= MAX_PUBLISH_ID:
        raise Refused("bad_request", f"id must be a string of 1-{MAX_PUBLISH_ID} characters")
    return {"publishId": value}


def idempotency_key(sender: dict[str, Any]) -> str | None:
    """What makes a publish the same as an earlier one (from its event's `from`): a relayed
    event's origin and id, or the sender's session and publish id, hashed to a short key for the
    stage log; None for neither."""
    if "origin" in sender and "eventId" in sender:
        parts: tuple[Any, ...] = ("relay", sender["origin"], sender["eventId"])
    elif "publishId" in sender:
        parts = ("session", sender.get("session"), sender["publishId"])
    else:
        return None
    return hashlib.blake2b(orjson.dumps(parts), digest_size=16).hexdigest()


def audience_of(topic: str, payload: Any) -> tuple[str, str | None]:
    """Who may receive an accepted event: (EVERYONE | PERFORMERS, target session or None)."""
    if topic == "chat" and isinstance(payload, dict) and (payload.get("isPrivate") or "clearPlayerChat" in payload):
        return PERFORMERS, None
    if topic == "stream_health":
        return PERFORMERS, payload["hostId"]
    return EVERYONE, None
