"""Mail (issue 18): templates in `templates/`, a queue with retries over SMTP (docs/mail.md).

Use `app[MAILER].send(to, template, **context)` in request handlers, `ctx.services.mailer` in
GraphQL resolvers."""

from aiohttp import web

from .compose import check_address
from .mailer import Mailer
from .templates import Message, names, render
from .transport import MailConfigError, parse_smtp_url

MAILER = web.AppKey("mailer", Mailer)

__all__ = ["MAILER", "MailConfigError", "Mailer", "Message", "check_address", "names", "parse_smtp_url", "render"]
