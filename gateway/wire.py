"""The original UpStage MQTT layout: topics `<namespace>/<slug>/<topic>`, payloads, and the
gateway's MQTT v5 user properties (origin hub, event id, hop count, speaker, position)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

STATISTICS = "statistics"
# Presence is the hub's, and so is `stream` (its media server's callbacks; docs/streaming.md):
# such messages from the broker are dropped, never relayed into a hub.
HUB_OWNED = frozenset({"counter", STATISTICS, "stream"})
PERFORMER_ROLES = frozenset({"owner", "editor", "player"})
# What the hub accepts in a relay (docs/protocol.md, Federation); checked here too, so a bad
# property is dropped before its id takes a place in the seen cache.
HUB_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_EVENT_ID = 200
MAX_TOPIC_NAME = 64  # the hub's topic names are short words; anything longer is not one of them


class BadMessage(ValueError):
    """An inbound message the gateway will not carry; `reason` labels the drop in metrics."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def stage_topic(namespace: str, slug: str, topic: str) -> str:
    return f"{namespace}/{slug}/{topic}"


def split_topic(namespace: str, mqtt_topic: str) -> tuple[str, list[str]]:
    """(slug, remaining levels) of a topic under the namespace; raises BadMessage otherwise."""
    prefix = namespace + "/"
    if not mqtt_topic.startswith(prefix):
        raise BadMessage("foreign_topic", mqtt_topic[:100])
    slug, *rest = mqtt_topic[len(prefix) :].split("/")
    if not slug or not rest or not rest[0] or len(rest[0]) > MAX_TOPIC_NAME:
        raise BadMessage("foreign_topic", mqtt_topic[:100])
    return slug, rest


def encode(topic: str, payload: Any) -> bytes:
    """The original wire form: JSON, except a reaction, which the original sends as the bare emoji."""
    if topic == "reaction" and isinstance(payload, str):
        return payload.encode()
    return orjson.dumps(payload)


def decode(topic: str, raw: bytes) -> Any:
    """The payload of an inbound message; raises BadMessage (`not_utf8`, `bad_json`)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadMessage("not_utf8") from exc
    if topic == "reaction":
        # The original sends the bare emoji; a JSON string is accepted too.
        if text.startswith('"'):
            try:
                value = orjson.loads(raw)
            except orjson.JSONDecodeError:
                return text
            return value
        return text
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadMessage("bad_json", str(exc)[:100]) from exc


@dataclass(frozen=True)
class Provenance:
    """Where an event comes from and who spoke, carried as MQTT v5 user properties."""

    origin: str
    event_id: str
    hops: int
    role: str = "audience"
    nickname: str | None = None
    session: str | None = None
    pos: str | None = None  # the publishing hub's `<hub>:<epoch>:<seq>` of this message (receipts.py)

    def properties(self) -> list[tuple[str, str]]:
        props = [("origin", self.origin), ("eventId", self.event_id), ("hops", str(self.hops)), ("role", self.role)]
        if self.nickname:
            props.append(("nickname", self.nickname))
        if self.session:
            props.append(("session", self.session))
        if self.pos:
            props.append(("pos", self.pos))
        return props

    @classmethod
    def of(cls, properties: dict[str, Any]) -> Provenance | None:
        """The provenance in a received message's properties; None for a legacy client (no origin).

        Raises BadMessage (`bad_properties`) when an origin comes without a usable id or hop count,
        or with an origin or id the hub would refuse.
        """
        pairs = properties.get("user_property") or []
        props: dict[str, str] = {}
        for pair in pairs:
            if isinstance(pair, (tuple, list)) and len(pair) == 2:
                props.setdefault(str(pair[0]), str(pair[1]))
        if "origin" not in props:
            return None
        try:
            hops = int(props.get("hops", ""))
        except ValueError as exc:
            raise BadMessage("bad_properties", "hops is not an integer") from exc
        if not props.get("eventId") or hops < 0:
            raise BadMessage("bad_properties", "an origin needs an eventId and hops >= 0")
        if not HUB_ID.match(props["origin"]) or len(props["eventId"]) > MAX_EVENT_ID:
            raise BadMessage("bad_properties", f"origin must be a hub id, eventId at most {MAX_EVENT_ID} characters")
        return cls(
            props["origin"], props["eventId"], hops, props.get("role", "audience"), props.get("nickname"),
            props.get("session"), props.get("pos"),
        )  # fmt: skip


def relay_role(role: str, trust: str) -> str:
    """The rights a peer's event gets on this hub: its own role's kind, capped by the configured trust."""
    return "player" if trust == "player" and role in PERFORMER_ROLES else "audience"
