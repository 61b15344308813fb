"""Mail and profiles over GraphQL: `site.mail` and `sendTestMail` for admins only (refused,
checked and throttled for everyone else), the users' email, display name and about line (the
address seen by the user and admins only), and the store's profile methods on both databases."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest

from storage import DuplicateError, Store
from tests.conftest import Hub
from tests.gql import data, refused

SEND_TEST = "mutation($to: String!) { sendTestMail(to: $to) }"
MAIL_STATUS = "{ site { title mail { configured from } } }"
PROFILE = "query($s: String) { users(search: $s) { username email displayName about } }"


async def test_mail_status_is_for_admins(hub: Hub) -> None:
    await hub.user("root", "admin")
    await hub.user("pat")
    status = (await data(hub, MAIL_STATUS, user="root"))["site"]["mail"]
    assert status == {"configured": False, "from": "UpStage <noreply@localhost>"}
    for user in ("pat", None):
        code = "forbidden" if user else "unauthenticated"
        error = await refused(hub, code, MAIL_STATUS, user=user)
        assert error["path"] == ["site", "mail"]
    assert (await data(hub, "{ site { title } }"))["site"]["title"] == "UpStage"  # the rest stays public


async def test_send_test_mail_refusals(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    await hub.user("root", "admin")
    await hub.user("pat")
    await refused(hub, "unauthenticated", SEND_TEST, {"to": "ann@example.org"})
    await refused(hub, "forbidden", SEND_TEST, {"to": "ann@example.org"}, user="pat")
    for bad in ("ann@example.org\r\nBcc: victim@example.org", "a@example.org, b@example.org", "Ann <a@x.org>", "x"):
        error = await refused(hub, "bad_request", SEND_TEST, {"to": bad}, user="root")
        assert error["extensions"]["field"] == "to"
    with caplog.at_level(logging.WARNING, logger="hub.mail"):
        assert (await data(hub, SEND_TEST, {"to": "ann@example.org"}, user="root"))["sendTestMail"] is True
    logged = [r for r in caplog.records if r.name == "hub.mail"]
    assert [r.__dict__["to"] for r in logged] == ["ann@example.org"]  # no SMTP: written to the log


async def test_send_test_mail_is_throttled(make_hub: Callable[..., Awaitable[Hub]]) -> None:
    hub = await make_hub(test_mail_rate_burst=2)
    await hub.user("root", "admin")
    for _ in range(2):
        await data(hub, SEND_TEST, {"to": "ann@example.org"}, user="root")
    error = await refused(hub, "rate_limited", SEND_TEST, {"to": "ann@example.org"}, user="root")
    assert error["extensions"]["retryAfter"] >= 1


async def test_profile_fields_and_who_sees_the_email(hub: Hub) -> None:
    root = await hub.user("root", "admin")
    pat = await hub.user("pat")
    await hub.user("quinn")
    await hub.store.set_profile(pat, email="Pat@Example.ORG", display_name="Pat P.", about="Puppets & lights")
    await hub.store.set_profile(root, email="root@example.org")
    rows = (await data(hub, PROFILE, {"s": "pat"}, user="root"))["users"]
    assert rows == [{"username": "pat", "email": "pat@example.org", "displayName": "Pat P.", "about": "Puppets & lights"}]
    me = (await data(hub, "{ whoami { email displayName about } }", user="pat"))["whoami"]
    assert me == {"email": "pat@example.org", "displayName": "Pat P.", "about": "Puppets & lights"}
    quinn = (await data(hub, "{ whoami { email displayName about } }", user="quinn"))["whoami"]
    assert quinn == {"email": None, "displayName": "", "about": ""}
    # Another player reaches pat through a stage's players, and sees the name but not the address.
    await hub.store.create_stage("show", "Show", pat, [await hub.user("vic")])
    stage = "{ stages { slug owner { username displayName email } } }"
    result = await refused(hub, "forbidden", stage, user="vic")
    assert result["path"][-1] == "email"


async def test_store_profiles_lower_case_and_unique_emails(store: Store) -> None:
    ann = await store.create_user("ann", "h")
    bob = await store.create_user("bob", "h")
    updated = await store.set_profile(ann.id, email="  Ann@Example.org ", display_name="Ann", about="hi")
    assert (updated.email, updated.display_name, updated.about) == ("ann@example.org", "Ann", "hi")
    assert (await store.get_user_by_email("ANN@example.org")) == updated
    with pytest.raises(DuplicateError):
        await store.set_profile(bob.id, email="ann@EXAMPLE.org")
    assert (await store.set_profile(ann.id, about="still me")).email == "ann@example.org"  # others kept
    assert (await store.set_profile(ann.id, email="")).email is None
    await store.set_profile(bob.id, email=None)  # any number of users without an address
    assert (await store.set_profile(bob.id, email="ann@example.org")).email == "ann@example.org"
    assert await store.get_user_by_email("nobody@example.org") is None
    root = await store.create_user("root", "h", "admin")
    await store.create_user("nomail", "h", "admin")
    gone = await store.create_user("gone", "h", "admin", active=False)
    await store.set_profile(gone.id, email="gone@example.org")
    assert await store.admin_emails() == []
    await store.set_profile(root.id, email="Root@Example.org")
    assert await store.admin_emails() == ["root@example.org"]
