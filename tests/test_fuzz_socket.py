"""Fuzzing the Socket.IO wire with hypothesis, against a live hub with a live stage.

Generated calls (every call of docs/protocol.md, every topic and action, with wrong types,
missing and extra fields, huge strings, deep nesting, big and non-finite numbers, Unicode edge
cases including lone surrogates written as `\\ud800` escapes in the JSON text, unknown names, no
ack id, odd ack ids) and raw Engine.IO / Socket.IO packets (random packet types, bad
namespaces, binary-attachment headers, binary frames, garbage) are thrown by a performer (the
stage's owner) and an anonymous audience socket. Properties:

- every call with an ack id gets exactly one well-formed ack: `ok` a bool, and on failure an
  `error` with a code of the contract (never `internal`) and a message;
- a raw packet leaves the connection usable unless it is one that ends it (an Engine.IO close,
  a Socket.IO disconnect, binary, a frame past `maxPayload`);
- the stage changes only through valid events: an observing performer keeps a mirror of the
  state by applying the hub's own reducers to the events it receives, and the mirror equals the
  hub's state and what a fresh join returns; every event it receives answers a call that got
  `ok: true` (or a call sent without an ack id), and every accepted publish it may see reaches it;
- the audience never receives what is for performers only;
- the hub stays up (a fresh client joins and publishes, `/healthz` is 200) and logs no error
  and no traceback.

The same packets and calls are also posted over long-polling, where each body is answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import aiohttp
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from client import login
from hub.app import MAX_HTTP_BUFFER
from hub.stage_rules import REACTIONS_OFF
from hub.stagelog import Position
from hub.state import apply, empty_state, view
from storage import DEFAULT_COLOR
from tests.conftest import PASSWORD, Hub
from tests.rawsio import RawWebSocket

# The contract's error codes a client may be answered (`internal` is the hub failing: never).
CODES = {"bad_request", "not_found", "not_joined", "forbidden", "too_large", "rate_limited", "unavailable"}
CALLS = [
    "join", "publish", "presence", "leave", "saveScene", "scenes", "stages", "sweep", "startRecording",
    "saveRecording", "performances", "updatePerformance", "deletePerformance", "trimPerformance", "replay",
    "replayControl", "streamKeys", "createStreamKey", "revokeStreamKey",
]  # fmt: skip
UNKNOWN_CALLS = ["connect", "disconnect", "nosuch", "", "__proto__", "join ", "JOIN", "event", "publish\x00", "💥"]
# Calls whose success puts events on the stage besides `publish`: (session, background type) each.
ANNOUNCING = {
    "saveScene": ["loadScenes"], "sweep": ["blankScene"], "startRecording": ["recordingSnapshot"],
    "saveRecording": ["recordingSaved"],  # issue 17: the stage hears a recording end
}  # fmt: skip
MAX_FRAME = MAX_HTTP_BUFFER  # bytes: a bigger frame closes the connection (Engine.IO's maxPayload)
OBSERVER = "@observer"  # a placeholder for the observing performer's session (a stream_health host)
SELF = "@self"  # the sender's own session

LIFTED = dict(
    rate_limit=1e6, rate_burst=1_000_000, replay_rate_limit=1e6, replay_rate_burst=1_000_000,
    replays_per_address=1_000_000, replays_total=1_000_000, scene_save_rate=1e6, scene_save_burst=1_000_000,
)  # fmt: skip

often = st.sampled_from([True] * 9 + [False])
rarely = st.sampled_from([False] * 15 + [True])

ODD_TEXT = [
    "", " ", "\u202eevil", "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627", "\u200f", "\ufeff", "💥",
    "👩\u200d👩\u200d👧", "a\x00b", "\x00", "\uffff", "\ufffe", "\U0010ffff", "\ud800", "\udfff", "x\ud83d",
    "\ud83d\ude00", "e\u0301", "\n\r\t", "\u2028\u2029", "null", "0", "-1", "__proto__", "constructor",
    "<script>alert(1)</script>", "'; DROP TABLE events; --", "%s%n", "../../etc/passwd", "²", "١٢",
]  # fmt: skip
short_texts = st.one_of(st.text(max_size=20), st.sampled_from(ODD_TEXT))
long_texts = st.builds(
    lambda n, c: c * n, st.sampled_from([41, 101, 201, 2_001, 4_001, 9_000, 70_000]), st.sampled_from(["a", "é", "💥", "\\", "\ud800"])
)
hostile_texts = st.one_of(*[short_texts] * 12, long_texts)
hostile_numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, -1, 2**53, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 0.5, -0.0, 1e308]),
    st.floats(),  # NaN and infinities too: written as NaN / Infinity in the JSON text
)
junk = st.recursive(
    st.one_of(st.none(), st.booleans(), hostile_numbers, hostile_texts),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.sampled_from(["id", "type", "x"]), short_texts), inner, max_size=4)
    ),
    max_leaves=8,
)


class Deep:
    """A value nested `depth` levels deep, written straight into the JSON text (no recursion)."""

    def __init__(self, depth: int, kind: str) -> None:
        self.depth, self.kind = depth, kind

    def text(self) -> str:
        if self.kind == "list":
            return "[" * self.depth + "1" + "]" * self.depth
        return '{"a":' * self.depth + "1" + "}" * self.depth


deep = st.builds(Deep, st.sampled_from([3, 63, 64, 65, 200, 1_500, 30_000]), st.sampled_from(["list", "dict"]))
Strategies = dict[str, st.SearchStrategy[Any]]


def grammar(hostile: bool) -> Strategies:
    """The data of every call: hostile (wrong types, missing and extra fields, huge and odd values
    anywhere) or well-formed (values a client sends, so that calls are accepted and reach deep)."""
    texts = hostile_texts if hostile else st.one_of(st.text(min_size=1, max_size=12), st.sampled_from(ODD_TEXT[1:]))
    numbers = hostile_numbers if hostile else st.one_of(st.integers(0, 10**6), st.floats(0, 1000))
    some_ids = st.sampled_from(["o1", "o2", "o3", 1, 2, 3, "1"])
    ids = st.one_of(some_ids, some_ids, some_ids, texts, numbers) if hostile else some_ids

    def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        """Usually `strategy`, sometimes anything at all (a wrong type, a deep value)."""
        return st.one_of(*[strategy] * 12, junk, deep) if hostile else strategy

    def obj(required: Strategies, optional: Strategies | None = None) -> st.SearchStrategy[Any]:
        """An object with its fields (each sometimes wrong), sometimes one missing, sometimes extra ones."""
        fields = st.fixed_dictionaries({k: maybe(v) for k, v in required.items()}, optional={k: maybe(v) for k, v in (optional or {}).items()})

        @st.composite
        def build(draw: st.DrawFn) -> Any:
            value = draw(fields)
            if hostile and len(value) > 0 and draw(rarely):
                value.pop(draw(st.sampled_from(sorted(value))))
            if hostile and draw(rarely):
                value.update(draw(st.dictionaries(short_texts, junk, max_size=3)))
            return value

        return build()

    def typed(kinds: dict[str, Strategies], optional: Strategies | None = None) -> st.SearchStrategy[Any]:
        """`{"type": kind, ...}` for each kind with its fields, and (hostile) unknown kinds."""
        options = [obj({"type": st.just(kind), **fields}, optional) for kind, fields in kinds.items()]
        if hostile:
            options.append(obj({"type": st.one_of(short_texts, st.sampled_from(["Speak", "moveto", "counter"]))}))
        return st.one_of(*options)

    thing = obj({"id": ids}, {"x": numbers, "y": numbers, "src": texts, "name": texts, "frames": st.lists(texts, max_size=3),
                              "opacity": numbers, "zIndex": numbers})  # fmt: skip
    chat_message = obj(
        {"message": texts},
        {"behavior": st.sampled_from(["speak", "think", "shout", "sing"] if hostile else ["speak", "think", "shout"]),
         "isPrivate": st.booleans(), "isPlayer": st.booleans(), "id": ids, "user": texts, "color": texts,
         "highlighted": st.booleans(), "session": texts, "at": numbers},
    )  # fmt: skip
    payloads: Strategies = {
        "chat": st.one_of(
            chat_message, chat_message, texts, st.just({"clear": True}), st.just({"clearPlayerChat": True}),
            obj({"remove": ids}), obj({"highlight": ids}), *([obj({"clear": junk}), st.just({"clear": True, "remove": "o1"})] if hostile else []),
        ),  # fmt: skip
        "board": typed(
            {
                **{kind: {"object": thing} for kind in ("placeObjectOnStage", "moveTo", "destroy", "switchFrame",
                                                        "toggleAutoplayFrames", "sendToBack", "bringToFront")},
                "speak": {"avatar": thing, "speak": chat_message},
                "bringToFrontOf": {"front": ids, "back": ids},
            },
            {"side": st.sampled_from(["front", "behind", "up"] if hostile else ["front", "behind"]), "mute": st.booleans()},
        ),  # fmt: skip
        "background": typed(
            {
                "changeBackground": {"background": obj({"src": texts}, {"at": numbers, "opacity": numbers})},
                "setBackdropColor": {"color": texts},
                "drawCurtain": {"curtain": st.one_of(st.none(), texts, obj({"src": texts}, {"at": numbers}))},
                "setChatVisibility": {"visible": st.booleans()},
                "setReactionVisibility": {"visible": st.booleans()},
                "setDarkModeChat": {"enabled": st.booleans()},
                "setChatPosition": {"position": st.sampled_from(["left", "right", "top"] if hostile else ["left", "right"])},
                "setAudienceChat": {"enabled": st.booleans()},
                "setPlayersMayClearChat": {"enabled": st.booleans()},
                "loadScenes": {},
                "switchScene": {"scene": st.one_of(st.integers(1, 4), st.sampled_from(["1", "2", "01", "²", "9" * 30]), ids)},
                "blankScene": {},
                "recordingSnapshot": {"snapshot": junk},
                "recordingSaved": {"id": numbers},  # hub-only: a client's is refused
            }
        ),
        "audio": obj(
            {"id": ids},
            {"src": texts, "isPlaying": st.booleans(), "currentTime": numbers, "saken": st.booleans(), "loop": st.booleans(),
             "volume": numbers, "duration": numbers, "positionAt": numbers},
        ),  # fmt: skip
        "audio_master": obj({"volume": st.floats(0, 1) | numbers if hostile else st.floats(0, 1)}, {"duration": numbers}),
        "draw": typed({"newLine": {"command": obj({"x": numbers}, {"points": st.lists(numbers, max_size=6), "color": texts})},
                       "undo": {"index": st.one_of(st.integers(0, 5), numbers)}, "clear": {}}),  # fmt: skip
        "reaction": st.one_of(st.sampled_from(["👏", "❤️", "😂", "x" * 32, *(["x" * 33, ""] if hostile else [])]), texts),
        "stream_health": obj({"hostId": st.sampled_from([OBSERVER, OBSERVER, SELF, "nobody-session"]), "objectId": ids,
                              "frozen": st.booleans()}, {"viewerSession": texts}),  # fmt: skip
    }
    topics = [*payloads, "counter", "statistics", "stream", "nosuch", ""] if hostile else [*payloads, "chat", "board", "board", "draw"]

    @st.composite
    def publishes(draw: st.DrawFn) -> Any:
        topic = draw(st.sampled_from(topics))
        payload = draw(payloads.get(topic, junk))
        publish_ids = st.sampled_from(["p1", "p2", "", "x" * 101]) | texts if hostile else st.sampled_from(["p1", "p2", "p3"])
        optional = {"id": publish_ids, "relay": junk} if hostile else {"id": publish_ids}
        return draw(obj({"topic": st.just(topic), "payload": st.just(payload)}, optional))

    performance_ids = st.one_of(st.integers(1, 6), numbers, texts) if hostile else st.integers(1, 6)
    stages = ["show", "show", "show", "other", "nosuch", "", "x" * 65, "SHOW"] if hostile else ["show"]
    return {
        "join": obj({"stage": st.sampled_from(stages)}, {"nickname": texts, "since": obj({"epoch": texts, "seq": st.integers(-1, 10_000)})}),
        "publish": publishes(),
        "presence": obj({}, {"nickname": texts, "avatarId": st.one_of(st.none(), ids, texts)}),
        "leave": st.just({}),
        "saveScene": obj({"name": texts}),
        "scenes": st.just({}),
        "stages": st.just({}),
        "sweep": obj({}, {"name": texts}),
        "startRecording": obj({"name": texts}, {"blank": st.booleans()}),
        "saveRecording": obj({"id": performance_ids}),
        "performances": st.just({}),
        "updatePerformance": obj({"id": performance_ids}, {"name": texts, "description": texts}),
        "deletePerformance": obj({"id": performance_ids}),
        "trimPerformance": obj({"id": performance_ids, "gap": numbers}, {"name": texts}),
        "replay": obj({"performance": performance_ids}, {"speed": st.one_of(st.sampled_from([0.5, 1, 32, 33, 0.4]), numbers),
                                                         "loop": st.booleans()}),  # fmt: skip
        "streamKeys": st.just({}),
        "createStreamKey": obj({}, {"label": texts, "ttl": st.one_of(st.integers(60, 3600), numbers) if hostile else st.integers(60, 3600)}),
        "revokeStreamKey": obj({"id": st.one_of(st.sampled_from(["0" * 16, "f" * 16]), texts) if hostile else st.just("0" * 16)}),
        "replayControl": obj({"action": st.sampled_from(["play", "pause", "seek", "speed", "loop", *(["stop"] if hostile else [])])},
                             {"value": st.one_of(numbers, st.booleans())}),  # fmt: skip
    }


HOSTILE, WELL_FORMED = grammar(True), grammar(False)


def resolve(value: Any, self_session: str, observer_session: str) -> Any:
    """`value` with the session placeholders filled in."""
    if isinstance(value, list):
        return [resolve(x, self_session, observer_session) for x in value]
    if isinstance(value, dict):
        return {k: resolve(v, self_session, observer_session) for k, v in value.items()}
    if isinstance(value, str) and value in (OBSERVER, SELF):
        return observer_session if value == OBSERVER else self_session
    return value


def encode(value: Any) -> str:
    """The JSON text of a generated value, as a hostile client writes it: NaN, Infinity, integers
    of any size, lone surrogates as escapes, deep values spliced in, other text as raw UTF-8."""
    deeps: list[Deep] = []

    def walk(item: Any) -> Any:
        if isinstance(item, Deep):
            deeps.append(item)
            return f"@deep{len(deeps) - 1}@"
        if isinstance(item, list):
            return [walk(x) for x in item]
        if isinstance(item, dict):
            return {k: walk(v) for k, v in item.items()}
        return item

    plain = walk(value)
    try:
        text = json.dumps(plain, ensure_ascii=False)
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate: JavaScript's JSON.stringify writes an escape
        text = json.dumps(plain, ensure_ascii=True)
    for index, item in enumerate(deeps):
        text = text.replace(f'"@deep{index}@"', item.text())
    return text


@dataclass
class Call:
    """One generated call: its name and data, how its frame is written, and what was expected."""

    name: Any
    data: Any
    shape: str  # "call" ([name, data]), "bare" ([name]), "extra" ([name, data, 1]), "cut" (truncated text)
    ack: str  # how the ack id is written: "plain", "zeros", "arabic", "long", "none"
    cut: int = 0


@st.composite
def calls(draw: st.DrawFn) -> Call:
    kind = draw(st.sampled_from(range(20)))
    if kind == 0:
        name: Any = draw(st.sampled_from(UNKNOWN_CALLS) | short_texts | junk)
        data = draw(junk)
    else:
        name = draw(st.sampled_from(CALLS + ["publish"] * 10 + ["join", "presence"]))
        if draw(st.sampled_from([True, True, False])):
            return Call(name, draw(WELL_FORMED[name]), "call", "plain")
        data = draw(st.one_of(*[HOSTILE[name]] * 15, junk, deep))
    shape = draw(st.sampled_from(["call"] * 20 + ["bare", "extra", "cut", "cut"]))
    ack = draw(st.sampled_from(["plain"] * 20 + ["zeros", "arabic", "long", "none"]))
    return Call(name, data, shape, ack, draw(st.integers(1, 60)))


RAW_FRAMES = [
    "", "x", "0", "1", "2", "3", "5", "6", "7", "8", "9", "2probe", "3probe", "5upgrade", "6noop", "4", "40", "40/x,",
    '40{"token":1}', '40{"session":"abcdefgh"}', '40{"token":NaN}', "40{", '40{"session":1e999}', "40" + "[" * 3000, "40/admin,{}", "41", "41/x,", "42", '42/x,["publish",{}]',
    '42/x,7["publish",{}]', "43", "43999[]", "43abc", '43999["x"]', "44{}", '44{"message":"x"}', "45", "451-[]",
    '451-["publish",{"_placeholder":true,"num":0}]', '452-9["publish",{"_placeholder":true,"num":1}]',
    '4517-["x"]', "4599999999999-[]", "461-9[]", "46", "47", "48", "49", "4x", "4٢[\"join\"]", "4²", "4\x00",
    "4" + "1" * 120, '42["join",' * 50, "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
]  # fmt: skip


@dataclass(frozen=True)
class Raw:
    """A raw frame: text (Engine.IO packet) or binary."""

    text: str | None = None
    binary: bytes | None = None


raws = st.one_of(
    st.sampled_from(RAW_FRAMES).map(lambda t: Raw(text=t)),
    st.text(max_size=40).map(lambda t: Raw(text=t)),
    st.text(alphabet="0123456789-/,[]{}\"", max_size=20).map(lambda t: Raw(text="4" + t)),
    st.binary(max_size=20).map(lambda b: Raw(binary=b)),
    st.sampled_from([Raw(text="4" + "a" * (MAX_FRAME + 10)), Raw(binary=b"\x04" + b"x" * 2000)]),
)


def ends_connection(raw: Raw) -> bool:
    """Whether the packet may end the connection (or its Socket.IO session) by the contract."""
    if raw.binary is not None or raw.text is None:
        return True
    text = raw.text
    return (
        not text[:1].isdecimal()  # not an Engine.IO packet (and "b": base64 binary)
        or len(text.encode()) > MAX_FRAME  # past Engine.IO's maxPayload
        or int(text[0]) > 6  # no Engine.IO packet type
        or int(text[0]) == 1  # Engine.IO close
        or int(text[0]) == 4 and text[1:2].isdecimal() and int(text[1]) == 1 and not text.startswith("/", 2)  # Socket.IO disconnect of "/"
        or text.startswith(("45", "46")) and _attachments(text[2:]) > 16  # binary, too many attachments
    )  # fmt: skip


def _attachments(text: str) -> int:
    head = text.split("-", 1)[0]
    return int(head) if "-" in text and head.isascii() and head.isdigit() else 0


@dataclass(repr=False)
class Peer:
    """A raw WebSocket whose frames are read in the background: acks by id, events, the rest."""

    url: str
    token: str | None = None
    label: str = ""
    acks: dict[int, list[Any]] = field(default_factory=dict)
    events: list[Any] = field(default_factory=list)
    others: list[str] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)
    next_id: int = 1000
    expected: set[int] = field(default_factory=set)  # the ack ids of calls: each answered once
    raw_ids: set[int] = field(default_factory=set)  # numbers in raw packets: may be answered, repeatedly
    sent: list[str] = field(default_factory=list)  # the last frames sent (for a failure's report)
    stray: list[Any] = field(default_factory=list)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # (for hypothesis's report)
        printer.text(f"<{self.label}>")

    async def open(self, slug: str | None = "show") -> Peer:
        self.raw = await RawWebSocket(self.url).open({"token": self.token} if self.token else None)
        self.closed = False
        self.arrived = asyncio.Event()
        self.reader = asyncio.create_task(self._read())
        if slug is not None:
            await self.join(slug)
        return self

    async def join(self, slug: str = "show") -> dict[str, Any]:
        ack = await self.call("join", {"stage": slug})
        assert ack["ok"], ack
        if ack["session"] not in self.sessions:
            self.sessions.append(ack["session"])
        return ack

    @property
    def session(self) -> str:
        return self.sessions[-1]

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    async def _read(self) -> None:
        ws = self.raw.ws
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    self.others.append(f"<{msg.type.name}>")
                    continue
                text = msg.data
                if text == "2":
                    await ws.send_str("3")
                elif text.startswith("43"):
                    digits = text[2:].split("[", 1)[0]
                    assert digits.isascii() and digits.isdigit(), text[:200]
                    self.acks.setdefault(int(digits), []).append(orjson.loads(text[2 + len(digits) :]))
                    if int(digits) not in self.expected | self.raw_ids:
                        self.stray.append((text[:100], self.sent[-3:]))
                elif text.startswith("42"):
                    self.events.append(orjson.loads(text[2:]))
                    self.on_event(self.events[-1])
                else:
                    self.others.append(text)
                self.arrived.set()
        finally:
            self.closed = True
            self.arrived.set()

    def on_event(self, message: Any) -> None:
        """Called for every Socket.IO event the hub sends, in order."""

    async def send(self, text: str | None = None, binary: bytes | None = None) -> None:
        self.sent = [*self.sent[-15:], repr(text[:200] if text is not None else binary)]
        if self.closed or self.raw.ws.closed:
            return
        try:
            if binary is not None:
                await self.raw.ws.send_bytes(binary)
            else:
                await self.raw.ws.send_str(text or "")
        except (ConnectionError, aiohttp.ClientError):
            pass

    async def ack(self, ack_id: int, timeout: float = 10.0) -> Any:
        """The ack with this id (waiting for it); fails when it does not come."""
        async with asyncio.timeout(timeout):
            while ack_id not in self.acks:
                assert not self.closed, f"{self.label}: the connection closed before ack {ack_id} came"
                self.arrived.clear()
                await self.arrived.wait()
        return self.acks[ack_id]

    async def call(self, name: str, data: Any) -> Any:
        ack_id = self.new_id()
        self.expected.add(ack_id)
        await self.send(f"42{ack_id}" + orjson.dumps([name, data]).decode())
        (answer,) = await self.ack(ack_id)
        return check_ack(answer)[0]

    async def close(self) -> None:
        await self.raw.close()
        async with asyncio.timeout(5):
            await self.reader


def check_ack(args: Any) -> list[Any]:
    """A well-formed ack: one object with a bool `ok`; a failure carries a contract code and a message."""
    assert isinstance(args, list) and len(args) == 1, args
    ack = args[0]
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
    if not ack["ok"]:
        error = ack.get("error")
        assert isinstance(error, dict) and set(error) <= {"code", "message", "field"}, ack
        assert error.get("code") in CODES, ack
        assert isinstance(error.get("message"), str) and error["message"], ack
        assert "Traceback" not in error["message"], ack
    return args


class Observer(Peer):
    """A performer on the stage that mirrors the state from the events it receives."""

    mirror: dict[str, Any]
    seqs: list[int]
    epoch: str

    def on_event(self, message: Any) -> None:
        name, data = message[0], message[1]
        if name == "event":
            assert not self.seqs or data["seq"] > self.seqs[-1], (self.seqs[-1:], data["seq"])
            self.seqs.append(data["seq"])
            self.mirror = apply(self.mirror, data)
        elif name == "epoch":  # a sweep: the live state starts empty
            self.epoch = data["epoch"]
            self.mirror = empty_state(self.mirror["background"]["defaultColor"])
        else:
            assert name == "presence", message


@dataclass
class Ledger:
    """What the attackers were told: accepted publishes and the events other calls announce."""

    ok_seqs: dict[int, tuple[str, Any]] = field(default_factory=dict)  # seq -> (session, publish data)
    announced: Counter[tuple[str, Any]] = field(default_factory=Counter)  # (session, background type)
    unacked: Counter[str] = field(default_factory=Counter)  # session -> calls sent without an ack id
    checked: int = 0  # observer events already matched
    answers: Counter[str] = field(default_factory=Counter)  # calls made by name, answers by code


@dataclass(repr=False)
class Arena:
    hub: Hub
    observer: Observer
    owner: Peer
    audience: Peer
    checker: Peer
    looker: Peer
    stage_id: int
    ledger: Ledger = field(default_factory=Ledger)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # (for hypothesis's report)
        printer.text("<arena>")


@pytest.fixture
async def arena(make_hub: Any) -> Any:
    hub: Hub = await make_hub(**LIFTED)
    await hub.stage("show", owner="olivia", players=("pat",))
    olivia = await hub.store.get_user_by_name("olivia")
    assert olivia is not None
    await hub.store.create_stage("other", "Other", olivia.id)
    tokens = {name: (await login(hub.url, name, PASSWORD))["access_token"] for name in ("olivia", "pat")}
    observer = Observer(hub.url, tokens["pat"], "observer")
    observer.seqs = []
    observer.mirror = {}
    await observer.open(None)
    joined = await observer.join()
    observer.mirror = joined["state"]
    observer.epoch = joined["epoch"]
    assert observer.mirror == empty_state(DEFAULT_COLOR)
    stage = await hub.store.get_stage("show")
    assert stage is not None
    arena = Arena(
        hub, observer, owner=await Peer(hub.url, tokens["olivia"], "owner").open(),
        audience=await Peer(hub.url, None, "audience").open(), checker=await Peer(hub.url, tokens["pat"], "checker").open(),
        looker=await Peer(hub.url, None, "looker").open(), stage_id=stage.id,
    )  # fmt: skip
    yield arena
    for peer in (observer, arena.owner, arena.audience, arena.checker, arena.looker):
        await peer.close()
    # The call fuzz reached deep: calls were accepted, events reached the stage, and refused for each reason.
    answers = arena.ledger.answers
    if answers:
        assert answers["ok"] > 100 and len(observer.seqs) > 100, answers
        assert {"bad_request", "forbidden", "not_found", "not_joined"} <= set(answers), answers
        assert set(CALLS) <= set(answers), answers


def frame_of(call: Call, ack_id: int) -> tuple[str, int | None]:
    """The text frame of a call and the ack id the hub must answer (None: no ack)."""
    name, data = encode(call.name), encode(call.data)
    body = {"call": f"[{name},{data}]", "bare": f"[{name}]", "extra": f"[{name},{data},1]", "cut": f"[{name},{data}]"}[call.shape]
    if call.shape == "cut":
        body = body[: max(1, len(body) - call.cut)]
    written = {
        "plain": str(ack_id),
        "zeros": f"000{ack_id}",
        "arabic": "".join(chr(0x660 + int(d)) for d in str(ack_id)),  # int() reads Unicode digits
        "long": str(10**18 + ack_id),
        "none": "",
    }[call.ack]
    expected = {"none": None, "long": 10**18 + ack_id}.get(call.ack, ack_id)
    kind = "\u0662" if call.ack == "arabic" else "2"  # the packet type too: ARABIC-INDIC DIGIT TWO
    return "4" + kind + written + body, expected


async def run_calls(arena: Arena, peer: Peer, batch: list[Call]) -> None:
    """Send the calls at once, then check each ack (and record what was accepted)."""
    ledger, observer = arena.ledger, arena.observer
    sent: list[tuple[Call, int | None]] = []
    for generated in batch:
        call = Call(resolve(generated.name, peer.session, observer.session), resolve(generated.data, peer.session, observer.session),
                    generated.shape, generated.ack, generated.cut)  # fmt: skip
        text, expected = frame_of(call, peer.new_id())
        if len(text.encode()) > MAX_FRAME:
            continue  # a frame past maxPayload closes the connection: a raw packet, tried there
        await peer.send(text)
        sent.append((call, expected))
        if expected is not None:
            peer.expected.add(expected)
        elif isinstance(call.name, str) and call.name in ("publish", *ANNOUNCING):
            ledger.unacked[peer.session] += 2  # (startRecording with blank announces two)
    for call, expected in sent:
        if expected is None:
            continue
        answers = await peer.ack(expected)
        ack = check_ack(answers[0])[0]
        ledger.answers[call.name if isinstance(call.name, str) and call.name in CALLS else "?"] += 1
        ledger.answers[ack["error"]["code"] if not ack["ok"] else "ok"] += 1
        if not ack["ok"]:
            continue
        assert call.shape in ("call", "extra", "bare"), (call, ack)
        name, data = call.name, (call.data if call.shape != "bare" else None) or {}
        if name == "publish":
            assert isinstance(ack.get("seq"), int), ack
            if not ack.get("duplicate"):
                assert ack["seq"] not in ledger.ok_seqs, ack
                ledger.ok_seqs[ack["seq"]] = (peer.session, data)
            else:
                assert ack["seq"] in ledger.ok_seqs, ack
        elif name in ANNOUNCING:
            for kind in ANNOUNCING[name]:
                ledger.announced[(peer.session, kind)] += 1
            if name == "startRecording" and data.get("blank") is True:
                ledger.announced[(peer.session, "blankScene")] += 1
        elif name == "join" and ack["session"] not in peer.sessions:
            peer.sessions.append(ack["session"])
    for ack_id, answers in peer.acks.items():
        assert len(answers) == 1 or ack_id in peer.raw_ids, (peer.label, ack_id, answers)
    unknown = set(peer.acks) - peer.expected - peer.raw_ids
    assert not unknown, f"{peer.label}: acks for ids never sent: {unknown}, after {peer.stray}"


async def run_raw(arena: Arena, peer: Peer, raw: Raw) -> Peer:
    """Send a raw packet; the connection must stay usable unless the packet may end it."""
    if raw.text is not None:  # a packet may carry an ack id of its own, which the hub answers
        runs = re.findall(r"\d+", raw.text)  # (the type digits run into the id: "46729" may answer 729)
        peer.raw_ids.update(int(run[i:]) for run in runs for i in range(len(run)) if len(run) - i <= 100)
    await peer.send(raw.text, raw.binary)
    if ends_connection(raw):
        await peer.close()
        return await reopened(peer)
    probe = peer.new_id()
    peer.expected.add(probe)
    await peer.send(f'42{probe}["probe",{{}}]')
    answers = await peer.ack(probe, timeout=5)
    answer = check_ack(answers[0])[0]
    assert answer["error"]["code"] == "bad_request", answer
    return peer


async def reopened(peer: Peer) -> Peer:
    """A new connection in the place of a closed one (same identity, the ids it used still known)."""
    return await Peer(peer.url, peer.token, peer.label, sessions=peer.sessions, next_id=peer.next_id, expected=peer.expected,
                      raw_ids=peer.raw_ids).open()


def visible_to_observer(observer: Observer, data: Any) -> bool:
    if data.get("topic") != "stream_health":
        return True
    return data["payload"].get("hostId") == observer.session


async def caught_up(arena: Arena) -> None:
    """Wait until the observer has every event of the stage it may see (then nothing is in flight)."""
    room = arena.hub.node.rooms[arena.stage_id]
    observer = arena.observer
    async with asyncio.timeout(10):
        while True:
            last = observer.seqs[-1] if observer.seqs else 0
            kept = await arena.hub.node.log.read(arena.stage_id, Position(room.epoch, min(last, room.delivered_seq)))
            missing = [e for e in kept or [] if e.seq > last and e.visible_to(True, observer.session)]
            settled = not room.busy and room.prepared is None and room.pending is None
            if kept is not None and not missing and settled and observer.epoch == room.epoch:
                return
            await asyncio.sleep(0.01)


def reconcile(arena: Arena) -> None:
    """Every event the observer received answers an accepted call (or one sent without an ack
    id); every accepted publish it may see, and every announced event, reached it."""
    ledger, observer = arena.ledger, arena.observer
    seen = set(observer.seqs)
    new = [m[1] for m in observer.events if m[0] == "event"][ledger.checked :]
    ledger.checked += len(new)
    for event in new:
        session = event["from"]["session"]
        if event["seq"] in ledger.ok_seqs:
            sender, data = ledger.ok_seqs[event["seq"]]
            assert (session, event["topic"]) == (sender, data["topic"]), (event, sender, data)
            continue
        kind = event["payload"].get("type") if event["topic"] == "background" and isinstance(event["payload"], dict) else None
        if ledger.announced[(session, kind)] > 0:
            ledger.announced[(session, kind)] -= 1
        else:
            assert ledger.unacked[session] > 0, f"an event no accepted call explains: {event}"
            ledger.unacked[session] -= 1
    assert not +ledger.announced, f"accepted calls whose events never came: {ledger.announced}"
    for seq, (_, data) in ledger.ok_seqs.items():
        if visible_to_observer(observer, data):
            assert seq in seen, f"accepted publish {seq} never reached the observer: {data}"


async def fresh_views(arena: Arena) -> None:
    """The mirror is the hub's state, and what fresh joins (a performer's, the audience's) return."""
    room = arena.hub.node.rooms[arena.stage_id]
    assert arena.observer.mirror == room.state
    at = 1_900_000_000_000
    room._views.clear()  # a view cached at the real clock (up to VIEW_MAX_AGE) is not the mocked time's
    with mock.patch("hub.node.now_ms", return_value=at):
        for peer, audience in ((arena.checker, False), (arena.looker, True)):
            ack = await peer.join()
            assert ack["seq"] == room.delivered_seq, "nothing is in flight"
            assert ack["state"] == orjson.loads(orjson.dumps(view(arena.observer.mirror, at, audience))), peer.label
    room._views.clear()  # nor is the mocked time's view the real clock's


