"""The stage page's connection: it comes back after the network or the hub drops it, with what it
missed and nothing twice; and a stage that closes (rehearsal, deleted) tells its audience so."""

from __future__ import annotations

from hub.inbound import Refused
from tests.browser import PHONE, artifact
from tests.gql import data
from tests.webpages import WAIT_MS, open_stage, person, until

UPDATE = "mutation($id: ID!, $in: StageInput!) { updateStage(id: $id, input: $in) { status } }"
LINES = "(text) => [...document.querySelectorAll('.messages li')].filter((li) => li.textContent.includes(text)).length"


async def lines(page, text: str) -> int:
    return await page.evaluate(LINES, text)


async def test_reconnect_recovers_without_duplicates(hub, browser) -> None:
    await hub.stage("show", "helen")
    performer = await hub.joined("helen")
    ctx = await person(browser, hub)
    page = await open_stage(ctx, hub)
    await performer.publish("chat", {"message": "before the drop"})
    await page.get_by_role("log").get_by_text("before the drop").wait_for(timeout=WAIT_MS)

    # the browser goes offline and back: the indicator says so, then connected again
    await ctx.set_offline(True)
    await page.wait_for_selector(".connection[data-status=offline]", timeout=WAIT_MS)
    await ctx.set_offline(False)
    await page.wait_for_selector(".connection[data-status=connected]", timeout=WAIT_MS)

    # the hub drops the socket: reconnecting, then connected with the messages it missed
    joins = await page.evaluate("window.upstage.socket.id")
    await hub.node.sio.disconnect(joins)
    await page.wait_for_selector(".connection[data-status=reconnecting]", timeout=WAIT_MS)
    await performer.publish("chat", {"message": "while you were away"})
    await performer.publish("board", {"type": "placeObjectOnStage", "object": {"id": "bird", "type": "avatar", "src": f"{hub.url}/static/demo/avatar.svg", "x": 0.2, "y": 0.1}})
    await page.wait_for_selector(".connection[data-status=connected]", timeout=WAIT_MS)
    await page.get_by_role("log").get_by_text("while you were away").wait_for(timeout=WAIT_MS)
    await page.wait_for_selector(".obj[data-id=bird]", timeout=WAIT_MS)
    assert await page.evaluate("window.upstage.socket.id") != joins

    # and once more from the page's side (the transport dies), with the audience talking at once
    await page.evaluate("window.upstage.socket.io.engine.close()")
    await page.wait_for_selector(".connection[data-status=reconnecting]", timeout=WAIT_MS)
    await page.wait_for_selector(".connection[data-status=connected]", timeout=WAIT_MS)
    await page.get_by_role("textbox", name="Chat message").fill("glad to be back")
    await page.get_by_role("textbox", name="Chat message").press("Enter")
    await performer.publish("chat", {"message": "after it all"})
    await page.get_by_role("log").get_by_text("after it all").wait_for(timeout=WAIT_MS)
    await page.get_by_role("log").get_by_text("glad to be back").wait_for(timeout=WAIT_MS)

    for text in ("before the drop", "while you were away", "glad to be back", "after it all"):
        assert await lines(page, text) == 1, text
    shown = await page.evaluate("window.upstage.state.chat.messages.map((m) => m.message)")
    # the last two were sent at once (page and performer): either may reach the hub first, and the
    # page shows them in the hub's order, which the performer's client saw too
    hub_order = [e["payload"]["message"] for e in performer.events if e["topic"] == "chat"]
    assert shown[:2] == ["before the drop", "while you were away"]
    assert sorted(shown[2:]) == ["after it all", "glad to be back"]
    assert shown[2:] == [m for m in hub_order if m in ("glad to be back", "after it all")], hub_order
    assert await page.locator(".stage .obj").count() == 1
    assert await page.evaluate("performance.getEntriesByType('navigation').length") == 1  # never reloaded
    assert page.errors == []


