"""Stream keys and the media server's publish callbacks (docs/streaming.md): keys signed for one
performer and one stage, refused when wrong, expired, revoked or for another stream; callbacks
only from the configured media server; liveness as a hub-only `stream` event."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from client import HubClient
from hub.streams import StreamKeys
from tests.conftest import Hub
from tests.gql import data, refused, stage_id


async def callback(
    hub: Hub, kind: str, name: str, key: str | None, headers: dict[str, str] | None = None, **extra: str
) -> tuple[int, dict[str, Any]]:
    """POST the form nginx-rtmp posts (`call`, `app`, `name`, `addr`... and the URL's `key`)."""
    form = {"call": kind, "app": "live", "name": name, "addr": "127.0.0.1", "clientid": "1", **extra}
    if key is not None:
        form["key"] = key
    path = "publish" if kind == "publish" else "done"
    async with aiohttp.ClientSession() as http, http.post(f"{hub.url}/api/streams/{path}", data=form, headers=headers) as r:
        return r.status, await r.json()


def stream_events(client: HubClient) -> list[dict[str, Any]]:
    return [e["payload"] for e in client.events if e["topic"] == "stream"]


async def created(client: HubClient, **data: Any) -> dict[str, Any]:
    ack = await client.call("createStreamKey", data)
    assert ack["ok"], ack
    return ack


async def test_a_key_lets_its_stream_go_live_and_the_stage_sees_it(hub: Hub) -> None:
    await hub.stage("show", "helen", players=("paul",))
    paul, audience = await hub.joined("paul"), await hub.joined()
    made = await created(paul, label="camera 1")
    key, secret = made["key"], made["secret"]
    assert key["label"] == "camera 1" and key["name"].startswith("show-") and not key["revoked"]
    assert made["publishUrl"] == f"rtmp://{{host}}:1935/live/{key['name']}?key={secret}"
    assert key["url"] == f"http://{{host}}:8088/hls/{key['name']}.m3u8"
    assert secret not in str((await paul.call("streamKeys", {}))["keys"])  # shown once only

    status, body = await callback(hub, "publish", key["name"], secret)
    assert status == 200 and body["ok"], body
    await audience.wait_for(lambda c: bool(stream_events(c)), timeout=5)
    assert stream_events(audience)[0] == {"name": key["name"], "live": True, "url": key["url"], "performer": "paul"}
    assert hub.node.rooms[key["stageId"]].state["streams"][key["name"]]["live"] is True
    joined = await (await hub.connect()).join("show")  # a late joiner has it in the state
    assert joined["state"]["streams"][key["name"]]["performer"] == "paul"

    status, _ = await callback(hub, "publish_done", key["name"], secret)
    assert status == 200
    await audience.wait_for(lambda c: len(stream_events(c)) == 2, timeout=5)
    assert stream_events(audience)[1]["live"] is False
    # a second end (or the end of a refused publish) announces nothing more
    assert (await callback(hub, "publish_done", key["name"], secret))[0] == 200
    assert (await callback(hub, "publish_done", key["name"], "x"))[0] == 200
    assert (await audience.publish("chat", "sync"))["ok"]
    assert len(stream_events(audience)) == 2


async def test_wrong_expired_revoked_and_other_stream_keys_are_refused(hub: Hub) -> None:
    await hub.stage("show", "helen", players=("paul",))
    await hub.stage("other", "oscar")
    paul, oscar = await hub.joined("paul"), await hub.joined("oscar", "other")
    watcher = await hub.joined()
    mine, theirs = await created(paul), await created(oscar)
    name, secret = mine["key"]["name"], mine["secret"]

    tampered = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    refusals: list[tuple[str | None, str, str]] = [
        (None, name, "missing"),
        ("nonsense", name, "malformed"),
        (tampered, name, "signature"),
        (theirs["secret"], name, "is for stream"),  # the other stage's key on this stage's stream
        (secret, theirs["key"]["name"], "is for stream"),
        (secret, "", "name"),
    ]
    for key, stream, why in refusals:
        status, body = await callback(hub, "publish", stream, key)
        assert status == 403 and why in body["error"]["message"], (key, stream, body)

    await hub.store.db.execute("UPDATE stream_keys SET expires_at = 1 WHERE id = :id", {"id": mine["key"]["id"]})
    status, body = await callback(hub, "publish", name, secret)
    assert status == 403 and "expired" in body["error"]["message"]

    status, body = await callback(hub, "publish", theirs["key"]["name"], theirs["secret"])
    assert status == 200
    revoked = await oscar.call("revokeStreamKey", {"id": theirs["key"]["id"]})
    assert revoked["ok"] and revoked["key"]["revoked"] is True
    status, body = await callback(hub, "publish", theirs["key"]["name"], theirs["secret"])
    assert status == 403 and "revoked" in body["error"]["message"]
    assert (await watcher.publish("chat", "sync"))["ok"]
    assert stream_events(watcher) == []  # nothing went live on "show"

    # the database keeps no secret: neither the secret nor its random part is in any row
    rows = [dict(r) for r in await hub.store.db.fetch_all("SELECT * FROM stream_keys")]
    nonce = secret.split(".")[2]
    assert rows and not any(nonce in str(value) or secret in str(value) for row in rows for value in row.values())


async def test_a_performer_who_lost_the_role_cannot_publish(hub: Hub) -> None:
    await hub.stage("show", "helen", players=("paul",))
    made = await created(await hub.joined("paul"))
    stage = await hub.store.get_stage("show")
    assert stage is not None
    await hub.store.db.execute("DELETE FROM stage_access WHERE stage_id = :s", {"s": stage.id})
    status, body = await callback(hub, "publish", made["key"]["name"], made["secret"])
    assert status == 403 and "no longer a performer" in body["error"]["message"]


async def test_callbacks_come_from_the_media_server_only(make_hub: Callable[..., Any]) -> None:
    hub = await make_hub(stream_callback_from="10.9.9.9, 192.168.0.0/16")
    await hub.stage("show", "helen")
    made = await created(await hub.joined("helen"))
    for kind in ("publish", "publish_done"):
        status, body = await callback(hub, kind, made["key"]["name"], made["secret"])
        assert status == 403 and body["error"]["message"] == "stream callbacks are accepted from the media server only"


async def test_a_callback_forwarded_by_a_reverse_proxy_on_the_media_servers_host_is_refused(
    make_hub: Callable[..., Any],
) -> None:
    """The proxy (127.0.0.1, trusted) forwards a public request: its client is the one named in
    X-Forwarded-For, not the media server, whatever address the proxy itself has."""
    hub = await make_hub(trusted_proxies="127.0.0.1, ::1")
    await hub.stage("show", "helen")
    helen = await hub.joined("helen")
    made = await created(helen)
    name, secret = made["key"]["name"], made["secret"]
    status, body = await callback(hub, "publish", name, secret, headers={"X-Forwarded-For": "203.0.113.7"})
    assert status == 403 and body["error"]["code"] == "forbidden"
    assert (await callback(hub, "publish", name, secret, headers={"X-Forwarded-For": "127.0.0.1"}))[0] == 200
    assert (await callback(hub, "publish_done", name, secret))[0] == 200, "nginx-rtmp itself calls without the header"


async def test_callbacks_are_rate_limited_per_address(make_hub: Callable[..., Any]) -> None:
    hub = await make_hub(stream_callback_rate_limit=0.01, stream_callback_rate_burst=2)
    statuses = [(await callback(hub, "publish", "s-1", "bad"))[0] for _ in range(3)]
    assert statuses == [403, 403, 429]


async def test_stream_key_calls_check_roles_and_input(hub: Hub) -> None:
    await hub.stage("show", "helen", players=("paul", "pia"), editors=("eddie",))
    await hub.user("outsider")
    paul, pia, eddie = await hub.joined("paul"), await hub.joined("pia"), await hub.joined("eddie")
    for who in (await hub.joined(), await hub.joined("outsider")):
        for call in ("streamKeys", "createStreamKey", "revokeStreamKey"):
            ack = await who.call(call, {})
            assert ack["ok"] is False and ack["error"]["code"] == "forbidden", (call, ack)
    not_joined = await hub.connect("paul")
    assert (await not_joined.call("createStreamKey", {}))["error"]["code"] == "not_joined"
    for bad, field in (({"ttl": 5}, "ttl"), ({"ttl": "1h"}, "ttl"), ({"ttl": 10**9}, "ttl"), ({"label": 3}, "label"),
                       ({"label": "x" * 101}, "label")):  # fmt: skip
        ack = await paul.call("createStreamKey", bad)
        assert ack["error"]["code"] == "bad_request" and ack["error"]["message"].startswith(field), ack
    pauls = await created(paul, label="p", ttl=3600)
    assert 3590 < pauls["key"]["expiresAt"] - (await created(pia))["key"]["expiresAt"] + 86400 <= 3600 + 5
    assert [k["label"] for k in (await paul.call("streamKeys", {}))["keys"]] == ["p"]  # their own
    assert len((await eddie.call("streamKeys", {}))["keys"]) == 2  # an editor sees all
    ack = await pia.call("revokeStreamKey", {"id": pauls["key"]["id"]})
    assert ack["error"]["code"] == "forbidden", ack
    assert (await pia.call("revokeStreamKey", {"id": "nope"}))["error"]["code"] == "bad_request"
    assert (await pia.call("revokeStreamKey", {"id": "0" * 16}))["error"]["code"] == "not_found"
    assert (await eddie.call("revokeStreamKey", {"id": pauls["key"]["id"]}))["key"]["revoked"] is True


async def test_clients_may_not_publish_stream_events(hub: Hub) -> None:
    await hub.stage("show", "helen")
    helen = await hub.joined("helen")
    ack = await helen.publish("stream", {"name": "show-1", "live": True, "url": "http://evil/x.m3u8"})
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"
    assert ack["error"]["message"] == "topic: stream events come from the hub only, never from clients"


async def test_stream_keys_over_graphql(hub: Hub) -> None:
    await hub.stage("show", "helen", players=("paul", "pia"))
    await hub.stage("other", "oscar")
    sid, other = await stage_id(hub, "show"), await stage_id(hub, "other")
    create = "mutation($s: ID!, $l: String) { createStreamKey(stageId: $s, label: $l) { key { id name label url } publishUrl secret } }"
    listed = "query($s: ID!) { streamKeys(stageId: $s) { id label revoked } }"
    revoke = "mutation($s: ID!, $id: String!) { revokeStreamKey(stageId: $s, keyId: $id) { id revoked } }"
    await refused(hub, "unauthenticated", create, {"s": sid})
    await refused(hub, "forbidden", create, {"s": sid}, user="oscar")
    made = (await data(hub, create, {"s": sid, "l": "backstage"}, user="paul"))["createStreamKey"]
    assert made["key"]["label"] == "backstage" and made["secret"] in made["publishUrl"]
    assert (await data(hub, listed, {"s": sid}, user="pia"))["streamKeys"] == []
    await refused(hub, "forbidden", revoke, {"s": sid, "id": made["key"]["id"]}, user="pia")
    # a key of one stage is not found through another
    await refused(hub, "not_found", revoke, {"s": other, "id": made["key"]["id"]}, user="oscar")
    assert (await data(hub, revoke, {"s": sid, "id": made["key"]["id"]}, user="helen"))["revokeStreamKey"]["revoked"]
    keys = (await data(hub, listed, {"s": sid}, user="paul"))["streamKeys"]
    assert keys == [{"id": made["key"]["id"], "label": "backstage", "revoked": True}]


async def test_pages_may_reach_the_stream_origin_and_nothing_more(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/stage/show") as r:
        policy = r.headers["Content-Security-Policy"]
    assert "connect-src 'self' http://127.0.0.1:8088;" in policy and "media-src 'self' https: http: blob:;" in policy
    assert "script-src 'self';" in policy and "worker-src 'self';" in policy
    async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/vendor/hls.light.min.mjs") as r:
        assert r.status == 200  # hls.js from npm, never a CDN


async def test_a_stream_live_across_a_sweep_stays_live(hub: Hub) -> None:
    """A sweep begins a new epoch whose state starts empty; a stream still publishing is still
    live in it (its end comes later through the done callback)."""
    await hub.stage("show", "helen")
    helen = await hub.joined("helen")
    made = await created(helen)
    name, secret = made["key"]["name"], made["secret"]
    assert (await callback(hub, "publish", name, secret))[0] == 200
    swept = await helen.call("sweep", {"name": "Act 1"})
    assert swept["ok"], swept
    joined = await (await hub.connect()).join("show")
    assert joined["state"]["streams"][name]["live"] is True
    assert (await callback(hub, "publish_done", name, secret))[0] == 200, "and it can still be said to stop"
    later = await (await hub.connect()).join("show")
    assert later["state"]["streams"][name]["live"] is False


async def test_a_callback_body_that_is_not_a_form_is_a_bad_request(hub: Hub) -> None:
    bodies = [
        ("application/x-www-form-urlencoded", b"\xff\xfe\x00\x01name=x"),
        ("multipart/form-data", b"--xx\r\ngarbage"),
        ("multipart/form-data; boundary=xx", b"--xx\r\ngarbage"),
    ]
    async with aiohttp.ClientSession() as http:
        for path in ("publish", "done"):
            for content_type, body in bodies:
                headers = {"Content-Type": content_type}
                async with http.post(f"{hub.url}/api/streams/{path}", data=body, headers=headers) as r:
                    assert (r.status, (await r.json())["error"]["code"]) == (400, "bad_request"), (path, content_type)


async def test_keys_made_at_once_stay_within_the_limit_and_labels_carry_no_control_characters(
    make_hub: Callable[..., Any],
) -> None:
    hub = await make_hub(stream_keys_per_performer=3)
    await hub.stage("show", "helen")
    helen = await hub.joined("helen")
    acks = await asyncio.gather(*(helen.call("createStreamKey", {}) for _ in range(10)))
    assert [a["ok"] for a in acks].count(True) == 3, acks
    assert {a["error"]["code"] for a in acks if not a["ok"]} == {"rate_limited"}
    assert len((await helen.call("streamKeys", {}))["keys"]) == 3
    bad = await helen.call("createStreamKey", {"label": "\x00abc"})
    assert bad["ok"] is False and bad["error"]["code"] == "bad_request" and "control" in bad["error"]["message"]


async def test_a_streams_end_never_overtakes_its_start(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    """The end of a stream that comes while its start is still being checked waits for it: the
    stage ends up showing the stream stopped, not live after its end."""
    await hub.stage("show", "helen")
    helen = await hub.joined("helen")
    made = await created(helen)
    name, secret = made["key"]["name"], made["secret"]
    check = StreamKeys.check

    async def slow_start(self: StreamKeys, secret: Any, name: Any, live: bool = True) -> Any:
        if live:
            await asyncio.sleep(0.3)
        return await check(self, secret, name, live)

    monkeypatch.setattr(StreamKeys, "check", slow_start)
    start = asyncio.ensure_future(callback(hub, "publish", name, secret))
    await asyncio.sleep(0.1)
    assert (await callback(hub, "publish_done", name, secret))[0] == 200
    assert (await start)[0] == 200
    state = (await (await hub.connect()).join("show"))["state"]
    assert state["streams"][name]["live"] is False
