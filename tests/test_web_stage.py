"""End to end in headless Chromium: a player and an audience member meet on a stage.

The player works through the real toolbox (media from the management API): drags an avatar on,
moves it with one gesture, holds it and speaks, switches the backdrop and draws; the audience
sees each, a late joiner sees the same stage, and the audience has no toolbox and cannot publish
board events from its console.
"""

from __future__ import annotations

from tests.browser import artifact
from tests.webpages import WAIT_MS, open_stage, person, seed_media, state, until


async def drag(page, source: tuple[float, float], target: tuple[float, float]) -> None:
    await page.mouse.move(*source)
    await page.mouse.down()
    for step in range(1, 6):
        await page.mouse.move(source[0] + (target[0] - source[0]) * step / 5, source[1] + (target[1] - source[1]) * step / 5)
    await page.mouse.up()


async def test_player_and_audience_meet(hub, browser) -> None:
    await hub.stage("show", "helen")
    media = await seed_media(hub, "helen")
    player = await open_stage(await person(browser, hub, "helen", viewport={"width": 1280, "height": 900}), hub)
    audience = await open_stage(await person(browser, hub), hub)

    # the toolbox is the player's alone
    await player.wait_for_selector(f'.media-item[data-media-id="{media["avatar"]["id"]}"]', timeout=WAIT_MS)
    assert await audience.locator(".toolbox, .media-item, .selection").count() == 0
    forged = await audience.evaluate(
        "window.upstage.socket.emitWithAck('publish', {topic: 'board', payload: {type: 'placeObjectOnStage', object: {id: 'forged'}}})"
    )
    assert forged["ok"] is False and forged["error"]["code"] == "forbidden"

    # drag the avatar from the toolbox onto the stage
    stage_box = await player.locator(".stage").bounding_box()
    await player.drag_and_drop(f'.media-item[data-media-id="{media["avatar"]["id"]}"]', ".stage", target_position={"x": stage_box["width"] * 0.3, "y": stage_box["height"] * 0.4})
    await until(audience, "() => window.upstage.state.board.objects.some((o) => o.type === 'avatar')")
    avatar = (await state(audience))["board"]["objects"][0]
    await audience.wait_for_selector(f'.obj[data-id="{avatar["id"]}"] img[src$="{media["avatar"]["url"]}"]', timeout=WAIT_MS)

    # move it with one gesture: one moveTo, and the audience's copy follows
    box = await player.locator(f'.obj[data-id="{avatar["id"]}"]').bounding_box()
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await drag(player, centre, (centre[0] + stage_box["width"] * 0.3, centre[1]))
    moved = await until(audience, "(id) => { const o = window.upstage.state.board.objects.find((o) => o.id === id); return o && o.x > 0.4 && o; }", avatar["id"])
    assert abs(moved["x"] - (avatar["x"] + 0.3)) < 0.03
    assert await until(audience, "(id) => Number(document.querySelector(`.obj[data-id='${id}']`).dataset.x) > 0.4", avatar["id"])

    # hold the avatar and speak through it with the chat (Enter sends)
    await player.locator(f'.obj[data-id="{avatar["id"]}"]').click()
    await player.get_by_role("button", name="Hold to speak").click()
    await player.get_by_role("button", name="Release").wait_for(timeout=WAIT_MS)
    await player.get_by_role("textbox", name="Chat message").fill("Hello from the stage")
    await player.get_by_role("textbox", name="Chat message").press("Enter")
    bubble = audience.locator(f'.obj[data-id="{avatar["id"]}"] .bubble')
    await bubble.wait_for(timeout=WAIT_MS)
    assert await bubble.text_content() == "Hello from the stage"
    await audience.get_by_role("log").get_by_text("Hello from the stage").wait_for(timeout=WAIT_MS)
    assert await audience.locator(f'.obj[data-id="{avatar["id"]}"] .holder').text_content() == "▼ helen"

    # switch the backdrop and its colour
    await player.locator(f'.media-item[data-media-id="{media["backdrop"]["id"]}"]').click()
    await audience.wait_for_selector(f'.stage .backdrop[src$="{media["backdrop"]["url"]}"]:not([hidden])', timeout=WAIT_MS)
    await player.get_by_label("Backdrop colour").evaluate("(el) => { el.value = '#112233'; el.dispatchEvent(new Event('change')); }")
    await until(audience, "() => window.upstage.state.background.backdropColor === '#112233'")

    # draw a stroke on the whiteboard
    await player.get_by_role("button", name="Draw", exact=True).click()
    await drag(player, (stage_box["x"] + 60, stage_box["y"] + 60), (stage_box["x"] + 260, stage_box["y"] + 160))
    stroke = await until(audience, "() => window.upstage.state.whiteboard.commands[0]")
    assert stroke["type"] == "draw" and len(stroke["lines"]) >= 3
    assert 0 < stroke["lines"][-1]["x"] < 1  # normalised by the stage height

    # a third browser joining late sees the same stage
    late = await open_stage(await person(browser, hub), hub)
    seen, late_state = await state(audience), await state(late)
    for family in ("board", "background", "whiteboard"):
        assert late_state[family]["objects" if family == "board" else "commands" if family == "whiteboard" else "backdrop"] == \
            seen[family]["objects" if family == "board" else "commands" if family == "whiteboard" else "backdrop"]
    late_box = await late.locator(f'.obj[data-id="{avatar["id"]}"]').bounding_box()
    late_stage = await late.locator(".stage").bounding_box()
    assert abs((late_box["x"] - late_stage["x"]) / late_stage["width"] - moved["x"]) < 0.02

    await player.screenshot(path=artifact("player.png"))
    assert player.errors == [] and audience.errors == [] and late.errors == []


