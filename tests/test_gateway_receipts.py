"""End-to-end confirmation's bookkeeping (issue 15, item 2): marks, hellos, rewinds, what is saved."""

from __future__ import annotations

import orjson
import pytest

from gateway.receipts import Confirmations, Hello, Ledger, Position
from gateway.stats import MAX_PEERS
from gateway.wire import BadMessage


def nothing() -> None:
    return None


def test_positions_parse_hub_ids_with_colons_and_refuse_garbage():
    assert Position.parse("hub:a:e1:42") == Position("hub:a", "e1", 42)
    assert Position.parse(Position("h", "e", 7).text()) == Position("h", "e", 7)
    for bad in ("", "h:e", "h:e:x", ":e:1", "h::1", None, 5, "h:e:-1", "h h:e:1", "x" * 201):
        assert Position.parse(bad) is None, bad


def test_the_mark_moves_over_handled_messages_in_order_only():
    ledger = Ledger({}, nothing)
    first, second, third = (ledger.arrived(Position("a", "e", seq)) for seq in (3, 5, 9))
    assert first and second and third
    second.done()
    assert ledger.marks() == {}, "the first is still under way"
    first.done()
    assert ledger.marks() == {"a": ("e", 5)}
    third.done()
    assert ledger.marks() == {"a": ("e", 9)}


def test_after_a_hello_a_known_publisher_is_discarded_until_its_rewind_answers_that_hello():
    ledger = Ledger({"a": ("e", 9)}, nothing)
    hello = orjson.loads(ledger.hello())
    assert hello["marks"] == {"a": "e:9"} and ledger.waiting == {"a"}
    assert ledger.arrived(Position("a", "e", 12)) is None, "sent before the rewind: it comes again"
    assert ledger.arrived(Position("b", "f", 1)) is not None, "a publisher we hold nothing of is not awaited"
    assert not ledger.rewound("a", "an older hello")
    assert ledger.rewound("a", hello["id"])
    assert not ledger.rewound("a", hello["id"]), "once"
    token = ledger.arrived(Position("a", "e", 10))
    assert token is not None
    token.done()
    assert ledger.marks()["a"] == ("e", 10)


def test_a_new_hello_forgets_what_was_under_way_so_a_late_finish_moves_no_mark():
    ledger = Ledger({"a": ("e", 1)}, nothing)
    ledger.hello()
    ledger.rewound("a", ledger.hello_id)
    stale = ledger.arrived(Position("a", "e", 2))
    assert stale is not None
    ledger.hello()  # a reconnect: the rewind will replay from e:1
    stale.done()
    assert ledger.marks()["a"] == ("e", 1)


def test_marks_and_answered_hellos_are_saved_and_come_back_and_garbage_is_left_out():
    changes: list[int] = []
    confirm = Confirmations("hub-b", "ns", None, lambda: changes.append(1))
    token = confirm.arrived("show", "hub-a:e1:40")
    assert token is not None
    token.done()
    assert confirm.to_answer("show", "hub-c", orjson.dumps({"id": "h1", "marks": {"hub-b": "e9:3"}})) is not None
    assert changes, "a change is saved soon"
    again = Confirmations("hub-b", "ns", confirm.saved(), nothing)
    assert again.ledger("show").marks() == {"hub-a": ("e1", 40)}
    assert again.to_answer("show", "hub-c", orjson.dumps({"id": "h1", "marks": {"hub-b": "e9:3"}})) is None, \
        "a hello answered before a restart is not answered again"
    for garbage in ("x", {"show": 3}, {"show": {"marks": {"hub-a": "nonsense", "b": 4}, "answered": 7}}):
        assert Confirmations("hub-b", "ns", garbage, nothing).ledger("show").marks() == {}


def test_a_hello_is_answered_once_and_only_with_a_mark_of_ours():
    confirm = Confirmations("hub-a", "ns", None, nothing)
    raw = orjson.dumps({"id": "h1", "marks": {"hub-a": "e1:40", "hub-c": "e2:3"}})
    assert confirm.to_answer("show", "hub-b", raw) == Hello("hub-b", "h1", ("e1", 40))
    assert confirm.to_answer("show", "hub-b", raw) is None
    assert confirm.to_answer("show", "hub-a", raw) is None, "our own"
    assert confirm.to_answer("show", "hub-c", orjson.dumps({"id": "h2", "marks": {}})) is None
    topic, marker = confirm.marker("show", Hello("hub-b", "h1", ("e1", 40)))
    assert topic == "ns/show/rewind/hub-a" and orjson.loads(marker) == {"hello": "h1", "peer": "hub-b"}
    for bad in (b"[]", b"{}", b'{"id": "", "marks": {}}', b'{"id": "x", "marks": 1}',
                b'{"id": "x", "marks": {"hub-a": "e1:x"}}', b"not json"):
        with pytest.raises(BadMessage) as refused:
            confirm.to_answer("show", "hub-d", bad)
        assert refused.value.reason == "bad_hello"


def test_stage_messages_are_tracked_by_pos_and_discarded_while_their_rewind_is_awaited():
    confirm = Confirmations("hub-b", "ns", {"show": {"marks": {"hub-a": "e1:5"}}}, nothing)
    assert confirm.arrived("show", None) is None, "a legacy message is not tracked"
    with pytest.raises(BadMessage) as bad:
        confirm.arrived("show", "garbage")
    assert bad.value.reason == "bad_properties"
    topic, hello = confirm.hello("show")
    assert topic == "ns/show/hello/hub-b"
    with pytest.raises(BadMessage) as waiting:
        confirm.arrived("show", "hub-a:e1:9")
    assert waiting.value.reason == "awaiting_rewind"
    assert not confirm.rewound("show", "hub-a", orjson.dumps({"hello": orjson.loads(hello)["id"], "peer": "hub-c"}))
    assert confirm.rewound("show", "hub-a", orjson.dumps({"hello": orjson.loads(hello)["id"], "peer": "hub-b"}))
    assert confirm.arrived("show", "hub-a:e1:6") is not None


def test_a_flood_of_invented_publishers_keeps_a_bounded_ledger():
    """Anyone who may publish in the namespace could name a new hub in every `pos`: the marks
    kept (and saved) per stage are bounded as the peer counts are."""
    confirm = Confirmations("hub-b", "ns", None, nothing)
    for n in range(MAX_PEERS):
        assert confirm.arrived("show", f"hub-{n}:e:1") is not None
    with pytest.raises(BadMessage) as refused:
        confirm.arrived("show", "one-more:e:1")
    assert refused.value.reason == "too_many_peers"
    assert confirm.arrived("show", "hub-0:e:2") is not None, "known publishers still count"
