"""Settings come from one place (`Settings.from_env`), and a configured limit holds everywhere:
live, after a restart rebuilt from the archive, and in replays."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from client import HubClient
from hub.config import ConfigError, Settings
from tests.hubproc import HubProcess


def test_every_setting_is_read_from_its_variable(tmp_path: Path) -> None:
    env = {
        "HUB_VAR_DIR": str(tmp_path),
        "HUB_PORT": "9000",
        "HUB_RATE_LIMIT": "2.5",
        "HUB_DEMO": "no",
        "HUB_ID": "hub-a",
        "HUB_CHAT_MESSAGES": "300",
        "HUB_MAX_PAYLOAD": "999999",
        "HUB_LOG_LEVEL": "info",
        "HUB_TRUSTED_PROXIES": "10.0.0.1, 192.168.0.0/16",
    }
    settings = Settings.from_env(env)
    assert (settings.port, settings.rate_limit, settings.demo, settings.hub_id) == (9000, 2.5, False, "hub-a")
    assert settings.database_url == f"sqlite:///{tmp_path / 'hub.db'}"
    assert settings.max_payload == 64 * 1024, "the payload cap is never raised past 64 KiB"
    assert settings.log_level == "INFO"
    assert settings.limits.chat_messages == settings.limits.private_messages == 300
    assert len(settings.addresses.trusted_proxies) == 2
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("HUB_PORT", "eighty", "HUB_PORT must be an integer"),
        ("HUB_RATE_LIMIT", "fast", "HUB_RATE_LIMIT must be a number"),
        ("HUB_ADDRESS_CONNECTIONS", "-1", "HUB_ADDRESS_CONNECTIONS must be an integer of at least 0"),
        ("HUB_ROOM_IDLE", "nan", "HUB_ROOM_IDLE must be a number of at least 0"),
        ("HUB_TRUSTED_PROXIES", "10.0.0.1, proxy.local", "'proxy.local' is not an IP address"),
        ("HUB_WORKERS", "two", "HUB_WORKERS must be an integer"),
        ("HUB_WORKERS", "0", "HUB_WORKERS must be an integer of at least 1"),
    ],
)
def test_a_bad_value_names_its_variable(tmp_path: Path, name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        Settings.from_env({"HUB_VAR_DIR": str(tmp_path), name: value})


async def test_a_configured_chat_limit_survives_a_crash_and_holds_in_replays(tmp_path: Path) -> None:
    """With HUB_CHAT_MESSAGES=300, 250 messages are all kept live, after a restart rebuilt from
    the archive (kill -9: no shutdown snapshot) and in the replay of the swept performance."""
    hub = HubProcess(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", chat_messages="300", rate_limit="100000", rate_burst="100000")
    await hub.seed("olivia")
    try:
        await hub.start()
        olivia = await hub.performer("olivia")
        for i in range(250):
            assert (await olivia.publish("chat", {"message": f"line {i}"}))["ok"]
        assert len((await olivia.join("show"))["state"]["chat"]["messages"]) == 250
        await hub.stop(signal.SIGKILL)
        await hub.start()
        olivia = await hub.performer("olivia")
        rebuilt = await olivia.join("show")
        assert len(rebuilt["state"]["chat"]["messages"]) == 250, "the restore applied the default limit"
        swept = await olivia.call("sweep", {"name": "night"})
        assert swept["ok"], swept
        viewer = await HubClient(hub.url).connect()
        started = await viewer.call("replay", {"performance": swept["performance"]["id"]})
        assert started["ok"], started
        end = started["status"]["duration"]
        assert (await viewer.call("replayControl", {"action": "seek", "value": end}))["ok"]
        await viewer.wait_for(lambda c: any("state" in u and u["position"] == end for u in c.replay_updates))
        state = next(u["state"] for u in viewer.replay_updates if "state" in u and u["position"] == end)
        assert len(state["chat"]["messages"]) > 200, "the replay applied the default limit"
        await viewer.close()
        await olivia.close()
    finally:
        hub.close()
