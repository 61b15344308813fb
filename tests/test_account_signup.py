"""Self sign-up, admin user creation (one and many) and profiles: mail at each step, inputs
refused by field, a taken email never revealed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from client import login
from client.hub_client import HubError
from tests.accounts_support import link_in, mail_hub, post, token_in
from tests.conftest import PASSWORD, Hub
from tests.gql import data, gql, refused
from tests.mailbox import Mailbox, mailbox

__all__ = ["mail_hub", "mailbox"]  # fixtures used by name
SECRET = "a-brand-new-secret"
OPEN = "mutation { updateSite(selfSignup: true) { selfSignup } }"


async def sign_up(hub: Hub, username: str, email: str, password: str = SECRET) -> tuple[int, dict[str, Any]]:
    return await post(hub, "/api/signup", {"username": username, "email": email, "password": password})


async def test_sign_up_is_closed_until_an_admin_opens_it(mail_hub: Hub) -> None:
    assert (await data(mail_hub, "{ site { selfSignup } }"))["site"]["selfSignup"] is False
    status, body = await sign_up(mail_hub, "newbie", "new@example.org")
    assert status == 403, body
    await refused(mail_hub, "unauthenticated", OPEN)
    await mail_hub.user("plain")
    await refused(mail_hub, "forbidden", OPEN, user="plain")
    assert (await data(mail_hub, OPEN, user="boss"))["updateSite"]["selfSignup"] is True


async def test_sign_up_then_activation_mails_admin_and_user(mail_hub: Hub, mailbox: Mailbox) -> None:
    await data(mail_hub, OPEN, user="boss")
    status, body = await sign_up(mail_hub, "newbie", "New@Example.org")
    assert status == 202 and body["ok"], body
    (to_admin,) = await mailbox.wait(1)
    assert to_admin.recipients == ["admin@example.org"] and "newbie" in to_admin.message["Subject"]
    assert link_in(to_admin, "/admin") == "http://upstage.test/admin"
    try:
        await login(mail_hub.url, "newbie", SECRET)
        raise AssertionError("an inactive account logged in")
    except HubError as exc:
        assert exc.code == "forbidden"
    (user,) = await mail_hub.store.list_users("newbie")
    assert not user.active and user.email == "new@example.org"
    update = "mutation($id: ID!) { updateUser(id: $id, active: true) { active } }"
    await data(mail_hub, update, {"id": str(user.id)}, user="boss")
    mails = await mailbox.wait(2)
    assert mails[1].recipients == ["new@example.org"] and "active" in mails[1].message["Subject"]
    assert (await login(mail_hub.url, "newbie", SECRET))["ok"]


async def test_a_taken_username_is_said_a_taken_email_is_not(mail_hub: Hub, mailbox: Mailbox) -> None:
    await data(mail_hub, OPEN, user="boss")
    owner = await mail_hub.user("owner")
    await mail_hub.store.set_profile(owner, email="owner@example.org")
    status, body = await sign_up(mail_hub, "OWNER", "other@example.org")
    assert status == 409 and body["error"]["field"] == "username", body
    fresh = await sign_up(mail_hub, "fresh", "fresh@example.org")
    taken = await sign_up(mail_hub, "copycat", "Owner@example.org")
    assert fresh == taken and fresh[0] == 202
    assert [u.username for u in await mail_hub.store.list_users("copycat")] == []
    mails = await mailbox.wait(2)
    warned = [m for m in mails if m.recipients == ["owner@example.org"]]
    assert warned and "copycat" in warned[0].part("plain")


async def test_sign_up_input_is_checked_by_field(mail_hub: Hub) -> None:
    await data(mail_hub, OPEN, user="boss")
    cases = [
        (("x", "a@example.org", SECRET), "username"),
        (("okname", "not-an-address", SECRET), "email"),
        (("okname", "a@example.org\r\nBcc: b@evil.org", SECRET), "email"),
        (("okname", "a@example.org", "short"), "password"),
        (("okname", "a@example.org", "okname-and-more"), "password"),
    ]
    for (username, email, password), field in cases:
        status, body = await sign_up(mail_hub, username, email, password)
        assert status == 400 and body["error"]["field"] == field, (username, email, body)


CREATE = """mutation($u: String!, $e: String, $r: String, $p: String, $l: Boolean) {
  createUser(username: $u, email: $e, role: $r, password: $p, sendResetLink: $l) { username role active email } }"""


async def test_admin_creates_users_with_a_password_or_a_mailed_link(mail_hub: Hub, mailbox: Mailbox) -> None:
    made = await data(mail_hub, CREATE, {"u": "pat", "e": "pat@example.org", "r": "admin", "p": SECRET}, user="boss")
    assert made["createUser"] == {"username": "pat", "role": "admin", "active": True, "email": "pat@example.org"}
    assert (await login(mail_hub.url, "pat", SECRET))["ok"]
    await data(mail_hub, CREATE, {"u": "quin", "e": "quin@example.org", "l": True}, user="boss")
    (mail,) = await mailbox.wait(1)
    status, _ = await post(mail_hub, "/api/password/reset", {"token": token_in(mail), "password": SECRET})
    assert status == 200 and (await login(mail_hub.url, "quin", SECRET))["ok"]
    bad: list[tuple[dict[str, Any], str]] = [
        ({"u": "r\nx", "p": SECRET}, "username"),
        ({"u": "rae", "r": "king", "p": SECRET}, "role"),
        ({"u": "rae"}, "password"),
        ({"u": "rae", "l": True}, "email"),
        ({"u": "rae", "e": "pat@example.org", "p": SECRET}, "email"),
        ({"u": "pat", "p": SECRET}, "username"),
    ]
    for variables, field in bad:
        error = (await gql(mail_hub, CREATE, variables, user="boss"))["errors"][0]
        assert error["extensions"]["field"] == field, (variables, error)
    await mail_hub.user("sly")
    await refused(mail_hub, "forbidden", CREATE, {"u": "sue", "p": SECRET}, user="sly")


async def test_admin_creates_many_from_lines(mail_hub: Hub, mailbox: Mailbox) -> None:
    lines = "ann,ann@example.org\n\nben,ben@example.org,admin\nbad line\nc,c@example.org\nann,x@example.org\n"
    query = "mutation($l: String!) { createUsers(lines: $l) { line ok field error user { username role } } }"
    results = (await data(mail_hub, query, {"l": lines}, user="boss"))["createUsers"]
    assert [(r["line"], r["ok"], r["field"]) for r in results] == [
        (1, True, None), (3, True, None), (4, False, "lines"), (5, False, "username"), (6, False, "username"),
    ]  # fmt: skip
    assert results[1]["user"] == {"username": "ben", "role": "admin"}
    mails = await mailbox.wait(2)
    assert sorted(m.recipients[0] for m in mails) == ["ann@example.org", "ben@example.org"]
    await mail_hub.user("joe")
    await refused(mail_hub, "forbidden", query, {"l": lines}, user="joe")


async def test_admin_mails_a_reset_link(mail_hub: Hub, mailbox: Mailbox) -> None:
    uid = await mail_hub.user("kim")
    query = "mutation($id: ID!) { sendPasswordReset(id: $id) }"
    error = await refused(mail_hub, "bad_request", query, {"id": str(uid)}, user="boss")
    assert "no email" in error["message"]
    await mail_hub.store.set_profile(uid, email="kim@example.org")
    assert (await data(mail_hub, query, {"id": str(uid)}, user="boss"))["sendPasswordReset"] is True
    (mail,) = await mailbox.wait(1)
    assert mail.recipients == ["kim@example.org"] and token_in(mail)
    await refused(mail_hub, "forbidden", query, {"id": str(uid)}, user="kim")


PROFILE = """mutation($d: String, $a: String, $e: String, $p: String) {
  updateProfile(displayName: $d, about: $a, email: $e, password: $p) { displayName about email } }"""


async def test_users_edit_their_profile_and_a_new_email_needs_the_password(mail_hub: Hub) -> None:
    await mail_hub.user("lu")
    done = await data(mail_hub, PROFILE, {"d": "Lu Wen", "a": "Puppeteer, Lisbon"}, user="lu")
    assert done["updateProfile"] == {"displayName": "Lu Wen", "about": "Puppeteer, Lisbon", "email": None}
    error = await refused(mail_hub, "bad_request", PROFILE, {"e": "lu@example.org"}, user="lu")
    assert error["extensions"]["field"] == "password"
    error = await refused(mail_hub, "forbidden", PROFILE, {"e": "lu@example.org", "p": "wrong-password"}, user="lu")
    assert error["extensions"]["field"] == "password"
    done = await data(mail_hub, PROFILE, {"e": "LU@example.org", "p": PASSWORD}, user="lu")
    assert done["updateProfile"]["email"] == "lu@example.org"
    error = await refused(mail_hub, "conflict", PROFILE, {"e": "admin@example.org", "p": PASSWORD}, user="lu")
    assert error["extensions"]["field"] == "email"
    error = await refused(mail_hub, "bad_request", PROFILE, {"a": "x" * 281}, user="lu")
    assert error["extensions"]["field"] == "about"
    await refused(mail_hub, "unauthenticated", PROFILE, {"d": "Anon"})


async def test_hostile_shapes_are_refused_by_field(mail_hub: Hub) -> None:
    await data(mail_hub, OPEN, user="boss")
    for body, field in [({"username": ["a"], "email": "a@example.org", "password": SECRET}, "username"),
                        ({"username": "okname", "email": {"x": 1}, "password": SECRET}, "email"),
                        ({"username": "okname", "email": "a@example.org", "password": None}, "password")]:
        status, answer = await post(mail_hub, "/api/signup", body)
        assert status == 400 and answer["error"]["field"] == field, answer
    status, answer = await post(mail_hub, "/api/password/forgot", {"login": "x" * 255})
    assert status == 400 and answer["error"]["field"] == "login"
    query = "mutation($l: String!) { createUsers(lines: $l) { ok } }"
    lines = "\n".join(f"u{i},u{i}@example.org" for i in range(201))
    error = await refused(mail_hub, "bad_request", query, {"l": lines}, user="boss")
    assert error["extensions"]["field"] == "lines"
    assert await mail_hub.store.count_users() == 1


async def test_without_smtp_sign_up_still_works_and_the_mail_is_logged(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    root = await hub.user("root", "admin")
    await hub.store.set_profile(root, email="root@example.org")
    await hub.store.archive.set_meta("site.selfSignup", "on")
    status, body = await sign_up(hub, "quiet", "quiet@example.org")
    assert status == 202, body
    (user,) = await hub.store.list_users("quiet")
    assert user.email == "quiet@example.org" and not user.active
    assert [r for r in caplog.records if "mail not sent" in r.getMessage() and getattr(r, "to", "") == "root@example.org"]


async def test_one_request_checks_or_hashes_one_password_in_profile_and_creation(mail_hub: Hub) -> None:
    await mail_hub.user("lu")
    twice = 'mutation { a: updateProfile(email: "a@example.org", password: "guess-1-aaa") { about } ' \
        'b: updateProfile(email: "a@example.org", password: "guess-2-bbb") { about } }'
    assert "only once" in (await refused(mail_hub, "too_complex", twice, user="lu"))["message"]
    made = 'mutation { a: createUser(username: "x1", password: "Pass-word-1-x") { id } ' \
        'b: createUser(username: "x2", password: "Pass-word-2-x") { id } }'
    await refused(mail_hub, "too_complex", made, user="boss")


async def test_sign_ups_at_once_with_one_email_make_one_account(mail_hub: Hub) -> None:
    await data(mail_hub, OPEN, user="boss")
    answers = await asyncio.gather(*[sign_up(mail_hub, f"twin{i}", "twin@example.org") for i in range(4)])
    assert [status for status, _ in answers] == [202] * 4, answers
    made = [name for i in range(4) if await mail_hub.store.get_user_by_name(name := f"twin{i}")]
    assert len(made) == 1, made
