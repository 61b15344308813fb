"""Checks for what people type about an account (username, email, display name, about line).

Each returns the cleaned value or raises `InvalidInput` naming the field. Names and addresses go
into mail headers and bodies, so no control character (CR/LF above all) is ever let through:
`fullmatch`, not `match` with `$` (which accepts a trailing newline).
"""

from __future__ import annotations

import re
import unicodedata

from .accounts import InvalidInput
from .auth import password_problem
from .cli import USERNAME
from .mail.compose import check_address

MAX_EMAIL = 254
MAX_DISPLAY_NAME = 80
MAX_ABOUT = 280
EMAIL = re.compile(r"[^@\s<>()\[\],;:\"'\\]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(field, f"{field} must be a string")
    return value


def username(value: object, field: str = "username") -> str:
    name = _text(value, field)
    if not USERNAME.fullmatch(name):
        raise InvalidInput(field, "A username has 2-40 letters, digits, '.', '_' or '-'.")
    return name


def email(value: object, field: str = "email") -> str:
    """An address as typed, trimmed; compared case-insensitively by the store."""
    address = _text(value, field).strip()
    try:  # and one the mailer takes (ASCII, no control character): else every mail to it would fail
        mailable = check_address(address)
    except ValueError:
        mailable = ""
    if len(address) > MAX_EMAIL or not EMAIL.fullmatch(address) or mailable != address:
        raise InvalidInput(field, "That is not an email address (like name@example.org).")
    return address


def line(value: object, field: str, limit: int) -> str:
    """One line of free text: trimmed, at most `limit` characters, no control characters."""
    text = _text(value, field).strip()
    if len(text) > limit:
        raise InvalidInput(field, f"{field} must have at most {limit} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text):
        raise InvalidInput(field, f"{field} must be one line without control characters")
    return text


def password(value: object, name: str, field: str = "password") -> str:
    """A new password under the CLI's rules (hub/auth.py `password_problem`)."""
    secret = _text(value, field)
    problem = password_problem(secret, name)
    if problem:
        raise InvalidInput(field, problem[0].upper() + problem[1:] + ".")
    return secret
