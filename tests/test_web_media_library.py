"""The studio's media library in a real headless Chromium (issue 18): tags added in the editor and
filtered by, and a permission request from asking to approval across two users' pages, with the
mail received by a real SMTP server, and the requester then placing the medium on their stage."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import expect

from tests.browser import artifact
from tests.conftest import Hub
from tests.mailbox import Mailbox, mailbox  # noqa: F401 - the fixture
from tests.studio import WAIT, data, open_logged_in, png, upload_as
from tests.webpages import open_stage, person, state, until

PUBLIC = "https://hub.example.org"
SAVE = "mutation($in: MediaInput!) { saveMedia(input: $in) { id } }"


async def test_tags_are_added_in_the_editor_and_filter_the_list(hub: Hub, browser: Any) -> None:
    await hub.user("helen")
    moon = await upload_as(hub, "helen", "moon.png", png(10, 10, (220, 220, 240)), "prop")
    sun = await upload_as(hub, "helen", "sun.png", png(10, 10, (250, 200, 20)), "prop")
    page = await open_logged_in(browser, hub, "helen", "/studio")
    await page.locator(f'.media-card[data-media-id="{moon["id"]}"]').get_by_role("button", name="Edit").click()
    editor = page.locator("dialog form.media-editor")
    await editor.get_by_label("Tags").fill("Night Sky, act 1")
    await editor.locator("fieldset.library").screenshot(path=artifact("medialib-editor.png"))
    await editor.get_by_role("button", name="Save").click()
    await expect(editor).to_have_count(0, timeout=WAIT)
    card = page.locator(f'.media-card[data-media-id="{moon["id"]}"]')
    await expect(card.locator(".tags li")).to_have_text(["act 1", "night sky"], timeout=WAIT)
    await page.get_by_label("Tag", exact=True).fill("night sky")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator(".media-list .media-card")).to_have_count(1, timeout=WAIT)
    await expect(page.locator(f'.media-card[data-media-id="{sun["id"]}"]')).to_have_count(0)
    await page.locator(".media-list").screenshot(path=artifact("medialib-tag-filter.png"))
    saved = await data(hub, "{ media { id tags } }", user="helen")
    assert {m["id"]: m["tags"] for m in saved["media"]} == {moon["id"]: ["act 1", "night sky"], sun["id"]: []}


async def test_a_permission_request_from_asking_to_the_stage(
    make_hub: Callable[..., Awaitable[Hub]], mailbox: Mailbox, browser: Any  # noqa: F811
) -> None:
    mailbox.start()
    hub = await make_hub(smtp_url=mailbox.url(), public_url=PUBLIC)
    await hub.stage("pats", "pat")
    await hub.user("helen")
    for name in ("helen", "pat"):
        user = await hub.store.get_user_by_name(name)
        assert user is not None
        await hub.store.set_profile(user.id, email=f"{name}@example.org")
    moon = await upload_as(hub, "helen", "moon.png", png(12, 12, (200, 200, 255)), "prop")
    await data(hub, SAVE, {"in": {"id": moon["id"], "copyrightLevel": 2}}, user="helen")

    # pat finds the medium under "Ask to use" (not among their media) and asks, with a note
    pat = await open_logged_in(browser, hub, "pat", "/studio")
    asking = pat.locator(f'.media-requestable .media-card[data-media-id="{moon["id"]}"]')
    await expect(pat.locator(f'.media-list .media-card[data-media-id="{moon["id"]}"]')).to_have_count(0)
    await asking.get_by_label("Note for moon").fill("For the night scene")
    await asking.get_by_role("button", name="Ask to use moon").click()
    await expect(asking).to_contain_text("Asked.", timeout=WAIT)
    (request_mail,) = await mailbox.wait(1)
    assert request_mail.recipients == ["helen@example.org"]
    assert request_mail.message["Subject"] == "pat asks to use moon"
    assert "For the night scene" in request_mail.part("plain")
    link = re.search(r"https://hub\.example\.org/\S+", request_mail.part("plain"))
    assert link and link.group(0) == f"{PUBLIC}/studio#requests"

    # helen follows the link's path: the Requests section with its badge; she approves
    helen = await open_logged_in(browser, hub, "helen", "/studio#requests")
    requests = helen.locator("section.media-requests")
    await expect(requests.locator("h2 .badge")).to_have_text("1", timeout=WAIT)
    await expect(requests).to_contain_text("pat asks to use “moon”")
    await requests.screenshot(path=artifact("medialib-requests.png"))
    await requests.get_by_role("button", name="Approve pat").click()
    await expect(requests.locator('[data-status="approved"]')).to_have_count(1, timeout=WAIT)
    await expect(requests.locator("h2 .badge")).to_be_hidden()
    answer_mail = (await mailbox.wait(2))[1]
    assert answer_mail.recipients == ["pat@example.org"] and "approved" in answer_mail.part("plain")

    # pat sees the answer, has the medium, puts it on their stage and places it there
    await pat.reload()
    await expect(pat.locator('section.media-requests [data-status="approved"]')).to_have_count(1, timeout=WAIT)
    card = pat.locator(f'.media-list .media-card[data-media-id="{moon["id"]}"]')
    await card.get_by_role("button", name="Edit").click()
    editor = pat.locator("dialog form.media-editor")
    await editor.get_by_label("Pats").check()
    await editor.get_by_role("button", name="Save").click()
    await expect(editor).to_have_count(0, timeout=WAIT)
    await pat.screenshot(path=artifact("medialib-requester-studio.png"), full_page=True)
    stage_page = await open_stage(await person(browser, hub, "pat"), hub, "pats")
    item = stage_page.locator(f'.media-item[data-media-id="{moon["id"]}"]')
    await item.wait_for(timeout=WAIT)
    box = await stage_page.locator(".stage").bounding_box()
    await stage_page.drag_and_drop(f'.media-item[data-media-id="{moon["id"]}"]', ".stage", target_position={"x": box["width"] * 0.5, "y": box["height"] * 0.5})
    await until(stage_page, "(id) => window.upstage.state.board.objects.some((o) => String(o.assetId) === id)", moon["id"])
    await stage_page.screenshot(path=artifact("medialib-placed.png"))
    placed = [o for o in (await state(stage_page))["board"]["objects"] if str(o.get("assetId")) == moon["id"]]
    assert len(placed) == 1 and placed[0]["src"].endswith(moon["url"])


async def test_a_dormant_medium_leaves_the_toolbox_and_stays_on_the_stage(hub: Hub, browser: Any) -> None:
    await hub.stage("show", "helen")
    moon = await upload_as(hub, "helen", "moon.png", png(12, 12, (240, 240, 160)), "prop")
    show = (await data(hub, '{ stage(slug: "show") { id } }', user="helen"))["stage"]["id"]
    await data(hub, "mutation($s: ID!, $m: [ID!]!) { assignMedia(stageId: $s, mediaIds: $m) { id } }", {"s": show, "m": [moon["id"]]}, user="helen")
    ctx = await person(browser, hub, "helen")
    stage_page = await open_stage(ctx, hub, "show")
    await stage_page.locator(f'.media-item[data-media-id="{moon["id"]}"]').click()
    await until(stage_page, "(id) => window.upstage.state.board.objects.some((o) => String(o.assetId) === id)", moon["id"])

    studio = await ctx.new_page()
    await studio.goto(hub.url + "/studio")
    await studio.locator(f'.media-card[data-media-id="{moon["id"]}"]').get_by_role("button", name="Edit").click()
    editor = studio.locator("dialog form.media-editor")
    await editor.get_by_label("Dormant").check()
    await editor.get_by_role("button", name="Save").click()
    await expect(editor).to_have_count(0, timeout=WAIT)
    await expect(studio.locator(f'.media-card[data-media-id="{moon["id"]}"] .badge.dormant')).to_have_text("dormant", timeout=WAIT)

    await stage_page.reload()
    await stage_page.wait_for_selector(".connection[data-status=connected]", timeout=WAIT)
    await until(stage_page, "(id) => window.upstage.state.board.objects.some((o) => String(o.assetId) === id)", moon["id"])
    await expect(stage_page.locator(f'.obj img[src$="{moon["url"]}"]')).to_have_count(1, timeout=WAIT)  # still drawn
    await expect(stage_page.locator(".toolbox")).to_be_visible()
    await expect(stage_page.locator(f'.media-item[data-media-id="{moon["id"]}"]')).to_have_count(0)  # not offered
    await stage_page.screenshot(path=artifact("medialib-dormant-stage.png"))
