"""What performers and managers do to a live stage, shared by the socket calls and GraphQL:
saving scenes, sweeping, recording, and editing or trimming performances.

Each takes the stage's room and the `sender` the stage will see; rights are checked by the
callers (the socket by the joined role, GraphQL by the account's rights on the stage).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from storage import DuplicateError, NothingToArchive, Performance, Scene, Store, StoreError

from . import state as live
from .clock import now_ms
from .inbound import Refused
from .node import UNAVAILABLE, Node, StageRoom
from .stagelog import LogUnavailable

MAX_NAME = 200
MAX_SCENE_NAME = 100
MAX_DESCRIPTION = 2000
ALREADY_SWEPT = "the stage is already swept: nothing to archive"
STORED_WAIT = 5.0  # how long a sweep waits for other processes' batches to reach the store
log = logging.getLogger("hub.stage_actions")


def check_name(value: Any, default: str | None = None, limit: int = MAX_NAME) -> str:
    """A trimmed name of 1-`limit` characters, or `default` when none is given."""
    if value is None and default is not None:
        return default
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise Refused("bad_request", f"name must be 1-{limit} characters")
    return value.strip()


def check_description(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) > MAX_DESCRIPTION):
        raise Refused("bad_request", f"description must be a string of at most {MAX_DESCRIPTION} characters")
    return value


def scene_now(room: StageRoom) -> dict[str, Any]:
    """The stage as a scene snapshot right now, as performers see it (faded speech dropped)."""
    return live.scene_snapshot(live.view(room.state, now_ms(), audience=False))


async def announce(
    node: Node, room: StageRoom, sender: dict[str, Any], payload: dict[str, Any], fence: str | None = None,
    topic: str = "background",
) -> int:
    """Publish a hub event (background, or the hub-only `stream`) on the stage in the sender's
    name; returns its seq once stored."""
    accepted = await node.publish(room, topic, payload, sender, fence=fence)
    await accepted.stored
    return accepted.event.seq


async def save_scene(
    node: Node, store: Store, room: StageRoom, name: Any, user_id: int | None, sender: dict[str, Any]
) -> Scene:
    """Store the stage's current state as a named scene, then tell the stage to reload its list."""
    name = check_name(name, limit=MAX_SCENE_NAME)
    if not node.scene_saves.take(str(room.stage_id)):
        raise Refused("rate_limited", "scenes are being saved too fast on this stage: wait a little")
    try:
        scene = await store.save_scene(room.stage_id, name, scene_now(room), user_id, node.options.scenes_per_stage)
    except StoreError as exc:  # a taken name, or too many scenes
        raise Refused("bad_request", str(exc)) from exc
    await node.publish(room, "background", {"type": "loadScenes"}, sender)
    return scene


async def sweep(
    node: Node, store: Store, room: StageRoom, sender: dict[str, Any], name: str
) -> tuple[Performance, str]:
    """Archive the live log as a performance; the stage starts a new epoch with a blank scene:
    every replica blanks its state and tells its sockets (the log's `restarted`)."""
    async with _held_still(node, room) as fence:
        streams = live_streams(room)
        try:
            performance = await store.archive.sweep(room.stage_id, room.slug, name)
        except NothingToArchive as exc:
            interrupted = await _interrupted_sweep(store, room)
            if interrupted is None:
                raise Refused("bad_request", ALREADY_SWEPT) from exc
            performance = interrupted  # archived, but the log never began the new epoch: finish
        epoch = node.persistence.epoch(node.persistence.new_base())
        try:
            await node.log.new_epoch(room.stage_id, epoch)
        except LogUnavailable as exc:
            raise Refused("unavailable", UNAVAILABLE) from exc
        # Still fenced: the blankScene is the new epoch's first event on every process.
        await announce(node, room, sender, {"type": "blankScene"}, fence)
        for stream in streams:  # the new epoch's state starts empty: streams still live stay so
            await announce(node, room, sender, stream, fence, topic="stream")
    return performance, epoch


def live_streams(room: StageRoom) -> list[dict[str, Any]]:
    """The stage's live streams as the `stream` events that say so."""
    streams = room.state.get("streams", {})
    return [
        {"name": name, "live": True, "url": entry["url"], "performer": entry["performer"]}
        for name, entry in streams.items()
        if entry["live"]
    ]


