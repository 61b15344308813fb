"""Tab sessions that cannot be taken over.

A session id is public: it is in every roster entry and every event's `from.session`. What lets
a reconnecting tab keep its presence entry, avatar hold and targeted events is the resume secret
the hub hands to the session's owner only (in the join ack): an HMAC of the session id and the
identity that first used it (the account, or "anonymous"), under the hub's secret key. A claim is
honoured only with the right secret for the same identity; anything else gets a fresh session.
Being stateless, the check holds across restarts and across hub processes sharing the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid

from .inbound import SESSION_ID

RESUME = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class SessionSigner:
    """Issues sessions with their resume secrets and checks claims to them."""

    def __init__(self, secret_key: str) -> None:
        self._key = hashlib.sha256(b"upstage-hub session resume\0" + secret_key.encode()).digest()

    def claim(self, session: object, resume: object, user_id: int | None) -> tuple[str, str]:
        """The (session, resume secret) a connection gets: the claimed session when `resume` proves
        it belongs to this identity, otherwise a fresh one."""
        if (
            isinstance(session, str)
            and isinstance(resume, str)
            and SESSION_ID.match(session)
            and RESUME.match(resume)
            and hmac.compare_digest(resume, self.secret(session, user_id))
        ):
            return session, resume
        fresh = uuid.uuid4().hex
        return fresh, self.secret(fresh, user_id)

    def secret(self, session: str, user_id: int | None) -> str:
        identity = "anonymous" if user_id is None else f"user:{user_id}"
        mac = hmac.new(self._key, f"{session}\0{identity}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:24]).decode().rstrip("=")
