"""The hub's `history` call for gateways (issue 15, item 3): the joined stage's archived events in
a seq range, paged, for service connections only, every field checked."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from client import HubClient, login
from hub import history
from tests.conftest import PASSWORD
from tests.gateway_support import SERVICE_USER, SLUG, seeded_hub
from tests.hubproc import HubProcess


async def _service(hub: HubProcess) -> HubClient:
    token = (await login(hub.url, SERVICE_USER, PASSWORD))["access_token"]
    return await HubClient(hub.url, token=token).connect()


async def test_history_pages_through_the_stored_range(make_hub):
    hub = await seeded_hub(make_hub, "olivia")
    owner = await hub.joined("olivia", SLUG)
    seqs = [(await owner.publish("chat", {"message": f"m{n}"}))["seq"] for n in range(5)]
    service = await hub.connect(SERVICE_USER)
    await service.join(SLUG)

    first = await service.history(seqs[0], seqs[4], limit=2)  # after < seq <= upto
    assert [e["seq"] for e in first["events"]] == seqs[1:3] and first["more"] is True
    assert first["events"][0]["payload"]["message"] == "m1" and first["events"][0]["topic"] == "chat"
    assert set(first["events"][0]) == {"seq", "topic", "payload", "at", "from"}  # the `event` shape
    rest = await service.history(seqs[2], seqs[4], limit=2)
    assert [e["seq"] for e in rest["events"]] == seqs[3:5] and rest["more"] is False
    whole = await service.history(0, seqs[4])
    assert [e["payload"]["message"] for e in whole["events"]] == [f"m{n}" for n in range(5)]
    assert (await service.history(seqs[4], seqs[2]))["events"] == []  # an empty range


async def test_history_is_for_joined_service_connections_only(make_hub):
    hub = await seeded_hub(make_hub, "olivia")
    owner = await hub.joined("olivia", SLUG)
    assert (await owner.call("history", {"after": 0, "upto": 5}))["error"]["code"] == "forbidden"
    viewer = await hub.joined(None, SLUG)
    assert (await viewer.call("history", {"after": 0, "upto": 5}))["error"]["code"] == "forbidden"
    service = await hub.connect(SERVICE_USER)
    assert (await service.call("history", {"after": 0, "upto": 5}))["error"]["code"] == "not_joined"


async def test_history_fields_are_checked(make_hub):
    hub = await seeded_hub(make_hub, "olivia")
    service = await hub.connect(SERVICE_USER)
    await service.join(SLUG)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"upto": 5}, "after"), ({"after": "0", "upto": 5}, "after"), ({"after": -1, "upto": 5}, "after"),
        ({"after": True, "upto": 5}, "after"), ({"after": 0}, "upto"), ({"after": 0, "upto": 2**70}, "upto"),
        ({"after": 0, "upto": 5, "limit": 0}, "limit"), ({"after": 0, "upto": 5, "limit": 1001}, "limit"),
        ({"after": 0, "upto": 5, "limit": 1.5}, "limit"),
    ]
    for data, field in bad:
        ack = await service.call("history", data)
        assert ack["error"]["code"] == "bad_request", data
        assert field in ack["error"]["message"], data
    assert (await service.call("history", [1]))["error"]["code"] == "bad_request"  # type: ignore[arg-type]


async def test_after_a_crash_a_service_join_says_where_the_new_epoch_began(tmp_path):
    """`epochStart` (service joins that are not recovered): the seq the crash's new epoch began
    after, i.e. the last stored event; `history` reads the old epoch's events up to it."""
    hub = HubProcess(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", rate_limit="1000", rate_burst="1000")
    await hub.seed("olivia")
    await hub.add_user(SERVICE_USER, "service")
    try:
        await hub.start()
        owner = await hub.performer("olivia")
        seqs = [(await owner.publish("chat", {"message": f"m{n}"}))["seq"] for n in range(5)]
        await owner.close()
        service = await _service(hub)
        before = await service.join(SLUG)
        await service.close()
        await hub.stop(signal.SIGKILL)
        await hub.start()
        service = await _service(hub)
        ack = await service.join(SLUG, since={"epoch": before["epoch"], "seq": seqs[0]})
        assert ack["recovered"] is False and ack["epoch"] != before["epoch"]
        assert ack["epochStart"] == seqs[-1]  # every acked event was stored
        page = await service.history(seqs[0], ack["seq"])
        assert [e["seq"] for e in page["events"]] == seqs[1:]
        viewer = await HubClient(hub.url).connect()
        audience = await viewer.join(SLUG, since={"epoch": before["epoch"], "seq": seqs[0]})
        assert audience["recovered"] is False and "epochStart" not in audience
        await viewer.close()
        await service.close()
    finally:
        hub.close()


async def test_history_is_unavailable_while_the_archive_is(make_hub, monkeypatch):
    """A writer that cannot store (an outage) or a database that cannot be read: `unavailable`."""
    hub = await seeded_hub(make_hub, "olivia")
    service = await hub.connect(SERVICE_USER)
    await service.join(SLUG)

    async def stuck() -> None:
        await asyncio.sleep(60)

    monkeypatch.setattr(history, "FLUSH_WAIT", 0.1)
    monkeypatch.setattr(hub.node.persistence.writer, "flush", stuck)
    assert (await service.call("history", {"after": 0, "upto": 5}))["error"]["code"] == "unavailable"
    monkeypatch.undo()

    async def unreadable(*_: Any) -> list[Any]:
        raise OSError("database down")

    async def down(*_: Any) -> bool:
        return False

    monkeypatch.setattr(hub.store.archive, "live_events", unreadable)
    monkeypatch.setattr(hub.store, "reachable", down)
    assert (await service.call("history", {"after": 0, "upto": 5}))["error"]["code"] == "unavailable"
