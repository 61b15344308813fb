"""The gateway's inbound checks without a broker: every kind of garbage a broker can deliver is
dropped with its own counted reason, and nothing raises (a raise would be counted as `internal`)."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest

from gateway import Gateway
from gateway.receipts import Confirmations
from gateway.stats import MAX_PEERS, Statistics
from tests.gateway_support import SLUG, gateway_config

NS = "ns"
HUB = "hub-x"
CHAT = f"{NS}/{SLUG}/chat"


class RecordingBridge:
    """Stands for a stage's bridge: keeps what the gateway would hand to the hub."""

    def __init__(self) -> None:
        self.relayed: list[tuple[str, Any, dict[str, Any]]] = []

    def relay(self, topic: str, payload: Any, relay: dict[str, Any], done: Any = None) -> None:
        self.relayed.append((topic, payload, relay))
        if done is not None:
            done()


@pytest.fixture
def gateway() -> Gateway:
    gateway = Gateway(gateway_config("http://127.0.0.1:1", NS))
    gateway.hub_id = HUB
    gateway.stats = Statistics(HUB, NS, lambda *_: None)
    gateway.confirm = Confirmations(HUB, NS, None, lambda: None)
    gateway.bridges[SLUG] = RecordingBridge()  # type: ignore[assignment]
    return gateway


def peer(hops: str = "1", event_id: str = "hub-b:e:1", origin: str = "hub-b", **more: str) -> dict[str, Any]:
    return {"user_property": [("origin", origin), ("eventId", event_id), ("hops", hops), *more.items()]}


def chat(**fields: Any) -> bytes:
    return orjson.dumps({"message": "hi", **fields})


GARBAGE = [
    ("not_utf8", CHAT, b"\xff\xfe\x00", {}),
    ("not_utf8", f"{NS}/{SLUG}/reaction", b"\xc3\x28", {}),
    ("bad_json", CHAT, b"{not json", {}),
    ("bad_json", CHAT, b"[" * 5000 + b"]" * 5000, {}),  # deeper than the parser goes
    ("bad_json", CHAT, b"", {}),
    ("too_large", CHAT, b" " * (128 * 1024 + 1), {}),
    ("unbridged_stage", f"{NS}/{'x' * 65000}/chat", chat(), {}),
    ("foreign_topic", f"{NS}/{SLUG}/{'y' * 1000}", chat(), {}),
    ("foreign_topic", f"{NS}/{SLUG}/chat/extra", chat(), {}),
    ("foreign_topic", f"other/{SLUG}/chat", chat(), {}),
    ("foreign_topic", f"{NS}/{SLUG}", chat(), {}),
    ("foreign_topic", f"{NS}/{SLUG}/", chat(), {}),
    ("foreign_topic", f"{NS}/{SLUG}/hello/hub-b/extra", chat(), {}),
    ("bad_hello", f"{NS}/{SLUG}/hello/hub-b", b"nonsense", {}),
    ("bad_hello", f"{NS}/{SLUG}/hello/hub-b", orjson.dumps({"id": "x" * 65, "marks": {}}), {}),
    ("bad_hello", f"{NS}/{SLUG}/rewind/hub-b", b"[", {}),
    ("bad_properties", CHAT, chat(), peer(pos="not a position")),
    ("foreign_topic", f"{NS}//chat", chat(), {}),
    ("hub_owned", f"{NS}/{SLUG}/counter", b'{"id": "x", "isPlayer": true}', {}),
    ("hub_owned", f"{NS}/{SLUG}/stream", b'{"name": "show-1", "live": true, "url": "http://evil/x.m3u8"}', peer()),
    ("bad_properties", CHAT, chat(), {"user_property": [("origin", "hub-b"), ("hops", "1")]}),
    ("bad_properties", CHAT, chat(), peer(hops="lots")),
    ("bad_properties", CHAT, chat(), peer(hops="-1")),
    ("bad_properties", CHAT, chat(), peer(hops="1.5")),
    ("bad_properties", CHAT, chat(), peer(hops="9" * 5000)),
    ("bad_properties", CHAT, chat(), peer(origin="has spaces")),
    ("bad_properties", CHAT, chat(), peer(origin="o" * 65)),
    ("bad_properties", CHAT, chat(), peer(event_id="e" * 201)),
    ("hop_limit", CHAT, chat(), peer(hops="99")),
    ("retained", CHAT, chat(), {"retain": 1}),
    ("retained", CHAT, chat(), {"retain": 1, **peer()}),
    ("own_origin", CHAT, chat(), peer(origin=HUB)),
    ("bad_statistics", f"{NS}/{SLUG}/statistics/hub-b", b"garbage", {}),
    ("bad_statistics", f"{NS}/{SLUG}/statistics/hub-b", b'{"players": -1, "audiences": 0}', {}),
    ("bad_statistics", f"{NS}/{SLUG}/statistics/hub-b", b'{"players": true, "audiences": 0}', {}),
    ("bad_statistics", f"{NS}/{SLUG}/statistics/hub-b", b'{"players": "2", "audiences": 0}', {}),
    ("bad_statistics", f"{NS}/{SLUG}/statistics/hub-b", b"[1, 2]", {}),
    ("bad_statistics", f"{NS}/{SLUG}/statistics/hub-b", b'{"players": 18446744073709551615, "audiences": 0}', {}),
    ("bad_statistics", f"{NS}/{SLUG}/statistics/hub-b", b'{"players": 1000000001, "audiences": 0}', {}),
    ("bad_statistics", f"{NS}/{SLUG}/statistics/not a hub", b'{"players": 1, "audiences": 0}', {}),
]


