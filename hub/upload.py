"""Media upload (`POST /api/media`, multipart, bearer token) and serving (`GET /media/<name>`).

The file is streamed to `var/media/tmp` while its bytes are counted against the uploader's
limit (per file) and quota (all their media together) and hashed; its type is read from the
content, never the name. Only then is it renamed to its content-derived name and recorded; a
refused upload leaves nothing on disk. A user uploads one file at a time, so that two uploads
cannot both fit the quota that only one of them fits.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from aiohttp import BodyPartReader, web

from storage import Media, Store
from storage.files import private_dir

from .auth import AuthError
from .graphql import SERVICES, caller
from .graphql.context import Context
from .media_files import (
    DEFAULT_TYPE,
    FILE_NAME,
    SNIFF_BYTES,
    TYPES_OF_KIND,
    MediaFileError,
    StoredFile,
    extension_and_kind,
    keep,
    mime_of,
    sniff,
)  # fmt: skip
from .ratelimit import KeyedCounter

CHUNK = 64 * 1024
MAX_FIELD = 1024
IMMUTABLE = "public, max-age=31536000, immutable"
IDLE_TIMEOUT = 30.0  # seconds an upload may send nothing before it is dropped (slow clients)
MEDIA_ID = re.compile(r"^[0-9]{1,18}$")
MAX_FRAMES = 32  # frames of one multi-frame item: an animation, not a film (docs/studio.md)
FRAME_TYPES = ("avatar", "prop", "backdrop", "curtain")  # what may have frames (images all)
T = TypeVar("T")
UPLOADS = web.AppKey("uploads_in_flight", KeyedCounter)  # per user id


class UploadError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


async def _soon(step: Awaitable[T]) -> T:
    """One read of the request body, refused when the client sends nothing for IDLE_TIMEOUT."""
    try:
        async with asyncio.timeout(IDLE_TIMEOUT):
            return await step
    except TimeoutError as exc:
        raise UploadError(408, "timeout", f"The upload sent nothing for {IDLE_TIMEOUT:g} seconds.") from exc


def refused(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": {"code": code, "message": message}}, status=status)


async def upload(request: web.Request) -> web.Response:
    ctx = Context(request.app[SERVICES], None)
    try:
        ctx.user = await caller(ctx.services, request.headers.get("Authorization", ""))
    except AuthError as exc:
        return refused(401, "unauthorized", f"Log in to upload media ({exc}).")
    if ctx.user is None:
        return refused(401, "unauthorized", "Log in to upload media.")
    in_flight = request.app[UPLOADS]
    if not in_flight.acquire(str(ctx.user.id)):
        busy = refused(429, "rate_limited", "Another upload of yours is still running: send one file at a time.")
        busy.headers["Retry-After"] = "1"
        return busy
    media_dir = ctx.services.settings.media_dir
    temporary = media_dir / "tmp" / f"{uuid.uuid4().hex}.part"
    try:
        limit = await room_for(ctx)
        fields, received = await receive(request, temporary, limit)
        plan = await check(ctx, fields, received)
        media = await record(ctx.store, ctx.user.id, plan, keep(media_dir, temporary, *received))
    except UploadError as exc:
        return refused(exc.status, exc.code, exc.message)
    finally:
        temporary.unlink(missing_ok=True)
        in_flight.release(str(ctx.user.id))
    return web.json_response({"ok": True, "media": media.public()}, status=201)


@dataclass(frozen=True)
class Room:
    """How many bytes this upload may have, and what to say when it has more."""

    bytes: int
    refusal: str


def human_size(size: int) -> str:
    """A size for people: bytes below 1 MiB, else MiB."""
    return f"{size} bytes" if size < 1024 * 1024 else f"{size / (1024 * 1024):.1f} MiB"


async def room_for(ctx: Context) -> Room:
    """The smaller of the user's limit per file and what is left of their quota (HUB_UPLOAD_QUOTA);
    413 at once when the quota is used up."""
    assert ctx.user is not None
    per_file = ctx.upload_limit(ctx.user)
    quota = ctx.services.settings.upload_quota
    used = await ctx.store.media_bytes(ctx.user.id)
    if quota - used < per_file:
        if used >= quota:
            raise UploadError(
                413, "too_large",
                f"Your media use {human_size(used)} of your {human_size(quota)} quota: delete some to upload more.",
            )  # fmt: skip
        left = quota - used
        return Room(left, f"The file is larger than the {human_size(left)} left of your {human_size(quota)} quota.")
    return Room(per_file, f"The file is larger than your upload limit of {per_file} bytes.")


async def receive(request: web.Request, temporary: Path, limit: Room) -> tuple[dict[str, str], tuple[str, str, int]]:
    """Read the form: small text fields, and exactly one file streamed to `temporary`; returns the
    fields and the file's (sha256, mime, size)."""
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError, KeyError) as exc:
        raise UploadError(400, "bad_request", "Send the file as multipart/form-data.") from exc
    fields: dict[str, str] = {}
    received: tuple[str, str, int] | None = None
    while (part := await _soon(reader.next())) is not None:
        if not isinstance(part, BodyPartReader):
            raise UploadError(400, "bad_request", "Nested multipart is not accepted.")
        if part.name == "file":
            if received is not None:
                raise UploadError(400, "bad_request", "Send exactly one file per upload.")
            fields["filename"] = part.filename or ""
            received = await stream(part, temporary, limit)
        elif part.name in ("type", "name", "frameOf"):
            fields[part.name] = await text_field(part)
    if received is None:
        raise UploadError(400, "bad_request", "The form has no file field.")
    return fields, received


