"""The demo stage `demo`, its player, an admin and a few project-made media (SVG images and a
WAV chime), created on an empty database so that a fresh hub (`make run`) has a usable stage and admin pages."""

from __future__ import annotations

import io
import math
import secrets
import wave
from dataclasses import dataclass, field
from pathlib import Path

from storage import Media, Stage, Store, media_url

from .auth import hash_password
from .media_files import write_bytes

DEMO_USER = "demo"
DEMO_ADMIN = "admin"
DEMO_STAGE = "demo"
DEMO_DESCRIPTION = "A night sky, two figures and a star: look around, then log in as demo to perform."


@dataclass(frozen=True)
class Seeded:
    player_password: str
    admin_password: str
    stage: Stage | None = None
    media: dict[str, Media] = field(default_factory=dict)  # the demo media by name


def _svg(width: int, height: int, body: str) -> bytes:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">{body}</svg>'
    ).encode()


def _avatar(color: str) -> bytes:
    """A round figure with a face, in one colour."""
    return _svg(
        120, 160,
        f'<circle cx="60" cy="45" r="35" fill="{color}"/>'
        f'<rect x="25" y="85" width="70" height="70" rx="30" fill="{color}"/>'
        '<circle cx="48" cy="40" r="5" fill="#fff"/><circle cx="72" cy="40" r="5" fill="#fff"/>'
        '<path d="M45 58 Q60 70 75 58" stroke="#fff" stroke-width="4" fill="none"/>',
    )  # fmt: skip


def _chime(seconds: float = 1.6, rate: int = 22050) -> bytes:
    """A soft bell-like chord (A major, decaying), as a mono 16-bit WAV file."""
    frames = bytearray()
    for i in range(int(seconds * rate)):
        t = i / rate
        level = sum(math.sin(2 * math.pi * f * t) for f in (440.0, 554.37, 659.25)) / 3
        frames += int(12000 * level * math.exp(-2.5 * t)).to_bytes(2, "little", signed=True)
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(frames))
    return out.getvalue()


# (name, type, content, mime) of each demo media item, in toolbar order.
SVG = "image/svg+xml"
STAR_POINTS = "50,5 61,38 95,38 67,58 78,92 50,72 22,92 33,58 5,38 39,38"
DEMO_MEDIA: tuple[tuple[str, str, bytes, str], ...] = (
    ("Red figure", "avatar", _avatar("#d6453d"), SVG),
    ("Blue figure", "avatar", _avatar("#3d6fd6"), SVG),
    ("Star", "prop", _svg(100, 100, f'<polygon points="{STAR_POINTS}" fill="#f2c230"/>'), SVG),
    (
        "Night sky",
        "backdrop",
        _svg(
            1600, 900,
            '<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#0b1340"/>'
            '<stop offset="1" stop-color="#3a2a6b"/></linearGradient></defs>'
            '<rect width="1600" height="900" fill="url(#g)"/><circle cx="1300" cy="180" r="90" fill="#f4f1d0"/>'
            '<rect y="760" width="1600" height="140" fill="#141414"/>',
        ),  # fmt: skip
        SVG,
    ),
    ("Red curtain", "curtain", _svg(1600, 900, '<rect width="1600" height="900" fill="#8e1b1b"/>' + "".join(
        f'<rect x="{x}" width="40" height="900" fill="#6d1414"/>' for x in range(40, 1600, 120))), SVG),
    ("Chime", "audio", _chime(), "audio/x-wav"),  # the type an uploaded WAV is sniffed as
)


def _cover() -> bytes:
    """The demo stage's foyer card: its night sky with the two figures and the star, titled."""
    figure = _avatar("#d6453d").decode().split(">", 1)[1].rsplit("<", 1)[0]
    other = _avatar("#3d6fd6").decode().split(">", 1)[1].rsplit("<", 1)[0]
    return _svg(
        800, 450,
        '<rect width="800" height="450" fill="#1b1f52"/><circle cx="650" cy="90" r="45" fill="#f4f1d0"/>'
        '<rect y="380" width="800" height="70" fill="#141414"/>'
        f'<g transform="translate(200 220)">{figure}</g><g transform="translate(480 220)">{other}</g>'
        f'<g transform="translate(350 150) scale(0.8)"><polygon points="{STAR_POINTS}" fill="#f2c230"/></g>'
        '<text x="400" y="80" text-anchor="middle" font-family="sans-serif" font-size="52" fill="#fff">'
        "UpStage demo</text>",
    )  # fmt: skip


async def seed_demo(store: Store, media_dir: Path, password: str = "") -> Seeded | None:
    """Create the demo player, an admin and the demo stage with its media when there are no users
    yet; returns the passwords used (HUB_DEMO_PASSWORD for both when set, else random)."""
    if await store.count_users() > 0:
        return None
    seeded = Seeded(password or secrets.token_urlsafe(12), password or secrets.token_urlsafe(12))
    try:
        user = await store.create_user(DEMO_USER, hash_password(seeded.player_password), "player")
    except Exception:
        if await store.count_users() > 0:  # another hub process on this database seeded it meanwhile
            return None
        raise
    await store.create_user(DEMO_ADMIN, hash_password(seeded.admin_password), "admin")
    stage = await store.create_stage(DEMO_STAGE, "Demo stage", user.id)
    made: dict[str, Media] = {}
    for name, media_type, content, mime in DEMO_MEDIA:
        stored = write_bytes(media_dir, content, mime)
        made[name] = await store.create_media(user.id, name, media_type, stored.mime, stored.size, [stored.name])
    await store.assign_media(stage.id, [media.id for media in made.values()])
    cover = write_bytes(media_dir, _cover(), SVG)  # the foyer's card (issue 17): not one of the stage's media
    await store.create_media(user.id, "Demo stage cover", "backdrop", cover.mime, cover.size, [cover.name])
    stage = await store.update_stage(stage.id, {"cover": media_url(cover.name), "description": DEMO_DESCRIPTION})
    return Seeded(seeded.player_password, seeded.admin_password, stage, made)
