"""The chat's stage-dependent rules on the hub (issue 17): players clear the chat only where the
owner allows it, the audience chat and reactions can be switched off, chat colours are the
performers', and the standalone chat page joins without being in presence."""

from __future__ import annotations

import asyncio

from hub.stage_rules import AUDIENCE_CHAT_OFF, OWNER_DECIDES, PLAYERS_MAY_NOT_CLEAR, REACTIONS_OFF
from tests.gateway_support import SERVICE_USER, SLUG, seeded_hub


def setting(kind: str, **fields: object) -> dict[str, object]:
    return {"type": kind, **fields}


async def test_players_clear_the_chat_only_where_the_owner_allows_it(hub) -> None:
    await hub.stage("show", owner="olivia", players=("pat",), editors=("eddie",))
    owner, editor, player = await hub.joined("olivia"), await hub.joined("eddie"), await hub.joined("pat")
    assert (await player.publish("chat", {"message": "one"}))["ok"]

    for control in ({"clear": True}, {"clearPlayerChat": True}):
        refused = await player.publish("chat", control)
        assert refused["error"] == {"code": "forbidden", "message": PLAYERS_MAY_NOT_CLEAR}
    # remove and highlight stay every performer's (the original's player context menu)
    message_id = next(e["payload"]["id"] for e in player.events if e["topic"] == "chat")
    assert (await player.publish("chat", {"highlight": message_id}))["ok"]

    # only the owner or an editor may allow it: a player may not allow himself
    refused = await player.publish("background", setting("setPlayersMayClearChat", enabled=True))
    assert refused["error"] == {"code": "forbidden", "message": OWNER_DECIDES}
    assert (await editor.publish("background", setting("setPlayersMayClearChat", enabled=True)))["ok"]
    assert (await player.publish("chat", {"clear": True}))["ok"]
    await owner.wait_for(lambda c: any(e["payload"] == {"clear": True} for e in c.events))
    assert (await owner.publish("background", setting("setPlayersMayClearChat", enabled=False)))["ok"]
    assert (await player.publish("chat", {"clear": True}))["error"]["code"] == "forbidden"
    assert (await owner.publish("chat", {"clear": True}))["ok"]  # owners and editors always may


async def test_a_scene_never_brings_back_the_players_right_to_clear(hub) -> None:
    await hub.stage("show", owner="olivia", players=("pat",))
    owner, player = await hub.joined("olivia"), await hub.joined("pat")
    assert (await owner.publish("background", setting("setPlayersMayClearChat", enabled=True)))["ok"]
    saved = await player.call("saveScene", {"name": "Allowed"})
    assert saved["ok"], saved
    assert (await owner.publish("background", setting("setPlayersMayClearChat", enabled=False)))["ok"]
    assert (await player.publish("background", setting("switchScene", scene=saved["scene"]["id"])))["ok"]
    assert (await player.publish("chat", {"clear": True}))["error"]["message"] == PLAYERS_MAY_NOT_CLEAR


async def test_audience_chat_and_reactions_off(hub) -> None:
    await hub.stage("show", owner="olivia", players=("pat",))
    player, audience = await hub.joined("pat"), await hub.joined()
    assert (await audience.publish("chat", {"message": "hello"}))["ok"]

    assert (await player.publish("background", setting("setAudienceChat", enabled=False)))["ok"]
    for message in ({"message": "still here?"}, "a bare string"):
        refused = await audience.publish("chat", message)
        assert refused["error"] == {"code": "forbidden", "message": AUDIENCE_CHAT_OFF}
    assert (await audience.publish("reaction", "👏"))["ok"]  # reactions are their own setting
    assert (await player.publish("chat", {"message": "the show goes on"}))["ok"]

    # a late joiner is told in its state; switching it on again lets the audience speak
    late = await hub.connect()
    ack = await late.join("show")
    assert ack["state"]["settings"]["audienceChat"] is False
    assert (await player.publish("background", setting("setAudienceChat", enabled=True)))["ok"]
    assert (await audience.publish("chat", {"message": "back again"}))["ok"]

    assert (await player.publish("background", setting("setReactionVisibility", visible=False)))["ok"]
    assert (await audience.publish("reaction", "👏"))["error"] == {"code": "forbidden", "message": REACTIONS_OFF}
    assert (await player.publish("reaction", "👏"))["ok"]

    # the switch is the performers': an audience socket cannot turn it on or off, nor send junk
    assert (await audience.publish("background", setting("setAudienceChat", enabled=False)))["error"]["code"] == "forbidden"
    bad = await player.publish("background", setting("setAudienceChat", enabled="yes"))
    assert bad["error"]["code"] == "bad_request" and "enabled" in bad["error"]["message"]


