"""The hub's files are its user's alone (hardening issue: `hub.db`, `var/` and `var/media` were
created world-readable, and the database holds password hashes and refresh-token families)."""

from __future__ import annotations

import stat
from collections.abc import Awaitable, Callable
from pathlib import Path

from hub.config import Settings
from storage import Store
from tests.conftest import Hub
from tests.gql import png, upload


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_fresh_hub_makes_its_var_directory_database_and_media_private(make_hub: Callable[..., Awaitable[Hub]], tmp_path: Path) -> None:
    hub = await make_hub()
    var = tmp_path / "hub0"  # make_hub's first hub
    assert mode(var) == 0o700 and mode(var / "hub.db") == 0o600
    await hub.user("helen")
    assert (await upload(hub, "helen", png(), "a.png"))[0] == 201
    assert mode(var / "media") == 0o700 and mode(var / "media" / "tmp") == 0o700
    assert all(mode(path) & 0o077 == 0 for path in var.rglob("hub.db*"))  # its journals too


async def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    path = shared / "old.db"
    path.touch()
    path.chmod(0o644)
    store = Store(f"sqlite:///{path}")
    await store.connect()
    try:
        await store.migrate()
    finally:
        await store.close()
    assert mode(path) == 0o600 and mode(shared) == 0o755  # a directory the operator made stays theirs


def test_the_secret_key_and_its_directory_are_private(tmp_path: Path) -> None:
    var = tmp_path / "deep" / "var"
    Settings.from_env({"HUB_VAR_DIR": str(var)})
    assert mode(var) == 0o700 and mode(tmp_path / "deep") == 0o700 and mode(var / "secret_key") == 0o600
