"""Issue 18's studio read by a hostile user's words: markup in a medium's name, a request's note,
a display name and tags stays text (headless Chromium)."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.browser import artifact
from tests.conftest import Hub
from tests.studio import WAIT, data, open_logged_in, png, upload_as

MARKUP = '<img src=x onerror="document.title=\'pwned\'">'


async def test_markup_in_names_notes_and_display_names_stays_text(hub: Hub, browser: Any) -> None:
    await hub.user("helen")
    await hub.user("pat")
    moon = await upload_as(hub, "helen", "moon.png", png(10, 10, (220, 220, 240)), "prop")
    save = "mutation($in: MediaInput!) { saveMedia(input: $in) { id } }"
    await data(hub, save, {"in": {"id": moon["id"], "copyrightLevel": 2, "name": MARKUP, "tags": ["a.b-c d"]}}, user="helen")
    await data(hub, "mutation($d: String) { updateProfile(displayName: $d) { id } }", {"d": MARKUP}, user="pat")
    ask = "mutation($id: ID!, $n: String) { requestMedia(id: $id, note: $n) { id } }"
    await data(hub, ask, {"id": moon["id"], "n": MARKUP + "<script>document.title='pwned'</script>"}, user="pat")
    page = await open_logged_in(browser, hub, "helen", "/studio#requests")
    requests = page.locator("section.media-requests")
    await expect(requests).to_contain_text(MARKUP, timeout=WAIT)  # shown as the text it is
    await requests.screenshot(path=artifact("hostile18-requests-markup.png"))
    await page.screenshot(path=artifact("hostile18-studio-markup.png"), full_page=True)
    assert await page.locator("main img[src='x'], main script").count() == 0
    assert await page.title() != "pwned"
    clipped = "(ps) => ps.some((p) => p.scrollWidth > p.clientWidth + 1)"  # long typed words wrap
    assert not await requests.locator(".request p").evaluate_all(clipped)
