"""End-to-end confirmation across the broker (issue 15, item 2): hellos, marks and rewinds.

A broker that crashes (or a gateway that dies holding messages it took from the broker but had
not handed to its hub yet) loses messages their publisher already counts as delivered. So each
receiving gateway keeps, per stage and per publishing hub, the **mark**: the position (`epoch`,
`seq` of that hub, the `pos` property of every stage message) of the last message it has fully
handled, in order. At every connect it says **hello** on `<namespace>/<slug>/hello/<its hub
id>` (retained) with its marks, and from then on discards what each of those publishers sends
until that publisher's **rewind** marker for this hello arrives. A publisher answers each hello
once: it publishes the marker on `<namespace>/<slug>/rewind/<its hub id>` (in order with its
stage messages) and publishes again everything after the receiver's mark, read from its hub.
What was discarded came before the marker, so it comes again after it: a broker crash costs
latency, never events, and each publisher's messages are applied in its order.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from .position import Pending, StagePosition
from .stats import MAX_PEERS
from .wire import HUB_ID, BadMessage, stage_topic

HELLO, REWIND = "hello", "rewind"
MAX_HELLO_ID = 64


@dataclass(frozen=True)
class Position:
    """Where a stage message stands in its publishing hub's log: the `pos` property."""

    hub: str
    epoch: str
    seq: int

    def text(self) -> str:
        return f"{self.hub}:{self.epoch}:{self.seq}"

    @classmethod
    def parse(cls, text: Any) -> Position | None:
        """`<hub>:<epoch>:<seq>` (hub ids may hold colons, epochs may not), or None."""
        if not isinstance(text, str) or len(text) > 200:
            return None
        rest, _, seq = text.rpartition(":")
        hub, _, epoch = rest.rpartition(":")
        if not HUB_ID.match(hub) or not epoch or not seq.isdigit():
            return None
        return cls(hub, epoch, int(seq))


class Ledger:
    """The receiving side of one stage: a mark per publishing hub, the current hello, and the
    publishers whose rewind for it has not come yet. Bookkeeping only, no I/O."""

    def __init__(self, saved: dict[str, tuple[str, int]], changed: Callable[[], None]) -> None:
        self._changed = changed
        self.publishers = {hub: StagePosition(mark, changed) for hub, mark in saved.items()}
        self.hello_id: str | None = None
        self.waiting: set[str] = set()

    def marks(self) -> dict[str, tuple[str, int]]:
        return {hub: p.confirmed for hub, p in self.publishers.items() if p.confirmed is not None}

    def hello(self) -> bytes:
        """A new hello (at each connect): from now on every publisher with a mark is awaited.
        What was under way is forgotten: it is sent again after the rewind."""
        self.hello_id = uuid.uuid4().hex
        marks = self.marks()
        self.waiting = set(marks)
        for publisher in self.publishers.values():
            publisher.forget_pending()
        return orjson.dumps({"id": self.hello_id, "marks": {hub: f"{e}:{s}" for hub, (e, s) in marks.items()}})

    def arrived(self, position: Position) -> Pending | None:
        """A publisher's message: None to discard it (its rewind is awaited, so it comes again),
        else a token to call `done()` on once it is handled (relayed, refused or dropped)."""
        if position.hub in self.waiting:
            return None
        publisher = self.publishers.get(position.hub)
        if publisher is None:
            publisher = self.publishers[position.hub] = StagePosition(None, self._changed)
        return publisher.track(position.epoch, position.seq)

    def rewound(self, publisher: str, hello_id: Any) -> bool:
        """The publisher's rewind marker: True when it answers our current hello."""
        if hello_id != self.hello_id or publisher not in self.waiting:
            return False
        self.waiting.discard(publisher)
        return True


@dataclass(frozen=True)
class Hello:
    """A peer's hello as heard: its id and its mark for our hub, if it has one."""

    peer: str
    id: str
    mark: tuple[str, int] | None

    @classmethod
    def parse(cls, peer: str, own_hub: str, raw: bytes) -> Hello:
        """Raises BadMessage (`bad_hello`) for anything but `{"id", "marks": {hub: "epoch:seq"}}`."""
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise BadMessage("bad_hello", "not JSON") from exc
        if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not 0 < len(data["id"]) <= MAX_HELLO_ID:
            raise BadMessage("bad_hello", f"a hello needs an id of 1-{MAX_HELLO_ID} characters")
        marks = data.get("marks")
        if not isinstance(marks, dict):
            raise BadMessage("bad_hello", "a hello needs marks")
        mine = marks.get(own_hub)
        if mine is None:
            return cls(peer, data["id"], None)
        epoch, _, seq = str(mine).rpartition(":")
        if not epoch or not seq.isdigit():
            raise BadMessage("bad_hello", "a mark is epoch:seq")
        return cls(peer, data["id"], (epoch, int(seq)))


