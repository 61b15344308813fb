"""Publishing what a join could not replay: after `recovered: false` (a hub crash started a new
epoch, or the gateway was away longer than the hub's history), the events between the gateway's
position and the join are read from the hub's archive (`history`) and published in order before
anything live.

Event ids are `<hub id>:<epoch>:<seq>`, and the archive keeps no epoch: an event up to the seq
the current epoch began after (`epochStart` in the join ack) belongs to the epoch the gateway
knew, a later one to the current epoch. When the hub does not know where its epoch began (it
was not seen to begin, e.g. a clean restart since), nothing of the other epoch can be named:
the range is skipped and counted as a `history_gap`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from client import HubClient, HubError

from .relays import RETRY_CODES

if TYPE_CHECKING:
    from .bridge import StageBridge

log = logging.getLogger("gateway.catchup")
PAGE = 500  # events per `history` call
ROOM_POLL = 0.05  # seconds between looks at the outbox while it is too full for a page


async def catch_up(bridge: StageBridge, client: HubClient, since: dict[str, Any], ack: dict[str, Any]) -> None:
    """Publish the archived events after `since` up to the join's `seq`, each under its epoch."""
    old, new, upto = since["epoch"], ack["epoch"], int(ack["seq"])
    boundary = upto if old == new else ack.get("epochStart")
    if not isinstance(boundary, int):
        _gap(bridge, since, ack, upto - since["seq"], "the hub does not say where its new epoch began")
        return
    # A crash may have lost events the gateway already published (delivered, never stored): the
    # new epoch then reuses their seqs, and its events from `boundary` on are new ones.
    first = after = min(int(since["seq"]), boundary)
    bridge.last_seq = after
    read = 0
    while after < upto:
        await _room_for_a_page(bridge)
        try:
            page = await client.history(after, upto, PAGE)
        except HubError as exc:
            if exc.code in RETRY_CODES:
                raise  # the hub is busy or its database away: the bridge rejoins and reads again
            _gap(bridge, since, ack, upto - after, f"the hub refused to read its archive ({exc.code})")
            return
        bridge.check_current(client)  # a rewind meanwhile reads again from further back
        events = page["events"]
        for event in events:
            bridge._event(event, old if event["seq"] <= boundary else new)
        read += len(events)
        if not events or not page.get("more"):
            break
        after = events[-1]["seq"]
    missing = upto - first - read
    log.info("published the archive's events the join could not replay",
             extra={"stage": bridge.slug, "since": since, "epoch": new, "seq": upto, "events": read})
    if missing > 0:
        _gap(bridge, since, ack, missing, "the archive no longer holds them (swept into a performance?)")


async def _room_for_a_page(bridge: StageBridge) -> None:
    """Wait until the outbox can take a page without dropping the oldest (a long catch-up must
    not overflow `HUB_GATEWAY_BUFFER`); it drains as the broker acknowledges."""
    link = bridge.gateway.link
    while link is not None and link.outbox and len(link.outbox) + PAGE > link.buffer:
        await asyncio.sleep(ROOM_POLL)


def _gap(bridge: StageBridge, since: dict[str, Any], ack: dict[str, Any], missing: int, why: str) -> None:
    """Events that cannot be published: counted once as `history_gap` and logged with how many."""
    bridge.gateway.metrics.drop("out", "history_gap")
    log.warning("events of the stage could not be published: " + why,
                extra={"stage": bridge.slug, "since": since, "epoch": ack["epoch"], "seq": ack["seq"],
                       "missing": max(0, missing)})
