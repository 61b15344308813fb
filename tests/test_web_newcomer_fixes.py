"""What a new user tripped over (issue 17), in headless Chromium: no page logs a 404 (the
favicon), /backstage prints no "null", the slug field's pattern is really checked by the browser,
and "Archive performance (sweep)" asks before it blanks the live stage."""

from __future__ import annotations

from typing import Any

import aiohttp
from playwright.async_api import expect

from tests.conftest import Hub
from tests.studio import WAIT, data, open_logged_in

PAGES = ["/", "/stage/show", "/studio", "/backstage", "/admin", "/graphql"]


def record_failures(page: Any) -> list[str]:
    """Every response of 400 or more, and every console error, seen by `page` from now on."""
    failures: list[str] = []
    page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("console", lambda m: failures.append(f"console: {m.text}") if m.type == "error" else None)
    return failures


async def test_no_page_logs_a_404_and_every_page_links_the_icon(hub: Hub, browser) -> None:  # noqa: F811
    await hub.stage("show", "alice")
    async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/favicon.ico") as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("image/svg+xml")
        assert b"<svg" in await r.read()
    page = await open_logged_in(browser, hub, "alice", "/")
    failures = record_failures(page)
    for path in PAGES:
        await page.goto(hub.url + path, wait_until="networkidle")
        icon = page.locator('link[rel="icon"]')
        assert await icon.get_attribute("href") == "/static/favicon.svg", path
        # the icon the page links loads (a 404 would be in `failures`)
        assert await page.evaluate("fetch('/static/favicon.svg').then((r) => r.status)") == 200
    assert failures == []


async def test_backstage_prints_no_null_for_someone_who_plays_on_no_other_stage(hub: Hub, browser) -> None:  # noqa: F811
    await hub.stage("mine", "alice")
    page = await open_logged_in(browser, hub, "alice", "/backstage")
    await expect(page.locator(".stage-row")).to_have_count(1, timeout=WAIT)
    assert "null" not in await page.locator("main").inner_text()


async def test_the_browser_refuses_an_invalid_slug(hub: Hub, browser) -> None:  # noqa: F811
    await hub.user("alice")
    page = await open_logged_in(browser, hub, "alice", "/backstage#new")
    form = page.locator("form.stage-editor")
    await form.get_by_label("Name").fill("My Show")
    slug = form.get_by_label("Address (slug)")
    for bad in ("Bad Slug!", "-leading-dash", "UPPER"):
        await slug.fill(bad)
        assert await slug.evaluate("el => el.validity.patternMismatch"), bad
    await slug.fill("Bad Slug!")
    await form.get_by_role("button", name="Create stage").click()
    await page.wait_for_timeout(500)
    assert await slug.evaluate("el => el.matches(':invalid')")
    assert (await data(hub, "{ stages { slug } }", user="alice"))["stages"] == []  # nothing was sent
    await slug.fill("my-show-2")
    assert not await slug.evaluate("el => el.validity.patternMismatch")
    await form.get_by_role("button", name="Create stage").click()
    await page.wait_for_url("**/backstage#stage/my-show-2", timeout=WAIT)


async def test_sweep_asks_before_blanking_the_live_stage(hub: Hub, browser) -> None:  # noqa: F811
    await hub.stage("show", "alice")
    alice = await hub.joined("alice", "show")
    prop = {"id": "moon", "type": "prop", "name": "Moon", "src": "/static/favicon.svg", "x": 0.6, "y": 0.1, "w": 0.2, "h": 0.2}
    assert (await alice.publish("board", {"type": "placeObjectOnStage", "object": prop}))["ok"]
    page = await open_logged_in(browser, hub, "alice", "/backstage#stage/show")
    stage_id = (await data(hub, '{ stage(slug: "show") { id } }', user="alice"))["stage"]["id"]
    performances = "query($id: ID!) { performances(stageId: $id) { id } }"

    await page.get_by_role("button", name="Archive performance (sweep)").click()
    confirm = page.locator("dialog.confirm")
    await expect(confirm).to_contain_text("blanked for everyone", timeout=WAIT)
    await confirm.get_by_role("button", name="Cancel").click()
    await expect(confirm).to_have_count(0)
    await page.wait_for_timeout(300)
    assert (await data(hub, performances, {"id": stage_id}, user="alice"))["performances"] == []
    assert not any(e["payload"] == {"type": "blankScene"} for e in alice.events)  # the live stage is as it was

    await page.get_by_role("button", name="Archive performance (sweep)").click()
    await confirm.get_by_role("button", name="Archive and clear").click()
    await expect(page.locator(".performance")).to_have_count(1, timeout=WAIT)
    assert len((await data(hub, performances, {"id": stage_id}, user="alice"))["performances"]) == 1
    await alice.wait_for(lambda c: any(e["payload"] == {"type": "blankScene"} for e in c.events), timeout=10)
