"""End to end in headless Chromium (issue 17): the chat and reactions a performer and a phone
audience use during a show: the private tab's unread badge and @mentions, a performer removing
and highlighting messages, chat colours, the chat as a download, players clearing where the owner
allows it, the stage settings performers change live (and a late joiner sees), the standalone
chat page on a phone, and the emoji picker."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.browser import PHONE, artifact
from tests.webpages import WAIT_MS, open_stage, person, state, until

DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}}
PHONE_CONTEXT: dict[str, Any] = {"viewport": PHONE, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


async def say(page, text: str) -> None:
    box = page.get_by_role("textbox", name="Chat message")
    await box.fill(text)
    await box.press("Enter")


def line(page, text: str):
    return page.get_by_role("log").locator("li", has_text=text)


async def test_badge_mentions_moderation_colour_and_download(hub, browser) -> None:
    await hub.stage("show", "helen", players=("pat",))
    helen = await open_stage(await person(browser, hub, "helen", **DESKTOP), hub)
    pat = await open_stage(await person(browser, hub, "pat", **PHONE_CONTEXT), hub)  # a player on a phone
    phone = await open_stage(await person(browser, hub, **PHONE_CONTEXT), hub)

    # the message field keeps its whole placeholder in the desktop side column
    fits = await helen.get_by_role("textbox", name="Chat message").evaluate(
        """(el) => { const c = document.createElement('canvas').getContext('2d'); const s = getComputedStyle(el);
                     c.font = `${s.fontSize} ${s.fontFamily}`;
                     return c.measureText(el.placeholder).width + parseFloat(s.paddingLeft) + parseFloat(s.paddingRight) <= el.clientWidth; }"""
    )
    assert fits

    # a private message while helen is on the public tab: a badge on "Players", gone once read
    await pat.get_by_role("tab", name="Players").click()
    await say(pat, "places please")
    badge = helen.locator(".tab[data-tab=private] .badge")
    await badge.wait_for(timeout=WAIT_MS)
    assert await badge.text_content() == "1"
    await say(pat, "two minutes")
    await until(helen, "() => document.querySelector('.tab[data-tab=private] .badge').textContent === '2'")
    await helen.screenshot(path=artifact("chat-badge.png"))
    await helen.get_by_role("tab", name="Players").click()
    assert await badge.is_hidden()
    await helen.get_by_role("tab", name="Chat", exact=True).click()

    # a private @mention opens the Players tab and is marked; a public one is marked too
    await say(pat, "@helen are you ready?")
    await until(helen, "() => document.querySelector('.tab[data-tab=private]').getAttribute('aria-selected') === 'true'")
    assert "mention" in await line(helen, "are you ready").get_attribute("class")
    await helen.get_by_role("tab", name="Chat", exact=True).click()
    await say(phone, "hello @Helen, break a leg")
    await line(helen, "break a leg").wait_for(timeout=WAIT_MS)
    assert "mention" in await line(helen, "break a leg").get_attribute("class")
    assert "mention" not in await line(phone, "break a leg").get_attribute("class")  # not the sender's

    # moderation: helen removes one message and highlights another, and the phone sees both
    await say(phone, "buy cheap tickets here")
    await line(helen, "cheap tickets").wait_for(timeout=WAIT_MS)
    await line(helen, "cheap tickets").get_by_role("button", name="Remove message").click()
    await line(phone, "cheap tickets").wait_for(state="detached", timeout=WAIT_MS)
    await line(helen, "break a leg").get_by_role("button", name="Highlight message").click()
    await phone.wait_for_selector(".messages li.highlighted .starred", timeout=WAIT_MS)
    assert "break a leg" in await phone.locator(".messages li.highlighted").text_content()
    assert await phone.locator(".moderate, .chat-actions").count() == 0  # the audience has no such controls
    forged = await phone.evaluate("window.upstage.socket.emitWithAck('publish', {topic: 'chat', payload: {remove: 'x'}})")
    assert forged["error"]["code"] == "forbidden"

    # a chat colour, checked by safeColor on every screen (a hostile one is not applied)
    helen_client = await hub.joined("helen")
    assert (await helen_client.publish("chat", {"message": "sneaky", "color": "red;background:url(/x)"}))["ok"]
    await line(phone, "sneaky").wait_for(timeout=WAIT_MS)
    assert await line(phone, "sneaky").locator(".text").evaluate("(el) => el.style.color === '' && el.style.background === ''")
    await helen.get_by_label("Chat colour").evaluate("(el) => { el.value = '#cc0000'; el.dispatchEvent(new Event('change')); }")
    await say(helen, "in red")
    await line(phone, "in red").wait_for(timeout=WAIT_MS)
    assert await line(phone, "in red").locator(".text").evaluate("(el) => getComputedStyle(el).color") == "rgb(204, 0, 0)"
    await helen.screenshot(path=artifact("chat-moderation-desktop.png"))
    await phone.screenshot(path=artifact("chat-moderation-phone.png"))

    # the chat as text: public then private, a line each with time and name
    async with helen.expect_download() as info:
        await helen.get_by_role("button", name="Download chat").click()
    download = await info.value
    assert download.suggested_filename.startswith("show-chat-") and download.suggested_filename.endswith(".txt")
    text = Path(await download.path()).read_text(encoding="utf-8")
    public, private = text.split("== Players (private) ==")
    assert "Guest: hello @Helen, break a leg" in public and "★ Guest: hello @Helen" in public
    assert "cheap tickets" not in text and "helen: in red" in public
    assert "pat: places please" in private and "pat: places please" not in public
    assert public.count("\n[20") >= 2  # each message on its own line, with its date and time

    # a player clears the chat only where the owner allows it
    clear = pat.get_by_role("button", name="Clear player chat")
    assert await clear.is_hidden()
    await pat.get_by_role("tab", name="Chat", exact=True).click()
    assert await pat.get_by_role("button", name="Clear chat").is_hidden()
    assert await pat.get_by_label("Players may clear the chat").count() == 0  # the owner's choice
    await helen.get_by_label("Players may clear the chat").check()
    await pat.get_by_role("button", name="Clear chat").tap()
    await until(phone, "() => window.upstage.state.chat.messages.length === 0")
    await pat.get_by_role("tab", name="Players").tap()
    await pat.screenshot(path=artifact("chat-player-phone.png"), full_page=True)
    await pat.get_by_role("button", name="Clear player chat").tap()
    await until(helen, "() => window.upstage.state.chat.privateMessages.length === 0")
    assert helen.errors == [] and pat.errors == [] and phone.errors == []


async def test_stage_settings_live_and_on_a_late_join(hub, browser) -> None:
    await hub.stage("show", "helen")
    helen = await open_stage(await person(browser, hub, "helen", **DESKTOP), hub)
    phone = await open_stage(await person(browser, hub, **PHONE_CONTEXT), hub)
    laptop = await open_stage(await person(browser, hub, **DESKTOP), hub)
    settings = helen.get_by_role("region", name="Chat & reactions")

    await settings.get_by_label("Chat shown to the audience").uncheck()
    await phone.wait_for_selector(".chat", state="hidden", timeout=WAIT_MS)
    assert await helen.locator(".chat").is_visible()  # performers keep it, with a note
    assert "hidden from the audience" in await helen.locator(".chat-notice").text_content()
    await settings.get_by_label("Chat shown to the audience").check()
    await phone.wait_for_selector(".chat", state="visible", timeout=WAIT_MS)

    await settings.get_by_label("Reactions on").uncheck()
    await phone.wait_for_selector(".reactions", state="hidden", timeout=WAIT_MS)
    refused = await phone.evaluate("window.upstage.socket.emitWithAck('publish', {topic: 'reaction', payload: '👏'})")
    assert refused["error"] == {"code": "forbidden", "message": "reactions are off on this stage"}

    await settings.get_by_label("Dark chat").check()
    await phone.wait_for_selector(".chat.dark", timeout=WAIT_MS)
    await settings.get_by_label("Chat side").select_option("left")
    await laptop.wait_for_selector("body.chat-left", timeout=WAIT_MS)
    chat_box, stage_box = await laptop.locator(".chat").bounding_box(), await laptop.locator(".stage").bounding_box()
    assert chat_box["x"] + chat_box["width"] <= stage_box["x"]

    await settings.get_by_label("Audience may chat").uncheck()
    message = phone.get_by_role("textbox", name="Chat message")
    await until(phone, "() => document.querySelector('.chat-form input[name=message]').disabled")
    assert await message.get_attribute("placeholder") == "The audience chat is off"
    assert "closed to the audience" in await phone.locator(".chat-notice").text_content()
    refused = await phone.evaluate("window.upstage.socket.emitWithAck('publish', {topic: 'chat', payload: {message: 'let me speak'}})")
    assert refused["error"] == {"code": "forbidden", "message": "the audience chat is off on this stage"}
    await say(helen, "performers still speak")
    await line(phone, "performers still speak").wait_for(timeout=WAIT_MS)
    await phone.screenshot(path=artifact("chat-settings-phone.png"))
    await laptop.screenshot(path=artifact("chat-settings-laptop.png"))

    # a late joiner gets every setting with the state, and the toolbox shows them as they are
    late = await open_stage(await person(browser, hub, **PHONE_CONTEXT), hub)
    assert (await state(late))["settings"] | {} == {**(await state(phone))["settings"]}
    assert await late.locator(".chat").is_visible() and await late.locator(".chat.dark").count() == 1
    assert await late.locator(".reactions").is_hidden()
    assert await late.locator(".chat-form input[name=message]").is_disabled()
    late_laptop = await open_stage(await person(browser, hub, **DESKTOP), hub)
    await late_laptop.wait_for_selector("body.chat-left", timeout=WAIT_MS)
    helen_again = await open_stage(await person(browser, hub, "helen", **DESKTOP), hub)
    tools = helen_again.get_by_role("region", name="Chat & reactions")
    await tools.wait_for(timeout=WAIT_MS)
    assert not await tools.get_by_label("Audience may chat").is_checked()
    assert await tools.get_by_label("Dark chat").is_checked() and not await tools.get_by_label("Reactions on").is_checked()
    assert await tools.get_by_label("Chat side").input_value() == "left"
    await tools.scroll_into_view_if_needed()
    await tools.screenshot(path=artifact("chat-settings-toolbox.png"))

    # on again: the phone may chat and react
    await settings.get_by_label("Audience may chat").check()
    await settings.get_by_label("Reactions on").check()
    await until(phone, "() => !document.querySelector('.chat-form input[name=message]').disabled")
    await say(phone, "thank you")
    await line(helen, "thank you").wait_for(timeout=WAIT_MS)
    assert helen.errors == [] and phone.errors == [] and late.errors == []


async def test_standalone_chat_page_and_emoji_picker(hub, browser) -> None:
    await hub.stage("show", "helen")
    helen = await open_stage(await person(browser, hub, "helen", **DESKTOP), hub)
    phone_ctx = await person(browser, hub, **PHONE_CONTEXT)
    chat_page = await phone_ctx.new_page()
    errors: list[str] = []
    chat_page.on("pageerror", lambda exc: errors.append(str(exc)))
    await chat_page.goto(f"{hub.url}/stage/show/chat")
    await chat_page.wait_for_selector(".connection[data-status=connected]", timeout=WAIT_MS)
    assert await chat_page.locator(".stage, .toolbox").count() == 0  # only the chat and reactions
    assert await chat_page.locator(".stage-name").text_content() == "Show"

    # it chats both ways, and is not counted as audience
    await say(chat_page, "from the chat page")
    await line(helen, "from the chat page").wait_for(timeout=WAIT_MS)
    await say(helen, "welcome, phone")
    await line(chat_page, "welcome, phone").wait_for(timeout=WAIT_MS)
    await asyncio.sleep(0.3)  # presence is coalesced (0.05 s in tests): a count would be here by now
    assert await helen.locator(".audience-count").text_content() == "0"

    # the emoji picker: beyond the four defaults, each arriving on the other screen
    await chat_page.get_by_role("button", name="More reactions").tap()
    picker = chat_page.get_by_role("dialog", name="More reactions")
    await picker.wait_for(timeout=WAIT_MS)
    await chat_page.screenshot(path=artifact("chat-page-phone-picker.png"))
    await picker.get_by_role("button", name="React 🎉").tap()
    await helen.wait_for_selector(".fly-over .flying:text('🎉')", timeout=WAIT_MS)
    assert await picker.is_hidden()
    await helen.get_by_role("button", name="More reactions").click()
    await helen.get_by_role("dialog", name="More reactions").get_by_role("button", name="React 🚀").click()
    await chat_page.wait_for_selector(".fly-over .flying:text('🚀')", timeout=WAIT_MS)
    await chat_page.screenshot(path=artifact("chat-page-phone.png"))

    # a setting reaches the chat page live
    await helen.get_by_label("Chat shown to the audience").uncheck()
    await chat_page.wait_for_selector(".chat-hidden", state="visible", timeout=WAIT_MS)
    await helen.get_by_label("Chat shown to the audience").check()
    await chat_page.wait_for_selector(".chat", state="visible", timeout=WAIT_MS)
    sideways = await chat_page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not sideways
    assert errors == [] and helen.errors == []
