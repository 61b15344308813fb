"""The stage-status gate across a federation (issue 15, item 5), with real hub, gateway and
Mosquitto processes and `mosquitto_pub`/`mosquitto_sub` as the legacy client: a stage in
rehearsal or hidden on hub A is not federated outward, and takes no audience-level input from
the broker; hub B, live, goes on as before."""

from __future__ import annotations

import asyncio
import functools
import json
import subprocess
from typing import Any

import aiohttp

from client import HubClient, login
from tests.conftest import PASSWORD
from tests.fedproc import federation, stored_chats
from tests.gateway_support import SLUG
from tests.hubproc import HubProcess

UPDATE = "mutation($id: ID!, $in: StageInput!) { updateStage(id: $id, input: $in) { status visible } }"


async def update_stage(hub: HubProcess, owner: str, stage_id: int, changes: dict[str, Any]) -> None:
    token = (await login(hub.url, owner, PASSWORD))["access_token"]
    body = {"query": UPDATE, "variables": {"id": stage_id, "in": changes}}
    async with aiohttp.ClientSession() as http, \
            http.post(f"{hub.url}/graphql", json=body, headers={"Authorization": f"Bearer {token}"}) as resp:
        answer = await resp.json()
    assert not answer.get("errors"), answer


def status_is(client: HubClient, fields: dict[str, Any]) -> bool:
    heard = client.stage_status
    return heard is not None and all(heard[key] == value for key, value in fields.items())


def legacy_chat(port: int, message: str) -> None:
    """What a legacy client of the original sends: a chat on `<namespace>/<slug>/chat`, no properties."""
    payload = json.dumps({"message": message, "user": "legacy", "id": message})
    subprocess.run(["mosquitto_pub", "-p", str(port), "-q", "1", "-t", f"fed/{SLUG}/chat", "-m", payload], check=True)


async def test_a_stage_in_rehearsal_or_hidden_is_not_federated(tmp_path):
    async with federation(tmp_path) as fed:
        hub_a, hub_b = fed.hubs["a"], fed.hubs["b"]
        owner_a: HubClient = await hub_a.performer("owner-a")
        stage_id = (await owner_a.join(SLUG))["stage"]["id"]
        watcher = subprocess.Popen(["mosquitto_sub", "-p", str(fed.broker.port), "-t", f"fed/{SLUG}/chat", "-v"],
                                   stdout=subprocess.PIPE, text=True)
        try:
            assert (await owner_a.publish("chat", {"message": "open-1", "id": "open-1"}))["ok"]
            for change, tag in (({"status": "rehearsal"}, "rehearsal"), ({"status": "live", "visible": False}, "hidden")):
                await update_stage(hub_a, "owner-a", stage_id, change)
                await owner_a.wait_for(functools.partial(status_is, fields=change), timeout=10)
                assert (await owner_a.publish("chat", {"message": f"{tag}-1", "id": f"{tag}-1"}))["ok"]
                legacy_chat(fed.broker.port, f"legacy-{tag}")
                await asyncio.sleep(0.5)
                await update_stage(hub_a, "owner-a", stage_id, {"status": "live", "visible": True})
                await owner_a.wait_for(lambda c: status_is(c, {"status": "live", "visible": True}), timeout=10)
            assert (await owner_a.publish("chat", {"message": "open-2", "id": "open-2"}))["ok"]
            legacy_chat(fed.broker.port, "legacy-open")
            for _ in range(150):
                if "open-2" in stored_chats(hub_b, "open") and "legacy-open" in stored_chats(hub_a, "legacy"):
                    break
                await asyncio.sleep(0.2)
            assert stored_chats(hub_b, "open") == ["open-1", "open-2"]
            assert stored_chats(hub_b, "rehearsal") == [] and stored_chats(hub_b, "hidden") == []
            assert stored_chats(hub_a, "legacy") == ["legacy-open"], "legacy input reached a closed stage"
            assert stored_chats(hub_b, "legacy") == ["legacy-rehearsal", "legacy-hidden", "legacy-open"]
            assert await fed.gateways["a"].metric('gateway_dropped_total{direction="out",reason="not_public"}') == 2
            assert await fed.gateways["a"].metric('gateway_dropped_total{direction="in",reason="refused_forbidden"}') == 2
        finally:
            watcher.terminate()
            seen, _ = watcher.communicate(timeout=10)
            await owner_a.close()
        published = [json.loads(line.split(" ", 1)[1])["message"] for line in seen.splitlines()]
        assert "rehearsal-1" not in published and "hidden-1" not in published and "open-2" in published
