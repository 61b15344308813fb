"""Two `python -m gateway` processes with one MQTT client id (issue 15, item 8): the displaced one
gives the broker side up with a clear error and exit status 3 instead of taking the session back,
so the other keeps a steady connection. Mosquitto 2.0 sends no 0x8E DISCONNECT: the displaced one
recognises the broker closing each new connection at once."""

from __future__ import annotations

import asyncio

from tests.fedproc import GatewayProcess, federation

CLIENT_ID = "upstage-gw-shared"


async def test_a_client_id_collision_stops_the_displaced_gateway(tmp_path):
    async with federation(tmp_path, names=("a",), client_id=CLIENT_ID) as fed:
        first = fed.gateways["a"]
        second = GatewayProcess(fed.hubs["a"], fed.broker.port, "fed", tmp_path / "gateway-a2", client_id=CLIENT_ID)
        second.start()
        try:
            await second.ready()
            assert first.proc is not None
            code = await asyncio.to_thread(first.proc.wait, 30)
            first.proc = None
            assert code == 3
            log = first.log.read_text()
            assert CLIENT_ID in log and "HUB_GATEWAY_CLIENT_ID" in log
            connects = await second.metric("gateway_broker_connects_total")
            assert connects <= 5  # at most the flaps before the first one gave up
            await asyncio.sleep(5)  # a stolen session would show as reconnects by now
            assert await second.metric("gateway_broker_connected") == 1
            assert await second.metric("gateway_broker_connects_total") == connects
        finally:
            second.close()
