"""Helpers for the fault tests (tests/test_faults_*.py): clients that keep going on their own
through faults, performers that publish with ids and retry, and the checks of what reached whom.

`Member` is our Python client made to behave like the web page: python-socketio's own
reconnection brings the connection back, the session is resumed with its `resume` secret and the
stage joined again with `since`. Everything it received is kept as `Segment`s: a join ack that
carried a state starts a new segment (the client dropped what it had, as the page does on a
full state); a recovering join continues the current one with the ack's `events`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import socketio

from hub.state import apply

PUBLISH_TIMEOUT = 120.0  # an ack may wait out a whole database outage: it means stored


@dataclasses.dataclass
class Segment:
    """One continuous history a client holds: the state of a non-recovering join and what followed."""

    epoch: str
    seq: int  # the position the state stands at
    state: dict[str, Any]
    events: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def view(self) -> dict[str, Any]:
        """The stage as this client shows it: the state with every later event applied."""
        state = self.state
        for event in self.events:
            state = apply(state, event)
        return state

    def seqs(self) -> list[int]:
        return [e["seq"] for e in self.events]


def check_segment(segment: Segment, who: str) -> None:
    """Within one history, every event arrives once, in seq order, with no gap (no private chat here)."""
    seqs = segment.seqs()
    assert seqs == list(range(segment.seq + 1, segment.seq + 1 + len(seqs))), f"{who}: seqs {seqs[:5]}... {seqs[-5:]}"


def segments_of(entries: list[tuple[str, Any]]) -> list[Segment]:
    """Segments from a client's log of ("joined", ack) and ("event", event), in arrival order."""
    segments: list[Segment] = []
    for kind, data in entries:
        if kind == "joined":
            if not data.get("ok"):
                continue
            if data.get("recovered"):
                assert segments and segments[-1].epoch == data["epoch"], "recovered into an unknown history"
                segments[-1].events.extend(data["events"])
            else:
                segments.append(Segment(data["epoch"], data["seq"], data["state"]))
        elif kind == "event":
            assert segments, "an event before any join"
            segments[-1].events.append(data)
    return segments


class Member:
    """A client of one stage that reconnects and rejoins by itself; see the module docstring."""

    def __init__(self, url: str, stage: str, token: str | None = None, name: str = "member") -> None:
        self.url = url
        self.stage = stage
        self.token = token
        self.name = name
        self.session: str | None = None
        self.resume: str | None = None
        self.epoch: str | None = None
        self.seq = 0
        self.log: list[tuple[str, Any]] = []
        self.arrivals: dict[str, float] = {}  # publish id -> monotonic time its event arrived
        self.joined = asyncio.Event()  # set while connected and on the stage
        self.disconnects = 0
        self.rejoins: list[dict[str, Any]] = []  # the acks of every join after the first
        self.retried: list[str] = []  # publish ids sent again (no ack came, or `unavailable`)
        self._connected_once = False
        self._join_task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self.sio = socketio.AsyncClient(
            reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1.0, randomization_factor=0.2
        )
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("event", self._on_event)
        self.sio.on("epoch", self._on_epoch)

    def _auth(self) -> dict[str, Any]:
        auth: dict[str, Any] = {}
        if self.token:
            auth["token"] = self.token
        if self.session and self.resume:
            auth["session"], auth["resume"] = self.session, self.resume
        return auth

    async def open(self) -> Member:
        await self.sio.connect(self.url, auth=self._auth, transports=["websocket"], wait_timeout=10)
        async with asyncio.timeout(10):
            await self.joined.wait()
        return self

    async def close(self) -> None:
        self.sio.reconnection = False
        if self._join_task is not None:
            self._join_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._join_task
        await self.sio.disconnect()

    async def _on_connect(self) -> None:
        self._lost = asyncio.Event()
        self._join_task = asyncio.create_task(self._join())

    async def _join(self) -> None:
        """Join, with `since` once there is a position; retried while the hub is not ready. (The
        connection ending cancels it: the next connection joins again.)"""
        while True:
            data: dict[str, Any] = {"stage": self.stage}
            if self.epoch is not None:
                data["since"] = {"epoch": self.epoch, "seq": self.seq}
            at = len(self.log)  # the socket gets no stage event before its join is answered
            try:
                ack = await self.sio.call("join", data, timeout=10)
            except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
                await asyncio.sleep(0.2)
                continue
            if not ack.get("ok"):
                await asyncio.sleep(0.2)
                continue
            self.log.insert(at, ("joined", ack))
            if self._connected_once:
                self.rejoins.append(ack)
            self._connected_once = True
            self.session, self.resume, self.epoch = ack["session"], ack["resume"], ack["epoch"]
            self.seq = max([ack["seq"], *(e["seq"] for e in ack.get("events", []))])
            for event in ack.get("events", []):
                self._arrived(event)
            later = [d["seq"] for k, d in self.log[at + 1 :] if k == "event"]
            if later:
                self.seq = max(self.seq, *later)
            self.joined.set()
            return

    async def _on_disconnect(self, *_: Any) -> None:
        self.disconnects += 1
        self.joined.clear()
        if self._join_task is not None:
            self._join_task.cancel()
        self._lost.set()

    async def _on_event(self, event: dict[str, Any]) -> None:
        self.log.append(("event", event))
        self.seq = max(self.seq, event["seq"])
        self._arrived(event)

    async def _on_epoch(self, data: dict[str, Any]) -> None:
        raise AssertionError(f"{self.name}: no sweep happens in these tests ({data})")

    def _arrived(self, event: dict[str, Any]) -> None:
        pid = event.get("from", {}).get("publishId")
        if pid is not None:
            self.arrivals.setdefault(pid, time.monotonic())

    def segments(self) -> list[Segment]:
        return segments_of(self.log)

    async def publish(self, topic: str, payload: Any, pid: str, retry_unavailable: bool) -> dict[str, Any]:
        """Publish with id `pid` until an answer: a lost connection, a missing ack or (when asked)
        `unavailable` is retried with the same id, as a client that did not see its ack does."""
        attempt = 0
        while True:
            await self.joined.wait()
            if attempt:
                self.retried.append(pid)
            attempt += 1
            lost = self._lost
            call = asyncio.ensure_future(
                self.sio.call("publish", {"topic": topic, "payload": payload, "id": pid}, timeout=PUBLISH_TIMEOUT)
            )
            gone = asyncio.ensure_future(lost.wait())
            await asyncio.wait({call, gone}, return_when=asyncio.FIRST_COMPLETED)
            gone.cancel()
            if not call.done():
                call.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await call
                continue
            try:
                ack: dict[str, Any] = call.result()
            except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
                continue
            code = None if ack.get("ok") else ack["error"]["code"]
            if code == "not_joined" or (code == "unavailable" and retry_unavailable):
                await asyncio.sleep(0.1)
                continue
            return ack


