"""Hostile and malformed data on the pages: markup in chat, nicknames, speech, text objects, media
and stage names shows as text; `javascript:` and `data:` URLs never become a link, an image or a
sound; CSS in a colour stays out of `style`; payloads the hub accepts but that make no sense, and
messages the page does not know, break nothing. Every script payload sets `window.__pwned`."""

from __future__ import annotations

from tests.conftest import Hub
from tests.gql import png, upload
from tests.webpages import WAIT_MS, open_stage, person, until

XSS = "<img src=x onerror=window.__pwned=1>"
JS_URL = "javascript:window.__pwned=2"
HTML_URL = "data:text/html,<script>parent.__pwned=3</script>"
CSS = "red;background:url(javascript:window.__pwned=4)"

# What no page may contain after the hostile events: markup that came from a payload, or a
# script-capable URL in any attribute.
NOTHING_INJECTED = """() => {
  const bad = [...document.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) =>
    a.name.startsWith('on') || /^\\s*(javascript|data|vbscript):/i.test(a.value) || /url\\(/i.test(a.value)));
  const injected = document.querySelectorAll('.messages img, .bubble *, .obj .text *, .holder *, .media-item span *, .stage-card h2 img, body script');
  return { pwned: window.__pwned ?? null, bad: bad.map((el) => el.outerHTML.slice(0, 120)), injected: injected.length };
}"""


async def hostile_events(hub: Hub) -> None:
    performer = await hub.joined("helen")
    assert (await performer.set_presence(nickname=XSS, avatarId="bird"))["ok"]
    published = [
        ("chat", {"message": XSS, "user": f"<b>{XSS}</b>", "isPlayer": True, "behavior": "shout", "unknown": {"deep": [1, {"x": None}]}}),
        ("chat", {"message": "think twice", "behavior": "think", "highlighted": "yes"}),
        ("board", {"type": "placeObjectOnStage", "object": {
            "id": "bird", "type": "avatar", "name": XSS, "src": f"{hub.url}/static/demo/avatar.svg", "x": 0.1, "y": 0.1, "w": 0.12, "h": 0.15,
            "frames": [JS_URL, 7, None], "autoplayFrames": 300, "opacity": CSS, "rotate": CSS, "moveSpeed": "fast"}}),
        ("board", {"type": "placeObjectOnStage", "object": {
            "id": "words", "type": "text", "content": f"{XSS}Hello <b>there</b>", "name": XSS, "color": CSS,
            "fontFamily": "x; background: url(https://example.invalid/x)", "fontSize": CSS, "x": 0.4, "y": 0.05, "w": 0.3, "h": 0.08}}),
        ("board", {"type": "placeObjectOnStage", "object": {
            "id": "trap", "type": "prop selected curtain-drawn", "name": "Trap", "src": JS_URL, "link": {"url": JS_URL, "blank": False},
            "x": 0.6, "y": 0.3, "w": 0.1, "h": 0.1}}),
        ("board", {"type": "placeObjectOnStage", "object": {
            "id": "shop", "type": "prop", "name": "Shop", "src": f"{hub.url}/static/demo/prop.svg", "link": {"url": "https://example.org/tickets", "blank": True, "effect": True},
            "x": 0.75, "y": 0.3, "w": 0.1, "h": 0.1}}),
        ("board", {"type": "placeObjectOnStage", "object": {"id": "html", "type": "prop", "src": HTML_URL, "link": {"url": HTML_URL}, "x": 0.2, "y": 0.4}}),
        ("board", {"type": "speak", "avatar": {"id": "bird"}, "speak": {"message": XSS + " and more words to keep it up", "behavior": "speak"}}),
        ("background", {"type": "changeBackground", "background": {"src": JS_URL, "frames": [JS_URL, HTML_URL], "speed": 1}}),  # a CSS opacity is refused
        ("background", {"type": "setBackdropColor", "color": CSS}),
        ("background", {"type": "drawCurtain", "curtain": {"src": HTML_URL, "at": 1}}),
        ("background", {"type": "drawCurtain", "curtain": None}),
        ("audio", {"id": "noise", "src": JS_URL, "isPlaying": True}),
        ("draw", {"type": "newLine", "command": {"type": "draw", "color": CSS, "size": "big", "lines": [None, 5, "x", {"x": "a"}, {"x": 0.2, "y": 0.2, "fromX": 0.1, "fromY": 0.1}]}}),
        ("draw", {"type": "newLine", "command": {"lines": "not a list"}}),
    ]
    for topic, payload in published:
        ack = await performer.publish(topic, payload)
        assert ack["ok"], (topic, payload, ack)  # the hub accepts all of it: the page must cope


