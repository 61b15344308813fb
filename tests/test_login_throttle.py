"""Password guessing and registration floods (hardening issue): logins, registrations, password
changes and refreshes are throttled per client address and per account before any argon2 work,
and argon2 itself runs at most `HUB_PASSWORD_CONCURRENCY` at a time behind a short queue.

Client addresses are told apart with `X-Forwarded-For` from a trusted proxy (127.0.0.1)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from argon2 import Type as Argon2Type

from hub import auth
from tests.conftest import HUB_HASHER, PASSWORD, Hub
from tests.gql import gql

LOGIN = 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }'
REGISTER = 'mutation($u: String!, $p: String!) { register(username: $u, password: $p) { id } }'
REFRESH = 'mutation($t: String!) { refreshToken(refreshToken: $t) { refreshToken } }'
CHANGE = 'mutation($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n) }'
GUESSER, OWNER = "203.0.113.5", "198.51.100.7"


class Argon2Calls:
    """Counts argon2 work (verify and hash) and how much of it runs at once."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, delay: float = 0.0) -> None:
        self.calls = self.running = self.most_at_once = 0
        self.delay = delay
        self._lock = threading.Lock()
        for name in ("verify_password", "hash_password"):
            monkeypatch.setattr(auth, name, self._counted(getattr(auth, name)))

    def _counted(self, work: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any) -> Any:
            with self._lock:
                self.calls += 1
                self.running += 1
                self.most_at_once = max(self.most_at_once, self.running)
            try:
                time.sleep(self.delay)
                return work(*args)
            finally:
                with self._lock:
                    self.running -= 1

        return counted


@pytest.fixture
def argon2(monkeypatch: pytest.MonkeyPatch) -> Argon2Calls:
    return Argon2Calls(monkeypatch)


async def post(hub: Hub, path: str, body: object, address: str = GUESSER) -> tuple[int, dict[str, Any], Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{hub.url}{path}", json=body, headers={"X-Forwarded-For": address}) as response,
    ):
        return response.status, await response.json(), response.headers


async def graphql(hub: Hub, query: str, variables: dict[str, Any], address: str = GUESSER, token: str = "") -> dict[str, Any]:
    headers = {"X-Forwarded-For": address, **({"Authorization": f"Bearer {token}"} if token else {})}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{hub.url}/graphql", json={"query": query, "variables": variables}, headers=headers) as response,
    ):
        return await response.json()


def behind_proxy(**overrides: Any) -> dict[str, Any]:
    """Default login limits (as shipped), clients told apart by the proxy's header."""
    return {"trusted_proxies": "127.0.0.1", "login_rate_limit": 0.5, "login_rate_burst": 30, **overrides}


async def test_the_31st_wrong_password_is_refused_without_argon2(make_hub: Callable[..., Awaitable[Hub]], argon2: Argon2Calls) -> None:
    """30 wrong passwords in a row all got 401 and each ran argon2."""
    hub = await make_hub(**behind_proxy())
    await hub.user("admin", "admin")
    argon2.calls = 0
    answers = [await post(hub, "/api/login", {"username": "admin", "password": f"guess-{i}-xyz"}) for i in range(31)]
    assert [status for status, _, _ in answers] == [401] * 10 + [429] * 21
    assert argon2.calls == 10  # the refused guesses never reached argon2
    _, body, headers = answers[10]
    assert body["error"]["code"] == "rate_limited" and "failed logins for this account" in body["error"]["message"]
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert all(int(headers["Retry-After"]) >= 1 for _, _, headers in answers[10:])
    # The same holds for the account's name in another case, and over GraphQL.
    error = (await graphql(hub, LOGIN, {"u": "ADMIN", "p": "one-more-guess"}))["errors"][0]
    assert error["extensions"]["code"] == "rate_limited" and error["extensions"]["retryAfter"] >= 1
    assert argon2.calls == 10