async def test_chat_colours_are_the_performers(hub) -> None:
    await hub.stage("show", owner="olivia", players=("pat",))
    player, audience = await hub.joined("pat"), await hub.joined()
    assert (await player.publish("chat", {"message": "in red", "color": "#cc0000"}))["ok"]
    assert (await audience.publish("chat", {"message": "in white", "color": "#ffffff"}))["ok"]
    await player.wait_for(lambda c: len([e for e in c.events if e["topic"] == "chat"]) == 2)
    red, white = (e["payload"] for e in player.events if e["topic"] == "chat")
    assert red["color"] == "#cc0000" and "color" not in white
    too_long = await player.publish("chat", {"message": "x", "color": "#" + "a" * 60})
    assert too_long["error"]["code"] == "bad_request" and "color" in too_long["error"]["message"]


async def test_a_chat_window_is_not_in_presence(hub) -> None:
    await hub.stage("show", owner="olivia", players=("pat",))
    watcher = await hub.joined("olivia")
    window = await hub.connect()
    bad = await window.call("join", {"stage": "show", "chatWindow": "yes"})
    assert bad["error"]["code"] == "bad_request" and "chatWindow" in bad["error"]["message"]
    ack = await window.call("join", {"stage": "show", "chatWindow": True})
    assert ack["ok"] and ack["role"] == "audience"
    assert ack["presence"]["audience"] == 0
    # it chats and receives the stage's events like any audience socket, but is never counted
    assert (await window.call("publish", {"topic": "chat", "payload": {"message": "from my phone"}}))["ok"]
    await watcher.wait_for(lambda c: any(e["topic"] == "chat" for e in c.events))
    refused = await window.call("presence", {"nickname": "Ann"})
    assert refused["error"]["code"] == "forbidden"
    player_window = await hub.connect("pat")
    assert (await player_window.call("join", {"stage": "show", "chatWindow": True}))["role"] == "player"
    await asyncio.sleep(0.2)  # presence is coalesced: a count would have arrived by now
    assert watcher.presence["players"] == 1 and watcher.presence["audience"] == 0
    # the same socket joining again as a page is counted; as a window again, it leaves the count
    assert (await window.call("join", {"stage": "show"}))["ok"]
    await watcher.wait_for(lambda c: c.presence["audience"] == 1)
    assert (await window.call("join", {"stage": "show", "chatWindow": True}))["ok"]
    await watcher.wait_for(lambda c: c.presence["audience"] == 0)


async def test_relayed_publishes_are_held_to_the_same_rules(make_hub) -> None:
    hub = await seeded_hub(make_hub, "olivia")
    owner = await hub.joined("olivia", SLUG)
    service = await hub.connect(SERVICE_USER)
    await service.join(SLUG)
    assert (await owner.publish("background", setting("setAudienceChat", enabled=False)))["ok"]
    relayed = await service.publish("chat", {"message": "from another hub"}, relay={"origin": "hub-b", "id": "b:1", "hops": 1, "as": "audience"})
    assert relayed["error"] == {"code": "forbidden", "message": AUDIENCE_CHAT_OFF}
    as_player = {"origin": "hub-b", "id": "b:2", "hops": 1, "as": "player"}
    assert (await service.publish("chat", {"clear": True}, relay=as_player))["error"]["message"] == PLAYERS_MAY_NOT_CLEAR
