"""Every control a performer has is reachable on a phone (issue 17): the owner's stage page at
390x844, with media of every kind, a multi-frame avatar selected (the Selected group shows its
actions), a worn costume, a backstage object, a saved scene, a chat line, the record form and the
emoji picker open. Each visible control is scrolled into view and must have a tap target of at
least 24 px, lie inside the screen sideways and not be covered by another element. The names of
the toolbox's controls must each have a row in docs/web-client.md's Controls chapter. The replay
page's controls and the studio's media editor (with frames) fit the phone too."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.browser import PHONE, artifact
from tests.gql import png
from tests.replays import archived
from tests.studio import WAIT, upload_as, wav
from tests.test_web_stage import drag
from tests.webpages import open_stage, person, seed_media, until

PHONE_CONTEXT: dict[str, Any] = dict(viewport=PHONE, is_mobile=True, has_touch=True)
DOCS = Path(__file__).resolve().parent.parent / "docs" / "web-client.md"
MIN_TAP = 24  # px: WCAG 2.2 target size (minimum); the reactions bar asks 44 (tests/test_web_phone.py)

# Every visible control under `scope`, scrolled into view one by one; what is wrong with each.
# A checkbox or radio inside a <label> is tapped through its label, so the label's box is its
# target; a visually hidden file input is reached through its label[role=button] (checked itself);
# the selected object's resize and rotate handles are tap targets too;
# a link inside a sentence (`p a`) is exempt from the size (WCAG 2.5.8's inline exception).
CHECK_CONTROLS = """([minTap, scope]) => {
  const seen = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden' && !el.closest('[hidden]') && !el.matches('.visually-hidden');
  const nameOf = (el) => (el.getAttribute('aria-label') || (el.labels && el.labels[0] && el.labels[0].textContent)
    || el.textContent || el.title || el.placeholder || el.value || '').replace(/\\s+/g, ' ').trim();
  const controls = [...document.querySelector(scope).querySelectorAll('button, input, select, textarea, summary, a[href], [role=button], .selection .handle')].filter(seen);
  const problems = [];
  for (const el of controls) {
    el.scrollIntoView({ block: 'center', inline: 'nearest', behavior: 'instant' });
    const label = el.matches('input[type=checkbox], input[type=radio]') ? el.closest('label') : null;
    const r = (label ?? el).getBoundingClientRect();
    const what = `${el.tagName.toLowerCase()} "${nameOf(el)}" in ${el.parentElement.closest('[aria-label], section, header, form, div')?.className || '?'}`;
    if ((r.width < minTap || r.height < minTap) && !el.matches('p a')) problems.push(`${what}: ${Math.round(r.width)}x${Math.round(r.height)} px`);
    if (r.left < -1 || r.right > window.innerWidth + 1) problems.push(`${what}: off screen sideways (${Math.round(r.left)}..${Math.round(r.right)})`);
    const x = Math.min(Math.max(r.left + r.width / 2, 0), window.innerWidth - 1), y = r.top + r.height / 2;
    const top = document.elementFromPoint(x, y);
    if (!top || !(el.contains(top) || (label && label.contains(top)))) problems.push(`${what}: covered by ${top ? top.tagName.toLowerCase() + '.' + top.className : 'nothing'}`);
  }
  window.scrollTo(0, 0);
  return { count: controls.length, problems, scroll: document.documentElement.scrollWidth - window.innerWidth };
}"""

# Boxes that stick out of `scope`'s right edge (a dialog clips them: no page scroll shows them).
STICKING_OUT = """(scope) => {
  const root = document.querySelector(scope), edge = root.getBoundingClientRect().right;
  return [...root.querySelectorAll('*')].filter((el) => el.getClientRects().length && el.getBoundingClientRect().right > edge + 1)
    .map((el) => `${el.tagName.toLowerCase()}.${el.className} ${Math.round(el.getBoundingClientRect().right)} > ${Math.round(edge)}`);
}"""

# The accessible names of the toolbox's own controls (and the stage bar's record button).
TOOLBOX_NAMES = """() => [...document.querySelectorAll('.toolbox :is(button, input, select, textarea), .stage-bar .record-tools :is(button, input)')]
  .map((el) => (el.getAttribute('aria-label') || (el.labels && el.labels[0] && el.labels[0].textContent) || el.textContent || '').replace(/\\s+/g, ' ').trim())"""


def controls_chapter() -> str:
    """The text of docs/web-client.md's "Controls" chapter (up to the next `## ` heading), without
    markdown's bold and code marks, in lower case."""
    text = DOCS.read_text()
    start = text.index("\n## Controls\n")
    end = text.find("\n## ", start + 1)
    return re.sub(r"\*\*|`", "", text[start:end if end > 0 else None]).lower()


def documented(name: str, chapter: str, names: list[str]) -> bool:
    """Whether a control's accessible name is in the chapter; a medium's, object's, scene's or
    stream's name in it is written *name* there (e.g. "Play chime" is "Play *name*")."""
    for known in sorted(names, key=len, reverse=True):
        name = re.sub(rf"\b{re.escape(known)}\b", "*name*", name, flags=re.IGNORECASE)
    return bool(name) and name.lower() in chapter