@pytest.mark.parametrize("reason, topic, raw, properties", GARBAGE, ids=[f"{i}-{g[0]}" for i, g in enumerate(GARBAGE)])
def test_garbage_is_dropped_with_its_reason(gateway, caplog, reason, topic, raw, properties):
    with caplog.at_level(logging.WARNING, logger="gateway"):
        gateway.broker_message(topic, raw, properties)  # raises nothing
    assert gateway.metrics.dropped_count("in", reason) == 1
    (logged,) = [r for r in caplog.records if r.getMessage() == "dropped a broker message"]
    assert logged.reason.startswith(reason) and len(logged.topic) <= 200
    assert gateway.bridges[SLUG].relayed == []
    assert gateway.stats.peers.get(SLUG, {}) == {}


@pytest.mark.parametrize("payload", [b"[1, 2]", b'"a string"', b"null", b"12", b'{"user": ["not", "a name"]}', b'{"user": "   "}'])
def test_valid_json_of_the_wrong_type_goes_to_the_hub_to_be_judged(gateway, payload):
    """The hub's schema is the judge of payloads (its refusal is counted as refused_<code>)."""
    gateway.broker_message(CHAT, payload, {})
    ((topic, relayed_payload, relay),) = gateway.bridges[SLUG].relayed
    assert topic == "chat" and relayed_payload == orjson.loads(payload)
    assert relay["origin"] == "legacy" and relay["as"] == "audience" and "nickname" not in relay


@pytest.mark.parametrize("properties", [
    {}, {"user_property": None}, {"user_property": "garbage"}, {"user_property": [("origin",), ("a", "b", "c"), 5]},
])
def test_unusable_user_properties_make_a_legacy_message(gateway, properties):
    gateway.broker_message(CHAT, chat(user="Old Client"), properties)
    ((_, _, relay),) = gateway.bridges[SLUG].relayed
    assert relay["origin"] == "legacy" and relay["nickname"] == "Old Client"


def test_a_legacy_client_cannot_choose_its_session(gateway):
    gateway.broker_message(CHAT, chat(user="Old Client", session="local-player-session-1"), {})
    ((_, _, relay),) = gateway.bridges[SLUG].relayed
    assert "session" not in relay  # the hub stamps the gateway's own session


def test_a_peer_is_capped_by_peer_trust_and_its_long_name_cut(gateway):
    gateway.broker_message(CHAT, chat(), peer(role="owner", nickname="N" * 10_000))
    gateway.broker_message(CHAT, chat(), peer(event_id="hub-b:e:2", role="admin"))
    (_, _, owner), (_, _, admin) = gateway.bridges[SLUG].relayed
    assert owner["as"] == "player" and len(owner["nickname"]) == 40
    assert admin["as"] == "audience"


def test_the_same_event_id_twice_is_a_duplicate_and_a_flood_is_logged_sparingly(gateway, caplog):
    with caplog.at_level(logging.WARNING, logger="gateway"):
        for _ in range(201):
            gateway.broker_message(CHAT, chat(), peer())
    assert len(gateway.bridges[SLUG].relayed) == 1
    assert gateway.metrics.dropped_count("in", "duplicate") == 200
    assert [r.count for r in caplog.records if r.getMessage() == "dropped a broker message"] == [1, 100, 200]


