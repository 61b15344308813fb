"""The stage page's session (issue 17) in headless Chromium: logging in or out in the page's own
header switches it between audience and performer view at once (and in the browser's other tabs),
a saved scene reaches every performer's scene list, and a player whose avatar another player takes
stops holding it; the rehearsal badge, and the cover while the stage loads."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.browser import PHONE, artifact
from tests.conftest import PASSWORD
from tests.gql import data, png, stage_id, upload
from tests.webpages import WAIT_MS, open_stage, person, until

DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}}
UPDATE = "mutation($id: ID!, $in: StageInput!) { updateStage(id: $id, input: $in) { status cover } }"
FORGE = "window.upstage.socket.emitWithAck('publish', {topic: 'board', payload: {type: 'placeObjectOnStage', object: {id: 'forged'}}})"


async def test_logging_in_and_out_on_the_stage_page_switches_it_at_once(hub, browser) -> None:
    await hub.stage("show", "helen")
    ctx = await person(browser, hub, **DESKTOP)
    page = await open_stage(ctx, hub)
    other_tab = await open_stage(ctx, hub)
    assert await page.locator(".toolbox").count() == 0
    assert (await page.evaluate(FORGE))["error"]["code"] == "forbidden"

    # log in from the header: the toolbox appears, no reload, and the socket has the owner's rights
    await page.evaluate("window.notReloaded = true")
    login = page.locator("form.login")
    await login.get_by_label("Username").fill("helen")
    await login.get_by_label("Password").fill(PASSWORD)
    await login.get_by_role("button", name="Log in").click()
    await page.locator(".toolbox").wait_for(timeout=WAIT_MS)
    assert await until(page, "() => window.upstage.role === 'owner' && window.notReloaded")
    await page.locator(".record-tools").wait_for(timeout=WAIT_MS)  # the owner's record button, in the stage bar
    assert (await page.evaluate(FORGE))["ok"] is True
    await page.get_by_role("button", name="Log out").wait_for(timeout=WAIT_MS)
    # the other tab of this browser follows (the localStorage event)
    await other_tab.locator(".toolbox").wait_for(timeout=WAIT_MS)
    assert await until(other_tab, "() => window.upstage.role === 'owner'")

    # log out in the other tab: both lose the toolbox (gone from the DOM) and their rights
    await other_tab.get_by_role("button", name="Log out").click()
    for tab in (page, other_tab):
        await until(tab, "() => window.upstage.role === 'audience' && !document.querySelector('.toolbox, .selection')")
        assert await tab.evaluate("document.querySelector('.tools').children.length") == 0
        assert await tab.locator(".record-tools").count() == 0  # the stage bar's record button went too
        refused = await tab.evaluate(FORGE)
        assert refused["ok"] is False and refused["error"]["code"] == "forbidden"
    assert await page.evaluate("window.notReloaded") is True
    # the audience view works: the board still shows what the owner placed
    await page.locator(".obj[data-id=forged]").wait_for(state="attached", timeout=WAIT_MS)
    assert page.errors == [] and other_tab.errors == []


async def test_a_saved_scene_reaches_every_performers_list(hub, browser) -> None:
    await hub.stage("show", "helen", players=("pat",))
    helen = await open_stage(await person(browser, hub, "helen", **DESKTOP), hub)
    pat = await open_stage(await person(browser, hub, "pat", **DESKTOP), hub)
    for page in (helen, pat):
        await page.locator(".toolbox ul.scenes").wait_for(state="attached", timeout=WAIT_MS)
    await helen.get_by_label("Scene name").fill("Act one")
    await helen.get_by_role("button", name="Save scene").click()
    for page in (helen, pat):  # no reload: the hub's loadScenes reaches both lists
        await page.get_by_role("button", name="Switch to scene Act one").wait_for(timeout=WAIT_MS)
    await pat.get_by_label("Scene name").fill("Act two")
    await pat.get_by_role("button", name="Save scene").click()
    await helen.get_by_role("button", name="Switch to scene Act two").wait_for(timeout=WAIT_MS)


async def test_a_player_whose_avatar_is_taken_stops_holding_it(hub, browser) -> None:
    await hub.stage("show", "helen", players=("pat",))
    watcher = await hub.joined("helen")
    avatar = {"id": "bird", "type": "avatar", "name": "Bird", "src": f"{hub.url}/static/demo/avatar.svg", "x": 0.3, "y": 0.1, "w": 0.12, "h": 0.15}
    await watcher.publish("board", {"type": "placeObjectOnStage", "object": avatar})
    helen = await open_stage(await person(browser, hub, "helen", **DESKTOP), hub)
    pat = await open_stage(await person(browser, hub, "pat", **DESKTOP), hub)
    for page in (helen, pat):
        await page.locator(".toolbox").wait_for(timeout=WAIT_MS)
        await page.locator(".obj[data-id=bird]").click()
        await page.get_by_role("button", name="Hold to speak").click()
        await page.get_by_role("button", name="Release").wait_for(timeout=WAIT_MS)

    # pat took it: helen's toolbox no longer says Release, and her chat no longer makes it speak
    await helen.get_by_role("button", name="Hold to speak").wait_for(timeout=WAIT_MS)
    assert await helen.get_by_role("button", name="Release").count() == 0
    assert await helen.evaluate("window.upstage.page.toolbox.held") is None
    chat = helen.get_by_role("textbox", name="Chat message")
    await chat.fill("is it still mine?")
    await chat.press("Enter")
    await pat.get_by_role("log").get_by_text("is it still mine?").wait_for(timeout=WAIT_MS)
    await pat.get_by_role("textbox", name="Chat message").fill("it is mine now")
    await pat.get_by_role("textbox", name="Chat message").press("Enter")
    await helen.locator(".obj[data-id=bird] .bubble").get_by_text("it is mine now").wait_for(timeout=WAIT_MS)
    spoken = [e["payload"]["speak"]["message"] for e in watcher.events if e["topic"] == "board" and e["payload"].get("type") == "speak"]
    assert spoken == ["it is mine now"]
    assert await helen.locator(".obj[data-id=bird] .holder").text_content() == "▼ pat"


async def test_the_rehearsal_badge_follows_the_stage_status(hub, browser) -> None:
    await hub.stage("show", "helen")
    sid = await stage_id(hub, "show")
    await data(hub, UPDATE, {"id": sid, "in": {"status": "rehearsal"}}, user="helen")
    helen = await open_stage(await person(browser, hub, "helen", **DESKTOP), hub)
    badge = helen.locator(".rehearsal-badge")
    await badge.wait_for(timeout=WAIT_MS)
    assert (await badge.text_content()).lower() == "rehearsal"
    await data(hub, UPDATE, {"id": sid, "in": {"status": "live"}}, user="helen")
    await badge.wait_for(state="hidden", timeout=WAIT_MS)
    await data(hub, UPDATE, {"id": sid, "in": {"status": "rehearsal"}}, user="helen")
    await badge.wait_for(timeout=WAIT_MS)
    await helen.screenshot(path=artifact("rehearsal-badge.png"))


async def test_the_cover_shows_while_the_stage_loads(hub, browser) -> None:
    await hub.stage("show", "helen")
    status, body = await upload(hub, "helen", png(160, 90, rgb=(120, 40, 160)), "cover.png", type="backdrop", name="Cover")
    assert status == 201, body
    cover = body["media"]["url"]
    await data(hub, UPDATE, {"id": await stage_id(hub, "show"), "in": {"cover": cover}}, user="helen")
    ctx = await person(browser, hub, viewport=PHONE, is_mobile=True, has_touch=True)
    # hold the socket back until the cover has been seen: the page is still loading
    release = asyncio.Event()

    async def hold_back(ws: Any) -> None:
        await release.wait()
        ws.connect_to_server()

    await ctx.route_web_socket("**/socket.io/**", hold_back)
    page = await ctx.new_page()
    await page.goto(f"{hub.url}/stage/show")
    await until(page, "() => { const i = document.querySelector('.stage-cover img'); return i && i.complete && i.naturalWidth > 0; }")
    assert (await page.locator(".stage-cover img").get_attribute("src")).endswith(cover)
    assert await page.locator(".connection").get_attribute("data-status") == "connecting"
    assert await page.locator(".stage-name").text_content() == "Show"
    await page.screenshot(path=artifact("cover-while-loading.png"))
    release.set()
    await page.wait_for_selector(".connection[data-status=connected]", timeout=WAIT_MS)
    assert await page.locator(".stage-cover").count() == 0 and await page.locator(".stage").count() == 1
