"""The operator's command line and the plain HTTP routes: login, refresh, health, metrics."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from asyncio.subprocess import PIPE
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp

from tests.conftest import PASSWORD, TEST_SECRET


def hub_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HUB_VAR_DIR": str(tmp_path), "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    return subprocess.run([sys.executable, "-m", "hub", *args], env=env, capture_output=True, text=True, timeout=60)


def test_cli_migrate_users_and_stages(tmp_path):
    first = hub_cli(tmp_path, "migrate")
    assert first.returncode == 0 and "0001_users_stages.sql" in first.stdout
    assert hub_cli(tmp_path, "migrate").stdout.strip() == "schema is up to date"

    ok = hub_cli(tmp_path, "user", "add", "--username", "helen", "--password", "stage-fright-42")
    assert ok.returncode == 0 and "created player 'helen'" in ok.stdout
    assert hub_cli(tmp_path, "user", "add", "--username", "root", "--password", "admin-pass-77", "--role", "admin").returncode == 0
    assert hub_cli(tmp_path, "user", "add", "--username", "pat", "--password", "players-pass-9").returncode == 0

    stage = hub_cli(tmp_path, "stage", "add", "--slug", "cyber", "--name", "Cyber Show", "--owner", "helen",
                    "--players", "pat", "--editors", "root")
    assert stage.returncode == 0 and "created stage 'cyber'" in stage.stdout

    failures = {
        "duplicate user": ("user", "add", "--username", "helen", "--password", "stage-fright-42"),
        "weak password": ("user", "add", "--username", "weak", "--password", "abc"),
        "bad role": ("user", "add", "--username", "x1", "--password", "stage-fright-42", "--role", "god"),
        "duplicate slug": ("stage", "add", "--slug", "cyber", "--name", "Again", "--owner", "helen"),
        "unknown owner": ("stage", "add", "--slug", "other", "--name", "Other", "--owner", "nobody"),
        "unknown player": ("stage", "add", "--slug", "other", "--name", "O", "--owner", "helen", "--players", "ghost"),
        "bad slug": ("stage", "add", "--slug", "Not A Slug", "--name", "Other", "--owner", "helen"),
    }
    # Each is refused and changes nothing, so they run side by side (a `python -m hub` start is seconds).
    with ThreadPoolExecutor(len(failures)) as pool:
        results = dict(zip(failures, pool.map(lambda args: hub_cli(tmp_path, *args), failures.values()), strict=True))
    for why, result in results.items():
        assert result.returncode != 0, why
        assert "error" in result.stderr, why
    assert "already exists" in results["duplicate slug"].stderr
    assert "unknown user 'nobody'" in results["unknown owner"].stderr
    assert "at least 8 characters" in results["weak password"].stderr


async def post(url: str, body: object) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as resp:
        return resp.status, await resp.json()


async def test_login_and_refresh(hub):
    await hub.user("helen")
    status, body = await post(f"{hub.url}/api/login", {"username": "helen", "password": PASSWORD})
    assert status == 200 and body["user"]["username"] == "helen" and body["user"]["role"] == "player"
    assert body["access_token"] and body["refresh_token"]

    status, wrong = await post(f"{hub.url}/api/login", {"username": "helen", "password": "not-it-at-all"})
    assert status == 401 and wrong["error"]["code"] == "unauthorized"
    status, _ = await post(f"{hub.url}/api/login", {"username": "nobody", "password": PASSWORD})
    assert status == 401
    status, _ = await post(f"{hub.url}/api/login", {"username": "helen"})
    assert status == 400

    status, renewed = await post(f"{hub.url}/api/refresh", {"refresh_token": body["refresh_token"]})
    assert status == 200 and renewed["access_token"]
    status, refused = await post(f"{hub.url}/api/refresh", {"refresh_token": body["access_token"]})
    assert status == 401 and refused["error"]["message"] == "not a refresh token"


async def test_demo_stage_is_created_once_on_an_empty_database(make_hub):
    hub = await make_hub(demo=True, demo_password="demo-password-1")
    stage = await hub.store.get_stage("demo")
    assert stage is not None and stage.owner_id == (await hub.store.get_user_by_name("demo")).id
    status, body = await post(f"{hub.url}/api/login", {"username": "demo", "password": "demo-password-1"})
    assert status == 200
    client = await hub.connect()
    assert (await client.join("demo"))["role"] == "audience"
    # the demo stage's toolbox has something of each kind, and every file is served
    query = {"query": '{ stage(slug: "demo") { media { type mime url } } }'}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{hub.url}/graphql", json=query) as resp:
            media = (await resp.json())["data"]["stage"]["media"]
        assert {m["type"] for m in media} == {"avatar", "prop", "backdrop", "curtain", "audio"}
        for item in media:
            async with http.get(f"{hub.url}{item['url']}") as resp:
                assert resp.status == 200 and resp.headers["Content-Type"] == item["mime"], item
                assert len(await resp.read()) > 100


async def test_healthz_and_metrics(hub):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{hub.url}/healthz") as resp:
            assert resp.status == 200 and (await resp.json())["ok"] is True
            assert (await resp.json())["pid"] == os.getpid(), "the answering process says who it is"
        await hub.store.close()
        async with http.get(f"{hub.url}/healthz") as resp:
            assert resp.status == 503
        await hub.store.connect()
        async with http.get(f"{hub.url}/metrics") as resp:
            text = await resp.text()
            assert resp.headers["Content-Type"].startswith("text/plain")
    for name in ("hub_connections", "hub_stages_active", "hub_deliveries_total", "hub_presence_updates_total"):
        assert f"# TYPE {name.removesuffix('_total')}" in text, name


async def test_cli_saves_and_lists_scenes_of_a_running_hub(hub):
    await hub.stage("show", owner="olivia", players=("pat",))
    pat = await hub.joined("pat")
    await pat.publish("board", {"type": "placeObjectOnStage", "object": {"id": "moon", "type": "prop"}})
    env = {**os.environ, "HUB_DATABASE_URL": hub.store.url}

    async def cli(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hub", *args, env=env, stdout=PIPE, stderr=PIPE
        )
        out, err = await proc.communicate()
        assert proc.returncode is not None  # the process has ended
        return proc.returncode, out.decode(), err.decode()

    code, out, err = await cli("scene", "save", "show", "--name", "Night", "--username", "pat",
                               "--password", PASSWORD, "--url", hub.url)
    assert code == 0, err
    assert "saved scene 'Night'" in out
    code, out, _ = await cli("scene", "list", "--stage", "show")
    assert code == 0 and out.split("\t")[1].strip() == "Night"
    (scene,) = await hub.store.list_scenes((await hub.store.get_stage("show")).id)
    assert [o["id"] for o in scene.payload["board"]["objects"]] == ["moon"]

    code, _, err = await cli("scene", "save", "show", "--name", "X", "--username", "pat",
                             "--password", "wrong-password-1", "--url", hub.url)
    assert code == 2 and "cannot reach the hub" in err
    code, _, err = await cli("scene", "list", "--stage", "nowhere")
    assert code == 2 and "no stage 'nowhere'" in err


async def test_cli_sweeps_records_and_lists_through_a_running_hub(hub):
    await hub.stage("show", owner="olivia", players=("pat",))
    owner = await hub.joined("olivia")
    await owner.publish("board", {"type": "placeObjectOnStage", "object": {"id": "sun"}})
    env = {**os.environ, "HUB_DATABASE_URL": hub.store.url, "HUB_SECRET_KEY": TEST_SECRET}
    who = ("show", "--url", hub.url)  # as the stage's owner, with a token the CLI signs itself

    async def cli(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "hub", *args, env=env, stdout=PIPE, stderr=PIPE)
        out, err = await proc.communicate()
        assert proc.returncode is not None  # the process has ended
        return proc.returncode, out.decode(), err.decode()

    code, out, err = await cli("recording", "start", "--name", "Take 1", *who)
    assert code == 0 and "recording" in out and "started" in out, err
    recording_id = out.split()[1]
    await owner.publish("board", {"type": "moveTo", "object": {"id": "sun", "x": 0.9}})
    code, out, err = await cli("recording", "save", "--id", recording_id, *who)
    assert code == 0 and f"recording {recording_id} saved" in out, err
    code, out, err = await cli("stage", "sweep", "--name", "Opening", *who)
    assert code == 0 and "archived as performance" in out, err
    code, out, _ = await cli("recording", "list", "--stage", "show")
    kinds = sorted(line.split("\t")[1] for line in out.strip().splitlines())
    assert kinds == ["archive", "recording"]
    code, _, err = await cli("stage", "sweep", "--name", "Again", *who)
    assert code == 2 and "already swept" in err
    pat_who = ("show", "--username", "pat", "--password", PASSWORD, "--url", hub.url)
    code, _, err = await cli("stage", "sweep", *pat_who)
    assert code == 2 and "owner and editors" in err
