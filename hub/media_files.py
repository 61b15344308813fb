"""Media files on disk: content sniffing, content-derived names under `var/media`, and removal.

Uploads are written to `var/media/tmp` first and renamed into place only once accepted, so a
refused upload leaves nothing behind; identical content gets the same name and one file.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import filetype

from storage.files import private_dir

from .inbound import Refused

# MIME type found in the content -> (extension on disk, media kind).
ALLOWED: dict[str, tuple[str, str]] = {
    "image/png": ("png", "image"),
    "image/jpeg": ("jpg", "image"),
    "image/gif": ("gif", "image"),
    "image/webp": ("webp", "image"),
    "audio/mpeg": ("mp3", "audio"),
    "audio/ogg": ("ogg", "audio"),
    "audio/x-wav": ("wav", "audio"),
    "audio/wav": ("wav", "audio"),
    "audio/mp4": ("m4a", "audio"),
    "audio/x-m4a": ("m4a", "audio"),
    "video/mp4": ("mp4", "video"),
    "video/webm": ("webm", "video"),
    "image/svg+xml": ("svg", "image"),  # only from the hub itself (demo media), never uploaded
}
UPLOADABLE = {mime for mime in ALLOWED if mime != "image/svg+xml"}
DEFAULT_TYPE = {"image": "prop", "audio": "audio", "video": "video"}
# The media types a kind of content may be used as.
TYPES_OF_KIND = {"image": {"avatar", "prop", "backdrop", "curtain"}, "audio": {"audio"}, "video": {"video", "backdrop"}}
FILE_NAME = re.compile(r"^[0-9a-f]{32}\.[a-z0-9]{2,5}$")
SNIFF_BYTES = 8192


class MediaFileError(Refused):
    """A file the hub will not keep: `code` is `unsupported_type`."""


@dataclass(frozen=True)
class StoredFile:
    name: str  # the content-derived file name under the media directory
    mime: str
    kind: str  # image, audio or video
    size: int


def sniff(head: bytes) -> str:
    """The MIME type of an uploadable file from its first bytes; MediaFileError otherwise."""
    kind = filetype.guess(head)
    mime = kind.mime if kind is not None else None
    if mime == "video/webm" and b"V_VP" not in head and b"V_AV1" not in head:
        mime = "audio/webm"  # a WebM without a video track is audio
    if mime == "audio/webm":
        return mime
    if mime not in UPLOADABLE:
        found = f"found {mime}" if mime else "its content is not a recognised media format"
        raise MediaFileError(
            "unsupported_type",
            f"This file cannot be used as media ({found}); use PNG, JPEG, GIF, WebP, MP3, OGG, WAV, M4A, MP4 or WebM.",
        )
    return mime


def extension_and_kind(mime: str) -> tuple[str, str]:
    return ("webm", "audio") if mime == "audio/webm" else ALLOWED[mime]


def content_name(digest: str, mime: str) -> str:
    return f"{digest[:32]}.{extension_and_kind(mime)[0]}"


def keep(media_dir: Path, temporary: Path, digest: str, mime: str, size: int) -> StoredFile:
    """Move an accepted temporary file to its content-derived name (or drop it if that exists)."""
    name = content_name(digest, mime)
    target = media_dir / name
    if target.exists():
        temporary.unlink()
    else:
        os.replace(temporary, target)
    return StoredFile(name, mime, extension_and_kind(mime)[1], size)


def write_bytes(media_dir: Path, data: bytes, mime: str) -> StoredFile:
    """Store content the hub made itself (demo media) under its content-derived name."""
    private_dir(media_dir)
    name = content_name(hashlib.sha256(data).hexdigest(), mime)
    path = media_dir / name
    if not path.exists():
        path.write_bytes(data)
    return StoredFile(name, mime, extension_and_kind(mime)[1], len(data))


def remove_unused(media_dir: Path, names: Iterable[str]) -> None:
    """Delete files no media item uses any more (names come from the store, checked anyway)."""
    for name in names:
        if FILE_NAME.match(name):
            (media_dir / name).unlink(missing_ok=True)


def mime_of(name: str) -> str | None:
    """The content type a stored file is served with, from its (hub-given) extension."""
    extension = name.rsplit(".", 1)[-1]
    return next((mime for mime, (ext, _) in ALLOWED.items() if ext == extension), None)
