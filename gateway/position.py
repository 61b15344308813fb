"""The gateway's durable outbound position: per stage, the `{epoch, seq}` up to which every hub
event is done (its QoS 1 publish acknowledged by the broker, or deliberately not published), kept
in a JSON file so a restarted gateway joins with `since` and publishes its downtime.

The file (`<state dir>/<client id>.json`) is written atomically (temp file, fsync, rename), at
most every `SAVE_EVERY` seconds while a position changes and once at close, in a worker thread
(an fsync on a busy disk can take seconds, which the gateway's event loop must not wait out).
An unreadable file is logged and ignored: the gateway then starts from the present, as it did
before it kept one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("gateway.position")
SAVE_EVERY = 0.25  # seconds between writes while positions change
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
Position = tuple[str, int]


class Pending:
    """One hub event on its way out; `done()` when the broker confirmed it (or it was skipped)."""

    __slots__ = ("epoch", "seq", "finished", "_tracker")

    def __init__(self, tracker: StagePosition, epoch: str, seq: int) -> None:
        self.epoch, self.seq, self.finished, self._tracker = epoch, seq, False, tracker

    def done(self) -> None:
        if not self.finished:
            self.finished = True
            self._tracker.advance()


class StagePosition:
    """One stage's confirmed position: the last event such that it and every event tracked before
    it are done. Events are tracked in the order the hub delivered them (an in-order deque)."""

    def __init__(self, saved: Position | None, changed: Callable[[], None]) -> None:
        self.confirmed = saved
        self._changed = changed
        self._pending: deque[Pending] = deque()

    def track(self, epoch: str, seq: int) -> Pending:
        """The next event in delivery order; the position reaches it once it and all before are done."""
        pending = Pending(self, epoch, seq)
        self._pending.append(pending)
        return pending

    def mark(self, epoch: str, seq: int) -> None:
        """A point that needs no confirmation (a fresh start, a skipped range): done at once."""
        self.track(epoch, seq).done()

    def advance(self) -> None:
        moved = False
        while self._pending and self._pending[0].finished:
            head = self._pending.popleft()
            self.confirmed, moved = (head.epoch, head.seq), True
        if moved:
            self._changed()

    def forget_pending(self) -> None:
        """Drop what is under way (it will come again): the position stays where it is."""
        self._pending.clear()

    @property
    def waiting(self) -> int:
        """Events tracked but not yet confirmed (for tests and logs)."""
        return len(self._pending)


class PositionFile:
    """Every stage's confirmed position of one gateway, saved to `<state_dir>/<client_id>.json`."""

    def __init__(self, state_dir: str, client_id: str) -> None:
        self.path = Path(state_dir) / f"{_UNSAFE.sub('_', client_id)}.json"
        self.stages: dict[str, StagePosition] = {}
        self.receipts_saved: Any = None  # the "receipts" section as read (receipts.py's to restore)
        self.receipts: Callable[[], Any] | None = None  # what to save under "receipts"
        self._saved = self._load()
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._writing: asyncio.Future[bool] | None = None  # the write a thread is doing now

    def stage(self, slug: str) -> StagePosition:
        """The position of one stage, starting from what the file held for it."""
        if slug not in self.stages:
            self.stages[slug] = StagePosition(self._saved.get(slug), self._dirty.set)
        return self.stages[slug]

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gateway-position")

    async def close(self) -> None:
        """Stop the periodic writes and write once more (after the one under way, never beside it)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._save_in_thread()

    def snapshot(self) -> dict[str, Any]:
        stages = {slug: {"epoch": p.confirmed[0], "seq": p.confirmed[1]}
                  for slug, p in self.stages.items() if p.confirmed is not None}
        for slug, (epoch, seq) in self._saved.items():  # stages not bridged this run are kept
            stages.setdefault(slug, {"epoch": epoch, "seq": seq})
        snapshot: dict[str, Any] = {"version": 1, "stages": stages}
        receipts = self.receipts() if self.receipts is not None else self.receipts_saved
        if receipts:
            snapshot["receipts"] = receipts
        return snapshot

    def changed(self) -> None:
        """Something saved here changed: write it soon."""
        self._dirty.set()

    def save(self) -> None:
        """Write the file now, on the calling thread (see `_save_in_thread`)."""
        self._dirty.clear()
        if not self._write(self._encoded()):
            self._dirty.set()

    async def _save_in_thread(self) -> None:
        """Write what the positions are now, in a worker thread; one write at a time."""
        if self._writing is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._writing)
        self._dirty.clear()
        self._writing = asyncio.ensure_future(asyncio.to_thread(self._write, self._encoded()))
        if not await asyncio.shield(self._writing):  # a cancelled caller leaves the write to finish
            self._dirty.set()  # written again, on the loop's thread (asyncio.Event is not thread-safe)

    def _encoded(self) -> bytes:
        return json.dumps(self.snapshot(), separators=(",", ":")).encode()

    def _write(self, data: bytes) -> bool:
        """Write the file atomically: a crash leaves the old file or the new one, never half of one.
        False when it could not (the caller marks it to be written again)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp = self.path.with_name(f".{self.path.name}.tmp")
            with open(temp, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.path)
            _sync_dir(self.path.parent)
            return True
        except OSError as exc:  # a full or read-only disk must not stop the gateway: it retries
            log.warning("cannot save the gateway position", extra={"path": str(self.path), "error": repr(exc)[:200]})
            return False

    async def _run(self) -> None:
        while True:
            await self._dirty.wait()
            await self._save_in_thread()
            await asyncio.sleep(SAVE_EVERY)

    def _load(self) -> dict[str, Position]:
        """The saved positions; a missing file is a first start, a bad one is logged and ignored."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.error("cannot read the gateway position: starting from the present",
                      extra={"path": str(self.path), "error": repr(exc)[:200]})
            return {}
        try:
            data = json.loads(raw)
            positions = _parse(data)
            self.receipts_saved = data.get("receipts")
            return positions
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.error("the gateway position file is corrupt: starting from the present",
                      extra={"path": str(self.path), "error": repr(exc)[:200]})
            return {}


def _parse(data: Any) -> dict[str, Position]:
    """`{"stages": {slug: {"epoch": str, "seq": int >= 0}}}`, checked; raises ValueError when not."""
    positions: dict[str, Position] = {}
    for slug, item in data["stages"].items():
        epoch, seq = item["epoch"], item["seq"]
        if not isinstance(slug, str) or not isinstance(epoch, str) or type(seq) is not int or seq < 0:
            raise ValueError(f"bad position for stage {str(slug)[:80]!r}")
        positions[slug] = (epoch, seq)
    return positions


def _sync_dir(directory: Path) -> None:
    """fsync the directory so the rename itself survives a power loss (where the OS allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
