"""Backstage in a real headless Chromium: saved scenes with previews, sweep ending in a replay link
that plays, and renaming and trimming the archive."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

from playwright.async_api import expect

from tests.conftest import Hub
from tests.studio import WAIT, data, open_logged_in, png


async def perform(hub: Hub) -> None:
    """Alice places a prop and chats on /show, a few hundred ms apart, then saves a scene."""
    alice = await hub.joined("alice", "show")
    moon = "data:image/png;base64," + base64.b64encode(png(6, 6, (250, 230, 120))).decode()
    prop = {"id": "moon", "type": "prop", "name": "Moon", "src": moon, "x": 0.6, "y": 0.1, "w": 0.2, "h": 0.2}
    assert (await alice.publish("board", {"type": "placeObjectOnStage", "object": prop}))["ok"]
    for i, text in enumerate(["first line", "second line", "last line"]):
        if i:
            await asyncio.sleep(0.5)
        assert (await alice.publish("chat", {"message": text, "id": f"c{i}", "isPrivate": False}))["ok"]
    stage_id = (await data(hub, '{ stage(slug: "show") { id } }', user="alice"))["stage"]["id"]
    await data(hub, 'mutation($id: ID!) { saveScene(stageId: $id, name: "Act 1") { id } }', {"id": stage_id}, user="alice")


async def test_sweep_from_backstage_ends_in_a_replay_link_that_plays(hub: Hub, browser, tmp_path: Path) -> None:  # noqa: F811
    await hub.stage("show", "alice")
    await perform(hub)

    page = await open_logged_in(browser, hub, "alice", "/backstage")
    await page.locator('.stage-row[data-slug="show"]').get_by_role("link", name="Manage Show").click()
    await expect(page.locator("h1")).to_have_text("Show", timeout=WAIT)

    # The saved scene is listed with a preview holding the prop where it stood.
    scene = page.locator(".scene", has_text="Act 1")
    await expect(scene.locator(".scene-preview img.object")).to_have_attribute("alt", "Moon", timeout=WAIT)
    assert await scene.locator(".scene-preview img.object").evaluate("img => img.style.left") == "60%"

    await page.get_by_role("button", name="Archive performance (sweep)").click()
    await page.locator("dialog.confirm").get_by_role("button", name="Archive and clear").click()
    row = page.locator(".performance", has=page.locator(".badge", has_text="archive"))
    await expect(row).to_have_count(1, timeout=WAIT)
    await expect(row).to_contain_text("events")
    replay = row.get_by_role("link", name="Replay")
    href = await replay.get_attribute("href")
    performance_id = await row.get_attribute("data-performance-id")
    assert href == f"/replay/show/{performance_id}"
    archived = (await data(hub, "query($id: ID!) { performance(id: $id) { eventCount } }", {"id": performance_id}, user="alice"))["performance"]
    assert archived["eventCount"] >= 4

    # Rename it, and make a trimmed copy without the pauses.
    await row.locator("summary").click()
    rename = row.locator("form", has=page.get_by_role("button", name="Rename"))
    await rename.get_by_label("Name").fill("Opening night")
    await rename.get_by_role("button", name="Rename").click()
    named = page.locator(f'.performance[data-performance-id="{performance_id}"]')
    await expect(named.locator("strong")).to_have_text("Opening night", timeout=WAIT)
    await named.locator("summary").click()
    trim = named.locator("form", has=page.get_by_role("button", name="Trim idle gaps"))
    await trim.get_by_label("Longest pause kept (s)").fill("0.5")
    await trim.get_by_role("button", name="Trim idle gaps").click()
    await expect(page.locator(".performance")).to_have_count(2, timeout=WAIT)

    # The replay link plays the performance: its status turns to playing (or already ended) and
    # the chat of the performance appears, last line included.
    await page.locator(f'.performance[data-performance-id="{performance_id}"]').get_by_role("link", name="Replay").click()
    await page.wait_for_url(f"**/replay/show/{performance_id}", timeout=WAIT)
    await page.wait_for_function("() => ['playing', 'paused', 'ended'].includes(document.body.dataset.replay)", timeout=WAIT)
    if await page.evaluate("document.body.dataset.replay") == "paused":
        await page.get_by_role("button", name="Play").click()
    await page.wait_for_function("() => ['playing', 'ended'].includes(document.body.dataset.replay)", timeout=WAIT)
    await expect(page.get_by_text("last line")).to_be_visible(timeout=WAIT)
    assert await page.evaluate("window.upstage.status.duration") >= 900
