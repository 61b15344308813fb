"""Addresses checked and rendered mail made into a multipart message (text + HTML, Date,
Message-ID, From): the one place a header is built, so no value reaches one unchecked."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from .templates import Message

# One plain address: a local part and a domain, nothing that could end a header or list a
# second recipient (CR, LF, comma, semicolon, angle brackets, quotes, spaces).
ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
MAX_ADDRESS = 254


def check_address(value: str) -> str:
    """`value` as one recipient address (trimmed), or ValueError: header injection and several
    addresses are refused, not cleaned."""
    if not isinstance(value, str):
        raise ValueError("a mail address must be text")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):  # CR, LF, TAB...: refused, not trimmed
        raise ValueError("not one mail address")
    address = value.strip(" ")
    if len(address) > MAX_ADDRESS or not ADDRESS.fullmatch(address) or ".." in address:
        raise ValueError("not one mail address")
    return address


def parse_sender(value: str) -> Address:
    """HUB_MAIL_FROM (`Name <address>` or `address`) as a header address; ValueError if bad."""
    if any(ch in value for ch in "\r\n"):
        raise ValueError("HUB_MAIL_FROM must be one line")
    name, address = parseaddr(value)
    address = check_address(address)
    return Address(display_name=name, addr_spec=address)


def compose(message: Message, sender: Address, to: str) -> EmailMessage:
    """The mail to send: `message`'s subject and bodies from `sender` to `to` (already checked)."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = make_msgid(domain=sender.domain or "localhost")
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    return mail
