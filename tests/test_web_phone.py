"""The audience on a phone (390x844): the stage fills the width at the top, chat and a thumb-sized
reactions bar below it, and no performer tools at all."""

from __future__ import annotations

from tests.browser import PHONE, artifact
from tests.webpages import WAIT_MS, open_stage, person


async def test_phone_audience(hub, browser) -> None:
    await hub.stage("show", "helen")
    performer = await hub.joined("helen")
    await performer.publish("board", {"type": "placeObjectOnStage", "object": {
        "id": "bird", "type": "avatar", "name": "Bird", "src": f"{hub.url}/static/demo/avatar.svg", "x": 0.4, "y": 0.15, "w": 0.15, "h": 0.18}})
    await performer.publish("background", {"type": "changeBackground", "background": {"src": f"{hub.url}/static/demo/backdrop.svg", "at": 1}})
    await performer.publish("chat", {"message": "Welcome, everyone", "user": "helen", "isPlayer": True})
    phone = await open_stage(await person(browser, hub, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2), hub)
    await phone.wait_for_selector(".obj[data-id=bird]", timeout=WAIT_MS)

    stage = await phone.locator(".stage").bounding_box()
    assert stage["width"] >= PHONE["width"] - 2 and abs(stage["height"] - stage["width"] * 9 / 16) < 2
    chat = await phone.locator(".chat").bounding_box()
    assert chat["y"] >= stage["y"] + stage["height"] - 1  # below the stage
    for button in await phone.locator(".reactions button").all():
        box = await button.bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44  # thumb-sized
        assert box["y"] + box["height"] <= PHONE["height"]  # on screen
    assert await phone.locator(".toolbox, .tools *, .selection").count() == 0

    await phone.get_by_role("textbox", name="Chat message").fill("from my phone")
    await phone.get_by_role("textbox", name="Chat message").press("Enter")
    await performer.wait_for(lambda c: any(e["topic"] == "chat" and e["payload"].get("message") == "from my phone" for e in c.events))
    await phone.get_by_role("button", name="React ❤️").tap()
    await performer.wait_for(lambda c: any(e["topic"] == "reaction" for e in c.events))
    await phone.screenshot(path=artifact("phone-audience.png"))
