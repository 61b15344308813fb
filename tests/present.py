"""`present`: a store lookup the test expects to find something (the None case fails the test)."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def present(value: T | None) -> T:
    """`value`, asserted not None: `present(await store.get_stage("show")).id`."""
    assert value is not None, "expected a stored record, found none"
    return value
