"""The `stream` topic's reducer (hub/state/streams.py): which live streams a stage has; and the
parts of live streams that need no hub: the nginx configuration, the page policy, the key store."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from hub.security_headers import page_policy
from hub.state import apply, empty_state
from hub.state.streams import MAX_STREAMS
from hub.stream_http import media_origin
from hub.streaming import MediaServer, missing, nginx_binary
from storage import Store, StreamKey
from tests.conftest import missing_service


def ev(payload: Any, at: int = 1000) -> dict[str, Any]:
    return {"seq": 1, "topic": "stream", "payload": payload, "at": at}


def test_streams_start_and_stop_and_keep_scenes_out() -> None:
    state = apply(empty_state(), ev({"name": "show-1", "live": True, "url": "http://{host}:8088/hls/show-1.m3u8", "performer": "helen"}))
    assert state["streams"] == {"show-1": {"live": True, "url": "http://{host}:8088/hls/show-1.m3u8", "performer": "helen", "since": 1000}}
    stopped = apply(state, ev({"name": "show-1", "live": False}, at=2000))
    assert stopped["streams"]["show-1"] == {"live": False, "url": None, "performer": None, "since": 2000}
    blank = apply(state, {"seq": 2, "topic": "background", "payload": {"type": "blankScene"}, "at": 3000})
    assert blank["streams"] is state["streams"]  # a blanked scene keeps the streams


def test_malformed_stream_events_change_nothing() -> None:
    state = empty_state()
    for payload in ("x", {"live": True}, {"name": "a", "live": "yes"}, {"name": "123", "live": True},
                    {"name": "a b", "live": True}, {"name": "x" * 65, "live": True}, {"name": "a\n", "live": True}):
        assert apply(state, ev(payload)) is state, payload
    weird = apply(state, ev({"name": "a", "live": True, "url": 5, "performer": "p" * 3000}))
    assert weird["streams"]["a"] == {"live": True, "url": None, "performer": None, "since": 1000}


def test_a_state_from_before_streams_takes_them() -> None:
    old = {k: v for k, v in empty_state().items() if k != "streams"}
    assert apply(old, ev({"name": "a", "live": True}))["streams"]["a"]["live"] is True
    assert apply(old, ev({"name": "1", "live": True})) is old


def test_the_oldest_stopped_stream_goes_first_past_the_limit() -> None:
    state = empty_state()
    for i in range(MAX_STREAMS):
        state = apply(state, ev({"name": f"s-{i}", "live": i != 5}))
    state = apply(state, ev({"name": "new", "live": True}))
    assert len(state["streams"]) == MAX_STREAMS and "s-5" not in state["streams"] and "new" in state["streams"]
    state = apply(state, ev({"name": "newer", "live": True}))  # all live: the oldest goes
    assert "s-0" not in state["streams"] and "newer" in state["streams"]


def test_the_media_origin_in_the_page_policy() -> None:
    pattern = "http://{host}:8088/hls/{name}.m3u8"
    assert media_origin(pattern, "stage.example.org:8080") == "http://stage.example.org:8088"
    assert media_origin(pattern, "[::1]:8080") == "http://[::1]:8088"
    assert media_origin(pattern, "evil.org; script-src *") == ""  # never a header injection
    assert media_origin("/hls/{name}.m3u8", "a") == ""  # the page's own origin
    assert media_origin("https://cdn.example.org/live/{name}/index.m3u8", "x") == "https://cdn.example.org"
    policy = page_policy("http://a:8088")
    assert "connect-src 'self' http://a:8088;" in policy and "media-src 'self' https: http: blob:" in policy
    assert "worker-src 'self'" in policy and "script-src 'self';" in policy


def test_the_generated_nginx_configuration_is_valid(tmp_path: Path) -> None:
    server = MediaServer(tmp_path / "streaming", 19350, 18088, "http://127.0.0.1:8080")
    conf = server.config()
    assert "on_publish http://127.0.0.1:8080/api/streams/publish;" in conf and "deny play all;" in conf
    assert "daemon off;" in conf and f"pid {(tmp_path / 'streaming').resolve()}/nginx.pid;" in conf
    problem = missing()
    if problem is not None:
        missing_service(problem)
    server.write()
    command = [*server.command(nginx_binary()), "-t"]
    checked = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr


async def test_stream_keys_in_the_store(store: Store) -> None:
    """On SQLite and Postgres: keys listed per stage and performer, counted while usable, revoked."""
    helen, pat = await store.create_user("helen", "h"), await store.create_user("pat", "h")
    show = await store.create_stage("show", "Show", helen.id, [pat.id])
    now = int(time.time())
    for i, (user, expires) in enumerate([(helen, now + 60), (pat, now + 60), (pat, now - 1)]):
        await store.create_stream_key(StreamKey(f"{i:016x}", show.id, user.id, f"show-{i}", "", "h", expires))
    assert [k.name for k in await store.stream_keys(show.id, pat.id)] in (["show-1", "show-2"], ["show-2", "show-1"])
    assert len(await store.stream_keys(show.id)) == 3
    assert await store.count_stream_keys(show.id, pat.id, now) == 1
    await store.revoke_stream_key(f"{1:016x}")
    assert await store.count_stream_keys(show.id, pat.id, now) == 0
    key = await store.get_stream_key(f"{1:016x}")
    assert key is not None and key.revoked and key.created_at
    assert len(await store.stream_keys(show.id, limit=2)) == 2
    await store.purge_stream_keys(now)  # the key that expired a second ago goes, the others stay
    assert sorted(k.name for k in await store.stream_keys(show.id)) == ["show-0", "show-1"]
