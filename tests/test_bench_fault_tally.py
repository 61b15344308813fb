"""The pure figures of the federation fault runs (bench/fault_tally.py) on made-up runs."""

from __future__ import annotations

import pytest

from bench.fault_tally import combined, metric, outcome, parse_metrics, replay

METRICS = """# HELP gateway_published_total Hub events published to the broker, by topic
# TYPE gateway_published_total counter
gateway_published_total{topic="chat"} 120.0
gateway_published_total{topic="board"} 3.0
gateway_rewinds_total 2.0
gateway_hub_joins_total{recovered="false"} 1.0
gateway_hub_joins_total{recovered="true"} 2.0
gateway_dropped_total{direction="in",reason="duplicate"} 7.0
gateway_dropped_total{direction="in",reason="awaiting_rewind"} 4.0
gateway_dropped_total{direction="out",reason="history_gap"} 0.0
gateway_relayed_total{topic="chat"} 100.0
"""


def test_a_clean_run_converges_when_the_last_due_event_lands():
    acked = [(f"t-{n}", float(n)) for n in range(5)]
    landed = [("t-0", 0.1), ("t-1", 1.1), ("t-2", 6.0), ("t-3", 6.0), ("t-4", 6.5)]
    result = outcome(acked, landed, fault_at=1.5, back_at=3.5)
    assert result.clean and result.acked == 5
    assert result.after_return == pytest.approx(2.5)  # t-2 and t-3 (acked by 3.5) landed at 6.0
    assert result.after_fault == pytest.approx(4.5)
    assert result.delays == pytest.approx((2.5, 4.0, 4.0))  # delays 0.1, 0.1, 4.0, 3.0, 2.5


def test_lost_doubled_and_backwards_are_counted_and_a_loss_never_converges():
    acked = [(f"t-{n}", float(n)) for n in range(4)]
    landed = [("t-0", 1.0), ("t-2", 3.0), ("t-1", 3.0), ("t-2", 3.5)]
    result = outcome(acked, landed, fault_at=0.5, back_at=3.0)
    assert (result.lost, result.duplicated, result.out_of_order) == (1, 1, 1)
    assert result.after_return is None and result.after_fault is None and not result.clean


def test_convergence_is_never_before_the_return():
    result = outcome([("t-0", 0.0)], [("t-0", 0.05)], fault_at=1.0, back_at=1.0)
    assert result.after_return == 0.0 and result.after_fault == 0.0


def test_metrics_are_summed_by_label_and_a_restarted_gateway_adds_its_old_counts():
    samples = parse_metrics(METRICS)
    assert metric(samples, "gateway_published_total") == 123.0
    assert metric(samples, "gateway_dropped_total", direction="in") == 11.0
    assert metric(samples, "gateway_rewinds_total") == 2.0
    old = {'gateway_published_total{topic="chat"}': 30.0}
    assert combined(old, samples, restarted=True)['gateway_published_total{topic="chat"}'] == 150.0
    assert combined(old, samples, restarted=False)['gateway_published_total{topic="chat"}'] == 120.0


def test_replay_reads_what_was_sent_again():
    samples = parse_metrics(METRICS)
    figures = replay(samples, samples, held=110)
    assert figures.sent_again == 10.0 and figures.rewinds == 2.0 and figures.joins == "2/1"
    assert (figures.duplicate, figures.already_landed, figures.awaiting_rewind, figures.relayed) == (7, 0, 4, 100)
    assert figures.received_again == 100 - 110 + 7 + 4
