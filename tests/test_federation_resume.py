"""Federation resuming where it stood (issue 15, items 1 and 3), with real hub, gateway and
Mosquitto processes: a hub killed, a gateway away longer than the hub's history; every event
acked (so stored) on hub A lands once, in origin order, on hub B. Gateway restarts are in
test_federation_faults.py."""

from __future__ import annotations

import asyncio
import signal

from tests.conftest import SERIAL
from tests.fedproc import Show, Tally, converged, federation, stored_chats, tally

pytestmark = SERIAL


def _exact(result: Tally) -> None:
    assert not result.lost and not result.duplicated and result.out_of_order == 0, result


async def test_gateway_away_past_the_hub_history_publishes_from_the_archive(tmp_path):
    """The hub keeps 20 events of history; the gateway misses ~150: its join is not recovered,
    and the missed events are read from the archive (`history`), not counted as a gap."""
    async with federation(tmp_path, hub_settings={"history_size": "20"}) as fed:
        show = Show(fed.hubs["a"], "past")
        show.start()
        await asyncio.sleep(1)
        await fed.gateways["a"].stop(signal.SIGKILL)
        await asyncio.sleep(3)
        fed.gateways["a"].start()
        await fed.gateways["a"].ready()
        await asyncio.sleep(1)
        await show.stop()
        result = await converged(show, fed.hubs["b"], timeout=30)
        gateway = fed.gateways["a"]
        assert await gateway.metric('gateway_hub_joins_total{recovered="false"}') >= 1
        assert await gateway.metric('gateway_dropped_total{direction="out",reason="history_gap"}') == 0
        _exact(result)


async def test_hub_kill_loses_no_stored_event(tmp_path):
    """Hub A killed mid-show while its gateway runs, then restarted (a new epoch): every event A
    acked, before the crash and after the restart, reaches B once and in order. The gateway is
    held (SIGSTOP) until the restarted hub has acked 150 more, so its rejoin surely finds events
    of the new epoch it must read from the archive."""
    async with federation(tmp_path) as fed:
        show = Show(fed.hubs["a"], "crash")
        show.start()
        await asyncio.sleep(2)
        fed.gateways["a"].pause()
        await fed.hubs["a"].stop(signal.SIGKILL)
        before = len(show.acked)
        await fed.hubs["a"].start()
        for _ in range(300):  # the show reconnects and goes on
            if len(show.acked) >= before + 150:
                break
            await asyncio.sleep(0.1)
        fed.gateways["a"].resume()
        await asyncio.sleep(1)
        await show.stop()
        assert len(show.acked) >= before + 150
        result = await converged(show, fed.hubs["b"], timeout=30)
        assert set(show.acked) <= set(stored_chats(fed.hubs["a"], "crash"))  # acked: stored on A
        _exact(result)
        _exact(tally(show.acked, stored_chats(fed.hubs["a"], "crash")))
