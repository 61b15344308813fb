"""Mail templates, all in `hub/mail/templates/`: `<name>.subject`, `<name>.txt` and `<name>.html`,
filled with `string.Template` (`$name`). Values are HTML-escaped in the HTML part and stripped of
line breaks in the subject, so a name chosen by a user can neither add markup nor a header."""

from __future__ import annotations

import html
import re
import string
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

CONTEXT_LINE = "## context:"  # the first line of each .txt: the names its templates use
LAYOUT = "_layout.html"  # every HTML part is put in this page as $content
CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]+")
LINK_NAMES = ("link", "url")  # a value under a name ending so must be an http(s) address
SUBJECT_LIMIT = 200


@dataclass(frozen=True)
class Message:
    """A rendered mail, before addressing: the subject and both bodies."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Template:
    """One template's three parts and the context names its .txt documents."""

    name: str
    subject: string.Template
    text: string.Template
    html: string.Template
    context: tuple[str, ...]


def _folder() -> Any:
    return resources.files("hub.mail").joinpath("templates")


def names() -> list[str]:
    """Every template's name (the files starting with `_` are shared parts, not templates)."""
    found = {entry.name.rsplit(".", 1)[0] for entry in _folder().iterdir() if entry.name.endswith(".txt")}
    return sorted(name for name in found if not name.startswith("_"))


@cache
def load(name: str) -> Template:
    """A template by name; ValueError for a name that is not one."""
    if name not in names():
        raise ValueError(f"unknown mail template {name!r}")
    folder = _folder()
    text = folder.joinpath(f"{name}.txt").read_text(encoding="utf-8")
    first, _, body = text.partition("\n")
    if not first.startswith(CONTEXT_LINE):
        raise ValueError(f"mail template {name}.txt must start with {CONTEXT_LINE!r}")
    context = tuple(first[len(CONTEXT_LINE) :].replace(",", " ").split())
    return Template(
        name,
        string.Template(folder.joinpath(f"{name}.subject").read_text(encoding="utf-8").strip()),
        string.Template(body),
        string.Template(folder.joinpath(f"{name}.html").read_text(encoding="utf-8")),
        context,
    )


@cache
def _layout() -> string.Template:
    return string.Template(_folder().joinpath(LAYOUT).read_text(encoding="utf-8"))


def one_line(value: str) -> str:
    """Text for a header: line breaks and other control characters become one space."""
    return CONTROL.sub(" ", value).strip()


def _values(name: str, context: dict[str, Any]) -> dict[str, str]:
    values = {key: "" if value is None else str(value) for key, value in context.items()}
    for key, value in values.items():
        if key.lower().endswith(LINK_NAMES) and value and not value.startswith(("https://", "http://")):
            raise ValueError(f"mail template {name}: {key} must be an http(s) address")
    return values


def render(name: str, **context: Any) -> Message:
    """The template `name` filled with `context`; ValueError for an unknown template or a name
    the template uses that the context lacks."""
    template = load(name)
    values = _values(name, context)
    try:
        subject = one_line(template.subject.substitute(values))[:SUBJECT_LIMIT]
        text = template.text.substitute(values)
        escaped = {key: html.escape(value, quote=True) for key, value in values.items()}
        content = template.html.substitute(escaped)
    except KeyError as exc:
        raise ValueError(f"mail template {name} needs {exc.args[0]!r}") from None
    page = _layout().substitute(title=html.escape(subject, quote=True), content=content)
    return Message(subject, text, page)
