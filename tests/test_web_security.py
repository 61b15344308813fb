"""The pages under their Content-Security-Policy in Chromium (no violation on any page, the
GraphQL explorer included), and tabs sharing one login refreshing it in turn (rotation)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from tests.browser import artifact
from tests.conftest import PASSWORD, Hub
from tests.present import present
from tests.webpages import WAIT_MS, person, seed_media

# Every violation the page sees, reported by the browser itself.
WATCH_CSP = """
window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""
PAGES = {
    "/": "header .username",
    "/stage/show": ".connection[data-status=connected]",
    "/studio": "main",
    "/backstage": "main",
    "/admin": "main",
    "/profile": "form.profile",
    "/signup": "main .account-page p.notice",
    "/forgot": "form.forgot",
    "/reset": "form.reset",
    "/graphql": ".graphiql-container",
}


async def test_no_page_breaks_its_content_security_policy(hub: Hub, browser: Any) -> None:
    await hub.stage("show", "helen", players=("root",))
    await hub.store.update_user(present(await hub.store.get_user_by_name("root")).id, role="admin")
    await seed_media(hub, "helen")
    ctx = await person(browser, hub, "root")
    await ctx.add_init_script(WATCH_CSP)
    for path, ready in PAGES.items():
        page = await ctx.new_page()
        console: list[str] = []
        page.on("console", lambda message, console=console: console.append(message.text) if message.type == "error" else None)
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        response = await page.goto(hub.url + path)
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        await page.wait_for_selector(ready, timeout=WAIT_MS)
        await page.wait_for_load_state("networkidle")
        if path == "/":
            # Elements built with a style (studio previews) go through the CSSOM, which the policy allows.
            left = await page.evaluate("import('/static/js/dom.js').then((m) => m.h('div', { style: { left: '12%' } }).style.left)")
            assert left == "12%"
        violations = await page.evaluate("window.cspViolations")
        assert violations == [], (path, violations)
        assert not [text for text in console if "Content Security Policy" in text], (path, console)
        assert errors == [], (path, errors)
        await page.screenshot(path=artifact(f"csp{path.replace('/', '-') or '-foyer'}.png"))
        await page.close()


async def test_tabs_sharing_a_login_refresh_it_in_turn(make_hub: Callable[..., Awaitable[Hub]], browser: Any) -> None:
    """Every access token here is about to expire, so every call refreshes. Without the Web Lock
    two tabs refresh with the same token at once all the time; the grace is short here (the
    default is 10 s) and covers only the rare read of a retired token that Chromium's
    asynchronous `localStorage` between tabs allows even under the lock."""
    hub = await make_hub(access_token_ttl=20, refresh_reuse_grace=1.0)
    await hub.user("helen")
    ctx = await person(browser, hub)
    first, second = await ctx.new_page(), await ctx.new_page()
    for page in (first, second):
        await page.goto(hub.url + "/")
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{hub.url}/api/login", json={"username": "helen", "password": PASSWORD}) as response,
    ):
        body = await response.json()
    auth = {"accessToken": body["access_token"], "refreshToken": body["refresh_token"], "user": body["user"]}
    await first.evaluate(f"localStorage.setItem('upstage.auth', {json.dumps(json.dumps(auth))})")
    call = "Promise.all([1, 2, 3].map(() => import('/static/js/api.js').then((api) => api.accessToken())))"
    for _ in range(3):
        tokens = await asyncio.gather(first.evaluate(call), second.evaluate(call))
        assert all(token for batch in tokens for token in batch), tokens
    stored = json.loads(await second.evaluate("localStorage.getItem('upstage.auth')"))
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{hub.url}/api/refresh", json={"refresh_token": stored["refreshToken"]}) as response,
    ):
        assert response.status == 200  # the login is alive: no tab reused a retired token
