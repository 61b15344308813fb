"""Issue 18 attacked as a hostile user would: what a stranger learns of media they may not see,
and mail used as a weapon (inboxes bombed, the queue flooded past others' mail)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from hub.mail import MAILER
from hub.password_reset import token_hash
from storage import Store
from tests.accounts_support import link_in, mail_hub, post
from tests.conftest import PASSWORD, Hub
from tests.gql import data, refused, stage_id
from tests.mailbox import Mailbox, mailbox
from tests.test_media_library import REQUEST, SAVE, medium

__all__ = ["mail_hub", "mailbox"]  # fixtures used by name
NEW = "a-brand-new-secret"
DELETE = "mutation($id: ID!) { deleteMedia(id: $id) }"
UPDATE = "mutation($id: ID!, $in: StageInput!) { updateStage(id: $id, input: $in) { id } }"


@pytest.fixture
def sent(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """The mail the hub queues, as (to, template)."""
    mailer = hub.server.app[MAILER]
    queued: list[tuple[str, str]] = []
    real = mailer.send

    def record(to: str, template: str, **context: Any) -> None:
        real(to, template, **context)
        queued.append((to, template))

    monkeypatch.setattr(mailer, "send", record)
    return queued


async def test_editing_or_deleting_a_medium_one_cannot_see_says_no_more_than_a_missing_one(hub: Hub) -> None:
    await hub.user("helen")
    await hub.user("pat")
    hidden = await medium(hub, "helen", "hidden.png", level=3)
    sleeping = await medium(hub, "helen", "sleeping.png")
    await data(hub, SAVE, {"in": {"id": sleeping, "dormant": True}}, "helen")
    for query, variables in ((SAVE, lambda i: {"in": {"id": i, "name": "x"}}), (DELETE, lambda i: {"id": i})):
        missing = await refused(hub, "not_found", query, variables("999999"), "pat")
        for unseen in (hidden, sleeping):  # a level-3 medium, another's dormant one: as if absent
            assert await refused(hub, "not_found", query, variables(unseen), "pat") == missing
    visible = await medium(hub, "helen", "free.png")  # one pat can see: told why, not misled
    await refused(hub, "forbidden", SAVE, {"in": {"id": visible, "name": "x"}}, "pat")
    assert (await hub.store.get_media(int(hidden))) is not None


async def mailable(hub: Hub, name: str) -> None:
    await hub.user(name)
    user = await hub.store.get_user_by_name(name)
    assert user is not None
    await hub.store.set_profile(user.id, email=f"{name}@example.org")


async def test_access_notices_cannot_bomb_an_inbox_by_toggling_access(hub: Hub, sent: list[Any]) -> None:
    await hub.stage("show", "helen")
    await mailable(hub, "victim")
    show = await stage_id(hub, "show")
    for _ in range(10):
        await data(hub, UPDATE, {"id": show, "in": {"players": ["victim"]}}, "helen")
        await data(hub, UPDATE, {"id": show, "in": {"players": []}}, "helen")
    assert 1 <= sent.count(("victim@example.org", "stage_access_to_you")) <= 2


async def test_access_notices_cannot_flood_the_mail_queue(hub: Hub, sent: list[Any]) -> None:
    await hub.stage("show", "helen")
    names = [f"u{i}" for i in range(60)]
    for name in names:
        await mailable(hub, name)
    show = await stage_id(hub, "show")
    await data(hub, UPDATE, {"id": show, "in": {"players": names}}, "helen")  # the stage still changes
    assert 0 < len(sent) <= 30
    players = await data(hub, "query($s: String!) { stage(slug: $s) { playerAccess { username } } }", {"s": "show"}, "helen")
    assert len(players["stage"]["playerAccess"]) == 60


OWN_REQUESTS = "query { mediaRequests(incoming: false) { status media { id name url } } }"


async def test_a_request_does_not_show_the_asker_a_medium_its_owner_has_since_hidden(hub: Hub) -> None:
    await hub.user("helen")
    await hub.user("pat")
    ask, kept = await medium(hub, "helen", "ask.png", level=2), await medium(hub, "helen", "kept.png", level=2)
    for media_id in (ask, kept):
        await data(hub, REQUEST, {"id": media_id}, "pat")
    await data(hub, SAVE, {"in": {"id": ask, "copyrightLevel": 3, "name": "now secret"}}, "helen")
    listed = (await data(hub, OWN_REQUESTS, None, "pat"))["mediaRequests"]
    assert [r["media"]["id"] for r in listed] == [kept]  # the level-3 one: its new name, url, as if absent
    await data(hub, SAVE, {"in": {"id": kept, "dormant": True}}, "helen")
    assert (await data(hub, OWN_REQUESTS, None, "pat"))["mediaRequests"] == []
    incoming = await data(hub, "query { mediaRequests(incoming: true) { media { id } } }", None, "helen")
    assert sorted(r["media"]["id"] for r in incoming["mediaRequests"]) == sorted([ask, kept])  # the owner still answers
    await data(hub, SAVE, {"in": {"id": kept, "dormant": False}}, "helen")
    assert [r["media"]["id"] for r in (await data(hub, OWN_REQUESTS, None, "pat"))["mediaRequests"]] == [kept]


class HostileSmtp:
    """An SMTP server that takes a mail's content, then hangs without answering ("hang") or
    drops the connection halfway through it ("drop")."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.connections = 0
        self.writers: list[asyncio.StreamWriter] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        writer.write(b"220 hostile ESMTP\r\n")
        in_data = False
        while line := await reader.readline():
            if in_data:
                if self.mode == "drop":
                    writer.close()
                    return
                continue  # "hang": the mail's end (and QUIT) go unanswered
            command = line[:4].upper()
            reply = {b"EHLO": b"250 hostile\r\n", b"DATA": b"354 go on\r\n", b"QUIT": b"221 bye\r\n"}
            writer.write(reply.get(command, b"250 ok\r\n"))
            in_data = command == b"DATA"
            await writer.drain()