async def _interrupted_sweep(store: Store, room: StageRoom) -> Performance | None:
    """The performance of a sweep that archived the live log but could not begin the new epoch
    (the log went away in between): the stage has events but its live log is empty, not even a
    sweep's `blankScene`. None when the stage is simply swept already."""
    if room.delivered_seq == 0 or await store.archive.last_seq(room.stage_id) > 0:
        return None
    archived = [p for p in await store.archive.performances(room.stage_id) if p.kind == "archive"]
    return archived[0] if archived else None


@contextlib.asynccontextmanager
async def _held_still(node: Node, room: StageRoom) -> AsyncIterator[str]:
    """Hold a stage still on every process (the log's fence): its publishes are refused and
    everything published so far is stored. Yields the fence's token (its holder may publish)."""
    async with contextlib.AsyncExitStack() as stack:
        try:
            fence = await stack.enter_async_context(node.log.fence(room.stage_id))
        except LogUnavailable as exc:
            raise Refused("unavailable", "the stage is busy or its log unreachable; try again shortly") from exc
        room.busy = True
        try:
            await node.persistence.writer.flush()
            if node.log.shared:
                await _stored_up_to(node, room)
            yield fence
        finally:
            room.busy = False


async def _stored_up_to(node: Node, room: StageRoom) -> None:
    """Wait (up to STORED_WAIT) until the store holds the stage's last numbered event: other
    processes write their batches on their own time. An event whose process died never comes."""
    position = await node.log.position(room.stage_id)
    deadline = time.monotonic() + STORED_WAIT
    archive = node.persistence.store.archive
    while position is not None and await archive.last_seq(room.stage_id) < position.seq:
        if time.monotonic() >= deadline:
            log.warning("sweeping without events not stored yet", extra={"stage_id": room.stage_id})
            return
        await asyncio.sleep(0.05)


async def start_recording(
    node: Node, store: Store, room: StageRoom, sender: dict[str, Any], name: str, description: str = "",
    blank: bool = False,
) -> Performance:
    """Open a recording window; it begins with a snapshot of the stage (after blanking it if asked)."""
    running = Refused("bad_request", "a recording is already running on this stage")
    if await store.archive.open_recording(room.stage_id) is not None:
        raise running
    try:
        performance = await store.archive.start_recording(
            room.stage_id, room.slug, name, room.delivered_seq, now_ms(), description
        )
    except DuplicateError as exc:  # another start (this or another process) opened one first
        raise running from exc
    if blank:
        await announce(node, room, sender, {"type": "blankScene"})
    curtain = room.state["background"].get("curtain")
    await announce(node, room, sender, {"type": "recordingSnapshot", "snapshot": scene_now(room), "curtain": curtain})
    return performance


async def save_recording(
    node: Node, store: Store, room: StageRoom, performance: Performance, sender: dict[str, Any]
) -> Performance:
    """Close an open recording with the stage's events so far; the stage hears `recordingSaved`."""
    if not performance.recording:
        raise Refused("bad_request", "this recording is already saved")
    await node.persistence.writer.flush()
    try:
        saved = await store.archive.save_recording(performance.id, room.delivered_seq)
    except NothingToArchive as exc:
        raise Refused("bad_request", "nothing to record yet") from exc
    # tell the stage the recording ended (its start is the recordingSnapshot), after its window
    await announce(node, room, sender, {"type": "recordingSaved", "id": saved.id})
    return saved


async def trim(store: Store, performance: Performance, gap: Any, name: Any) -> Performance:
    """Copy a performance with every idle gap longer than `gap` seconds shortened to `gap`."""
    if not isinstance(gap, (int, float)) or isinstance(gap, bool) or not 0 < gap <= 86_400:
        raise Refused("bad_request", "gap must be a number of seconds between 0 and 86400")
    name = check_name(name, default=f"{performance.name} (trimmed)")
    try:
        return await store.archive.trim(performance.id, float(gap), name)
    except StoreError as exc:
        raise Refused("bad_request", str(exc)) from exc