async def test_chat_reactions_and_reconnect(hub, browser) -> None:
    await hub.stage("show", "helen")
    player = await open_stage(await person(browser, hub, "helen"), hub)
    audience = await open_stage(await person(browser, hub), hub)

    # audience chat with a nickname, sent with Enter
    await audience.get_by_label("Nickname").fill("Rosa")
    await audience.get_by_label("Nickname").press("Tab")
    await audience.get_by_role("textbox", name="Chat message").fill("bravo!")
    await audience.get_by_role("textbox", name="Chat message").press("Enter")
    line = player.get_by_role("log").locator("li", has_text="bravo")
    await line.wait_for(timeout=WAIT_MS)
    assert "Rosa" in await line.text_content()

    # private player chat never reaches the audience; clear chat empties everyone's
    await player.get_by_role("tab", name="Players").click()
    await player.get_by_role("textbox", name="Chat message").fill("places please")
    await player.get_by_role("textbox", name="Chat message").press("Enter")
    await player.get_by_role("log").get_by_text("places please").wait_for(timeout=WAIT_MS)
    # a public line sent after it: once the audience has that, the private one would have come first
    await player.get_by_role("tab", name="Chat").click()
    await player.get_by_role("textbox", name="Chat message").fill("curtain up")
    await player.get_by_role("textbox", name="Chat message").press("Enter")
    await audience.get_by_role("log").get_by_text("curtain up").wait_for(timeout=WAIT_MS)
    assert "places please" not in await audience.get_by_role("log").text_content()
    assert not (await state(audience))["chat"].get("privateMessages")
    await player.get_by_role("button", name="Clear chat").click()
    await until(audience, "() => window.upstage.state.chat.messages.length === 0")

    # a reaction flies on the other screen
    await audience.get_by_role("button", name="React 👏").click()
    await player.wait_for_selector(".fly-over .flying", timeout=WAIT_MS)

    # the connection drops: the indicator says so, and it recovers what it missed without a reload
    await audience.evaluate("window.upstage.socket.io.engine.close()")
    await audience.wait_for_selector(".connection[data-status=reconnecting]", timeout=WAIT_MS)
    await player.get_by_role("textbox", name="Chat message").fill("while you were away")
    await player.get_by_role("textbox", name="Chat message").press("Enter")
    await audience.wait_for_selector(".connection[data-status=connected]", timeout=WAIT_MS)
    await audience.get_by_role("log").get_by_text("while you were away").wait_for(timeout=WAIT_MS)
    assert await audience.evaluate("performance.getEntriesByType('navigation').length") == 1


async def test_player_adds_and_changes_text(hub, browser) -> None:
    """The toolbox's "Add text" puts the typed words on every screen, as words (never markup)."""
    await hub.stage("show", "helen")
    player = await open_stage(await person(browser, hub, "helen", viewport={"width": 1280, "height": 900}), hub)
    audience = await open_stage(await person(browser, hub), hub)

    await player.get_by_label("Text to add").fill("Act <1> & more")
    await player.get_by_label("Text size").select_option(label="Large")
    await player.get_by_role("button", name="Add text").click()
    words = audience.locator(".obj.text .text")
    await words.wait_for(timeout=WAIT_MS)
    assert await words.text_content() == "Act <1> & more"
    placed = (await state(audience))["board"]["objects"][0]
    assert placed["type"] == "text" and placed["fontSize"] == "72px" and placed["content"] == "Act &#60;1&#62; &#38; more"
    assert await player.get_by_label("Text to add").input_value() == ""

    await player.locator(f'.obj[data-id="{placed["id"]}"]').click()
    await player.get_by_label("Words of the selected text").fill("Act two")
    await player.get_by_role("button", name="Change text").click()
    await until(audience, "() => document.querySelector('.obj.text .text').textContent === 'Act two'")
    assert len((await state(audience))["board"]["objects"]) == 1
    assert player.errors == [] and audience.errors == []