async def test_hostile_payloads_show_as_text(hub, browser) -> None:
    await hub.stage("show", "helen")
    stage = await hub.store.cached_stage("show")
    # stored directly, as an older row or another client could have left them (the API refuses them)
    await hub.store.update_stage(stage.id, {"name": f"Show {XSS}", "description": f"<script>window.__pwned=5</script>{XSS}", "cover": JS_URL})
    status, body = await upload(hub, "helen", png(8, 8), "a.png", type="prop", name=XSS)
    assert status == 201, body
    await hub.store.assign_media(stage.id, [int(body["media"]["id"])])

    audience = await open_stage(await person(browser, hub, viewport={"width": 1280, "height": 900}), hub)
    player = await open_stage(await person(browser, hub, "helen", viewport={"width": 1280, "height": 900}), hub)
    await hostile_events(hub)

    for page in (audience, player):
        shouted = page.get_by_role("log").locator("li.shout")
        await shouted.wait_for(timeout=WAIT_MS)
        assert await shouted.text_content() == f"<b>{XSS}</b>: {XSS}"
        await page.wait_for_selector(".obj[data-id=words] .text", timeout=WAIT_MS)
        assert await page.locator(".obj[data-id=words] .text").text_content() == "Hello there"  # content is HTML: its text
        bubble = page.locator(".obj[data-id=bird] .bubble")
        await bubble.wait_for(timeout=WAIT_MS)
        assert (await bubble.text_content()).startswith(XSS)
        assert await page.locator(".obj[data-id=bird] .holder").text_content() == f"▼ {XSS}"
        await until(page, "() => window.upstage.state.whiteboard.commands.length === 2")
        # a javascript:/data: link, image or curtain is never used; an https link is
        assert await page.locator(".obj[data-id=trap] a, .obj[data-id=html] a").count() == 0
        assert await page.locator(".obj[data-id=trap] img").get_attribute("src") is None
        assert await page.locator(".obj[data-id=shop] a.prop-link").get_attribute("href") == "https://example.org/tickets"
        assert await page.locator(".obj[data-id=trap]").get_attribute("class") == "obj prop"
        assert await page.locator(".stage .backdrop").is_hidden()
        colours = await page.locator(".stage").evaluate("(el) => [el.style.cssText, getComputedStyle(el).backgroundImage]")
        assert "url" not in colours[0] and colours[1] == "none", colours
        assert await page.locator(".obj[data-id=words] .text").evaluate("(el) => el.style.cssText.includes('url')") is False
        assert await page.evaluate("document.title") == f"Show {XSS} · UpStage"
        assert await page.locator(".stage-name").text_content() == f"Show {XSS}"
        result = await page.evaluate(NOTHING_INJECTED)
        assert result == {"pwned": None, "bad": [], "injected": 0}, result

    # the player's toolbox shows the media's name as text; the audience can follow the good link
    item = player.locator(".media-item", has_text="onerror")
    await item.wait_for(timeout=WAIT_MS)
    assert await item.locator("span").text_content() == XSS
    assert await player.evaluate(NOTHING_INJECTED) == {"pwned": None, "bad": [], "injected": 0}
    assert await audience.locator(".obj[data-id=shop] a.prop-link").get_attribute("target") == "_blank"

    # the page still works: a later message arrives and nothing threw
    performer = await hub.joined("helen")
    await performer.publish("chat", {"message": "still standing"})
    await audience.get_by_role("log").get_by_text("still standing").wait_for(timeout=WAIT_MS)
    assert audience.errors == [] and player.errors == []

    # the foyer: the stored name and description as text, the javascript: cover not used
    foyer = await (await person(browser, hub)).new_page()
    await foyer.goto(hub.url + "/")
    card = foyer.locator(".stage-card[data-slug=show]")
    await card.wait_for(timeout=WAIT_MS)
    assert await card.locator("h2").text_content() == f"Show {XSS}"
    assert await card.locator("p").text_content() == f"<script>window.__pwned=5</script>{XSS}"
    assert await card.locator("img").count() == 0
    assert await foyer.evaluate(NOTHING_INJECTED) == {"pwned": None, "bad": [], "injected": 0}


async def test_unknown_and_malformed_messages_break_nothing(hub, browser) -> None:
    """Messages a page does not expect (from a newer hub, or broken) are ignored; the stage goes on."""
    await hub.stage("show", "helen")
    page = await open_stage(await person(browser, hub), hub)
    sio = hub.node.sio
    await sio.emit("somethingNew", {"from": "a newer hub"})
    await sio.emit("event", None)
    await sio.emit("event", {"topic": 5, "payload": None})
    await sio.emit("event", {"topic": "teleport", "payload": {"to": "mars"}})
    await sio.emit("epoch", "nonsense")
    await sio.emit("presence", {"players": "many", "roster": "everyone"})
    performer = await hub.joined("helen")
    await performer.publish("chat", {"message": "after the noise"})
    await page.get_by_role("log").get_by_text("after the noise").wait_for(timeout=WAIT_MS)
    assert page.errors == []
    await until(page, "() => document.querySelector('.players-count').textContent === '1'")  # the hub's count, never "many"
