"""Per-stage roles, resolved on the server from the stage's owner and access lists."""

from __future__ import annotations

from storage import Stage

OWNER, EDITOR, PLAYER, AUDIENCE = "owner", "editor", "player", "audience"
PERFORMER_ROLES = frozenset({OWNER, EDITOR, PLAYER})
# A service connection (a federation gateway): sees every event, is never counted in presence,
# and publishes only relayed events with the rights it names (at most RELAY_ROLES).
SERVICE = "service"
RELAY_ROLES = (AUDIENCE, PLAYER)


def resolve_role(stage: Stage, user_id: int | None) -> str:
    """The role a user has on a stage; anonymous visitors and unlisted users (admins too) are audience."""
    if user_id is None:
        return AUDIENCE
    if stage.owner_id == user_id:
        return OWNER
    if user_id in stage.editors:
        return EDITOR
    if user_id in stage.players:
        return PLAYER
    return AUDIENCE


def is_performer(role: str) -> bool:
    return role in PERFORMER_ROLES


def closed_message(status: str) -> str:
    """Why audience may not be on a stage with this status (anything but live)."""
    return "this stage is upcoming" if status == "upcoming" else f"this stage is in {status}"


def unfederated(stage: Stage) -> str | None:
    """Why a stage takes no audience-level input from other hubs or legacy clients (and its
    gateways publish nothing of it): not live, or hidden. None when it is federated."""
    if stage.status != "live":
        return closed_message(stage.status)
    return None if stage.visible else "this stage is hidden"


def sees_all(role: str) -> bool:
    """Whether a role receives performers-only events (private chat): performers and services."""
    return role in PERFORMER_ROLES or role == SERVICE


def may_watch_archive(stage: Stage | None, role: str, admin: bool) -> bool:
    """Whether a caller may list and replay a stage's performances: admins always, the stage's
    performers always, anyone else only while the stage is visible and not in rehearsal. The
    performances of a deleted stage (`stage` None) are for admins. One rule for the socket's
    `replay` and `performances` and for GraphQL; refused callers are told `not_found`."""
    if admin:
        return True
    if stage is None:
        return False
    return is_performer(role) or (stage.visible and stage.status != "rehearsal")
