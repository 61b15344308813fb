"""The stage's look from the toolbox, in headless Chromium with a phone audience: a multi-frame
backdrop animated at a speed and faded by the opacity slider (throttled to one publish per
100 ms); the curtain closing with the chosen animation and speed, and speech bubbles with the
chosen animation, live and for a late joiner."""

from __future__ import annotations

import asyncio

from tests.browser import PHONE, artifact
from tests.conftest import Hub
from tests.gql import png, upload
from tests.present import present
from tests.webpages import WAIT_MS, open_stage, person, until

BACKDROP = ".stage img.backdrop"


async def backdrop_and_curtain(hub: Hub) -> dict[str, dict]:
    """A 3-frame backdrop, an avatar and a curtain on /show's toolbox."""
    stage = present(await hub.store.cached_stage("show"))
    media: dict[str, dict] = {}
    for kind, rgb in (("backdrop", (20, 40, 160)), ("avatar", (200, 30, 30)), ("curtain", (120, 10, 20))):
        media[kind] = (await upload(hub, "alice", png(32, 18, rgb), f"{kind}.png", type=kind, name=kind.title()))[1]["media"]
    for rgb in ((20, 160, 40), (160, 150, 20)):
        status, body = await upload(hub, "alice", png(32, 18, rgb), "more.png", frameOf=str(media["backdrop"]["id"]))
        assert status == 201
        media["backdrop"] = body["media"]
    await hub.store.assign_media(stage.id, [int(m["id"]) for m in media.values()])
    return media


def phone(browser, hub: Hub):
    return person(browser, hub, viewport=PHONE, is_mobile=True, has_touch=True)


async def test_backdrop_speed_and_opacity(hub: Hub, browser) -> None:  # noqa: F811
    await hub.stage("show", "alice")
    media = await backdrop_and_curtain(hub)
    player = await open_stage(await person(browser, hub, "alice", viewport={"width": 1280, "height": 900}), hub)
    audience = await open_stage(await phone(browser, hub), hub)
    await player.locator(f'.media-item[data-media-id="{media["backdrop"]["id"]}"]').click()
    await audience.wait_for_selector(f'{BACKDROP}[data-frame="0"]', timeout=WAIT_MS)

    await player.get_by_label("Backdrop speed").select_option("0.5")
    stored = await until(audience, "() => window.upstage.state.background.backdrop.speed === 0.5 && window.upstage.state.background.backdrop")
    assert stored["frameAt"] == stored["at"] and stored["currentFrame"] == 0
    frames = set()
    for _ in range(60):
        frames.add(await audience.locator(BACKDROP).evaluate("(el) => el.dataset.frame"))
        await asyncio.sleep(0.05)
    assert frames == {"0", "1", "2"}  # 0.5 s a frame, faded in

    # The opacity slider: many input events, at most one publish per 100 ms; the last one wins.
    sent = await player.evaluate("""async () => {
        const slider = document.querySelector('[aria-label="Backdrop opacity"]');
        const times = [];
        const emit = window.upstage.socket.emit.bind(window.upstage.socket);
        window.upstage.socket.emit = (...a) => { if (a[0] === 'publish' && a[1].payload.type === 'changeBackground') times.push(performance.now()); return emit(...a); };
        const start = performance.now();
        for (let i = 0; i <= 20; i += 1) {
            slider.value = String(1 - i * 0.03);
            slider.dispatchEvent(new Event('input'));
            await new Promise((r) => setTimeout(r, 15));
        }
        const moved = performance.now() - start;
        await new Promise((r) => setTimeout(r, 300));
        window.upstage.socket.emit = emit;
        return { moved, gaps: times.slice(1).map((t, i) => t - times[i]), count: times.length };
    }""")
    assert 2 <= sent["count"] <= sent["moved"] / 100 + 2, sent  # 21 moves: a publish per 100 ms at most
    assert min(sent["gaps"]) >= 95, sent
    await until(audience, "() => Math.abs(window.upstage.state.background.backdrop.opacity - 0.4) < 1e-9")
    assert await audience.locator(BACKDROP).evaluate("(el) => el.style.opacity") == "0.4"
    # The animation ran on through the opacity changes (the anchor is kept).
    now = await until(audience, "() => window.upstage.state.background.backdrop")
    assert now["frameAt"] == stored["frameAt"]

    # Paused: every screen stays on one frame; a late joiner shows that same one.
    await player.get_by_label("Backdrop speed").select_option("0")
    paused = await until(audience, "() => { const b = window.upstage.state.background.backdrop; return b.speed === 0 && b; }")
    late = await open_stage(await phone(browser, hub), hub)
    for page in (audience, late):
        await until(page, "(n) => document.querySelector('.stage img.backdrop').dataset.frame === String(n)", paused["currentFrame"])
    await audience.screenshot(path=artifact("look-backdrop-phone.png"))
    for page in (player, audience, late):
        assert page.errors == []


