"""Mail over GraphQL, for admins: whether mail is configured (`Site.mail`) and a test mail."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from ..mail import check_address
from .context import Context, fail


def mail_status(_: Any, info: GraphQLResolveInfo) -> dict[str, Any]:
    """Where mail goes: an SMTP server (`configured`) or the log, and the sender; admins only."""
    ctx: Context = info.context
    ctx.require_admin()
    mailer = ctx.services.mailer
    return {"configured": mailer.configured, "from": mailer.sender_text}


async def send_test_mail(_: Any, info: GraphQLResolveInfo, to: str) -> bool:
    """Queue the `test` template to `to`; throttled per admin and per client address."""
    ctx: Context = info.context
    admin = ctx.require_admin()
    mailer = ctx.services.mailer
    try:
        address = check_address(to)
    except ValueError:
        fail("bad_request", "The address must be one mail address (name@example.org).", "to")
    keys = (f"user:{admin.id}", f"address:{ctx.address}")
    wait = max(mailer.test_limits.wait(key) for key in keys)
    if wait > 0:
        retry = max(1, round(wait))
        raise GraphQLError(
            f"Too many test mails: try again in {retry} s.", extensions={"code": "rate_limited", "retryAfter": retry}
        )
    for key in keys:
        mailer.test_limits.take(key)
    mailer.send(address, "test", username=admin.username)
    return True


RESOLVERS = {"Site": {"mail": mail_status}, "Mutation": {"sendTestMail": send_test_mail}}
