"""The demo stage `demo` and its player, created on an empty database so a fresh hub is usable."""

from __future__ import annotations

import secrets

from storage import Store

from .auth import hash_password

DEMO_USER = "demo"
DEMO_STAGE = "demo"


async def seed_demo(store: Store, password: str = "") -> str | None:
    """Create the demo player and stage when there are no users yet; returns the password used."""
    if await store.count_users() > 0:
        return None
    password = password or secrets.token_urlsafe(12)
    user = await store.create_user(DEMO_USER, hash_password(password), "player")
    await store.create_stage(DEMO_STAGE, "Demo stage", user.id)
    return password