@dataclasses.dataclass
class Outcome:
    """What one publish got: its ack (or refusal) and when."""

    pid: str
    ack: dict[str, Any]
    sent: float
    answered: float


class Show:
    """Performers publishing chat lines with ids at a steady rate, each line in its own task (an
    ack may take long: it means stored), until `stop()`; every answer is kept in `outcomes`."""

    def __init__(self, performers: list[Member], rate: float, retry_unavailable: bool) -> None:
        self.performers = performers
        self.rate = rate  # publishes per second per performer
        self.retry_unavailable = retry_unavailable
        self.outcomes: list[Outcome] = []
        self._stop = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._inflight: set[asyncio.Task[None]] = set()

    def start(self) -> Show:
        self._loops = [asyncio.create_task(self._run(p)) for p in self.performers]
        return self

    async def _run(self, performer: Member) -> None:
        n = 0
        while not self._stop.is_set():
            pid = f"{performer.name}-{n}"
            task = asyncio.create_task(self._one(performer, pid))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
            n += 1
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1 / self.rate):
                    await self._stop.wait()

    async def _one(self, performer: Member, pid: str) -> None:
        sent = time.monotonic()
        ack = await performer.publish("chat", {"message": pid}, pid, self.retry_unavailable)
        self.outcomes.append(Outcome(pid, ack, sent, time.monotonic()))

    async def stop(self, timeout: float = 90.0) -> None:
        """Stop publishing and wait for every publish's answer."""
        self._stop.set()
        await asyncio.gather(*self._loops)
        if self._inflight:
            async with asyncio.timeout(timeout):
                await asyncio.gather(*self._inflight)

    def acked(self) -> dict[str, int]:
        """publish id -> seq of every publish that got `ok: true`."""
        return {o.pid: o.ack["seq"] for o in self.outcomes if o.ack.get("ok")}

    def refused(self) -> Counter[str]:
        return Counter(o.ack["error"]["code"] for o in self.outcomes if not o.ack.get("ok"))


async def wait_until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def published_ids(events: list[dict[str, Any]]) -> list[str]:
    return [e["from"]["publishId"] for e in events if "publishId" in e.get("from", {})]
