"""Forgotten passwords: the mailed link works once, ends every session, and nothing tells who
exists; expired, reused and orphaned links are refused by name; SMTP down delays only the mail."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from client import login
from hub.graphql import SERVICES
from hub.password_reset import token_hash
from tests.accounts_support import link_in, mail_hub, post, token_in
from tests.conftest import PASSWORD, Hub
from tests.gql import eventually, gql
from tests.mailbox import Mailbox, mailbox

__all__ = ["mail_hub", "mailbox"]  # fixtures used by name
NEW = "a-brand-new-secret"


async def forgot(hub: Hub, who: str) -> tuple[int, dict[str, Any]]:
    return await post(hub, "/api/password/forgot", {"login": who})


async def test_reset_by_mailed_link_ends_every_session(mail_hub: Hub, mailbox: Mailbox) -> None:
    uid = await mail_hub.user("ada")
    await mail_hub.store.set_profile(uid, email="Ada@Example.org")
    before = await login(mail_hub.url, "ada", PASSWORD)
    socket = await mail_hub.connect("ada")
    status, _ = await forgot(mail_hub, "ada@example.org")
    assert status == 202
    (mail,) = await mailbox.wait(1)
    assert mail.recipients == ["ada@example.org"] and "Reset" in mail.message["Subject"]
    assert link_in(mail, "/reset").startswith("http://upstage.test/reset#token=")
    status, body = await post(mail_hub, "/api/password/reset", {"token": token_in(mail), "password": NEW})
    assert status == 200 and body["username"] == "ada", body
    await eventually(lambda: asyncio.sleep(0, not socket.sio.connected))  # its sockets are closed
    assert (await login(mail_hub.url, "ada", NEW))["ok"]
    status, refreshed = await post(mail_hub, "/api/refresh", {"refresh_token": before["refresh_token"]})
    assert status == 401, refreshed
    headers = {"Authorization": f"Bearer {before['access_token']}"}
    status, answer = await post(mail_hub, "/graphql", {"query": "{ whoami { username } }"}, headers)
    assert "password change" in str(answer), answer
    status, again = await post(mail_hub, "/api/password/reset", {"token": token_in(mail), "password": NEW + "2"})
    assert status == 400 and "already used" in again["error"]["message"] and again["error"]["field"] == "token"


async def test_expired_unknown_and_orphaned_links_are_refused_by_name(mail_hub: Hub) -> None:
    uid = await mail_hub.user("bob")
    now = int(time.time())
    await mail_hub.store.create_reset(token_hash("expired-token"), uid, now - 1, now)
    await mail_hub.store.create_reset(token_hash("orphan-token"), uid, now + 600, now)
    cases = {"expired-token": "expired", "no-such-token": "not valid"}
    for token, says in cases.items():
        status, body = await post(mail_hub, "/api/password/reset", {"token": token, "password": NEW})
        assert status == 400 and says in body["error"]["message"], body
    await mail_hub.store.delete_user(uid, None)
    status, body = await post(mail_hub, "/api/password/reset", {"token": "orphan-token", "password": NEW})
    assert status == 400 and "no longer exists" in body["error"]["message"], body
    status, body = await post(mail_hub, "/api/password/reset", {"token": ["x"], "password": NEW})
    assert status == 400 and body["error"]["field"] == "token"


async def test_a_weak_new_password_keeps_the_link(mail_hub: Hub) -> None:
    uid = await mail_hub.user("cyd")
    now = int(time.time())
    await mail_hub.store.create_reset(token_hash("t" * 40), uid, now + 600, now)
    status, body = await post(mail_hub, "/api/password/reset", {"token": "t" * 40, "password": "cyd-cyd-cyd"})
    assert status == 400 and body["error"]["field"] == "password", body
    status, body = await post(mail_hub, "/api/password/reset", {"token": "t" * 40, "password": NEW})
    assert status == 200, body


async def test_unknown_and_known_logins_get_the_same_answer(mail_hub: Hub, mailbox: Mailbox) -> None:
    uid = await mail_hub.user("dee")
    await mail_hub.store.set_profile(uid, email="dee@example.org")
    answers = [await forgot(mail_hub, who) for who in ("dee", "nobody", "dee@example.org", "no@example.org")]
    assert all(answer == answers[0] for answer in answers), answers
    assert answers[0][0] == 202
    await mailbox.wait(2)
    await mail_hub.server.app[SERVICES].self_service.resets.drain()
    await asyncio.sleep(0.2)  # nothing more arrives for the unknown ones
    assert sorted(m.recipients[0] for m in mailbox.received) == ["dee@example.org", "dee@example.org"]


async def test_requests_are_limited_per_login_and_per_address(mail_hub: Hub) -> None:
    for _ in range(5):
        assert (await forgot(mail_hub, "eve"))[0] == 202
    status, body = await forgot(mail_hub, "EVE")
    assert status == 429 and body["error"]["code"] == "rate_limited", body
    status, _ = await forgot(mail_hub, "someone-else")  # the address has its own bucket of 5, spent too
    assert status == 429


async def test_smtp_down_the_request_succeeds_and_the_mail_comes_later(
    make_hub: Callable[..., Awaitable[Hub]],
) -> None:
    box = Mailbox()  # its port is chosen, nothing listens there yet
    hub = await make_hub(smtp_url=box.url(), public_url="http://upstage.test", mail_retry_min=0.1, mail_retry_max=0.2)
    uid = await hub.user("fay")
    await hub.store.set_profile(uid, email="fay@example.org")
    status, _ = await forgot(hub, "fay")
    assert status == 202
    box.start()
    try:
        (mail,) = await box.wait(1)
        assert mail.recipients == ["fay@example.org"] and token_in(mail)
    finally:
        box.stop()


@pytest.mark.parametrize("name", ["bob\r\nBcc: x@evil.org", "bob\n", "bob\rBcc"])
async def test_names_that_would_inject_headers_are_refused(mail_hub: Hub, name: str) -> None:
    await mail_hub.store.archive.set_meta("site.selfSignup", "on")
    status, body = await post(mail_hub, "/api/signup", {"username": name, "email": "x@example.org", "password": NEW})
    assert status == 400 and body["error"]["field"] == "username", body
    register = "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { id } }"
    result = await gql(mail_hub, register, {"u": name, "p": NEW})
    assert result["errors"][0]["extensions"]["field"] == "username", result
    await mail_hub.user("gil")
    query = "mutation($d: String) { updateProfile(displayName: $d) { displayName } }"
    result = await gql(mail_hub, query, {"d": name.replace("bob", "Gil") + " the Bold"}, user="gil")
    assert result["errors"][0]["extensions"]["field"] == "displayName", result