async def seeded_stage(hub) -> dict[str, Any]:
    """The stage `show` owned by helen with every kind of medium and a busy board."""
    await hub.stage("show", "helen")
    media = await seed_media(hub, "helen")
    walker = await upload_as(hub, "helen", "walker.png", png(30, 40, rgb=(20, 160, 60)), "avatar")
    await upload_as(hub, "helen", "walker-2.png", png(30, 40, rgb=(20, 60, 160)), "avatar", frame_of=str(walker["id"]))
    track = await upload_as(hub, "helen", "chime.wav", wav(2.0), "audio")
    stage = await hub.store.cached_stage("show")
    await hub.store.assign_media(stage.id, [int(m["id"]) for m in (*media.values(), walker, track)])
    performer = await hub.joined("helen")
    src = lambda m: hub.url + m["url"]  # noqa: E731
    base = {"rotate": 0, "opacity": 1, "scaleX": 1, "scaleY": 1, "moveSpeed": 1000}
    walker_obj = {**base, "id": "walker", "type": "avatar", "name": "Walker", "src": hub.url + "/static/demo/avatar.svg",
                  "frames": [hub.url + "/static/demo/avatar.svg", hub.url + "/static/demo/avatar2.svg"], "multi": True,
                  "autoplayFrames": 0, "x": 0.35, "y": 0.12, "w": 0.2, "h": 0.3}
    for obj in (
        walker_obj,
        {**base, "id": "hat", "type": "prop", "name": "Hat", "src": src(media["prop"]), "x": 0.4, "y": 0.06, "w": 0.1, "h": 0.06, "wornBy": "walker"},
        {**base, "id": "secret", "type": "prop", "name": "Secret", "src": src(media["prop"]), "x": 0.75, "y": 0.3, "w": 0.1, "h": 0.1, "backstage": True},
        {**base, "id": "words", "type": "text", "name": "Hello", "content": "Hello", "fontSize": "24px", "color": "#000000", "x": 0.05, "y": 0.4, "w": 0.2, "h": 0.06},
    ):
        ack = await performer.publish("board", {"type": "placeObjectOnStage", "object": obj})
        assert ack["ok"], ack
    await performer.publish("background", {"type": "changeBackground", "background": {"id": media["backdrop"]["id"], "src": src(media["backdrop"]), "at": 1}})
    await performer.publish("chat", {"id": "m1", "message": "Places, everyone", "user": "helen", "isPlayer": True})
    assert (await performer.call("saveScene", {"name": "Opening"}))["ok"]
    await performer.close()
    return {"names": [m["name"] for m in (*media.values(), walker, track)] + ["Walker", "Hat", "Secret", "Hello", "Opening"]}


async def test_every_performer_control_fits_a_phone(hub, browser) -> None:
    seeded = await seeded_stage(hub)
    page = await open_stage(await person(browser, hub, "helen", **PHONE_CONTEXT), hub)
    await page.wait_for_selector(".toolbox .media-item")
    await page.wait_for_selector(".toolbox .scenes button")
    await page.wait_for_selector(".chat button[aria-label*=ighlight], .chat .line button", timeout=WAIT)
    # the Selected group of each kind of object; the multi-frame avatar last (its lower part: the hat sits on its head)
    names: set[str] = set()
    for target, low, ready in (("hat", False, ".take-off"), ("secret", False, ".lightbulb"), ("words", False, "input[aria-label='Words of the selected text']"), ("walker", True, ".frame-tools")):
        await page.evaluate("window.scrollTo(0, 0)")
        box = await page.locator(f".obj[data-id={target}]").bounding_box()
        await page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + (box["height"] - 6 if low else box["height"] / 2))
        await page.wait_for_selector(f".toolbox .selected-tools {ready}")
        names.update(await page.evaluate(TOOLBOX_NAMES))
    await page.locator(".stage-bar .record-start").click()  # the record form's fields
    await page.wait_for_load_state("networkidle")
    await page.screenshot(path=artifact("phone-controls-performer.png"), full_page=True)
    height = await page.evaluate("document.documentElement.scrollHeight")
    for n, top in enumerate(range(0, height, 1000)):  # the same in slices a person can read
        clip = {"x": 0, "y": top, "width": PHONE["width"], "height": min(1000, height - top)}
        await page.screenshot(path=artifact(f"phone-controls-performer-{n}.png"), full_page=True, clip=clip)

    result = await page.evaluate(CHECK_CONTROLS, [MIN_TAP, "body"])
    assert result["count"] > 60  # the whole toolbox is there
    assert result["scroll"] <= 0, "the page scrolls sideways"
    assert result["problems"] == []
    await page.locator(".reactions").get_by_role("button", name="More reactions").click()  # the emoji picker, over the page
    await page.screenshot(path=artifact("phone-controls-emoji-picker.png"))
    picker = await page.evaluate(CHECK_CONTROLS, [MIN_TAP, ".emoji-picker"])
    assert picker["count"] >= 40 and picker["problems"] == []
    await page.keyboard.press("Escape")

    # viewing as audience: the page as the audience has it, and the way back
    await page.get_by_role("button", name="View as audience").click()
    await page.get_by_role("button", name="Back to player view").wait_for()
    audience = await page.evaluate(CHECK_CONTROLS, [MIN_TAP, "body"])
    assert audience["scroll"] <= 0 and audience["problems"] == []
    await page.get_by_role("button", name="Back to player view").click()

    chapter = controls_chapter()
    names.update(await page.evaluate(TOOLBOX_NAMES))
    missing = sorted(name for name in names if not documented(name, chapter, seeded["names"]))
    assert missing == [], f"toolbox controls with no row in docs/web-client.md's Controls chapter: {missing}"

    # the rotate handle sits below the object on a touch screen: from there to the right of the
    # centre is a quarter turn back (270°), not the jump a handle assumed above would make
    await page.evaluate("window.scrollTo(0, 0)")
    handle = await page.locator(".obj[data-id=walker] .handle.rotate").bounding_box()
    body = await page.locator(".obj[data-id=walker]").bounding_box()
    centre = (body["x"] + body["width"] / 2, body["y"] + body["height"] / 2)
    assert handle["y"] > body["y"] + body["height"]  # below
    await drag(page, (handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2), (centre[0] + 80, centre[1]))
    await until(page, "() => window.upstage.state.board.objects.find((o) => o.id === 'walker').rotate === 270")

    # a closed curtain covers every object, the 4th (z-index 4, over the curtain's 3) included
    await page.evaluate("window.upstage.page.publish('background', {type: 'drawCurtain', curtain: {src: '/static/demo/backdrop.svg', at: Date.now()}})")
    await page.wait_for_selector(".stage .curtain:not([hidden])")
    words = await page.locator(".obj[data-id=words]").bounding_box()
    point = [words["x"] + words["width"] / 2, words["y"] + words["height"] / 2]  # once the curtain has dropped (2 s)
    await until(page, "([x, y]) => document.elementFromPoint(x, y).closest('.curtain, .obj')?.matches('.curtain')", point)
    assert page.errors == []


