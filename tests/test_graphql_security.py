"""Regression tests from the security review of the management API: each test is a hole that was
found open (see the commit that closed it)."""

from __future__ import annotations

from tests.conftest import Hub
from tests.gql import data, eventually

UPDATE = "mutation($id: ID!, $role: String, $active: Boolean) { updateUser(id: $id, role: $role, active: $active) { id } }"


async def _user_id(hub: Hub, username: str) -> str:
    user = await hub.store.get_user_by_name(username)
    assert user is not None
    return str(user.id)


async def test_a_deactivated_deleted_or_demoted_users_sockets_are_disconnected_at_once(hub: Hub) -> None:
    await hub.stage("show", "olga", players=("pat", "ann"))
    await hub.user("root", "admin")
    await hub.user("boss", "admin")
    pat, ann, boss = await hub.joined("pat"), await hub.joined("ann"), await hub.connect("boss")
    await data(hub, UPDATE, {"id": await _user_id(hub, "pat"), "active": False}, user="root")
    await data(hub, "mutation($id: ID!) { deleteUser(id: $id) }", {"id": await _user_id(hub, "ann")}, user="root")
    await data(hub, UPDATE, {"id": await _user_id(hub, "boss"), "role": "player"}, user="root")
    for client in (pat, ann, boss):
        await eventually(lambda client=client: _disconnected(client))
    olga = await hub.joined("olga")
    await data(hub, UPDATE, {"id": await _user_id(hub, "olga"), "active": True}, user="root")
    assert olga.sio.connected  # an update that changes nothing that matters keeps the socket


async def _disconnected(client: object) -> bool:
    return not client.sio.connected  # type: ignore[attr-defined]