@pytest.mark.parametrize("mode", ["hang", "drop"])
async def test_a_hostile_smtp_server_stalls_nothing_but_its_own_mail(
    make_hub: Callable[..., Awaitable[Hub]], mode: str
) -> None:
    smtp = HostileSmtp(mode)
    server = await asyncio.start_server(smtp.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    hub = await make_hub(
        smtp_url=f"smtp://127.0.0.1:{port}", public_url="https://stage.example.org", smtp_timeout=0.5,
        mail_retry_min=0.1, mail_retry_max=0.1, mail_attempts=2,
    )
    await hub.user("root", "admin")
    mailer = hub.server.app[MAILER]
    for i in range(2):
        mailer.send(f"user{i}@example.org", "test", username="root")
    loop = asyncio.get_running_loop()
    while mailer.failed < 2:  # each mail given up after its attempts; requests answer meanwhile
        started = loop.time()
        assert (await data(hub, "{ foyer { slug } }"))["foyer"] == []
        assert loop.time() - started < 0.4, "a request waited on the SMTP server"
        assert loop.time() < started + 10
    assert mailer.queued == 0 and mailer.sent == 0 and smtp.connections >= 2
    mailer.send("late@example.org", "test", username="root")  # the hub shuts down despite the server
    started = loop.time()
    await hub.server.close()
    assert loop.time() - started < 15
    for writer in smtp.writers:
        writer.close()
    server.close()


PROFILE = "mutation($e: String, $p: String) { updateProfile(email: $e, password: $p) { email } }"
CREATE = "mutation($u: String!, $e: String) { createUser(username: $u, email: $e, sendResetLink: true) { id } }"
UNMAILABLE = ("a\x01b@example.org", "zoë@example.org", "a\u200bb@example.org")


async def test_an_address_mail_cannot_go_to_is_refused_where_it_is_typed(mail_hub: Hub, mailbox: Mailbox) -> None:
    await data(mail_hub, "mutation { updateSite(selfSignup: true) { selfSignup } }", user="boss")
    await mail_hub.user("lu")
    for address in UNMAILABLE:  # stored, it would fail every later mail (a 500, or nothing sent)
        status, body = await post(mail_hub, "/api/signup", {"username": "newbie", "email": address, "password": NEW})
        assert status == 400 and body["error"]["field"] == "email", (address, body)
        error = await refused(mail_hub, "bad_request", PROFILE, {"e": address, "p": PASSWORD}, "lu")
        assert error["extensions"]["field"] == "email", address
        error = await refused(mail_hub, "bad_request", CREATE, {"u": "made", "e": address}, "boss")
        assert error["extensions"]["field"] == "email", address
    assert await mail_hub.store.list_users("newbie") == [] and await mail_hub.store.list_users("made") == []


async def test_a_new_email_voids_the_reset_links_mailed_to_the_old_one(mail_hub: Hub) -> None:
    uid = await mail_hub.user("ada")
    await mail_hub.store.set_profile(uid, email="old@example.org")
    now = int(time.time())
    await mail_hub.store.create_reset(token_hash("link-in-the-old-mailbox"), uid, now + 600, now)
    assert (await data(mail_hub, PROFILE, {"e": "new@example.org", "p": PASSWORD}, "ada"))["updateProfile"]["email"]
    status, body = await post(mail_hub, "/api/password/reset", {"token": "link-in-the-old-mailbox", "password": NEW})
    assert status == 400 and body["error"]["field"] == "token", body


async def test_sign_ups_with_a_taken_email_cannot_bomb_its_owner(
    make_hub: Callable[..., Awaitable[Hub]], mailbox: Mailbox
) -> None:
    mailbox.start()  # an attacker with many addresses: the per-address sign-up limit does not help
    hub = await make_hub(smtp_url=mailbox.url(), public_url="http://upstage.test", register_rate_burst=100)
    await hub.store.archive.set_meta("site.selfSignup", "on")
    await hub.store.set_profile(await hub.user("victim"), email="victim@example.org")
    for i in range(6):
        status, body = await post(hub, "/api/signup", {"username": f"spam{i}", "email": "victim@example.org", "password": NEW})
        assert status == 202, body  # the answer never changes
    hub.server.app[MAILER].send("end@example.org", "test", username="x")  # mail goes in order
    received = await mailbox.wait(1)
    while received[-1].recipients != ["end@example.org"]:
        received = await mailbox.wait(len(received) + 1)
    assert 1 <= sum(m.recipients == ["victim@example.org"] for m in received) <= 2


async def test_a_hidden_medium_costs_the_hub_the_same_work_as_a_missing_one(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No timing oracle: the same store queries answer a hidden id and a missing one."""
    await hub.user("helen")
    await hub.user("pat")
    hidden = await medium(hub, "helen", "hidden.png", level=3)
    calls: list[str] = []
    for name in ("list_media", "get_media"):
        real = getattr(hub.store, name)

        def counted(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(hub.store, name, counted)
    for query, variables in ((REQUEST, lambda i: {"id": i}), (DELETE, lambda i: {"id": i})):
        work = []
        for media_id in ("999999", hidden):
            calls.clear()
            await refused(hub, "not_found", query, variables(media_id), "pat")
            work.append(sorted(calls))
        assert work[0] == work[1], (query, work)


async def test_answers_given_at_once_count_once(store: Store) -> None:
    owner = await store.create_user("helen", "x")
    asker = await store.create_user("pat", "x")
    item = await store.create_media(owner.id, "moon", "prop", "image/png", 10, ["a.png"])
    request = await store.create_request(item.id, asker.id, "")
    assert request is not None
    answers = await asyncio.gather(*[store.answer_request(request.id, i % 2 == 0) for i in range(8)])
    (answered,) = [a for a in answers if a is not None]  # one answer; the others are told it is taken
    assert (await store.get_request(request.id)) == answered


async def test_a_forged_host_header_never_reaches_a_mailed_link(mail_hub: Hub, mailbox: Mailbox) -> None:
    await mail_hub.store.set_profile(await mail_hub.user("ada"), email="ada@example.org")
    forged = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "Forwarded": "host=evil.example"}
    status, _ = await post(mail_hub, "/api/password/forgot", {"login": "ada"}, forged)
    assert status == 202
    (mail,) = await mailbox.wait(1)
    assert "evil" not in mail.part("plain") + mail.part("html")
    assert link_in(mail, "/reset#token=").startswith("http://upstage.test/reset#token=")


async def test_a_sign_up_flood_cannot_flood_the_admins(
    make_hub: Callable[..., Awaitable[Hub]], mailbox: Mailbox
) -> None:
    mailbox.start()
    hub = await make_hub(smtp_url=mailbox.url(), public_url="http://upstage.test", register_rate_burst=100)
    await hub.store.archive.set_meta("site.selfSignup", "on")
    await hub.store.set_profile(await hub.user("boss", "admin"), email="admin@example.org")
    for i in range(14):
        status, body = await post(hub, "/api/signup", {"username": f"flood{i}", "email": f"f{i}@example.org", "password": NEW})
        assert status == 202, body
    hub.server.app[MAILER].send("end@example.org", "test", username="x")
    received = await mailbox.wait(1)
    while received[-1].recipients != ["end@example.org"]:
        received = await mailbox.wait(len(received) + 1)
    assert 1 <= sum(m.recipients == ["admin@example.org"] for m in received) <= 10
    assert len(await hub.store.list_users("flood")) == 14  # the accounts are all there to activate


async def test_requests_sent_at_once_make_one_pending_request(store: Store) -> None:
    owner = await store.create_user("helen", "x")
    asker = await store.create_user("pat", "x")
    item = await store.create_media(owner.id, "moon", "prop", "image/png", 10, ["a.png"])
    made = await asyncio.gather(*[store.create_request(item.id, asker.id, "") for _ in range(6)])
    assert len([r for r in made if r is not None]) == 1  # a double click is a conflict, not an error
