"""Presence kept by the hub: counts and roster on join, rename, leave, abrupt disconnect; avatar holds."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap

from hub.presence import StagePresence


def counts(client):
    p = client.presence
    return (p["players"], p["audience"]) if p else None


async def test_counts_follow_joins_renames_and_leaves(hub):
    await hub.stage("show", owner="olivia", players=("pat",))
    pat = await hub.connect("pat")
    ack = await pat.join("show", nickname="Pat")
    assert ack["presence"]["players"] == 1 and ack["presence"]["audience"] == 0
    audience = [await hub.connect() for _ in range(3)]
    for i, client in enumerate(audience):
        await client.join("show", nickname=f"A{i}")
    await pat.wait_for(lambda c: counts(c) == (1, 3))
    roster = pat.presence["roster"]
    assert [(r["nickname"], r["role"]) for r in roster] == [("Pat", "player")]

    assert (await pat.set_presence(nickname="Patricia"))["ok"]
    await pat.wait_for(lambda c: c.presence["roster"][0]["nickname"] == "Patricia")

    assert (await audience[0].leave())["ok"]
    await pat.wait_for(lambda c: counts(c) == (1, 2))
    await audience[1].close()
    await pat.wait_for(lambda c: counts(c) == (1, 1))


async def test_presence_updates_are_coalesced(hub):
    await hub.stage("show", owner="olivia")
    watcher = await hub.joined()
    await asyncio.sleep(0.2)
    before = len(watcher.presence_updates)
    crowd = [await hub.connect() for _ in range(20)]
    await asyncio.gather(*(c.join("show") for c in crowd))
    await watcher.wait_for(lambda c: counts(c) == (0, 21))
    # 20 joins in well under a second produce a handful of messages, not 20.
    assert len(watcher.presence_updates) - before <= 5


CRASHING_TAB = textwrap.dedent(
    """
    import asyncio, sys
    from client import HubClient

    async def main():
        client = await HubClient(sys.argv[1]).connect()
        await client.join("show", nickname="Doomed")
        print("joined", flush=True)
        await asyncio.sleep(60)

    asyncio.run(main())
    """
)


async def test_a_tab_that_dies_without_goodbye_leaves_the_count(hub):
    await hub.stage("show", owner="olivia", players=("pat",))
    pat = await hub.joined("pat")
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASHING_TAB, hub.url], stdout=subprocess.PIPE, cwd=os.getcwd(), text=True
    )
    try:
        assert proc.stdout is not None
        assert (await asyncio.to_thread(proc.stdout.readline)).strip() == "joined"
        await pat.wait_for(lambda c: counts(c) == (1, 1))
        os.kill(proc.pid, signal.SIGKILL)
        await pat.wait_for(lambda c: counts(c) == (1, 0))
    finally:
        proc.kill()
        proc.wait()


async def test_newest_avatar_claim_wins_and_audience_never_holds(hub):
    await hub.stage("show", owner="olivia", players=("pat", "quinn"))
    pat, quinn, ann = await hub.connect("pat"), await hub.connect("quinn"), await hub.connect()
    for client in (pat, quinn, ann):
        await client.join("show")
    assert (await pat.set_presence(avatarId="bird"))["ok"]
    await pat.wait_for(lambda c: any(r["avatarId"] == "bird" for r in c.presence["roster"]))
    assert (await quinn.set_presence(avatarId="bird"))["ok"]

    def holders(c):
        return {r["session"]: r["avatarId"] for r in c.presence["roster"]}

    await ann.wait_for(lambda c: holders(c) == {pat.session: None, quinn.session: "bird"})
    assert (await quinn.set_presence(avatarId="cat"))["ok"]
    await ann.wait_for(lambda c: holders(c) == {pat.session: None, quinn.session: "cat"})

    refused = await ann.set_presence(avatarId="bird")
    assert refused["error"]["code"] == "forbidden"
    assert (await ann.set_presence(avatarId=42))["error"]["code"] == "bad_request"


async def test_reload_with_the_same_session_keeps_one_entry_and_the_hold(hub):
    await hub.stage("show", owner="olivia", players=("pat",))
    watcher = await hub.joined()
    first = await hub.connect("pat")
    tab = (await first.join("show"))["session"]
    await first.set_presence(avatarId="bird")
    await first.close()
    second = await hub.connect("pat", session=first.session, resume=first.resume)
    ack = await second.join("show")
    assert ack["session"] == tab
    assert ack["presence"]["roster"] == [{"session": tab, "nickname": "pat", "role": "player", "avatarId": "bird"}]
    await watcher.wait_for(lambda c: counts(c) == (1, 1) and c.presence["roster"][0]["avatarId"] == "bird")


def test_presence_bookkeeping_unit():
    presence = StagePresence(grace=0)
    presence.join("s1", "sid1", "Pat", "player")
    presence.join("s1", "sid2", "Pat", "player")
    presence.join("s2", "sid3", "Ann", "audience")
    assert presence.counts() == (1, 1)
    assert presence.leave("s1", "sid1") is False
    assert presence.counts() == (1, 1)
    assert presence.leave("s1", "sid2") is True
    assert presence.counts() == (0, 1)
    assert presence.snapshot()["roster"] == []


async def test_a_silent_client_that_keeps_its_connection_open_is_dropped(make_hub):
    from tests.rawsio import RawWebSocket

    hub = await make_hub(ping_interval=1.0, ping_timeout=1.0)
    await hub.stage("show", owner="olivia", players=("pat",))
    pat = await hub.joined("pat")
    silent = await RawWebSocket(hub.url).open()
    assert (await silent.call(1, "join", {"stage": "show"}))["ok"]
    await pat.wait_for(lambda c: counts(c) == (1, 1))
    # the raw client never answers Engine.IO's pings (pat's client does)
    await pat.wait_for(lambda c: counts(c) == (1, 0), timeout=5)
    await silent.close()
