"""The foyer lists the visible stages with their live counts, which change as a player and an
audience member join and leave; login and logout go through the shared header."""

from __future__ import annotations

from tests.browser import artifact
from tests.conftest import PASSWORD
from tests.webpages import WAIT_MS, open_stage, person

COUNTS = "([p, a]) => { const c = document.querySelector('[data-slug=show]'); return c && c.querySelector('.players').textContent === p && c.querySelector('.audiences').textContent === a; }"


async def test_foyer_counts_follow_presence(hub, browser) -> None:
    await hub.stage("show", "helen")
    foyer = await (await person(browser, hub)).new_page()
    await foyer.goto(hub.url + "/")
    card = foyer.locator(".stage-card[data-slug=show]")
    await card.wait_for(timeout=WAIT_MS)
    assert await card.get_by_role("link", name="Show").get_attribute("href") == "/stage/show"
    await foyer.wait_for_function(COUNTS, arg=["0", "0"], timeout=WAIT_MS)

    player_ctx = await person(browser, hub, "helen")
    player = await open_stage(player_ctx, hub)
    audience_ctx = await person(browser, hub)
    audience = await open_stage(audience_ctx, hub)
    await foyer.wait_for_function(COUNTS, arg=["1", "1"], timeout=WAIT_MS)
    await foyer.screenshot(path=artifact("foyer.png"))

    await audience.close()
    await player.close()
    await foyer.wait_for_function(COUNTS, arg=["0", "0"], timeout=WAIT_MS)


async def test_foyer_login_and_logout(hub, browser) -> None:
    await hub.user("helen")
    foyer = await (await person(browser, hub)).new_page()
    await foyer.goto(hub.url + "/")
    await foyer.get_by_label("Username").fill("helen")
    await foyer.get_by_label("Password").fill(PASSWORD)
    await foyer.get_by_role("button", name="Log in").click()
    await foyer.get_by_role("button", name="Log out").wait_for(timeout=WAIT_MS)
    assert await foyer.locator("header .username").text_content() == "helen"
    await foyer.get_by_role("button", name="Log out").click()
    await foyer.get_by_role("button", name="Log in").wait_for(timeout=WAIT_MS)