def test_peer_statistics_are_bounded(gateway):
    for i in range(MAX_PEERS + 5):
        gateway.broker_message(f"{NS}/{SLUG}/statistics/hub-{i}", b'{"players": 1, "audiences": 2}', {})
    assert len(gateway.stats.peers[SLUG]) == MAX_PEERS
    assert gateway.metrics.dropped_count("in", "too_many_peers") == 5
    gateway.broker_message(f"{NS}/{SLUG}/statistics/hub-0", b"", {})  # a cleared value frees its place
    gateway.broker_message(f"{NS}/{SLUG}/statistics/hub-new", b'{"players": 0, "audiences": 1}', {})
    assert "hub-new" in gateway.stats.peers[SLUG] and "hub-0" not in gateway.stats.peers[SLUG]


def test_a_retained_peer_count_is_still_heard_and_a_live_chat_still_relayed(gateway):
    """Only retained stage messages are skipped: the peers' counts are retained by design, and a
    message that arrives live (retain 0) is relayed."""
    gateway.broker_message(f"{NS}/{SLUG}/statistics/hub-b", b'{"players": 1, "audiences": 2}', {"retain": 1})
    assert "hub-b" in gateway.stats.peers[SLUG]
    gateway.broker_message(CHAT, chat(), {"retain": 0})
    assert len(gateway.bridges[SLUG].relayed) == 1


def test_a_huge_peer_count_cannot_freeze_the_published_total(gateway):
    """A peer claiming a count near 2**64 used to be summed: the total then no longer fit a JSON
    integer and every later total failed to publish (frozen). The claim is refused; totals go on."""
    sent: list[bytes] = []
    gateway.stats.publish = lambda topic, payload, *_: sent.append(payload)
    gateway.stats.local_counts(SLUG, {"players": 1, "audience": 1})
    gateway.broker_message(f"{NS}/{SLUG}/statistics/hub-a", b'{"players": 18446744073709551615, "audiences": 0}', {})
    gateway.broker_message(f"{NS}/{SLUG}/statistics/hub-b", b'{"players": 2, "audiences": 3}', {})
    assert orjson.loads(sent[-1]) == {"players": 3, "audiences": 4}
    assert gateway.metrics.dropped_count("in", "bad_statistics") == 1


def test_the_seen_cache_stays_bounded():
    small = Gateway(gateway_config("http://127.0.0.1:1", NS, seen_cache=10))
    small.hub_id = HUB
    bridge = RecordingBridge()
    small.bridges[SLUG] = bridge  # type: ignore[assignment]  # a test double standing in for a StageBridge
    for i in range(100):
        small.broker_message(CHAT, chat(), peer(event_id=f"hub-b:e:{i}"))
    assert len(small.seen) == 10 and len(bridge.relayed) == 100


def test_the_mark_follows_what_was_handled_dropped_messages_included(gateway):
    """Issue 15, item 2: a receiver's mark is the last message of a publisher it is through with."""
    gateway.broker_message(CHAT, chat(), peer(event_id="hub-b:e:1", pos="hub-b:e:1"))
    gateway.broker_message(CHAT, chat(), peer(event_id="hub-b:e:1", pos="hub-b:e:2"))  # a duplicate id: dropped
    assert gateway.metrics.dropped_count("in", "duplicate") == 1
    assert gateway.confirm.ledger(SLUG).marks() == {"hub-b": ("e", 2)}


def test_a_peers_hello_is_answered_once_by_a_marker_then_a_rewind(gateway):
    published: list[tuple[str, Any]] = []
    rewinds: list[tuple[str, int]] = []

    class Link:
        def publish(self, topic: str, payload: bytes, properties: Any, retain: bool = False) -> None:
            published.append((topic, orjson.loads(payload)))

    gateway.link = Link()
    gateway.bridges[SLUG].rewind = lambda epoch, seq: rewinds.append((epoch, seq))
    hello = orjson.dumps({"id": "h1", "marks": {HUB: "e1:40", "hub-c": "e2:1"}})
    for _ in range(2):  # live, then retained at a resubscribe: answered once
        gateway.broker_message(f"{NS}/{SLUG}/hello/hub-b", hello, {"retain": True})
    assert published == [(f"{NS}/{SLUG}/rewind/{HUB}", {"hello": "h1", "peer": "hub-b"})]
    assert rewinds == [("e1", 40)] and gateway.metrics.rewinds._value.get() == 1
    gateway.broker_message(f"{NS}/{SLUG}/hello/hub-c", orjson.dumps({"id": "h2", "marks": {}}), {})
    assert len(published) == 1, "a peer holding nothing of ours waits for nothing"