async def test_stage_closing_tells_the_audience(hub, browser) -> None:
    await hub.stage("show", "helen")
    stage_id = str((await hub.store.cached_stage("show")).id)
    audience = await open_stage(await person(browser, hub, viewport=PHONE, is_mobile=True, has_touch=True), hub)
    player = await open_stage(await person(browser, hub, "helen"), hub)

    # the stage goes into rehearsal: the audience is told, the player stays
    assert (await data(hub, UPDATE, {"id": stage_id, "in": {"status": "rehearsal"}}, user="helen"))["updateStage"]["status"] == "rehearsal"
    notice = audience.get_by_role("alert").filter(has_text="This stage is closed")
    await notice.wait_for(timeout=WAIT_MS)
    assert "This stage is in rehearsal." in await notice.text_content()
    assert await audience.locator(".connection").get_attribute("data-status") == "closed"
    assert await audience.get_by_role("textbox", name="Chat message").is_hidden()
    assert await notice.get_by_role("link", name="Back to the foyer").get_attribute("href") == "/"
    await audience.screenshot(path=artifact("stage-closed-phone.png"))
    assert await player.locator(".closed-notice").count() == 0
    assert await player.locator(".connection").get_attribute("data-status") == "connected"

    # someone arriving now sees the same notice instead of an empty stage
    late = await (await person(browser, hub)).new_page()
    await late.goto(f"{hub.url}/stage/show")
    await late.get_by_role("alert").filter(has_text="This stage is in rehearsal.").wait_for(timeout=WAIT_MS)

    # live again: "Try again" brings the audience back
    await data(hub, UPDATE, {"id": stage_id, "in": {"status": "live"}}, user="helen")
    await notice.get_by_role("button", name="Try again").click()
    await audience.wait_for_selector(".connection[data-status=connected]", timeout=WAIT_MS)
    assert await audience.locator(".closed-notice").count() == 0
    await audience.get_by_role("textbox", name="Chat message").fill("we are back")
    await audience.get_by_role("textbox", name="Chat message").press("Enter")
    await player.get_by_role("log").get_by_text("we are back").wait_for(timeout=WAIT_MS)

    # deleted: everyone is told, performers too
    assert (await data(hub, "mutation($id: ID!) { deleteStage(id: $id) }", {"id": stage_id}, user="helen"))["deleteStage"] is True
    for page in (audience, player):
        await page.get_by_role("alert").filter(has_text="This stage was deleted.").wait_for(timeout=WAIT_MS)
    assert await until(player, "() => document.body.classList.contains('stage-closed')")
    assert audience.errors == [] and player.errors == []


async def test_a_refused_join_or_refresh_during_an_outage_is_retried_not_given_up(make_hub, browser, monkeypatch) -> None:
    """During a database outage a join may be refused `unavailable` and a token refresh fail: the
    page keeps trying by itself, and a performer comes back as the performer, not as audience."""
    hub = await make_hub(access_token_ttl=20)  # never "fresh": every connection refreshes the token
    await hub.stage("show", "helen")
    ctx = await person(browser, hub, "helen")
    page = await open_stage(ctx, hub)

    enter = hub.node.enter
    refusals: list[str] = []

    async def unavailable_twice(*args, **kwargs):
        if len(refusals) < 2:
            refusals.append("unavailable")
            raise Refused("unavailable", "the stage is being archived; try again shortly")
        return await enter(*args, **kwargs)

    monkeypatch.setattr(hub.node, "enter", unavailable_twice)
    await hub.node.sio.disconnect(await page.evaluate("window.upstage.socket.id"))
    await page.wait_for_selector(".connection[data-status=reconnecting]", timeout=WAIT_MS)
    await page.wait_for_selector(".connection[data-status=connected]", timeout=WAIT_MS)
    assert len(refusals) == 2

    # the hub cannot refresh the token for a while (its requests fail): the page waits, then
    # comes back logged in
    await page.route("**/graphql", lambda route: route.abort())
    await hub.node.sio.disconnect(await page.evaluate("window.upstage.socket.id"))
    await page.wait_for_selector(".connection[data-status=reconnecting]", timeout=WAIT_MS)
    await page.wait_for_timeout(2500)
    assert await page.locator(".connection").get_attribute("data-status") == "reconnecting"
    await page.unroute("**/graphql")
    await page.wait_for_selector(".connection[data-status=connected]", timeout=WAIT_MS)
    sid = await page.evaluate("window.upstage.socket.id")
    assert hub.node.connections[sid].username == "helen", "came back as the performer"
    assert page.errors == []
