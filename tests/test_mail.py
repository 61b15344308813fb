"""Mail (issue 18) through a real SMTP server (tests/mailbox.py): STARTTLS, AUTH, a server that is
down and comes up, the queue's bound, shutdown, header injection, and mail to the log."""

from __future__ import annotations

import asyncio
import logging
import string
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.config import ConfigError, Settings
from hub.mail import MAILER, Mailer, names, parse_smtp_url, render
from hub.mail.templates import load
from hub.mail.transport import SmtpTarget
from tests.conftest import Hub
from tests.conftest import test_settings as settings_for
from tests.gql import data
from tests.mailbox import Mailbox, certificate, mailbox  # noqa: F401 - the fixture

SEND_TEST = "mutation($to: String!) { sendTestMail(to: $to) }"
PUBLIC = "https://stage.example.org"


def sample(name: str) -> dict[str, str]:
    """Every context value a template documents, links as links."""
    return {key: f"{PUBLIC}/{key}" if key.endswith(("url", "link")) else f"<{key}> & co" for key in load(name).context}


def mailer(tmp_path: Path, **overrides: Any) -> Mailer:
    return Mailer(settings_for(tmp_path, **{"public_url": PUBLIC, "smtp_tls_verify": False, **overrides}))


async def metric(hub: Hub, name: str) -> float:
    async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/metrics") as response:
        for line in (await response.text()).splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"{name} not on /metrics")


@pytest.mark.parametrize("name", names())
def test_every_template_renders_with_its_documented_context(name: str) -> None:
    template = load(name)
    used = set()
    for part in (template.subject, template.text, template.html):
        used |= set(part.get_identifiers())
    assert used == set(template.context), f"{name}: uses {used}, documents {template.context}"
    message = render(name, **sample(name))
    assert message.subject and "\n" not in message.subject and "## context" not in message.text
    for key in template.context:
        if not key.endswith(("url", "link")):
            assert f"&lt;{key}&gt; &amp; co" in message.html or key not in template.html.template
            assert f"<{key}>" not in message.html


def test_the_templates_others_need_are_there() -> None:
    wanted = {"test", "signup_pending_admin", "account_activated", "password_reset", "stage_access_given",
              "media_permission_request", "media_permission_answer"}  # fmt: skip
    assert wanted <= set(names())


def test_render_refuses_unknown_templates_missing_values_and_odd_links() -> None:
    with pytest.raises(ValueError, match="unknown mail template"):
        render("no_such_template")
    with pytest.raises(ValueError, match="needs 'reset_link'"):
        render("password_reset", username="ann", expires_minutes=30)
    with pytest.raises(ValueError, match="reset_link must be an http"):
        render("password_reset", username="ann", expires_minutes=30, reset_link="javascript:alert(1)")
    subject = render("signup_pending_admin", username="eve\r\nBcc: victim@example.org", email="e@x.org",
                     admin_url=PUBLIC).subject  # fmt: skip
    assert subject == "New account waiting: eve Bcc: victim@example.org"


@pytest.mark.parametrize(
    "to",
    ["ann@example.org\r\nBcc: victim@example.org", "ann@example.org, bob@example.org", "ann@example.org;b@x.org",
     "Ann <ann@example.org>", "ann", "", "ann@@example.org", "a b@example.org", "ann@example.org\n"],
)  # fmt: skip
def test_send_refuses_anything_but_one_address(tmp_path: Path, to: str) -> None:
    box = mailer(tmp_path, smtp_url="smtp://127.0.0.1:1")
    with pytest.raises(ValueError):
        box.send(to, "test", username="root")
    assert box.queued == 0


