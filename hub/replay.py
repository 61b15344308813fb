"""Replay of one archived performance to one listener, with its original relative timing.

The original UpStage replayed in the browser (upstage-spec §3.7): everything before the seek
point applied at once and muted, each later event on its own `setTimeout((ts - t) / speed)`,
plus a 1 s ticker. Here the hub plays it, so a replay needs no live stage and an audience
listener never receives private chat. `Replay` does no I/O: it plays a shared `Timeline` (the
events this kind of listener may see, with state checkpoints) through a sync `send(name, data)`
callable, and drives a single `loop.call_at` timer chain (one pending timer at most), however
long the performance. Its own memory is a few numbers; the events are the timeline's.

Messages it sends:
* `replay` `{"state"?, "position", "duration", "playing", "speed", "loop", "ended"}`: every
  change of status. It carries `state` (the view of the stage after every visible event before
  `position`) when playback starts or restarts and on every seek.
* `event`: an event's wire dict, at `(offset - position) / speed` from now.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

from .replay_timeline import Timeline
from .state import view

MIN_SPEED = 0.5
MAX_SPEED = 32.0

Send = Callable[[str, Any], object]  # what it returns is ignored


class Replay:
    """One listener's playback of one performance; position and duration are ms from its first event."""

    def __init__(
        self,
        timeline: Timeline,
        send: Send,
        *,
        speed: float = 1.0,
        loop: bool = False,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.timeline = timeline
        self._duration: float = timeline.duration
        self._send = send
        self._on_close = on_close
        self._speed = _checked_speed(speed)
        self._loop_on = bool(loop)
        self._position = 0.0  # while playing: the position at `_anchor`
        self._anchor = 0.0  # loop time at which playing (re)started from `_position`
        self._next = 0  # index of the next group to send
        self._playing = False
        self._ended = False
        self._started = False
        self._closed = False
        self._seeks = 0  # prepared seeks asked so far
        self._timer: asyncio.TimerHandle | None = None

    # --- controls -------------------------------------------------------------------------

    def play(self) -> None:
        """Start, or resume from the frozen position; after the end, start again from 0."""
        if self._closed or self._playing:
            return
        if not len(self.timeline):
            self._ended = True
            self._announce(with_state=True)
            return
        if self._ended:
            self._ended, self._started, self._position, self._next = False, False, 0.0, 0
        self._playing = True
        self._anchor = asyncio.get_running_loop().time()
        self._announce(with_state=not self._started)
        self._started = True
        self._schedule()

    def pause(self) -> None:
        """Stop sending and freeze the position."""
        if self._closed or not self._playing:
            return
        self._position = self._current()
        self._playing = False
        self._cancel()
        self._announce()

    def seek(self, position_ms: float) -> None:
        """Jump to `position_ms` (clamped to 0..duration): send the state there, then play on from it.
        Builds any missing checkpoint on the spot; `prepared_seek` does that without holding the loop."""
        position = self._clamped(position_ms)
        if not self._closed:
            self._jump(position)

    async def prepared_seek(self, position_ms: float) -> None:
        """`seek`, after building the checkpoints the new position needs a step per loop turn, so
        the seek itself applies fewer than `timeline.checkpoint_every` events. Of seeks that
        overlap, the last asked wins, even when an earlier one needed longer to prepare."""
        position = self._clamped(position_ms)
        self._seeks += 1
        asked = self._seeks
        await self.timeline.prepare(self.timeline.group_at(position))
        if asked == self._seeks:
            self.seek(position)

    def set_speed(self, speed: float) -> None:
        """Change the speed (0.5 to 32); while playing, the rest is rescheduled from here."""
        speed = _checked_speed(speed)
        if self._closed:
            return
        if self._playing:
            self._position = self._current()
            self._anchor = asyncio.get_running_loop().time()
        self._speed = speed
        self._schedule()
        self._announce()

    def set_loop(self, loop: bool) -> None:
        """Whether the end restarts playback from 0."""
        if self._closed:
            return
        self._loop_on = bool(loop)
        self._announce()

    def status(self) -> dict[str, Any]:
        return {
            "position": self._current(),
            "duration": self._duration,
            "playing": self._playing,
            "speed": self._speed,
            "loop": self._loop_on,
            "ended": self._ended,
        }

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Cancel everything and hand back what the replay held (once); nothing is sent after this."""
        if self._closed:
            return
        self._closed = True
        self._playing = False
        self._cancel()
        if self._on_close is not None:
            self._on_close()

    # --- internals --------------------------------------------------------------------------

    def _current(self) -> float:
        if not self._playing:
            return self._position
        elapsed_ms = (asyncio.get_running_loop().time() - self._anchor) * 1000.0
        return min(self._position + elapsed_ms * self._speed, self._duration)

    def _clamped(self, position_ms: float) -> float:
        """A seek target as a position on this timeline; ValueError unless a finite number."""
        if isinstance(position_ms, bool) or not isinstance(position_ms, (int, float)):
            raise ValueError(f"position must be a number of ms, not {position_ms!r}")
        if isinstance(position_ms, int) and not 0 <= position_ms <= self._duration:
            position_ms = 0 if position_ms < 0 else self._duration  # clamp before a huge int meets float()
        if not math.isfinite(position_ms):
            raise ValueError(f"position must be a finite number of ms, not {position_ms!r}")
        return min(max(float(position_ms), 0.0), self._duration)

    def _jump(self, position: float) -> None:
        """Move to `position`, announce the state there, and reschedule if playing."""
        self._position, self._ended, self._started = position, False, True
        self._next = self.timeline.group_at(position)
        if self._playing:
            self._anchor = asyncio.get_running_loop().time()
        self._announce(with_state=True)
        self._schedule()

    def _schedule(self) -> None:
        """Arm the one timer for the next group, relative to the anchor so delays do not drift."""
        self._cancel()
        if not self._playing or self._next >= len(self.timeline):
            return
        delay_ms = (self.timeline.offsets[self._next] - self._position) / self._speed
        self._timer = asyncio.get_running_loop().call_at(self._anchor + max(delay_ms, 0.0) / 1000.0, self._fire)

    def _fire(self) -> None:
        self._timer = None
        if self._closed or not self._playing:
            return
        for event in self.timeline.group(self._next):
            self._send("event", event.wire())
        self._next += 1
        if self._next < len(self.timeline):
            self._schedule()
        else:
            self._finish()

    def _finish(self) -> None:
        """The last event went out: restart with loop on (unless there is no time to loop), else end."""
        if self._loop_on and self._duration > 0:
            self._jump(0.0)
            return
        self._playing, self._ended, self._position = False, True, self._duration
        self._announce()

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _announce(self, with_state: bool = False) -> None:
        if self._closed:
            return
        message: dict[str, Any] = {}
        if with_state:
            timeline = self.timeline
            state = timeline.state_before(self._next)
            message["state"] = view(state, timeline.begin + self._position, timeline.audience)
        self._send("replay", {**message, **self.status()})


def _checked_speed(speed: float) -> float:
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not MIN_SPEED <= speed <= MAX_SPEED:
        raise ValueError(f"speed must be between {MIN_SPEED} and {MAX_SPEED}, not {speed!r}")
    return float(speed)
