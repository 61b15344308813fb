"""Live counts on the broker: each hub's own counts retained on `<ns>/<slug>/statistics/<hub id>`,
and their sum retained on `<ns>/<slug>/statistics` as the original `{"players", "audiences"}`.

Every gateway of a federation sums the same per-hub values, so they all publish the same total,
and a legacy reader of the original topic sees the whole audience, not the last writer's hub.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from .wire import HUB_ID, STATISTICS, BadMessage, stage_topic

MAX_PEERS = 256  # hubs whose counts one stage sums
MAX_COUNT = 10**9  # people one hub counts on a stage: more is garbage (and its sum must stay a JSON integer)
Counts = tuple[int, int]
Publish = Callable[[str, bytes, list[tuple[str, str]], bool], None]


class Statistics:
    """Keeps this hub's and its peers' counts per stage and publishes what changed (retained)."""

    def __init__(self, hub_id: str, namespace: str, publish: Publish) -> None:
        self.hub_id, self.namespace, self.publish = hub_id, namespace, publish
        self.local: dict[str, Counts] = {}
        self.peers: dict[str, dict[str, Counts]] = {}
        self.sent: dict[str, Counts] = {}

    def local_counts(self, slug: str, presence: dict[str, Any]) -> None:
        """A `presence` message of the hub for a bridged stage."""
        counts = (int(presence.get("players", 0)), int(presence.get("audience", 0)))
        if self.local.get(slug) == counts:
            return
        self.local[slug] = counts
        self._send(f"{stage_topic(self.namespace, slug, STATISTICS)}/{self.hub_id}", counts)
        self._total(slug)

    def heard(self, slug: str, levels: list[str], raw: bytes) -> None:
        """A message on a stage's statistics topics: a peer's own counts update the sum; totals are ignored.

        Raises BadMessage (`bad_statistics`) for a hub id or counts that cannot be a peer's, and
        (`too_many_peers`) past MAX_PEERS hubs on one stage, so garbage cannot grow the table.
        """
        if len(levels) != 2 or levels[1] == self.hub_id:
            return
        hub = levels[1]
        if not HUB_ID.match(hub):
            raise BadMessage("bad_statistics", "the last level must be a hub id")
        peers = self.peers.setdefault(slug, {})
        if not raw:
            peers.pop(hub, None)  # a cleared retained value: that hub is gone
        else:
            counts = _counts(raw)
            if hub not in peers and len(peers) >= MAX_PEERS:
                raise BadMessage("too_many_peers", f"more than {MAX_PEERS} hubs count this stage")
            peers[hub] = counts
        self._total(slug)

    def total(self, slug: str) -> Counts:
        players, audiences = self.local.get(slug, (0, 0))
        for peer_players, peer_audiences in self.peers.get(slug, {}).values():
            players, audiences = players + peer_players, audiences + peer_audiences
        return players, audiences

    def _total(self, slug: str) -> None:
        if slug not in self.local:
            return  # only stages this gateway bridges
        total = self.total(slug)
        if self.sent.get(slug) != total:
            self.sent[slug] = total
            self._send(stage_topic(self.namespace, slug, STATISTICS), total)

    def _send(self, topic: str, counts: Counts) -> None:
        payload = orjson.dumps({"players": counts[0], "audiences": counts[1]})
        self.publish(topic, payload, [("origin", self.hub_id)], True)


def _counts(raw: bytes) -> Counts:
    """`{"players": n, "audiences": n}` of a peer, both non-negative integers; else BadMessage."""
    try:
        data = orjson.loads(raw)
        counts = data["players"], data["audiences"]
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise BadMessage("bad_statistics", "not {players, audiences}") from exc
    if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_COUNT for n in counts):
        raise BadMessage("bad_statistics", f"counts must be integers from 0 to {MAX_COUNT}")
    return counts
