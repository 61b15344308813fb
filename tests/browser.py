"""Headless Chromium for end-to-end tests: Debian's `chromium` driven by playwright, no download.

`HUB_CHROMIUM` names another executable. Without a browser the tests skip, except under
`CI=true`, where a missing browser fails them; `make install-browser` installs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.conftest import missing_service

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str | None:
    explicit = os.environ.get("HUB_CHROMIUM")
    if explicit:
        return explicit
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _missing(reason: str) -> NoReturn:
    missing_service(f"{reason}; run `make install-browser` (apt-get install chromium)")


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """A Chromium browser for one test; give each simulated person their own `new_context()`."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _missing("the playwright Python package is not installed")
    executable = chromium_path()
    if executable is None:
        _missing("Chromium is not installed")
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        try:
            yield launched
        finally:
            await launched.close()


def artifact(name: str) -> Path:
    """Where a test writes a screenshot for people to look at (not committed)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
