"""The demo stage's first impression (issue 17): on the fresh database that seeded it, the demo
stage is dressed as a stage, with a backdrop, the two figures, the star, a line of welcome and a
greeting in the chat, so that someone arriving without a performer sees a stage, not an empty box.

The dressing is real stage state: ordinary events published through `LiveStages.dress` (the
node's narrow interface for acting on live stages), stored like any performer's, so a late
joiner's join ack carries them, a restart on the same database keeps them and a sweep clears them.
"""

from __future__ import annotations

import secrets
from typing import Any

from storage import Media, media_url

from .clock import now_ms
from .demo import Seeded
from .inbound import Identity
from .live import LiveStages

Event = tuple[str, dict[str, Any]]
WELCOME = "Welcome to the UpStage demo"
GREETING = "Hello! Nobody is performing just now: say hello in the chat, or send a reaction."


def _placed(media: Media, x: float, y: float, w: float, h: float, name: str | None = None) -> dict[str, Any]:
    """A board object for `media` as the toolbox places one (stage units: fractions of the width)."""
    src = media_url(media.frames[0])
    return {
        "id": secrets.token_hex(8), "type": media.type, "name": name or media.name, "assetId": media.id, "src": src,
        "frames": [src], "multi": False, "autoplayFrames": 0, "x": x, "y": y, "w": w, "h": h, "rotate": 0,
        "opacity": 1, "scaleX": 1, "scaleY": 1, "moveSpeed": 1000, "volume": 100, "voice": None, "link": None,
        "displayName": "demo",
    }  # fmt: skip


def demo_events(media: dict[str, Media]) -> list[Event]:
    """The events that dress the demo stage (16:9: the height is 0.5625 stage units; the figures
    stand on the backdrop's ground, which begins at 0.475)."""
    sky = media["Night sky"]
    src = media_url(sky.frames[0])
    backdrop = {
        "id": sky.id, "name": sky.name, "type": "backdrop", "src": src, "frames": [], "opacity": 1, "speed": 0,
        "at": now_ms(),
    }  # fmt: skip
    welcome = {
        "id": secrets.token_hex(8), "type": "text", "name": WELCOME, "content": WELCOME, "fontSize": "40px",
        "color": "#ffffff", "fontFamily": "", "x": 0.05, "y": 0.04, "w": 0.75, "h": 0.1, "rotate": 0, "opacity": 1,
        "scaleX": 1, "scaleY": 1, "moveSpeed": 1000, "displayName": "demo",
    }  # fmt: skip
    return [
        ("background", {"type": "changeBackground", "background": backdrop}),
        ("board", {"type": "placeObjectOnStage", "object": _placed(media["Red figure"], 0.2, 0.31, 0.12, 0.16)}),
        ("board", {"type": "placeObjectOnStage", "object": _placed(media["Blue figure"], 0.62, 0.31, 0.12, 0.16)}),
        ("board", {"type": "placeObjectOnStage", "object": _placed(media["Star"], 0.44, 0.17, 0.08, 0.08)}),
        ("board", {"type": "placeObjectOnStage", "object": welcome}),
        ("chat", {"id": secrets.token_hex(8), "user": "demo", "message": GREETING, "behavior": "speak",
                  "isPlayer": True, "isPrivate": False, "at": now_ms()}),
    ]  # fmt: skip


async def dress_demo(live: LiveStages, seeded: Seeded) -> None:
    """Dress the stage `seed_demo` just made, in its owner's name (once: only a fresh database seeds)."""
    if seeded.stage is None or not seeded.media:
        return
    sender = Identity(f"user:{seeded.stage.owner_id}", "demo", "owner").sender()
    await live.dress(seeded.stage, demo_events(seeded.media), sender)
