"""End to end in headless Chromium (issue 17): a performer prepares an avatar and its costume
backstage (the audience's phone shows nothing of them), dresses the avatar, shows both with the
lightbulb in one press, then moves the avatar: the costume follows it on the phone and for a late
joiner, and is taken off."""

from __future__ import annotations

from tests.browser import PHONE, artifact
from tests.test_web_stage import drag
from tests.webpages import open_stage, person, seed_media, state, until

OBJECTS = "window.upstage.state.board.objects"


async def test_backstage_costume_then_lightbulb(hub, browser) -> None:
    await hub.stage("show", "helen")
    media = await seed_media(hub, "helen")
    player = await open_stage(await person(browser, hub, "helen", viewport={"width": 1280, "height": 900}), hub)
    phone = await open_stage(await person(browser, hub, viewport=PHONE, is_mobile=True, has_touch=True), hub)
    item = '.media-item[data-media-id="{}"]'
    await player.wait_for_selector(item.format(media["avatar"]["id"]))

    # prepare backstage: the avatar and a prop, dimmed and marked for the performer only
    await player.get_by_role("button", name="Place backstage").click()
    await player.locator(item.format(media["avatar"]["id"])).click()
    await player.locator(item.format(media["prop"]["id"])).click()
    placed = await until(player, f"() => {OBJECTS}.length === 2 && {OBJECTS}")
    avatar, prop = placed
    assert avatar["backstage"] is True and prop["backstage"] is True
    await player.get_by_role("button", name="Place backstage").click()  # off again
    await player.wait_for_selector(f'.obj.backstage[data-id="{prop["id"]}"]')
    await phone.get_by_role("log").wait_for()
    assert (await state(phone))["board"]["objects"] == [] and await phone.locator(".stage .obj").count() == 0

    # dress the avatar: select the prop (on top), wear it on the avatar
    prop_box = await player.locator(f'.obj[data-id="{prop["id"]}"]').bounding_box()
    await player.mouse.click(prop_box["x"] + prop_box["width"] / 2, prop_box["y"] + prop_box["height"] / 2)
    await player.get_by_role("button", name="Wear", exact=True).click()
    await until(player, f"() => {OBJECTS}.find((o) => o.id === '{prop['id']}').wornBy === '{avatar['id']}'")
    await player.screenshot(path=artifact("board_player_backstage.png"))
    await phone.screenshot(path=artifact("board_phone_before_show.png"))
    assert (await state(phone))["board"]["objects"] == []

    # select the avatar (its lower part, below the costume) and show it with the lightbulb
    box = await player.locator(f'.obj[data-id="{avatar["id"]}"]').bounding_box()
    await player.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 4)
    await player.get_by_role("button", name="💡 Show to audience").click()
    shown = await until(phone, f"() => {OBJECTS}.length === 2 && {OBJECTS}")
    assert {o["id"]: (o["backstage"], o.get("wornBy")) for o in shown} == {avatar["id"]: (False, None), prop["id"]: (False, avatar["id"])}
    await phone.wait_for_selector(f'.stage .obj[data-id="{prop["id"]}"]:not(.backstage)')
    await until(player, "() => !document.querySelector('.stage .obj.backstage')")
    await player.screenshot(path=artifact("board_player_after_show.png"))
    await phone.screenshot(path=artifact("board_phone_after_show.png"))

    # move the avatar: one moveTo, the costume follows on the phone
    before = {o["id"]: o for o in shown}
    stage_box = await player.locator(".stage").bounding_box()
    start = (box["x"] + box["width"] / 2, box["y"] + box["height"] - 4)
    await drag(player, start, (start[0] + stage_box["width"] * 0.25, start[1]))
    moved = await until(phone, f"() => {{ const o = {OBJECTS}.find((o) => o.id === '{prop['id']}'); return o.x > {before[prop['id']]['x'] + 0.2} && o; }}")
    avatar_now = next(o for o in (await state(phone))["board"]["objects"] if o["id"] == avatar["id"])
    offset = before[prop["id"]]["x"] - before[avatar["id"]]["x"]
    assert abs((moved["x"] - avatar_now["x"]) - offset) < 1e-9
    await until(phone, f"() => Number(document.querySelector(`.obj[data-id='{prop['id']}']`).dataset.x) > {before[prop['id']]['x'] + 0.2}")
    await phone.wait_for_timeout(1200)  # the tween
    await phone.screenshot(path=artifact("board_phone_costume_followed.png"))

    # a late joiner's phone shows the costume in place
    late = await open_stage(await person(browser, hub, viewport=PHONE, is_mobile=True), hub)
    assert (await state(late))["board"]["objects"] == (await state(phone))["board"]["objects"]
    await late.screenshot(path=artifact("board_late_phone.png"))

    # take it off: the avatar moves alone
    await player.mouse.click(prop_box["x"] + stage_box["width"] * 0.25 + prop_box["width"] / 2, prop_box["y"] + prop_box["height"] / 2)
    await player.get_by_role("button", name="Take off").click()
    await until(phone, f"() => {OBJECTS}.find((o) => o.id === '{prop['id']}').wornBy === null")

    # a performer on a phone reaches the same controls, and nothing scrolls sideways
    pocket = await open_stage(await person(browser, hub, "helen", viewport=PHONE, is_mobile=True, has_touch=True), hub)
    await pocket.wait_for_selector(item.format(media["prop"]["id"]))
    await pocket.locator(f'.obj[data-id="{prop["id"]}"]').tap()
    hide = pocket.get_by_role("button", name="Hide backstage")
    await hide.scroll_into_view_if_needed()
    assert await hide.is_visible() and await pocket.get_by_role("button", name="Wear", exact=True).is_visible()
    assert await pocket.get_by_role("button", name="Place backstage").is_visible()
    assert await pocket.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await pocket.screenshot(path=artifact("board_performer_phone.png"))
    assert player.errors == [] and phone.errors == [] and late.errors == [] and pocket.errors == []