async def hub_is_up(arena: Arena) -> None:
    hub = arena.hub
    fresh = await Peer(hub.url, None, "fresh").open()
    for _ in range(50):  # a sweep sent without an ack id may still be archiving the stage
        reaction = await fresh.call("publish", {"topic": "reaction", "payload": "👏"})
        if reaction["ok"] or reaction["error"]["code"] != "unavailable":
            break
        await asyncio.sleep(0.1)
    off = not reaction["ok"] and reaction["error"]["message"] == REACTIONS_OFF  # a fuzzed setting (issue 17)
    assert reaction["ok"] or off, reaction
    if reaction["ok"]:
        arena.ledger.ok_seqs[reaction["seq"]] = (fresh.session, {"topic": "reaction", "payload": "👏"})
    await fresh.close()
    async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/healthz") as health:
        assert health.status == 200 and (await health.json())["ok"] is True


def audience_saw_nothing_private(peer: Peer) -> None:
    for name, data in ((m[0], m[1]) for m in peer.events if len(m) > 1):
        if name == "event":
            payload = data["payload"]
            assert data["topic"] != "stream_health" or payload.get("hostId") in peer.sessions, data
            assert not (data["topic"] == "chat" and isinstance(payload, dict) and (payload.get("isPrivate") or "clearPlayerChat" in payload)), data
        if name == "replay" and isinstance(data, dict) and isinstance(data.get("state"), dict):
            assert "privateMessages" not in data["state"]["chat"], data


