"""Every page fits a phone (390x844) and a tablet in portrait (768x1024): nothing wider than the
screen, no sideways scrolling, the header's controls on screen. Screenshots go to tests/artifacts/
(`layout-<page>-<width>.png`) for people to look at."""

from __future__ import annotations

import pytest

from tests.browser import artifact
from tests.gql import png
from tests.studio import upload_as
from tests.webpages import WAIT_MS, person

SIZES = {"phone": {"width": 390, "height": 844}, "tablet": {"width": 768, "height": 1024}}

# Sideways overflow: the document scrolls, or a visible control sticks out of the screen.
OVERFLOW = """() => {
  const w = window.innerWidth;
  const sticking = [...document.querySelectorAll('header *, .stage-bar > *, main button, main input, main select, main h1, main h2, .card, .side, .reactions')]
    .filter((el) => el.getClientRects().length && !el.closest('[hidden], dialog:not([open]), .toolbox'))
    .filter((el) => { const r = el.getBoundingClientRect(); return r.width > 0 && (r.right > w + 1 || r.left < -1); })
    .map((el) => `${el.tagName.toLowerCase()}.${el.className} ${Math.round(el.getBoundingClientRect().right)}`);
  return { scroll: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - w, sticking };
}"""


@pytest.mark.parametrize("size", ["phone", "tablet"])
async def test_pages_fit_phone_and_tablet(hub, browser, size) -> None:
    await hub.stage("show", "helen")
    await hub.user("root", role="admin")
    stage = await hub.store.cached_stage("show")
    await hub.store.update_stage(stage.id, {"name": "A stage with a rather long name for a small screen", "description": "Tonight: a long description " * 6})
    avatar = await upload_as(hub, "helen", "a-long-file-name-for-an-avatar-image.png", png(20, 30), "avatar")
    await hub.store.assign_media(stage.id, [int(avatar["id"])])
    performer = await hub.joined("helen")
    await performer.publish("chat", {"message": "A long line of chat that has to wrap on a phone rather than push the page sideways: " + "x" * 60})
    viewport = SIZES[size]
    phone = dict(is_mobile=True, has_touch=True) if size == "phone" else {}
    pages = {
        "foyer": ("/", None, ".stage-card"),
        "stage": ("/stage/show", None, ".connection[data-status=connected]"),
        "player": ("/stage/show", "helen", ".media-item"),
        "studio": ("/studio", "helen", ".media-card"),
        "backstage": ("/backstage#stage/show", "helen", ".stage-editor"),
        "admin": ("/admin", "root", ".user-row"),  # an admin: anyone else gets a one-line notice
    }
    problems = {}
    for name, (path, user, ready) in pages.items():
        page = await (await person(browser, hub, user, viewport=viewport, **phone)).new_page()
        await page.goto(hub.url + path)
        await page.wait_for_selector(ready, timeout=WAIT_MS)
        await page.wait_for_load_state("networkidle")
        await page.screenshot(path=artifact(f"layout-{name}-{viewport['width']}.png"), full_page=True)
        fit = await page.evaluate(OVERFLOW)
        if fit["scroll"] > 0 or fit["sticking"]:
            problems[name] = fit
        if name == "stage" and size == "phone":
            box = await page.locator(".stage").bounding_box()
            assert box["width"] >= viewport["width"] - 2  # the stage fills the width
        await page.context.close()
    assert problems == {}
