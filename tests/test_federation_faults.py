"""Federation under faults (issue 15), with real hub, gateway and Mosquitto processes: every
event acked on one hub lands once, in origin order, in the other hub's archive."""

from __future__ import annotations

import asyncio
import signal

import pytest

from tests.fedproc import Show, converged, federation


async def test_steady_show_lands_once_in_order(tmp_path):
    async with federation(tmp_path) as fed:
        show = Show(fed.hubs["a"], "steady")
        show.start()
        await asyncio.sleep(3)
        await show.stop()
        result = await converged(show, fed.hubs["b"])
        assert len(show.acked) >= 100
        assert not result.lost and not result.duplicated and result.out_of_order == 0, result


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill", "term"])
async def test_gateway_kill_loses_nothing(tmp_path, sig):
    """A crashed or stopped gateway resumes from its saved, broker-confirmed position (item 1)."""
    async with federation(tmp_path) as fed:
        show = Show(fed.hubs["a"], "kill")
        show.start()
        await asyncio.sleep(2)
        await fed.gateways["a"].stop(sig)
        await asyncio.sleep(3)
        fed.gateways["a"].start()
        await asyncio.sleep(2)
        await show.stop()
        result = await converged(show, fed.hubs["b"], timeout=30)
        assert not result.lost and not result.duplicated and result.out_of_order == 0, result
