"""Per-origin order under faults of the receiving side (issue 15, items 4 and 8), with real hub,
gateway and Mosquitto processes: the receiving hub killed (-9 and SIGTERM) mid-show, and a hub
with two gateways on one broker. Every chat acked on one hub lands once, in its order, on the other.
"""

from __future__ import annotations

import asyncio
import signal

from tests.conftest import SERIAL
from tests.fedproc import GatewayProcess, Show, converged, federation

pytestmark = SERIAL


async def _receiving_hub_restarts(tmp_path, sig: int) -> None:
    """A's show runs at 50/s while hub B is stopped with `sig` and started again 2 s later."""
    async with federation(tmp_path) as fed:
        show = Show(fed.hubs["a"], "order")
        show.start()
        await asyncio.sleep(3)
        await fed.hubs["b"].stop(sig)
        await asyncio.sleep(2)
        await fed.hubs["b"].start()
        await asyncio.sleep(4)
        await show.stop()
        result = await converged(show, fed.hubs["b"], timeout=60)
        assert len(show.acked) >= 300
        assert not result.lost and not result.duplicated and result.out_of_order == 0, result


async def test_receiving_hub_killed_keeps_origin_order(tmp_path):
    await _receiving_hub_restarts(tmp_path, signal.SIGKILL)


async def test_receiving_hub_restarted_keeps_origin_order(tmp_path):
    await _receiving_hub_restarts(tmp_path, signal.SIGTERM)


async def test_two_gateways_on_one_hub_land_everything_once(tmp_path):
    """Hub A runs a second gateway (its own client id) on the same broker: both relay B's show
    into A, both publish A's; each archive holds the other's acked chats once and in order."""
    async with federation(tmp_path) as fed:
        second = GatewayProcess(fed.hubs["a"], fed.broker.port, "fed", tmp_path / "gateway-a2",
                                client_id="second-gateway-of-a")
        try:
            second.start()
            await second.ready()
            shows = {name: Show(fed.hubs[name], f"two{name}") for name in ("a", "b")}
            for show in shows.values():
                show.start()
            await asyncio.sleep(4)
            for show in shows.values():
                await show.stop()
            for sender, receiver in (("a", "b"), ("b", "a")):
                result = await converged(shows[sender], fed.hubs[receiver], timeout=30)
                assert len(shows[sender].acked) >= 100
                assert not result.lost and not result.duplicated and result.out_of_order == 0, (sender, result)
        finally:
            second.close()
