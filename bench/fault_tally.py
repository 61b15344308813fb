"""Pure figures of a federation fault run (bench/gateway_faults.py): what the receiving hub lost,
holds twice or out of origin order, when it had caught up, and what the gateways' counters say
was sent again. No I/O here, so tests/test_bench_fault_tally.py checks it on made-up runs."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Show ids are `<tag>-<n>`: n is the origin order.
Stamped = tuple[str, float]  # (chat id, monotonic time it was acked on A / first seen stored on B)


@dataclass(frozen=True)
class Outcome:
    """One run: counts on the receiving hub and the convergence times (None: never converged)."""

    acked: int
    lost: int
    duplicated: int
    out_of_order: int
    after_return: float | None
    after_fault: float | None
    delays: tuple[float, float, float] | None  # p50, p99, max seconds from A's ack to B's archive

    @property
    def clean(self) -> bool:
        return self.lost == self.duplicated == self.out_of_order == 0


def _rank(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values (nearest rank)."""
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _number(event_id: str) -> int:
    return int(event_id.rsplit("-", 1)[1])


def outcome(acked: Sequence[Stamped], landed: Sequence[Stamped], fault_at: float, back_at: float) -> Outcome:
    """Compare what A acked with what B stored (`landed`, in B's archive order).

    Converged is the moment B held every event A had acked up to `back_at` (the faulty process
    back): its distance from `back_at` and from `fault_at`. `delays`: the p50, p99 and max of the
    time each acked event took from its ack to B's archive."""
    held = Counter(event_id for event_id, _ in landed)
    first: dict[str, float] = {}
    for event_id, at in landed:
        first.setdefault(event_id, at)
    numbers = [_number(event_id) for event_id, _ in landed]
    backwards = sum(1 for before, after in zip(numbers, numbers[1:], strict=False) if after < before)
    lost = [event_id for event_id, _ in acked if event_id not in first]
    due = [first.get(event_id) for event_id, at in acked if at <= back_at]
    converged = None if None in due else max([back_at, *(t for t in due if t is not None)])
    delays = sorted(first[event_id] - at for event_id, at in acked if event_id in first)
    return Outcome(
        acked=len(acked), lost=len(lost), duplicated=sum(1 for n in held.values() if n > 1), out_of_order=backwards,
        after_return=None if converged is None else converged - back_at,
        after_fault=None if converged is None else converged - fault_at,
        delays=(_rank(delays, 0.5), _rank(delays, 0.99), delays[-1]) if delays else None,
    )


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text → {"name{labels}": value} (comments skipped)."""
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def combined(before: Mapping[str, float], after: Mapping[str, float], restarted: bool) -> dict[str, float]:
    """A gateway's counters over the run: a restarted process counts from 0 again, so what the
    old one had counted (`before`, read just before the fault) is added."""
    if not restarted:
        return dict(after)
    return {name: before.get(name, 0.0) + after.get(name, 0.0) for name in {*before, *after}}


def metric(samples: Mapping[str, float], name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for key, value in samples.items():
        base, _, rest = key.partition("{")
        if base == name and all(f'{k}="{v}"' in rest for k, v in labels.items()):
            total += value
    return total


@dataclass(frozen=True)
class Replay:
    """What the gateways' counters say was sent again: A's chats published beyond one per event
    B holds, A's rewinds (hellos answered) and joins, and what B's gateway dropped on arrival."""

    published: float
    sent_again: float
    rewinds: float
    joins: str
    duplicate: float
    already_landed: float
    awaiting_rewind: float
    relayed: float
    received_again: float  # B's gateway took from the broker beyond one per chat B holds


def replay(sender: Mapping[str, float], receiver: Mapping[str, float], held: int) -> Replay:
    """Replay figures from A's (`sender`) and B's (`receiver`) combined counters; `held`: the
    distinct chats of the show in B's archive (each was published at least once)."""
    published = metric(sender, "gateway_published_total", topic="chat")
    recovered = metric(sender, "gateway_hub_joins_total", recovered="true")
    fresh = metric(sender, "gateway_hub_joins_total", recovered="false")
    return Replay(
        published=published, sent_again=published - held, rewinds=metric(sender, "gateway_rewinds_total"),
        joins=f"{recovered:.0f}/{fresh:.0f}",
        duplicate=metric(receiver, "gateway_dropped_total", direction="in", reason="duplicate"),
        already_landed=metric(receiver, "gateway_dropped_total", direction="in", reason="already_landed"),
        awaiting_rewind=metric(receiver, "gateway_dropped_total", direction="in", reason="awaiting_rewind"),
        relayed=metric(receiver, "gateway_relayed_total", topic="chat"),
        received_again=metric(receiver, "gateway_relayed_total", topic="chat") - held
        + metric(receiver, "gateway_dropped_total", direction="in", reason="duplicate")
        + metric(receiver, "gateway_dropped_total", direction="in", reason="already_landed")
        + metric(receiver, "gateway_dropped_total", direction="in", reason="awaiting_rewind"),
    )