async def test_curtain_and_bubble_animations_reach_everyone_and_a_late_joiner(hub: Hub, browser) -> None:  # noqa: F811
    await hub.stage("show", "alice")
    media = await backdrop_and_curtain(hub)
    player = await open_stage(await person(browser, hub, "alice", viewport={"width": 1280, "height": 900}), hub)
    audience = await open_stage(await phone(browser, hub), hub)

    await player.get_by_label("Curtain animation").select_option("close")
    await player.get_by_label("Curtain speed").select_option("2000")
    await player.get_by_label("Bubble animation").select_option("bounce")
    await until(audience, "() => { const a = window.upstage.state.background.animations; return a && a.curtain === 'close' && a.curtainSpeed === 2000 && a.bubble === 'bounce'; }")

    await player.locator(f'.media-item[data-media-id="{media["curtain"]["id"]}"]').click()
    curtain = audience.locator(".stage .curtain")
    await until(audience, "() => document.querySelector('.stage .curtain').dataset.state === 'closing'")
    assert await curtain.evaluate("(el) => el.classList.contains('split') && el.getAnimations({subtree: true}).length === 2")
    await asyncio.sleep(0.8)
    await audience.screenshot(path=artifact("look-curtain-closing-phone.png"))
    await until(audience, "() => document.querySelector('.stage .curtain').dataset.state === 'closed'")

    late = await open_stage(await phone(browser, hub), hub)
    await until(late, "() => document.querySelector('.stage .curtain').dataset.state === 'closed'")  # no animation on a join
    assert await late.locator(".stage .curtain").evaluate("(el) => el.classList.contains('split') === false")

    # Opening animates too, the other way, then the curtain is gone.
    await player.get_by_role("button", name="Open curtain").click()
    await until(late, "() => document.querySelector('.stage .curtain').dataset.state === 'opening'")
    await until(late, "() => document.querySelector('.stage .curtain').dataset.state === 'open'")
    assert await late.locator(".stage .curtain").is_hidden()

    # A bubble with the stage's bubble animation, on every screen.
    await player.locator(f'.media-item[data-media-id="{media["avatar"]["id"]}"]').click()
    avatar = await until(late, "() => window.upstage.state.board.objects.find((o) => o.type === 'avatar')")
    await player.locator(f'.obj[data-id="{avatar["id"]}"]').click()
    await player.get_by_role("button", name="Hold to speak").click()
    await player.get_by_role("button", name="Release").wait_for(timeout=WAIT_MS)
    await player.get_by_role("textbox", name="Chat message").fill("Boing")
    await player.get_by_role("textbox", name="Chat message").press("Enter")
    for page in (audience, late):
        bubble = page.locator(f'.obj[data-id="{avatar["id"]}"] .bubble')
        await bubble.wait_for(timeout=WAIT_MS)
        assert await bubble.evaluate("(el) => el.classList.contains('enter-bounce') && getComputedStyle(el).animationName") == "bubble-bounce"
    await player.get_by_label("Bubble animation").select_option("none")
    await until(late, "() => window.upstage.state.background.animations.bubble === 'none'")
    for page in (player, audience, late):
        assert page.errors == []