async def text_field(part: BodyPartReader) -> str:
    """A small form field, read in chunks so that an endless one is refused, not buffered."""
    value = b""
    while chunk := await _soon(part.read_chunk(MAX_FIELD)):
        value += chunk
        if len(value) > MAX_FIELD:
            raise UploadError(400, "bad_request", f"The field {part.name} is too long.")
    return value.decode("utf-8", "replace").strip()


async def stream(part: BodyPartReader, temporary: Path, limit: Room) -> tuple[str, str, int]:
    """Write the file part to disk, stopping past `limit` bytes; its type is sniffed from the head."""
    private_dir(temporary.parent)
    digest, size, head = hashlib.sha256(), 0, b""
    with temporary.open("wb") as out:
        while chunk := await _soon(part.read_chunk(CHUNK)):
            size += len(chunk)
            if size > limit.bytes:
                raise UploadError(413, "too_large", limit.refusal)
            if len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        raise UploadError(400, "bad_request", "The file is empty.")
    try:
        return digest.hexdigest(), sniff(head), size
    except MediaFileError as exc:
        raise UploadError(415, exc.code, exc.message) from exc


async def check(ctx: Context, fields: dict[str, str], received: tuple[str, str, int]) -> Media | tuple[str, str]:
    """What to record: the media to add a frame to, or a new item's (type, name)."""
    kind = extension_and_kind(received[1])[1]
    if fields.get("frameOf"):
        media = await ctx.store.get_media(int(fields["frameOf"])) if MEDIA_ID.match(fields["frameOf"]) else None
        if media is None:
            raise UploadError(400, "bad_request", "There is no media to add this frame to.")
        if ctx.user is None or (media.owner_id != ctx.user.id and not ctx.is_admin):
            raise UploadError(403, "forbidden", "Only the media's owner or an admin may add frames to it.")
        if kind != "image" or not media.mime.startswith("image/") or media.type not in FRAME_TYPES:
            raise UploadError(400, "bad_request", "Only images can be frames, of an avatar, prop, backdrop or curtain.")
        if len(media.frames) >= MAX_FRAMES:
            most = f"{media.name} has {len(media.frames)} frames, the most an item may have."
            raise UploadError(400, "bad_request", most)
        return media
    media_type = fields.get("type") or DEFAULT_TYPE[kind]
    if media_type not in TYPES_OF_KIND[kind]:
        raise UploadError(400, "bad_request", f"A file with {kind} content cannot be a {media_type}.")
    return media_type, (fields.get("name") or Path(fields.get("filename") or "").stem or "Untitled")[:200]


async def record(store: Store, owner_id: int, plan: Media | tuple[str, str], stored: StoredFile) -> Media:
    if isinstance(plan, Media):
        return await store.add_frame(plan.id, stored.name, stored.size)
    media_type, name = plan
    return await store.create_media(owner_id, name, media_type, stored.mime, stored.size, [stored.name])


async def serve_media(request: web.Request) -> web.StreamResponse:
    """A stored file; names are content-derived, so it never changes and is cached for a year."""
    name = request.match_info["name"]
    path = request.app[SERVICES].settings.media_dir / name
    if not FILE_NAME.match(name) or not path.is_file():
        raise web.HTTPNotFound(text="no such media file")
    headers = {
        "Cache-Control": IMMUTABLE,
        "X-Content-Type-Options": "nosniff",
        "Content-Type": mime_of(name) or "application/octet-stream",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    }
    return web.FileResponse(path, headers=headers)


def setup_upload(app: web.Application) -> None:
    app[UPLOADS] = KeyedCounter(limit=1)
    app.router.add_post("/api/media", upload)
    app.router.add_get("/media/{name}", serve_media)
