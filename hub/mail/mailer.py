"""The Mailer: `send()` renders and enqueues (never blocks, never raises for SMTP trouble); one
task delivers the queue over one reused SMTP connection, retrying with capped exponential
backoff. With no HUB_SMTP_URL each mail is written to the log instead."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from prometheus_client import CollectorRegistry, Gauge

from ..config import Settings
from ..ratelimit import KeyedBuckets
from .compose import check_address, compose, parse_sender
from .templates import render
from .transport import MailConfigError, PlainAuthRefused, SmtpTarget, connect, parse_smtp_url

log = logging.getLogger("hub.mail")
IDLE_CLOSE = 5.0  # seconds without mail before the SMTP connection is closed


@dataclass
class Outgoing:
    """One mail waiting to go, and how often it has been tried."""

    to: str
    subject: str
    mail: EmailMessage
    attempts: int = 0


class Mailer:
    """Mail for request handlers and resolvers (`app[MAILER]`, GraphQL `ctx.services.mailer`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        try:
            self.sender = parse_sender(settings.mail_from)
        except ValueError as exc:
            raise MailConfigError(f"HUB_MAIL_FROM: {exc}") from None
        self.target: SmtpTarget | None = parse_smtp_url(settings.smtp_url) if settings.smtp_url.strip() else None
        self.queue: deque[Outgoing] = deque()
        self.sent = self.failed = self.dropped = self.logged = 0
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()  # set by close(): a backoff pause ends, a last try is made
        self._local_hostname = "localhost"  # EHLO name, this machine's (looked up in start())
        self._task: asyncio.Task[None] | None = None
        self._client: aiosmtplib.SMTP | None = None
        # "Send a test mail" (admins, GraphQL sendTestMail): per account and per client address.
        self.test_limits = KeyedBuckets(settings.test_mail_rate_limit, settings.test_mail_rate_burst)

    @property
    def configured(self) -> bool:
        """Whether mail goes to an SMTP server (else to the log)."""
        return self.target is not None

    @property
    def sender_text(self) -> str:
        return str(self.sender)

    @property
    def site_url(self) -> str:
        """The site's address for links in mail (HUB_PUBLIC_URL, else the listening address), no
        trailing slash: `f"{mailer.site_url}/reset#{token}"`."""
        return (self.settings.public_url or f"http://{self.settings.host}:{self.settings.port}").rstrip("/")

    @property
    def queued(self) -> int:
        return len(self.queue)

    def send(self, to: str, template: str, **context: Any) -> None:
        """Render `template` for `to` and queue it. ValueError for an unknown template, a missing
        context value or `to` not being one address; SMTP trouble is only logged and counted."""
        address = check_address(to)
        if self._closing.is_set():
            log.warning("mail not sent: the hub is shutting down", extra={"to": address, "template": template})
            return
        context.setdefault("site_url", self.site_url)
        message = render(template, **context)
        mail = compose(message, self.sender, address)
        if self.target is None:
            self.logged += 1
            log.warning(
                "mail not sent (no HUB_SMTP_URL)",
                extra={"to": address, "subject": message.subject, "template": template, "body": message.text},
            )
            return
        if len(self.queue) >= self.settings.mail_queue:
            lost = self.queue.popleft()
            self.dropped += 1
            log.warning("mail queue full: dropped the oldest", extra={"to": lost.to, "subject": lost.subject})
        self.queue.append(Outgoing(address, message.subject, mail))
        self._wake.set()

    async def start(self) -> None:
        """Start delivering (no task when mail only goes to the log)."""
        if self.target is not None and self._task is None:
            if not self.settings.public_url:
                log.warning("HUB_PUBLIC_URL is not set: links in mail point at %s", self.site_url)
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)  # DNS: off the event loop
            self._task = asyncio.create_task(self._deliver(), name="mail")

    async def close(self, timeout: float) -> None:
        """Deliver what can be delivered within `timeout` seconds, then stop; what is left is logged."""
        self._closing.set()
        if self._task is not None:
            deadline = time.monotonic() + timeout
            while self.queue and time.monotonic() < deadline and not self._task.done():
                await asyncio.sleep(0.05)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._disconnect()
        for left in self.queue:
            log.warning("mail not sent before shutdown", extra={"to": left.to, "subject": left.subject})
        self.queue.clear()

    def export(self, registry: CollectorRegistry) -> None:
        """`hub_mail_*` gauges on /metrics, read when scraped."""
        for name, text in (
            ("sent", "Mails the SMTP server accepted"),
            ("failed", "Mails given up on (refused, or out of attempts)"),
            ("queued", "Mails waiting to be sent"),
            ("dropped", "Mails dropped because the queue was full"),
            ("logged", "Mails written to the log (no HUB_SMTP_URL)"),
        ):
            Gauge(f"hub_mail_{name}", text, registry=registry).set_function(self._counter(name))

    def _counter(self, name: str) -> Callable[[], float]:
        return lambda: float(getattr(self, name))

    def backoff(self, attempts: int) -> float:
        """Seconds before try number `attempts + 1`: doubling from HUB_MAIL_RETRY_MIN, capped."""
        return float(min(self.settings.mail_retry_max, self.settings.mail_retry_min * 2 ** max(0, attempts - 1)))

    async def _deliver(self) -> None:
        while True:
            if not self.queue:
                self._wake.clear()
                try:
                    async with asyncio.timeout(IDLE_CLOSE if self._client else None):
                        await self._wake.wait()
                except TimeoutError:
                    await self._disconnect()
                continue
            outgoing = self.queue[0]
            last_try = self._closing.is_set()
            delay = await self._attempt(outgoing)
            if delay is None:
                continue
            if last_try:
                return  # shutting down and the server still fails: close() logs what is left
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._closing.wait()

    async def _attempt(self, outgoing: Outgoing) -> float | None:
        """Try the mail at the head of the queue once; the seconds to wait before the next try,
        or None when it is done with (sent, refused for good, or out of attempts)."""
        outgoing.attempts += 1
        try:
            if self._client is None or not self._client.is_connected:
                assert self.target is not None
                self._client = await connect(
                    self.target, self.settings.smtp_timeout, self.settings.smtp_tls_verify, self._local_hostname
                )
            await self._client.send_message(outgoing.mail)
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            await self._disconnect()
            permanent = isinstance(exc, aiosmtplib.SMTPResponseException) and 500 <= exc.code < 600
            refused = permanent or isinstance(exc, (aiosmtplib.SMTPRecipientsRefused, PlainAuthRefused))
            if refused or outgoing.attempts >= self.settings.mail_attempts:
                self._give_up(outgoing, exc)
                return None
            delay = self.backoff(outgoing.attempts)
            log.warning(
                "mail not sent yet, will retry",
                extra={"to": outgoing.to, "attempt": outgoing.attempts, "retry_in": delay, "error": repr(exc)},
            )
            return delay
        self._pop(outgoing)
        self.sent += 1
        return None

    def _give_up(self, outgoing: Outgoing, exc: BaseException) -> None:
        self._pop(outgoing)
        self.failed += 1
        log.error(
            "mail given up",
            extra={"to": outgoing.to, "subject": outgoing.subject, "attempts": outgoing.attempts, "error": repr(exc)},
        )

    def _pop(self, outgoing: Outgoing) -> None:
        if self.queue and self.queue[0] is outgoing:
            self.queue.popleft()

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if client.is_connected:
                async with asyncio.timeout(self.settings.smtp_timeout):
                    await client.quit()
        except (TimeoutError, aiosmtplib.SMTPException, OSError):
            client.close()