async def test_audience_replay_and_studio_controls_fit_a_phone(hub, browser, tmp_path) -> None:
    await hub.stage("show", "helen")
    audience = await open_stage(await person(browser, hub, **PHONE_CONTEXT), hub)  # anonymous, the login form folded
    result = await audience.evaluate(CHECK_CONTROLS, [MIN_TAP, "body"])
    assert result["count"] >= 8 and result["scroll"] <= 0 and result["problems"] == []
    await audience.locator("header").get_by_role("button", name="Log in").click()
    await audience.locator("header form.login").get_by_label("Username").wait_for()
    await audience.screenshot(path=artifact("phone-controls-audience-login.png"))
    result = await audience.evaluate(CHECK_CONTROLS, [MIN_TAP, "header"])
    assert result["count"] >= 3 and result["scroll"] <= 0 and result["problems"] == []

    performance = await archived(hub, "show", count=12, spacing_ms=1000)
    replay = await (await person(browser, hub, "helen", **PHONE_CONTEXT)).new_page()
    await replay.goto(f"{hub.url}/replay/show/{performance}")
    await until(replay, "() => window.upstage.status && window.upstage.status.playing")
    await replay.get_by_role("button", name="Pause").click()  # paused, the controls stay
    await replay.screenshot(path=artifact("phone-controls-replay.png"), full_page=True)
    result = await replay.evaluate(CHECK_CONTROLS, [MIN_TAP, "body"])
    assert result["count"] >= 6 and result["scroll"] <= 0 and result["problems"] == []

    walker = await upload_as(hub, "helen", "walker.png", png(30, 40, rgb=(20, 160, 60)), "avatar")
    for n in (2, 3):
        await upload_as(hub, "helen", f"walker-{n}.png", png(30, 40, rgb=(20 * n, 60, 160)), "avatar", frame_of=str(walker["id"]))
    studio = await (await person(browser, hub, "helen", **PHONE_CONTEXT)).new_page()
    studio.set_default_timeout(WAIT)
    await studio.goto(hub.url + "/studio")
    card = studio.locator(f'.media-card[data-media-id="{walker["id"]}"]')
    await card.wait_for()
    await studio.screenshot(path=artifact("phone-controls-studio.png"), full_page=True)
    result = await studio.evaluate(CHECK_CONTROLS, [MIN_TAP, "body"])
    assert result["count"] >= 10 and result["scroll"] <= 0 and result["problems"] == []
    await card.get_by_role("button", name="Edit").click()
    editor = studio.locator("dialog form.media-editor")
    await editor.locator(".frames li").first.wait_for()
    await studio.screenshot(path=artifact("phone-controls-studio-editor.png"), full_page=True)
    result = await studio.evaluate(CHECK_CONTROLS, [MIN_TAP, "dialog[open]"])
    assert result["count"] >= 10 and result["scroll"] <= 0 and result["problems"] == []
    inside = await studio.evaluate(STICKING_OUT, "dialog[open]")
    assert inside == [], "boxes wider than the media editor"
