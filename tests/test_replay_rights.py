"""Who may replay and list a stage's performances over the socket (`roles.may_watch_archive`):
everyone while the stage is visible and not in rehearsal, its performers and admins always, only
admins once it is deleted; a refused id answers exactly like an id that does not exist."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from client import HubClient
from tests.conftest import Hub
from tests.present import present
from tests.rawsio import RawWebSocket
from tests.replays import archived

GENEROUS = dict(replay_rate_limit=10_000.0, replay_rate_burst=10_000, rate_limit=10_000.0, rate_burst=10_000)
STAGES = ("public", "hidden", "rehearsal", "deleted")
# caller -> the stages whose performances it may replay
ALLOWED = {
    "anonymous": {"public"},
    "audience": {"public"},
    "other_player": {"public"},
    "player": {"public", "hidden", "rehearsal"},
    "admin": set(STAGES),
}


async def four_stages(hub: Hub) -> dict[str, int]:
    """A performance on each kind of stage; `pat` plays on all of them, `otto` on another one."""
    await hub.user("ada", role="admin")
    await hub.user("uma")
    await hub.stage("elsewhere", owner="otto")
    owner, pat = await hub.user("olivia"), await hub.user("pat")
    ids: dict[str, int] = {}
    for slug in STAGES:
        await hub.store.create_stage(slug, slug.title(), owner, players=[pat])
        ids[slug] = await archived(hub, slug)
    hidden, rehearsal = present(await hub.store.get_stage("hidden")), present(await hub.store.get_stage("rehearsal"))
    await hub.store.update_stage(hidden.id, {"visible": False})
    await hub.store.update_stage(rehearsal.id, {"status": "rehearsal"})
    await hub.store.delete_stage("deleted")
    return ids


async def caller(hub: Hub, who: str) -> HubClient:
    username = {"anonymous": None, "audience": "uma", "other_player": "otto", "player": "pat", "admin": "ada"}[who]
    return await hub.connect(username)


@pytest.mark.parametrize("who", list(ALLOWED))
async def test_replay_plays_only_what_the_caller_may_watch(make_hub: Any, who: str) -> None:
    hub = await make_hub(**GENEROUS)
    ids = await four_stages(hub)
    client = await caller(hub, who)
    unknown = await client.call("replay", {"performance": max(ids.values()) + 100})
    assert unknown["error"]["code"] == "not_found"
    for slug, performance in ids.items():
        ack = await client.call("replay", {"performance": performance})
        if slug in ALLOWED[who]:
            assert ack["ok"], (who, slug, ack)
            await client.wait_for(lambda c: any(e["payload"]["object"]["x"] == 0 for e in c.events if e["topic"] == "board"))
        else:
            assert ack == unknown, (who, slug, ack)  # the same answer as an id that does not exist
        client.events.clear()
    await client.close()


async def test_enumerating_ids_yields_only_the_public_performances(make_hub: Any) -> None:
    hub = await make_hub(**GENEROUS)
    ids = await four_stages(hub)
    client = await caller(hub, "anonymous")
    answers = {n: await client.call("replay", {"performance": n}) for n in range(1, max(ids.values()) + 4)}
    assert {n for n, ack in answers.items() if ack["ok"]} == {ids["public"]}
    assert len({str(ack) for ack in answers.values() if not ack["ok"]}) == 1  # refusals all alike


async def test_listing_performances_follows_the_same_rule(make_hub: Any) -> None:
    hub = await make_hub(**GENEROUS)
    await hub.stage("secret", owner="olivia", players=("pat",))
    await hub.user("ada", role="admin")
    await archived(hub, "secret")
    stage = await hub.store.get_stage("secret")
    await hub.store.update_stage(stage.id, {"visible": False})  # hidden, yet live: audience can join by slug
    audience, pat, ada = await hub.joined(slug="secret"), await hub.joined("pat", slug="secret"), await hub.joined("ada", slug="secret")
    refused = await audience.call("performances", {})
    assert refused["error"]["code"] == "not_found", refused
    for allowed in (pat, ada):
        listed = await allowed.call("performances", {})
        assert [p["name"] for p in listed["performances"]] == ["secret night"], listed
    await hub.store.update_stage(stage.id, {"visible": True})
    assert [p["name"] for p in (await audience.call("performances", {}))["performances"]] == ["secret night"]


async def test_listing_performances_while_leaving_answers_as_called_not_internal(make_hub: Any) -> None:
    """Found by tests/test_fuzz_socket.py: a `leave` handled while `performances` awaited the
    store took the stage from under it (`internal`, a traceback)."""
    hub = await make_hub(**GENEROUS)
    await hub.stage("show", owner="olivia", players=("pat",))
    await archived(hub, "show")
    raw = await RawWebSocket(hub.url).open()
    assert (await raw.call(1, "join", {"stage": "show"}))["ok"]
    for i in range(2, 12, 2):
        await raw.ws.send_str(f'42{i}["performances",{{}}]')
        await raw.ws.send_str(f'42{i + 1}["leave",{{}}]')
        acks: dict[int, Any] = {}
        while len(acks) < 2:
            text = await raw.next()
            if text.startswith("43"):
                acks[int(text[2 : text.index("[")])] = orjson.loads(text[text.index("[") :])[0]
        assert acks[i]["ok"] and [p["name"] for p in acks[i]["performances"]] == ["show night"], acks
        assert (await raw.call(100 + i, "join", {"stage": "show"}))["ok"]
    await raw.close()
