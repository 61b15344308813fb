"""Where mail goes: HUB_SMTP_URL parsed into how to connect, and one aiosmtplib connection
opened with it (STARTTLS when offered or forced, implicit TLS, or plain)."""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiosmtplib

SCHEMES = {"smtp": (25, None), "smtp+starttls": (587, True), "smtps": (465, False)}  # port, start_tls


class MailConfigError(ValueError):
    """HUB_SMTP_URL or HUB_MAIL_FROM cannot be used; the message names the variable."""


@dataclass(frozen=True)
class SmtpTarget:
    """An SMTP server and how to talk to it. `start_tls`: None = when the server offers it,
    True = required; `implicit_tls`: TLS from the first byte (smtps)."""

    host: str
    port: int
    username: str | None
    password: str | None
    start_tls: bool | None
    implicit_tls: bool

    def __repr__(self) -> str:  # never the password, in logs or tracebacks
        return f"SmtpTarget({self.host}:{self.port}, user={self.username!r})"

    @property
    def local(self) -> bool:
        """Whether the server is on this machine (plain-text AUTH is allowed only then)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_smtp_url(url: str) -> SmtpTarget:
    """`smtp://user:pass@host:587`, `smtp+starttls://...`, `smtps://...`; credentials url-decoded."""
    parts = urlsplit(url.strip())
    if parts.scheme not in SCHEMES:
        schemes = "smtp://, smtp+starttls:// or smtps://"
        raise MailConfigError(f"HUB_SMTP_URL must start with {schemes}, not {parts.scheme!r}")
    if not parts.hostname:
        raise MailConfigError("HUB_SMTP_URL has no host")
    try:
        port = parts.port
    except ValueError:
        raise MailConfigError("HUB_SMTP_URL has a bad port") from None
    default_port, start_tls = SCHEMES[parts.scheme]
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return SmtpTarget(parts.hostname, port or default_port, username, password, start_tls, parts.scheme == "smtps")


def tls_context(verify: bool) -> ssl.SSLContext:
    """The TLS settings for the server: verified by default; unverified only if HUB_SMTP_TLS_VERIFY is off."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class PlainAuthRefused(aiosmtplib.SMTPException):
    """Credentials would cross the network unencrypted (a remote server that offered no STARTTLS)."""


async def connect(target: SmtpTarget, timeout: float, verify: bool, local_hostname: str) -> aiosmtplib.SMTP:
    """An open, greeted (and logged-in) connection; raises aiosmtplib errors or OSError."""
    client = aiosmtplib.SMTP(
        hostname=target.host,
        port=target.port,
        use_tls=target.implicit_tls,
        start_tls=target.start_tls,
        timeout=timeout,
        tls_context=tls_context(verify),
        local_hostname=local_hostname,
    )
    await client.connect()
    try:
        if target.username is not None:
            encrypted = client.get_transport_info("sslcontext") is not None or target.implicit_tls
            if not encrypted and not target.local:
                raise PlainAuthRefused("the SMTP server offered no TLS; not sending the password in clear")
            await client.login(target.username, target.password or "")
    except BaseException:
        client.close()
        raise
    return client
