"""One performance as one kind of listener sees it, shared by every replay with that view.

A `Timeline` holds the events a listener may see (audience: no private chat; a performer: also
the events for its own session) in time order, grouped by equal `at`, and the state at a
checkpoint every `checkpoint_every` events. The state before any group is then the nearest
checkpoint plus fewer than `checkpoint_every` events, so a seek costs a bounded amount of work
however long the performance. Checkpoints are built on demand, one per step, and `prepare`
yields to the event loop between steps; they never change once built, so every replay of the
timeline shares them. Nothing here does I/O or knows about sockets.
"""

from __future__ import annotations

import asyncio
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Any

from storage import DEFAULT_COLOR, Event

from .state import DEFAULT_LIMITS, Limits, apply, empty_state

DEFAULT_CHECKPOINT_EVERY = 100
DENSITY_SLICES = 100  # the replay page's event-density bar: events in each hundredth of the performance

State = dict[str, Any]


class Timeline:
    """The visible events of one performance, their offsets (ms from the first) and checkpoints."""

    def __init__(
        self,
        events: Iterable[Event],
        *,
        performer: bool,
        session: str | None = None,
        default_color: str = DEFAULT_COLOR,
        limits: Limits = DEFAULT_LIMITS,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    ) -> None:
        if checkpoint_every < 1:
            raise ValueError("checkpoint_every must be at least 1")
        # The timeline spans the events this listener may see, so hidden ones leave no trace in it.
        visible = sorted((e for e in events if e.visible_to(performer, session)), key=lambda e: (e.at, e.seq))  # type: ignore[arg-type]
        self.audience = not performer
        self.events: Sequence[Event] = tuple(visible)
        self.begin: int = visible[0].at if visible else 0
        # Group i is events[starts[i]:starts[i + 1]], every event of it at begin + offsets[i]
        # (machine integers: 8 bytes an event, not an int object each).
        self.starts = array("q", (i for i, event in enumerate(visible) if i == 0 or event.at != visible[i - 1].at))
        self.offsets = array("q", (visible[i].at - self.begin for i in self.starts))
        self.duration: int = self.offsets[-1] if self.offsets else 0
        self.checkpoint_every = checkpoint_every
        self._limits = limits
        self._checkpoints: list[State] = [empty_state(default_color)]  # state after k * checkpoint_every events
        self._density: dict[int, list[int]] = {}

    def __len__(self) -> int:
        """The number of groups (moments at which events go out)."""
        return len(self.starts)

    def group(self, index: int) -> Sequence[Event]:
        """The events of group `index`, in seq order."""
        end = self.starts[index + 1] if index + 1 < len(self.starts) else len(self.events)
        return self.events[self.starts[index] : end]

    def group_at(self, position: float) -> int:
        """The index of the first group at or after `position` (ms from the start)."""
        return bisect_left(self.offsets, position)

    def density(self, slices: int = DENSITY_SLICES) -> list[int]:
        """How many visible events fell in each of `slices` equal slices of the performance (an
        event at the very end counts in the last); one slice when it all happened at one moment,
        none when it is empty. Counted once per timeline (every replay of it shares the answer)."""
        if slices not in self._density:
            counts = [0] * slices if self.duration > 0 else [len(self.events)] if self.events else []
            if self.duration > 0:
                for index, offset in enumerate(self.offsets):
                    counts[min(offset * slices // self.duration, slices - 1)] += len(self.group(index))
            self._density[slices] = counts
        return list(self._density[slices])

    @property
    def checkpoints(self) -> int:
        """How many checkpoints are built (the first, the empty stage, always is)."""
        return len(self._checkpoints)

    def ready(self, index: int) -> bool:
        """Whether `state_before(index)` needs no checkpoint that is not built yet."""
        return self._needed(index) < len(self._checkpoints)

    async def prepare(self, index: int) -> None:
        """Build the checkpoints `state_before(index)` needs, one step per event-loop turn, so a
        seek far into a long performance never holds the loop for more than one step. Replays
        preparing at once share the steps: each builds the next missing one."""
        while not self.ready(index):
            self._extend()
            await asyncio.sleep(0)

    def state_before(self, index: int) -> State:
        """The state after every event of the first `index` groups: the nearest checkpoint plus
        fewer than `checkpoint_every` events (after `prepare(index)`; without it, the missing
        checkpoints are built here first)."""
        done = self._done(index)
        while not self.ready(index):
            self._extend()
        checkpoint = done // self.checkpoint_every
        state = self._checkpoints[checkpoint]
        for event in self.events[checkpoint * self.checkpoint_every : done]:
            state = apply(state, event.wire(), self._limits)
        return state

    def _done(self, index: int) -> int:
        """How many events the first `index` groups hold."""
        return self.starts[index] if index < len(self.starts) else len(self.events)

    def _needed(self, index: int) -> int:
        """The checkpoint `state_before(index)` starts from."""
        return self._done(index) // self.checkpoint_every

    def _extend(self) -> None:
        """Build the next checkpoint from the last one: `checkpoint_every` events applied."""
        start = (len(self._checkpoints) - 1) * self.checkpoint_every
        state = self._checkpoints[-1]
        for event in self.events[start : start + self.checkpoint_every]:
            state = apply(state, event.wire(), self._limits)
        self._checkpoints.append(state)
