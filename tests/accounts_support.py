"""Helpers for the account self-service tests: a hub that mails to a test SMTP server, JSON
posts to `/api/*`, and the links found in received mail."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from tests.conftest import Hub
from tests.mailbox import Mailbox, Received

LINK = re.compile(r"https?://\S+")


async def post(hub: Hub, path: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """POST JSON to the hub; (status, JSON answer)."""
    async with aiohttp.ClientSession() as http, http.post(hub.url + path, json=body, headers=headers) as r:
        return r.status, await r.json()


def link_in(mail: Received, contains: str) -> str:
    """The first link in the mail's text containing `contains`."""
    found = [link for link in LINK.findall(mail.part("plain")) if contains in link]
    assert found, mail.part("plain")
    return found[0]


def token_in(mail: Received) -> str:
    return link_in(mail, "/reset#token=").split("#token=", 1)[1]


@pytest.fixture
async def mail_hub(make_hub: Callable[..., Awaitable[Hub]], mailbox: Mailbox) -> AsyncIterator[Hub]:
    """A hub sending its mail to the test SMTP server, with an admin (`boss`, admin@example.org)."""
    mailbox.start()
    hub = await make_hub(smtp_url=mailbox.url(), public_url="http://upstage.test", mail_retry_min=0.05)
    admin = await hub.user("boss", "admin")
    await hub.store.set_profile(admin, email="admin@example.org")
    yield hub