async def test_the_owner_logs_in_from_elsewhere_while_one_address_guesses(make_hub: Callable[..., Awaitable[Hub]], argon2: Argon2Calls) -> None:
    hub = await make_hub(**behind_proxy())
    await hub.user("admin", "admin")
    for i in range(40):
        await post(hub, "/api/login", {"username": "admin", "password": f"guess-{i}-xyz"})
    assert (await post(hub, "/api/login", {"username": "admin", "password": PASSWORD}))[0] == 429  # not from there
    status, body, _ = await post(hub, "/api/login", {"username": "admin", "password": PASSWORD}, address=OWNER)
    assert status == 200 and body["user"]["username"] == "admin"
    assert (await graphql(hub, LOGIN, {"u": "admin", "p": PASSWORD}, address=OWNER))["data"]["login"]["accessToken"]


async def test_one_address_cannot_spray_many_accounts(make_hub: Callable[..., Awaitable[Hub]], argon2: Argon2Calls) -> None:
    """Every attempt from an address counts, whichever account it names."""
    hub = await make_hub(**behind_proxy(login_rate_limit=0.001, login_rate_burst=5))  # no refill during the test
    argon2.calls = 0
    statuses = [(await post(hub, "/api/login", {"username": f"user{i}", "password": "a-guess-123"}))[0] for i in range(8)]
    assert statuses == [401] * 5 + [429] * 3
    assert argon2.calls <= 6  # five checks (and the dummy hash for unknown names, made once)
    await hub.user("helen")
    assert (await post(hub, "/api/login", {"username": "helen", "password": PASSWORD}, address=OWNER))[0] == 200


async def test_parallel_guessers_never_run_more_argon2_than_the_cap(make_hub: Callable[..., Awaitable[Hub]], monkeypatch: pytest.MonkeyPatch) -> None:
    """20 parallel guessers from 20 addresses held 20 argon2 hashes (64 MiB each) at once; now at
    most HUB_PASSWORD_CONCURRENCY run and past a short queue the rest are told to come back."""
    argon2 = Argon2Calls(monkeypatch, delay=0.5)
    hub = await make_hub(**behind_proxy(password_concurrency=2, password_queue=4))
    await hub.user("admin", "admin")
    guesses = [post(hub, "/api/login", {"username": "admin", "password": f"guess-{i}-xyz"}, address=f"192.0.2.{i}") for i in range(20)]
    answers = await asyncio.gather(*guesses)
    statuses = [status for status, _, _ in answers]
    assert argon2.most_at_once == 2
    # 2 running and 4 waiting are served (a few more if some guesses arrive after a slot freed);
    # the others are refused at once, without argon2.
    assert statuses.count(503) >= 10 and statuses.count(401) == 20 - statuses.count(503)
    assert argon2.calls == statuses.count(401)
    unavailable = next(body for status, body, _ in answers if status == 503)
    assert unavailable["error"]["code"] == "unavailable"
    assert all(headers["Retry-After"] == "1" for status, _, headers in answers if status == 503)
    # Once the flood is over, the admin gets in.
    assert (await post(hub, "/api/login", {"username": "admin", "password": PASSWORD}, address=OWNER))[0] == 200


async def test_a_request_that_stops_waiting_does_not_free_its_argon2_slot_early(monkeypatch: pytest.MonkeyPatch) -> None:
    argon2 = Argon2Calls(monkeypatch, delay=0.2)
    passwords = auth.Passwords(concurrency=1, queue=10)
    first = asyncio.create_task(passwords.hash("first-password"))
    await asyncio.sleep(0.05)
    first.cancel()  # the client went away; its hash still runs in its thread
    second = await passwords.hash("second-password")
    assert second.startswith("$argon2") and argon2.most_at_once == 1


async def test_registration_floods_are_refused_per_address(make_hub: Callable[..., Awaitable[Hub]], argon2: Argon2Calls) -> None:
    hub = await make_hub(**behind_proxy(register_rate_burst=3))
    await hub.store.archive.set_meta("site.selfSignup", "on")  # registration needs sign-up open
    for i in range(3):
        assert (await graphql(hub, REGISTER, {"u": f"bot{i}", "p": f"Bot-pass-{i}-long"}))["data"]["register"]["id"]
    hashed = argon2.calls
    error = (await graphql(hub, REGISTER, {"u": "bot9", "p": "Bot-pass-9-long"}))["errors"][0]
    assert error["extensions"]["code"] == "rate_limited" and error["extensions"]["retryAfter"] >= 1
    assert "new accounts" in error["message"] and argon2.calls == hashed
    assert await hub.store.get_user_by_name("bot9") is None
    assert (await graphql(hub, REGISTER, {"u": "newcomer", "p": "A-real-person-1"}, address=OWNER))["data"]["register"]


