"""Speech bubbles stay inside the stage (issue 17): on a phone, the bubbles of avatars at every
edge and corner are shifted until the whole of each shows (one at the left edge showed "ello
audience…", cut off)."""

from __future__ import annotations

from tests.browser import PHONE, artifact
from tests.webpages import WAIT_MS, open_stage, person, until

LINE = "Hello audience, welcome to the show tonight!"
# (id, x, y) in stage units (16:9: the bottom is at 0.5625), each 0.12 wide and 0.15 high
PLACES = [("left", 0.0, 0.2), ("right", 0.88, 0.2), ("top", 0.44, 0.0), ("top-left", 0.0, 0.0),
          ("top-right", 0.88, 0.0), ("bottom-left", 0.0, 0.4125), ("bottom-right", 0.88, 0.4125)]


async def test_bubbles_of_avatars_at_every_edge_stay_inside_the_stage(hub, browser) -> None:
    await hub.stage("show", "helen")
    performer = await hub.joined("helen")
    phone = await open_stage(await person(browser, hub, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2), hub)
    for name, x, y in PLACES:
        avatar = {"id": name, "type": "avatar", "name": name, "src": f"{hub.url}/static/demo/avatar.svg", "x": x, "y": y, "w": 0.12, "h": 0.15, "moveSpeed": 0}
        await performer.publish("board", {"type": "placeObjectOnStage", "object": avatar})
        await performer.publish("board", {"type": "speak", "avatar": avatar, "speak": {"message": f"{LINE} ({name})", "behavior": "speak"}})
    await until(phone, "(n) => document.querySelectorAll('.stage .bubble').length === n", len(PLACES))
    await phone.wait_for_timeout(400)  # the bubbles' fade-in
    stage = await phone.locator(".stage").bounding_box()
    for name, _, _ in PLACES:
        bubble = phone.locator(f'.obj[data-id="{name}"] .bubble')
        assert await bubble.text_content() == f"{LINE} ({name})"
        box = await bubble.bounding_box()
        assert box is not None and box["width"] > 20, name
        assert box["x"] >= stage["x"] - 0.5 and box["x"] + box["width"] <= stage["x"] + stage["width"] + 0.5, (name, box, stage)
        assert box["y"] >= stage["y"] - 0.5 and box["y"] + box["height"] <= stage["y"] + stage["height"] + 0.5, (name, box, stage)
    await phone.screenshot(path=artifact("bubbles-phone.png"))

    # an avatar that moves to an edge takes its bubble along, still inside
    moved = {"id": "top", "x": 0.0, "y": 0.2, "moveSpeed": 300}
    await performer.publish("board", {"type": "moveTo", "object": moved})
    await until(phone, "() => { const b = document.querySelector('.obj[data-id=top] .bubble').getBoundingClientRect();"
                       " return b.left >= document.querySelector('.stage').getBoundingClientRect().left - 0.5; }")
    await phone.wait_for_timeout(WAIT_MS // 20)
    box = await phone.locator('.obj[data-id="top"] .bubble').bounding_box()
    assert box["x"] >= stage["x"] - 0.5