@settings(max_examples=250, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(
    who=st.sampled_from(["owner", "owner", "owner", "audience"]),
    batch=st.lists(calls(), min_size=1, max_size=10),
    raw=st.lists(raws, max_size=2),
)
async def test_every_call_is_answered_and_the_stage_changes_only_through_accepted_events(
    arena: Arena, caplog: pytest.LogCaptureFixture, who: str, batch: list[Call], raw: list[Raw]
) -> None:
    caplog.clear()  # one hub, one log capture, many examples
    caplog.set_level(logging.WARNING)
    peer = arena.owner if who == "owner" else arena.audience
    if peer.closed:
        await peer.close()
        peer = await reopened(peer)
    else:
        await peer.join()  # back on the stage (an earlier example may have left it, or replayed)
    await run_calls(arena, peer, batch)
    for packet in raw:
        peer = await run_raw(arena, peer, packet)
    setattr(arena, who, peer)
    await asyncio.sleep(0.02)  # calls sent without an ack id
    await caught_up(arena)
    reconcile(arena)
    await fresh_views(arena)
    await hub_is_up(arena)
    await caught_up(arena)
    reconcile(arena)
    audience_saw_nothing_private(arena.audience)
    assert not arena.observer.closed and not [o for o in arena.observer.others if not o.startswith("3")], arena.observer.others
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not failures, [r.getMessage() for r in failures]


polling_bodies = st.one_of(
    st.lists(st.one_of(st.sampled_from(RAW_FRAMES[:60]), st.text(max_size=30)), min_size=1, max_size=4).map(lambda ps: "\x1e".join(ps).encode(errors="surrogatepass")),
    st.binary(max_size=40),
    st.builds(lambda call, i: ("42" + str(i) + encode([call.name, call.data])).encode(errors="surrogatepass"), calls(), st.integers(0, 10**6)),
)  # fmt: skip


@settings(max_examples=60, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(body=polling_bodies)
async def test_every_long_polling_body_is_answered_and_logs_no_traceback(
    arena: Arena, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    """The same packets over long-polling: the POST is answered 200 or (no Engine.IO payload)
    400, the hub logs no error, and a fresh client still joins and publishes."""
    caplog.clear()
    caplog.set_level(logging.WARNING)
    base = f"{arena.hub.url}/socket.io/?EIO=4&transport=polling"
    async with aiohttp.ClientSession() as http:
        async with http.get(base) as resp:
            sid = orjson.loads((await resp.text())[1:])["sid"]
        async with http.post(f"{base}&sid={sid}", data=b"40") as resp:
            assert resp.status == 200
        async with http.post(f"{base}&sid={sid}", data=body) as resp:
            assert resp.status in (200, 400), resp.status
        if sid in arena.hub.node.sio.eio.sockets:
            async with http.post(f"{base}&sid={sid}", data=b"1") as resp:  # Engine.IO close
                assert resp.status == 200
    # A long-polling session closed without a poll to take its CLOSE packet stays in Engine.IO's
    # table until its sweep (every ping interval), and the test server's close then waits for it
    # (see the report of this fuzz: not fixed in the hub yet). Looking it up drops it.
    with contextlib.suppress(KeyError):
        arena.hub.node.sio.eio._get_socket(sid)
    await caught_up(arena)
    reconcile(arena)
    await hub_is_up(arena)
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not failures, [r.getMessage() for r in failures]
