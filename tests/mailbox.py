"""A real SMTP server for tests (aiosmtpd in a thread): the mail a hub sends arrives here.

`mailbox` starts one on a free port (plain; `Mailbox.start(tls=..., auth=...)` for STARTTLS and
AUTH), and `certificate` makes a self-signed certificate with the `openssl` command. A mailbox
may start late on a port chosen before, to stand for an SMTP server that was down.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from bench.proc import free_port


@dataclass
class Received:
    """One mail as the server got it: the envelope, the parsed message, and the connection."""

    sender: str
    recipients: list[str]
    message: EmailMessage
    peer: Any  # the client's (host, port): one value per SMTP connection
    tls: bool
    login: bytes | None

    def part(self, subtype: str) -> str:
        """The text of the `text/<subtype>` part."""
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None and body.get_content_type() == f"text/{subtype}", self.message
        return str(body.get_content())


@dataclass
class Handler:
    """aiosmtpd's handler: keeps every mail it is given."""

    received: list[Received] = field(default_factory=list)
    delay: float = 0.0  # seconds each mail takes to accept: a slow server

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(self.delay)
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
        self.received.append(
            Received(
                str(envelope.mail_from), list(envelope.rcpt_tos), message, session.peer, session.ssl is not None, login
            )
        )
        return "250 OK"


class Mailbox:
    """An SMTP server on 127.0.0.1:`port` collecting mail (`received`)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.handler = Handler()
        self.controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def url(self, scheme: str = "smtp", credentials: str = "") -> str:
        return f"{scheme}://{credentials + '@' if credentials else ''}127.0.0.1:{self.port}"

    def start(
        self, tls: ssl.SSLContext | None = None, auth: tuple[str, str] | None = None, implicit: bool = False
    ) -> Mailbox:
        """Listen; with `tls`, offer (and require) STARTTLS, or with `implicit` speak TLS from the
        first byte (smtps); with `auth`, require that login."""
        kwargs: dict[str, Any] = {}
        if implicit:
            kwargs["ssl_context"], tls = tls, None
        if tls is not None:
            kwargs.update(tls_context=tls, require_starttls=True)
        if auth is not None:
            kwargs.update(authenticator=_authenticator(*auth), auth_required=True, auth_require_tls=tls is not None)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    async def wait(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The mail received, once there are at least `count` (fails the test after `timeout`)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.received) < count:
            assert loop.time() < deadline, f"{len(self.received)} mails arrived, not {count}"
            await asyncio.sleep(0.02)
        return self.received


def _authenticator(username: str, password: str) -> Any:
    def check(server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (username.encode(), password.encode())
        return AuthResult(success=ok, handled=False, auth_data=data)

    return check


def certificate(folder: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1 (openssl CLI)."""
    key, cert = folder / "smtp.key", folder / "smtp.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A mailbox not yet listening (call `.start()`), stopped after the test."""
    box = Mailbox()
    yield box
    box.stop()
