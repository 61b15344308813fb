"""Relayed publishes (an extension for federation gateways): who a relayed event speaks as.

Only a service connection may relay. The relay names the rights the event gets (`as`, at most
a player) and where it came from; the payload then passes the same `check_publish` as any
publish, with those rights. See docs/federation.md.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

from .inbound import DEFAULT_NICKNAME, SESSION_ID, Identity, Refused, clean_nickname
from .roles import RELAY_ROLES

if TYPE_CHECKING:
    from .rooms import Connection

ORIGIN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_EVENT_ID = 200
MAX_HOPS = 255
RETRYABLE = frozenset({"unavailable", "rate_limited"})  # refusals a gateway sends again
MAX_HELD = 1024  # relays remembered as refused per connection (a gateway has 32 in flight)


def relay_identity(relay: Any, service_session: str) -> tuple[Identity, dict[str, Any]]:
    """The identity a relayed event is stamped with, and the relay fields kept in its `from`.

    Raises Refused (`bad_request`) for malformed relay fields and (`forbidden`) for rights a
    service may not grant.
    """
    if not isinstance(relay, dict):
        raise Refused("bad_request", "relay must be an object")
    origin, event_id, hops, role = relay.get("origin"), relay.get("id"), relay.get("hops"), relay.get("as")
    if not isinstance(origin, str) or not ORIGIN.match(origin):
        raise Refused("bad_request", "relay.origin must be 1-64 characters of A-Za-z0-9_.:-")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_EVENT_ID:
        raise Refused("bad_request", f"relay.id must be a string of 1-{MAX_EVENT_ID} characters")
    if not isinstance(hops, int) or isinstance(hops, bool) or not 0 <= hops <= MAX_HOPS:
        raise Refused("bad_request", f"relay.hops must be an integer 0-{MAX_HOPS}")
    if role not in RELAY_ROLES:
        raise Refused("forbidden", f"relay.as must be one of {', '.join(RELAY_ROLES)}")
    nickname = clean_nickname(relay["nickname"]) if relay.get("nickname") is not None else DEFAULT_NICKNAME
    session = relay.get("session")
    if not isinstance(session, str) or not SESSION_ID.match(session):
        session = service_session
    else:
        session = peer_session(origin, session)
    return Identity(session, nickname, role), {"origin": origin, "eventId": event_id, "hops": hops}


def peer_session(origin: str, session: str) -> str:
    """The session a relayed event is stamped with: the peer's own, as seen from here. It is the
    same for every event of that peer session (an avatar it holds stays its own) and can never be
    a session of this hub, whatever the peer claims (sessions are public: every event shows one)."""
    digest = hashlib.blake2b(f"{origin}\n{session}".encode(), digest_size=15).hexdigest()
    return f"p{digest}"


def relay_id(data: Any) -> str | None:
    """The relayed event id a publish call names, if any."""
    relay = data.get("relay") if isinstance(data, dict) else None
    event_id = relay.get("id") if isinstance(relay, dict) else None
    return event_id if isinstance(event_id, str) else None


def keep_relay_order(conn: Connection, data: Any) -> None:
    """Refuse (`unavailable`) a relay that would overtake one this connection saw refused for now.

    A gateway has several relays in flight; when one is refused `unavailable` or `rate_limited`,
    the ones behind it must not land first. So every later relay is refused too, until one of
    the refused ones comes again (the gateway sends them again in their order): that clears it.
    """
    held, event_id = conn.relay_hold, relay_id(data)
    if held is None or event_id is None:
        return
    if event_id in held:
        conn.relay_hold = None
        return
    raise Refused("unavailable", "an earlier relay of this connection was refused: send it again first")


def hold_relays(conn: Connection | None, data: Any, code: str) -> None:
    """After a retryable refusal of a service's relay, hold the relays behind it (see above)."""
    event_id = relay_id(data)
    if conn is None or not conn.service or event_id is None or code not in RETRYABLE:
        return
    if conn.relay_hold is None:
        conn.relay_hold = set()
    if len(conn.relay_hold) < MAX_HELD:
        conn.relay_hold.add(event_id)