def test_send_refuses_an_unknown_template(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown mail template"):
        mailer(tmp_path).send("ann@example.org", "nope")


def test_smtp_urls_and_mail_settings() -> None:
    target = parse_smtp_url("smtp://us%40er:p%3Ass%2Fw@mail.example.org:587")
    assert (target.host, target.port, target.username, target.password) == ("mail.example.org", 587, "us@er", "p:ss/w")
    assert (target.start_tls, target.implicit_tls, target.local) == (None, False, False)
    assert "p:ss" not in repr(target)
    assert parse_smtp_url("smtps://h").port == 465 and parse_smtp_url("smtps://h").implicit_tls
    assert parse_smtp_url("smtp+starttls://h").start_tls is True and parse_smtp_url("smtp://h").port == 25
    for env in ({"HUB_SMTP_URL": "http://h"}, {"HUB_SMTP_URL": "smtp://"}, {"HUB_SMTP_URL": "smtp://h:99999"},
                {"HUB_MAIL_FROM": "UpStage <a@b.c>\r\nBcc: x@y.z"}, {"HUB_MAIL_FROM": "nobody"},
                {"HUB_PUBLIC_URL": "javascript:alert(1)"}):  # fmt: skip
        with pytest.raises(ConfigError):
            Settings.from_env({"HUB_SECRET_KEY": "k", **env})


async def test_without_smtp_mail_is_written_to_the_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    box = mailer(tmp_path)
    assert not box.configured
    with caplog.at_level(logging.WARNING, logger="hub.mail"):
        box.send("Ann@Example.org", "password_reset", username="ann", reset_link=f"{PUBLIC}/reset#t", expires_minutes=30)
    (record,) = [r for r in caplog.records if r.name == "hub.mail"]
    assert record.__dict__["to"] == "Ann@Example.org" and record.__dict__["subject"] == "Reset your UpStage password"
    assert f"{PUBLIC}/reset#t" in record.__dict__["body"]
    assert (box.logged, box.queued, box.sent) == (1, 0, 0)


async def test_starttls_delivery_of_a_test_mail_from_the_admin(
    make_hub: Callable[..., Awaitable[Hub]], mailbox: Mailbox, tmp_path: Path  # noqa: F811
) -> None:
    mailbox.start(tls=certificate(tmp_path))
    hub = await make_hub(smtp_url=mailbox.url(), smtp_tls_verify=False, public_url=PUBLIC,
                         mail_from="UpStage Test <hub@example.org>")  # fmt: skip
    await hub.user("root", "admin")
    status = await data(hub, "{ site { mail { configured from } } }", user="root")
    assert status["site"]["mail"] == {"configured": True, "from": "UpStage Test <hub@example.org>"}
    assert (await data(hub, SEND_TEST, {"to": "ann@example.org"}, user="root"))["sendTestMail"] is True
    (mail,) = await mailbox.wait(1)
    assert mail.tls and mail.recipients == ["ann@example.org"] and mail.sender == "hub@example.org"
    message = mail.message
    assert (message["To"], message["Subject"]) == ("ann@example.org", "UpStage test mail")
    assert message["From"] == "UpStage Test <hub@example.org>" and message["Date"] and message["Message-ID"]
    assert message.is_multipart() and "sent by root" in mail.part("plain") and PUBLIC in mail.part("plain")
    assert f'<a href="{PUBLIC}">' in mail.part("html") and "<strong>root</strong>" in mail.part("html")
    assert await metric(hub, "hub_mail_sent") == 1


async def test_auth_with_url_encoded_credentials_over_starttls(mailbox: Mailbox, tmp_path: Path) -> None:  # noqa: F811
    mailbox.start(tls=certificate(tmp_path), auth=("hub@example.org", "p:ss/w%rd"))
    box = mailer(tmp_path, smtp_url=mailbox.url(credentials="hub%40example.org:p%3Ass%2Fw%25rd"))
    await box.start()
    box.send("ann@example.org", "account_activated", username="ann", login_url=f"{PUBLIC}/")
    (mail,) = await mailbox.wait(1)
    assert mail.login == b"hub@example.org" and mail.tls
    assert f'<a href="{PUBLIC}/">Log in</a>' in mail.part("html")
    await box.close(1)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_a_wrong_password_is_given_up_at_once(mailbox: Mailbox, tmp_path: Path) -> None:  # noqa: F811
    mailbox.start(auth=("hub", "right"))
    box = mailer(tmp_path, smtp_url=mailbox.url(credentials="hub:wrong"), mail_retry_min=0.05)
    await box.start()
    box.send("ann@example.org", "test", username="root")
    for _ in range(200):
        if box.failed:
            break
        await asyncio.sleep(0.02)
    assert (box.failed, box.sent, box.queued, mailbox.received) == (1, 0, 0, [])
    await box.close(1)


async def test_no_password_in_clear_to_a_remote_server(
    mailbox: Mailbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """A server that offers no STARTTLS does not get the password unless it is on this machine."""
    monkeypatch.setattr(SmtpTarget, "local", property(lambda self: False))
    mailbox.start()  # no TLS, no AUTH required: a password would be accepted (and seen)
    box = mailer(tmp_path, smtp_url=mailbox.url(credentials="hub:secret"))
    await box.start()
    box.send("ann@example.org", "test", username="root")
    for _ in range(200):
        if box.failed:
            break
        await asyncio.sleep(0.02)
    assert (box.failed, mailbox.received) == (1, [])
    await box.close(1)


async def test_smtp_down_the_request_succeeds_and_the_mail_arrives_later(
    make_hub: Callable[..., Awaitable[Hub]], mailbox: Mailbox  # noqa: F811
) -> None:
    hub = await make_hub(smtp_url=mailbox.url(), public_url=PUBLIC, mail_retry_min=0.1, mail_retry_max=0.4)
    await hub.user("root", "admin")
    assert (await data(hub, SEND_TEST, {"to": "ann@example.org"}, user="root"))["sendTestMail"] is True
    await asyncio.sleep(0.8)  # several attempts against a closed port
    assert await metric(hub, "hub_mail_queued") == 1 and await metric(hub, "hub_mail_sent") == 0
    assert await metric(hub, "hub_mail_failed") == 0
    mailbox.start()
    (mail,) = await mailbox.wait(1)
    assert mail.recipients == ["ann@example.org"]
    assert await metric(hub, "hub_mail_sent") == 1 and await metric(hub, "hub_mail_queued") == 0


def test_backoff_doubles_and_is_capped(tmp_path: Path) -> None:
    box = mailer(tmp_path, mail_retry_min=1.0, mail_retry_max=300.0)
    assert [box.backoff(n) for n in (1, 2, 3, 4, 9, 10, 30)] == [1, 2, 4, 8, 256, 300, 300]


async def test_mail_flows_on_one_connection(mailbox: Mailbox, tmp_path: Path) -> None:  # noqa: F811
    mailbox.start()
    box = mailer(tmp_path, smtp_url=mailbox.url())
    for i in range(3):
        box.send(f"user{i}@example.org", "test", username="root")
    await box.start()
    received = await mailbox.wait(3)
    assert [m.recipients for m in received] == [[f"user{i}@example.org"] for i in range(3)]
    assert len({m.peer for m in received}) == 1
    await box.close(1)


async def test_a_full_queue_drops_the_oldest(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    box = mailer(tmp_path, smtp_url="smtp://127.0.0.1:1", mail_queue=2)
    for i in range(3):
        box.send(f"user{i}@example.org", "test", username="root")
    assert (box.dropped, [o.to for o in box.queue]) == (1, ["user1@example.org", "user2@example.org"])
    assert any("queue full" in r.getMessage() and r.__dict__["to"] == "user0@example.org" for r in caplog.records)


async def test_shutdown_flushes_what_it_can_and_logs_the_rest(
    mailbox: Mailbox, tmp_path: Path, caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    mailbox.start()
    box = mailer(tmp_path, smtp_url=mailbox.url())
    await box.start()
    for i in range(3):
        box.send(f"user{i}@example.org", "test", username="root")
    await box.close(5)  # at once: the queue is delivered before the task stops
    assert len(mailbox.received) == 3 and box.sent == 3
    down = mailer(tmp_path, smtp_url="smtp://127.0.0.1:1", mail_retry_min=10)
    await down.start()
    down.send("late@example.org", "test", username="root")
    started = asyncio.get_running_loop().time()
    await down.close(3)  # the last try fails at once: no waiting out the timeout or the backoff
    assert asyncio.get_running_loop().time() - started < 1
    assert any(r.getMessage() == "mail not sent before shutdown" and r.__dict__["to"] == "late@example.org"
               for r in caplog.records)  # fmt: skip
    down.send("later@example.org", "test", username="root")  # after close: logged, not queued
    assert down.queued == 0


async def test_shutdown_cuts_the_backoff_short(tmp_path: Path) -> None:
    """A server that comes back while a mail waits out its backoff gets it at shutdown."""
    late = Mailbox()
    box = mailer(tmp_path, smtp_url=late.url(), mail_retry_min=60)
    await box.start()
    box.send("ann@example.org", "test", username="root")
    while box.queue[0].attempts == 0:
        await asyncio.sleep(0.02)
    late.start()
    try:
        await box.close(5)
        assert [m.recipients for m in late.received] == [["ann@example.org"]] and box.sent == 1
    finally:
        late.stop()


async def test_names_cannot_inject_headers(mailbox: Mailbox, tmp_path: Path) -> None:  # noqa: F811
    mailbox.start()
    box = mailer(tmp_path, smtp_url=mailbox.url())
    await box.start()
    evil = "Eve\r\nBcc: victim@example.org\r\n\r\n<script>x</script>"
    box.send("admin@example.org", "signup_pending_admin", username=evil, email="eve@example.org", admin_url=PUBLIC)
    (mail,) = await mailbox.wait(1)
    assert mail.recipients == ["admin@example.org"] and mail.message["Bcc"] is None
    assert "\n" not in mail.message["Subject"] and mail.message["Subject"].startswith("New account waiting: Eve Bcc")
    assert "<script>" not in mail.part("html") and "&lt;script&gt;" in mail.part("html")
    await box.close(1)


def test_template_identifiers_are_plain_names() -> None:
    """Context names are `$name` identifiers: a `$` the templates mean literally would be `$$`."""
    for name in names():
        template = load(name)
        for part in (template.subject, template.text, template.html):
            assert isinstance(part, string.Template) and part.is_valid(), name


async def test_implicit_tls(mailbox: Mailbox, tmp_path: Path) -> None:  # noqa: F811
    mailbox.start(tls=certificate(tmp_path), implicit=True)
    box = mailer(tmp_path, smtp_url=mailbox.url("smtps"))
    await box.start()
    box.send("ann@example.org", "test", username="root")
    (mail,) = await mailbox.wait(1)
    assert mail.recipients == ["ann@example.org"]
    await box.close(1)


@pytest.mark.parametrize("case", ["unverified certificate", "no STARTTLS offered"])
async def test_nothing_goes_over_a_connection_it_cannot_trust(
    mailbox: Mailbox, tmp_path: Path, case: str  # noqa: F811
) -> None:
    """A self-signed certificate with verification on (the default), or `smtp+starttls://` to a
    server without STARTTLS: the mail is retried, never sent over that connection."""
    if case == "unverified certificate":
        mailbox.start(tls=certificate(tmp_path))
        box = mailer(tmp_path, smtp_url=mailbox.url(), smtp_tls_verify=True, mail_retry_min=0.05)
    else:
        mailbox.start()
        box = mailer(tmp_path, smtp_url=mailbox.url("smtp+starttls"), mail_retry_min=0.05)
    await box.start()
    box.send("ann@example.org", "test", username="root")
    while box.queue and box.queue[0].attempts < 3:
        await asyncio.sleep(0.02)
    assert mailbox.received == [] and box.sent == 0 and box.queued == 1
    await box.close(0.5)


async def test_a_hub_shutting_down_sends_its_queue_first(
    make_hub: Callable[..., Awaitable[Hub]], mailbox: Mailbox  # noqa: F811
) -> None:
    mailbox.handler.delay = 0.3  # 1.5 s for the five: longer than the rest of the shutdown
    mailbox.start()
    hub = await make_hub(smtp_url=mailbox.url(), public_url=PUBLIC)
    await hub.user("root", "admin")
    mail = hub.server.app[MAILER]
    for i in range(5):
        mail.send(f"user{i}@example.org", "test", username="root")
    await hub.server.close()  # the app's cleanup closes the mailer
    assert sorted(m.recipients[0] for m in mailbox.received) == [f"user{i}@example.org" for i in range(5)]
