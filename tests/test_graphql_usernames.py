"""`usernames(search)`: the backstage access picker's suggestions, names only, for logged-in users."""

from __future__ import annotations

from tests.conftest import Hub
from tests.gql import data, gql

QUERY = "query($s: String!) { usernames(search: $s) }"


async def test_a_player_finds_active_users_by_part_of_their_name(hub: Hub) -> None:
    for name in ("alice", "bob", "bobby", "robert"):
        await hub.user(name)
    await hub.store.create_user("bobcat", "x", "player", active=False)
    assert (await data(hub, QUERY, {"s": "BOB"}, user="alice"))["usernames"] == ["bob", "bobby"]
    assert (await data(hub, QUERY, {"s": "ob"}, user="alice"))["usernames"] == ["bob", "bobby", "robert"]
    assert (await data(hub, QUERY, {"s": " b "}, user="alice"))["usernames"] == []


async def test_at_most_twenty_names(hub: Hub) -> None:
    for i in range(25):
        await hub.user(f"player{i:02}")
    assert len((await data(hub, QUERY, {"s": "player"}, user="player00"))["usernames"]) == 20


async def test_anonymous_callers_get_no_names(hub: Hub) -> None:
    await hub.user("alice")
    body = await gql(hub, QUERY, {"s": "ali"})
    assert body["errors"][0]["extensions"]["code"] == "unauthenticated"
    assert body["data"] is None
