"""Client addresses behind proxies, and the keyed limits that use them."""

from __future__ import annotations

import time

from hub.addresses import AddressPolicy, parse_networks
from hub.ratelimit import KeyedBuckets, KeyedCounter


def test_without_trusted_proxies_the_peer_is_the_client_and_the_header_is_ignored() -> None:
    policy = AddressPolicy()
    assert policy.client("203.0.113.7", "198.51.100.1") == "203.0.113.7"


def test_a_trusted_proxy_hands_over_the_first_untrusted_hop_from_the_right() -> None:
    policy = AddressPolicy(parse_networks("10.0.0.0/8"))
    # The client prepended a fake address; the proxy appended the real peer it saw.
    assert policy.client("10.0.0.2", "1.1.1.1, 203.0.113.7") == "203.0.113.7"
    assert policy.client("10.0.0.2", "203.0.113.7, 10.0.0.9") == "203.0.113.7"
    assert policy.client("10.0.0.2", None) == "10.0.0.2"
    assert policy.client("10.0.0.2", "garbage") == "10.0.0.2"
    assert policy.client("198.51.100.4", "203.0.113.7") == "198.51.100.4", "only trusted peers may forward"


def test_ipv6_clients_count_per_64_and_mapped_ipv4_as_ipv4() -> None:
    policy = AddressPolicy()
    assert policy.client("2001:db8:1:2::1", None) == policy.client("2001:db8:1:2:ffff::9", None) == "2001:db8:1:2::/64"
    assert policy.client("2001:db8:1:3::1", None) != policy.client("2001:db8:1:2::1", None)
    assert policy.client("::ffff:203.0.113.7", None) == "203.0.113.7"
    assert policy.client(None, None) == "unknown"


def test_keyed_buckets_limit_each_key_apart_and_stay_bounded() -> None:
    buckets = KeyedBuckets(rate=0.001, burst=3, max_keys=100)
    assert [buckets.take("a") for _ in range(4)] == [True, True, True, False]
    assert buckets.take("b"), "another key has its own bucket"
    assert buckets.wait("a") > 0 and buckets.wait("b") == 0.0
    for i in range(1000):
        buckets.take(f"flood-{i}")
    assert len(buckets) <= 100


def test_refilled_buckets_are_forgotten_first() -> None:
    buckets = KeyedBuckets(rate=1000.0, burst=1, max_keys=2)
    buckets.take("a")
    buckets.take("b")
    time.sleep(0.01)
    buckets.take("c")
    assert len(buckets) == 1


def test_keyed_counter_holds_a_limit_per_key() -> None:
    counter = KeyedCounter(limit=2)
    assert [counter.acquire("a"), counter.acquire("a"), counter.acquire("a")] == [True, True, False]
    counter.release("a")
    assert counter.acquire("a") and counter.count("a") == 2
    counter.release("a")
    counter.release("a")
    assert counter.count("a") == 0