class Confirmations:
    """Both sides for one gateway: a ledger per bridged stage (receiving) and the hellos already
    answered (publishing), saved with the gateway's position file."""

    def __init__(self, hub_id: str, namespace: str, saved: Any, changed: Callable[[], None]) -> None:
        self.hub_id, self.namespace, self._changed = hub_id, namespace, changed
        self._saved = saved if isinstance(saved, dict) else {}
        self.ledgers: dict[str, Ledger] = {}
        self.answered: dict[str, dict[str, str]] = {}  # stage -> peer hub -> the hello answered last

    def ledger(self, slug: str) -> Ledger:
        if slug not in self.ledgers:
            saved = self._saved.get(slug)
            saved = saved if isinstance(saved, dict) else {}
            marks = {hub: (p.epoch, p.seq) for hub, text in (saved.get("marks") or {}).items()
                     if (p := Position.parse(f"{hub}:{text}")) is not None and p.hub == hub}
            self.ledgers[slug] = Ledger(marks, self._changed)
            answered = saved.get("answered") or {}
            self.answered[slug] = {str(k): str(v) for k, v in answered.items()} if isinstance(answered, dict) else {}
        return self.ledgers[slug]

    def hello(self, slug: str) -> tuple[str, bytes]:
        """The topic and payload of this stage's hello, for a fresh connection to the broker."""
        return stage_topic(self.namespace, slug, f"{HELLO}/{self.hub_id}"), self.ledger(slug).hello()

    def arrived(self, slug: str, pos: str | None) -> Pending | None:
        """The token of one stage message from a peer (None for one without `pos`); raises
        BadMessage `awaiting_rewind` for one sent before its publisher's rewind."""
        if pos is None:
            return None
        position = Position.parse(pos)
        if position is None:
            raise BadMessage("bad_properties", "pos must be <hub id>:<epoch>:<seq>")
        ledger = self.ledger(slug)
        if position.hub not in ledger.publishers and len(ledger.publishers) >= MAX_PEERS:
            raise BadMessage("too_many_peers", "more publishing hubs than a stage keeps marks for")
        token = ledger.arrived(position)
        if token is None:
            raise BadMessage("awaiting_rewind", position.hub)
        return token

    def to_answer(self, slug: str, peer: str, raw: bytes) -> Hello | None:
        """A peer's hello: the one to answer (once each), or None (ours, answered, no mark of ours)."""
        if peer == self.hub_id or not HUB_ID.match(peer):
            return None
        hello = Hello.parse(peer, self.hub_id, raw)
        self.ledger(slug)
        if self.answered[slug].get(peer) == hello.id:
            return None
        self.answered[slug][peer] = hello.id
        self._changed()
        return hello if hello.mark is not None else None

    def marker(self, slug: str, hello: Hello) -> tuple[str, bytes]:
        """The rewind marker for a hello: sent in order with the stage messages, before the replay."""
        topic = stage_topic(self.namespace, slug, f"{REWIND}/{self.hub_id}")
        return topic, orjson.dumps({"hello": hello.id, "peer": hello.peer})

    def rewound(self, slug: str, publisher: str, raw: bytes) -> bool:
        """A publisher's rewind marker; True when it answers our hello (its messages count again)."""
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise BadMessage("bad_hello", "a rewind marker is JSON") from exc
        if not isinstance(data, dict) or data.get("peer") != self.hub_id:
            return False  # an answer to another hub's hello
        return self.ledger(slug).rewound(publisher, data.get("hello"))

    def saved(self) -> dict[str, Any]:
        """What the position file keeps: each stage's marks and answered hellos."""
        stages: dict[str, Any] = {slug: value for slug, value in self._saved.items() if isinstance(value, dict)}
        for slug, ledger in self.ledgers.items():
            stages[slug] = {"marks": {hub: f"{e}:{s}" for hub, (e, s) in ledger.marks().items()},
                            "answered": self.answered.get(slug, {})}
        return stages
