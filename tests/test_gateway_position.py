"""The gateway's durable outbound position (issue 15, item 1): confirmed in delivery order, saved
atomically, a bad file ignored with a clear log; the broker link tells when a message is done."""

from __future__ import annotations

import asyncio
import json
import logging
import os

import pytest

from gateway.backoff import Backoff
from gateway.config import BrokerConfig, GatewayConfig
from gateway.metrics import GatewayMetrics
from gateway.mqtt import MqttLink
from gateway.position import PositionFile, StagePosition


def test_the_position_waits_for_every_earlier_event():
    changes: list[int] = []
    position = StagePosition(("e0", 10), lambda: changes.append(1))
    first, second, third = (position.track("e0", seq) for seq in (11, 12, 13))
    third.done()
    assert position.confirmed == ("e0", 10) and not changes  # 11 and 12 are not confirmed yet
    first.done()
    assert position.confirmed == ("e0", 11)
    second.done()
    assert position.confirmed == ("e0", 13) and position.waiting == 0 and len(changes) == 2
    second.done()  # a second confirmation changes nothing
    assert len(changes) == 2


def test_a_new_epoch_is_reached_only_after_the_old_one_is_confirmed():
    position = StagePosition(None, lambda: None)
    old = position.track("e0", 57)
    position.mark("e1", 56)  # a crash: the new epoch starts lower
    assert position.confirmed is None
    old.done()
    assert position.confirmed == ("e1", 56)


def test_saved_positions_come_back_and_unbridged_stages_are_kept(tmp_path):
    (tmp_path / "gw.json").write_text(json.dumps({"version": 1, "stages": {"other": {"epoch": "x", "seq": 3}}}))
    positions = PositionFile(str(tmp_path), "gw")
    positions.stage("show").mark("e", 42)
    positions.save()
    again = PositionFile(str(tmp_path), "gw")
    assert again.stage("show").confirmed == ("e", 42)
    assert again.stage("other").confirmed == ("x", 3)
    assert [p.name for p in tmp_path.iterdir()] == ["gw.json"]  # no temp file left behind


def test_the_file_is_named_after_a_sanitised_client_id(tmp_path):
    positions = PositionFile(str(tmp_path / "state"), "../upstage gw/a")
    positions.stage("show").mark("e", 1)
    positions.save()
    assert [p.name for p in (tmp_path / "state").iterdir()] == [".._upstage_gw_a.json"]


def test_a_failed_write_keeps_the_previous_file(tmp_path, monkeypatch, caplog):
    positions = PositionFile(str(tmp_path), "gw")
    positions.stage("show").mark("e", 1)
    positions.save()
    positions.stage("show").mark("e", 2)

    def broken(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with caplog.at_level(logging.WARNING, "gateway.position"):
        positions.save()
    assert "cannot save the gateway position" in caplog.text
    assert PositionFile(str(tmp_path), "gw").stage("show").confirmed == ("e", 1)


@pytest.mark.parametrize("content", [
    b"{not json", b"\xff\xfe", b"[]", b'{"stages": []}', b'{"stages": {"show": {"epoch": "e", "seq": -1}}}',
    b'{"stages": {"show": {"epoch": "e", "seq": true}}}', b'{"stages": {"show": {"epoch": 5, "seq": 1}}}',
    b'{"stages": {"show": {"epoch": "e"}}}',
])
def test_a_corrupt_file_is_logged_and_ignored(tmp_path, caplog, content):
    (tmp_path / "gw.json").write_bytes(content)
    with caplog.at_level(logging.ERROR, "gateway.position"):
        positions = PositionFile(str(tmp_path), "gw")
    assert positions.stage("show").confirmed is None
    assert "corrupt" in caplog.text


async def test_changes_are_saved_while_running_and_at_close(tmp_path):
    positions = PositionFile(str(tmp_path), "gw")
    positions.start()
    positions.stage("show").mark("e", 5)
    for _ in range(50):
        if (tmp_path / "gw.json").exists():
            break
        await asyncio.sleep(0.05)
    assert json.loads((tmp_path / "gw.json").read_text())["stages"]["show"] == {"epoch": "e", "seq": 5}
    positions.stage("show").mark("e", 6)
    await positions.close()
    assert json.loads((tmp_path / "gw.json").read_text())["stages"]["show"] == {"epoch": "e", "seq": 6}


def test_the_state_dir_is_configurable():
    assert GatewayConfig.from_env({"HUB_GATEWAY_TOKEN": "t"}).state_dir == "var/gateway"
    assert GatewayConfig.from_env({"HUB_GATEWAY_TOKEN": "t", "HUB_GATEWAY_STATE_DIR": "/x"}).state_dir == "/x"


async def test_the_link_tells_when_a_message_is_acknowledged_or_dropped():
    link = MqttLink(BrokerConfig(), "gw", lambda *_: None, GatewayMetrics(), 1, Backoff(0.1, 1), 1024)
    done: list[str] = []
    link.publish("t", b"1", [], done=lambda: done.append("first"))
    link.publish("t", b"2", [], done=lambda: done.append("second"))  # the buffer holds one: the first is dropped
    assert done == ["first"]
    link.inflight[7] = link.outbox.popleft()
    link._acked(7)
    link._acked(7)  # a repeated acknowledgement is not told twice
    assert done == ["first", "second"]