async def test_wrong_old_passwords_in_change_password_are_throttled_like_logins(make_hub: Callable[..., Awaitable[Hub]], argon2: Argon2Calls) -> None:
    """A stolen access token must not let its holder guess the account's password."""
    hub = await make_hub(**behind_proxy(login_failure_burst=3))
    await hub.user("helen")
    token = (await post(hub, "/api/login", {"username": "helen", "password": PASSWORD}, address=OWNER))[1]["access_token"]
    codes = []
    for i in range(4):
        result = await graphql(hub, CHANGE, {"o": f"guess-{i}-xyz", "n": "a-new-long-phrase"}, token=token)
        codes.append(result["errors"][0]["extensions"]["code"])
    assert codes == ["forbidden"] * 3 + ["rate_limited"]
    assert argon2.calls == 4  # the login and three checks


async def test_refreshes_count_against_the_address(make_hub: Callable[..., Awaitable[Hub]]) -> None:
    hub = await make_hub(**behind_proxy(login_rate_limit=0.001, login_rate_burst=3))
    await hub.user("helen")
    status, tokens, _ = await post(hub, "/api/login", {"username": "helen", "password": PASSWORD})
    refresh = tokens["refresh_token"]
    for _ in range(2):
        status, tokens, _ = await post(hub, "/api/refresh", {"refresh_token": refresh})
        assert status == 200
        refresh = tokens["refresh_token"]
    status, body, headers = await post(hub, "/api/refresh", {"refresh_token": refresh})
    assert status == 429 and body["error"]["code"] == "rate_limited" and int(headers["Retry-After"]) >= 1
    assert (await graphql(hub, REFRESH, {"t": refresh}))["errors"][0]["extensions"]["code"] == "rate_limited"
    assert (await post(hub, "/api/refresh", {"refresh_token": refresh}, address=OWNER))[0] == 200  # not throttled, not used


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": 7, "password": "x-password"}, "username"),
        ({"username": "helen", "password": ["x"]}, "password"),
        ({"username": "h" * 41, "password": "x-password"}, "username"),
        ({"username": "helen", "password": "p" * 1025}, "password"),
        ({"username": "helen"}, "password"),
        ({"username": "", "password": "x-password"}, "username"),
    ],
)
async def test_malformed_credentials_are_a_400_naming_the_field_before_argon2(hub: Hub, argon2: Argon2Calls, body: dict[str, Any], field: str) -> None:
    await hub.user("helen")
    argon2.calls = 0
    status, answer, _ = await post(hub, "/api/login", body)
    assert status == 400 and answer["error"]["code"] == "bad_request"
    assert answer["error"]["message"].startswith(field) and argon2.calls == 0


async def test_a_huge_password_over_graphql_names_its_field(hub: Hub, argon2: Argon2Calls) -> None:
    await hub.user("helen")
    await hub.store.archive.set_meta("site.selfSignup", "on")  # registration needs sign-up open
    argon2.calls = 0
    error = (await gql(hub, LOGIN, {"u": "helen", "p": "p" * 5000}))["errors"][0]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("bad_request", "password")
    error = (await gql(hub, REGISTER, {"u": "newbie", "p": "Pp1-" * 300}))["errors"][0]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("bad_request", "password")
    assert argon2.calls == 0


def test_the_hub_hashes_at_its_own_cost_not_the_suites() -> None:
    """The suite hashes with argon2's cheapest profile (conftest); the hub keeps argon2id at
    RFC 9106's low-memory profile (64 MiB, 3 passes, 4 lanes), and hashes at that cost."""
    assert HUB_HASHER.type is Argon2Type.ID
    assert (HUB_HASHER.memory_cost, HUB_HASHER.time_cost, HUB_HASHER.parallelism) == (65536, 3, 4)
    assert HUB_HASHER.hash("x").startswith("$argon2id$v=19$m=65536,t=3,p=4$")
