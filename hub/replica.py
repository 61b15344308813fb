"""A stage's replica on this process: the stage log's events folded, in `seq` order, through the
pure reducers into the room's state, and written to the stage's sockets.

Every process hosting a stage follows its log and folds the same events in the same order, so all
hold the same state (the reducers are deterministic). A replica that sees a gap in what the log
delivered catches up by reading the log; one that cannot (the log no longer holds what it
missed) is rebuilt from the store and the log, and its sockets are told to reconnect, which
makes them join again with `since` and receive the whole state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from storage import DEFAULT_COLOR, Event

from . import state as live
from .inbound import idempotency_key
from .logs import Sparse
from .persistence import Persistence, Restored
from .rooms import Arrival, StageRoom
from .stagelog import LogUnavailable, Position, StageLog, fresh_epoch

log = logging.getLogger("hub.replica")
sparse = Sparse(log)  # an outage would otherwise log every retry of every stage

JUMP = 100_000_000
"""How far past the highest stored seq a shared log starts a stage it holds nothing of (its data
was lost, or the site just moved onto it): further than any process can have numbered but not yet
stored, so no seq is ever given twice. The stage starts a new epoch there."""

LOAD_WAIT = 5.0
"""How long a load waits for the store to catch up with the log (another process's batch, a
sweep's snapshot) before the join gets `unavailable`."""


class Host(Protocol):
    """What a replica needs of its node."""

    log: StageLog
    persistence: Persistence
    limits: live.Limits

    def broadcast(self, room: StageRoom, event: Event, wire: dict[str, Any]) -> None: ...

    def new_history(self, room: StageRoom) -> None: ...

    def reconnect(self, room: StageRoom) -> None: ...


class Replica:
    """Follows one stage's log for its room (see the module docstring)."""

    def __init__(self, host: Host, room: StageRoom) -> None:
        self.host = host
        self.room = room
        self._task: asyncio.Task[None] | None = None

    # following

    async def load(self) -> None:
        """Follow the stage, then bring the room up to the log from the store (LogUnavailable
        when the log cannot be reached or the store stays behind it)."""
        room = self.room
        room.pending = []
        await self.host.log.follow(room.stage_id, self.arrived, self.restarted, self.resumed)
        try:
            await self._from_store()
            self._catch_up()
        except BaseException:
            await self.close()
            raise

    def stop(self) -> None:
        """Stop catching up (the node is closing)."""
        if self._task is not None:
            self._task.cancel()

    async def close(self) -> None:
        self.stop()
        with contextlib.suppress(LogUnavailable):  # a closed connection follows nothing
            await self.host.log.unfollow(self.room.stage_id)

    async def synced(self, timeout: float = LOAD_WAIT) -> None:
        """Wait while the replica catches up (LogUnavailable past `timeout`)."""
        if self.room.pending is not None:
            try:
                async with asyncio.timeout(timeout):
                    await self.room.caught_up.wait()
            except TimeoutError:
                raise LogUnavailable("the stage is catching up with its log") from None

    def arrived(self, event: Event, epoch: str) -> None:
        """The log's callback for each appended event."""
        room = self.room
        if room.pending is not None:
            room.pending.append((event, epoch))
        elif epoch == room.epoch and event.seq <= room.delivered_seq:
            return  # folded already (a catch-up read had it)
        elif epoch == room.epoch and event.seq == room.delivered_seq + 1:
            self.fold(event)
        else:
            self._resync((event, epoch))

    def restarted(self, position: Position) -> None:
        """The log's callback when the stage begins a new epoch (a sweep)."""
        room = self.room
        if room.pending is not None:
            room.pending.append((position.seq, position.epoch))
        elif position.epoch == room.epoch:
            return
        elif position.seq == room.delivered_seq:
            self.begin(position)
        else:
            self._resync((position.seq, position.epoch))

    def resumed(self) -> None:
        """The log's callback when its subscription came back after a break: read what was
        appended meanwhile (nothing else would tell: no later event may come)."""
        if self.room.pending is None:
            self._resync(None)

    # folding

    def fold(self, event: Event, quiet: bool = False) -> None:
        """Apply the next event to the state, snapshot now and then, and write it to the sockets."""
        room, wire = self.room, event.wire()
        prepared, room.prepared = room.prepared, None
        if prepared is not None and prepared.leads(room.state, event):
            room.state, room.size = prepared.state, prepared.size  # measured when it was accepted here
        else:
            try:
                room.state = live.apply(room.state, wire, self.host.limits)
                room.size = room.meter.measure(room.state).total
            except Exception:  # reducers never raise by design; if one does, the show goes on
                log.exception("reducer failed", extra={"stage_id": room.stage_id, "seq": event.seq})
        room.delivered_seq = event.seq
        self.host.persistence.observe(room.stage_id, room.epoch, event.seq, room.state, event.at)
        if not quiet:
            self.host.broadcast(room, event, wire)

    def begin(self, position: Position, blank: bool = True) -> None:
        """A new epoch after `position.seq`: a blank stage after a sweep, or (a reseeded log) the
        same state under a new epoch; the sockets are told either way."""
        room = self.room
        room.epoch, room.delivered_seq, room.epoch_start = position.epoch, position.seq, position.seq
        if blank:
            room.state = live.empty_state(room.default_color or DEFAULT_COLOR)
            room.size = room.meter.measure(room.state).total
        self.host.persistence.snapshot(room.stage_id, room.epoch, room.delivered_seq, room.state)
        self.host.new_history(room)

    async def reseed(self) -> None:
        """The log lost the stage (Redis restarted empty): start it again JUMP past anything
        numbered, in a new epoch, from this replica's state. Another process may do it first."""
        room = self.room
        await self.synced()
        try:
            stored = await self.host.persistence.store.archive.last_seq(room.stage_id)
        except Exception as exc:  # without the store's last seq no seed is safe
            raise LogUnavailable(f"cannot reseed stage {room.stage_id}: {exc!r}") from exc
        seed = Position(fresh_epoch(), max(room.delivered_seq, stored) + JUMP)
        if await self.host.log.seed(room.stage_id, seed, []) == seed:
            log.warning("stage log lost a stage: reseeded", extra={"stage_id": room.stage_id, "seq": seed.seq})
            self.begin(seed, blank=False)

    # catching up

    def _resync(self, arrival: Arrival | None) -> None:
        self.room.pending = [] if arrival is None else [arrival]
        self.room.caught_up.clear()
        self._task = asyncio.create_task(self._resync_until_whole(), name=f"resync-stage-{self.room.stage_id}")

    async def _resync_until_whole(self) -> None:
        room, delay = self.room, 0.05
        while room.pending is not None:
            try:
                events = await self.host.log.read(room.stage_id, Position(room.epoch, room.delivered_seq))
                if events is None:
                    log.warning("stage replica lost continuity: rebuilt", extra={"stage_id": room.stage_id})
                    self.host.reconnect(room)  # its sockets cannot be made whole: they join again
                    await self._from_store()
                else:
                    for event in events:
                        self.fold(event)
                self._catch_up()
                delay = 0.05
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the log or the store is down: keep trying, joins wait
                sparse.warning("catch-up", "stage replica cannot catch up yet", stage_id=room.stage_id, error=repr(exc))
                await asyncio.sleep(delay)
                delay = min(2 * delay, 2.0)

    def _catch_up(self) -> None:
        """Fold what arrived while loading or reading; stop at a gap (the caller reads again)."""
        room = self.room
        pending = room.pending or []
        while pending:
            item, epoch = pending[0]
            if isinstance(item, int):  # a new epoch begins after seq `item`
                if epoch != room.epoch:
                    if item != room.delivered_seq:
                        return
                    self.begin(Position(epoch, item))
            elif epoch != room.epoch or item.seq > room.delivered_seq + 1:
                return
            elif item.seq == room.delivered_seq + 1:
                self.fold(item)
            pending.pop(0)
        room.pending = None
        room.caught_up.set()

    async def _from_store(self) -> None:
        """Set the room from the store, then fold what the log holds past it; seed the log when it
        holds nothing of the stage. The store may lag the log (another process's batch not written
        yet): retry for LOAD_WAIT seconds, then raise LogUnavailable."""
        host, room = self.host, self.room
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LOAD_WAIT
        while True:
            # A shared log: only what the store holds without a hole; the log fills in the rest.
            # Late in the wait, a hole may be an event lost for good: take what is stored.
            contiguous = host.log.shared and loop.time() < deadline - LOAD_WAIT / 2
            restored = await host.persistence.restore(room.stage_id, room.default_color, contiguous)
            position = await host.log.position(room.stage_id)
            if position is None:
                position = await self._seed(restored)
            if position.epoch == restored.epoch and position.seq >= restored.seq:
                events = await host.log.read(room.stage_id, Position(restored.epoch, restored.seq))
                if events is not None:
                    self._set(restored.epoch, restored.seq, restored.state)
                    for event in events:
                        self.fold(event, quiet=True)
                    return
            if loop.time() >= deadline:
                raise LogUnavailable(f"the store is behind the stage log for stage {room.stage_id}")
            await asyncio.sleep(0.1)

    async def _seed(self, restored: Restored) -> Position:
        """Start the log at the stored position (a log only this process uses) or JUMP past it
        in a new epoch (a shared log), snapshotting the state there so other processes load it."""
        host, room = self.host, self.room
        if host.log.shared:
            seed = Position(fresh_epoch(), restored.stored + JUMP)
            recent: list[Event] = []
        else:
            seed = Position(host.persistence.seed_epoch(restored), restored.seq)
            recent = restored.recent
        keys = {e.seq: key for e in recent if (key := idempotency_key(e.sender)) is not None}
        position = await host.log.seed(room.stage_id, seed, recent, keys)
        if position == seed:
            host.persistence.snapshot(room.stage_id, seed.epoch, seed.seq, restored.state)
            if seed.epoch != restored.epoch:  # a new epoch begins here (after a crash, in a new log)
                room.epoch_start = seed.seq
            restored.epoch, restored.seq = seed.epoch, seed.seq  # the state is the stage's at the seed
        return position

    def _set(self, epoch: str, seq: int, state: dict[str, Any]) -> None:
        room = self.room
        room.epoch, room.delivered_seq, room.state = epoch, seq, state
        room.size = room.meter.measure(state).total
