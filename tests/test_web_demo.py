"""The demo stage's first impression (issue 17): on a fresh database it is dressed (backdrop,
figures, star, a line of welcome) as real stage state, which survives a restart on the same
database; its foyer card has a cover and a description. Screenshots as an anonymous phone
visitor and of the foyer."""

from __future__ import annotations

from hub.demo_stage import GREETING, WELCOME
from tests.browser import PHONE, artifact
from tests.webpages import WAIT_MS, person, until


async def test_the_demo_stage_is_dressed_and_stays_so(make_hub, browser, tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    hub = await make_hub(demo=True, demo_password="demo-password-1", database_url=db, var_dir=tmp_path / "var")
    stage = await hub.store.get_stage("demo")
    assert stage is not None and stage.cover and stage.cover.startswith("/media/") and stage.description

    # an anonymous late joiner's ack carries the dressing: it is stage state, not decoration
    visitor = await hub.connect()
    ack = await visitor.join("demo")
    objects = ack["state"]["board"]["objects"]
    assert {o["type"] for o in objects} == {"avatar", "prop", "text"} and len(objects) == 4
    assert ack["state"]["background"]["backdrop"]["src"].startswith("/media/")
    assert any(o.get("content") == WELCOME for o in objects)
    assert [m["message"] for m in ack["state"]["chat"]["messages"]] == [GREETING]

    # the phone visitor sees it, images loaded
    phone = await (await person(browser, hub, viewport=PHONE, is_mobile=True, has_touch=True)).new_page()
    await phone.goto(f"{hub.url}/stage/demo")
    await phone.wait_for_selector(".connection[data-status=connected]", timeout=WAIT_MS)
    await until(phone, "() => [...document.querySelectorAll('.stage img.face, .stage .backdrop')].filter((i) => i.complete && i.naturalWidth > 0).length >= 4")
    assert await phone.locator(".stage .obj").count() == 4
    await phone.get_by_role("log").get_by_text(GREETING).wait_for(timeout=WAIT_MS)
    await phone.wait_for_timeout(300)
    await phone.screenshot(path=artifact("demo-stage-phone.png"))

    # the foyer's card: cover image loaded, and the description
    foyer = await phone.context.new_page()
    await foyer.goto(hub.url)
    card = foyer.locator('.stage-card[data-slug="demo"]')
    await card.wait_for(timeout=WAIT_MS)
    await until(foyer, "() => { const i = document.querySelector('.stage-card[data-slug=demo] img.cover'); return i && i.complete && i.naturalWidth > 0; }")
    assert stage.description in await card.text_content()
    await foyer.screenshot(path=artifact("demo-foyer-phone.png"))

    # on the phone, the demo player logs in from the stage page's header: the toolbox comes at once
    await phone.get_by_role("button", name="Log in").click()
    await phone.get_by_label("Username").fill("demo")
    await phone.get_by_label("Password").fill("demo-password-1")
    await phone.locator("form.login").get_by_role("button", name="Log in").click()
    await phone.locator(".toolbox .media-item").first.wait_for(timeout=WAIT_MS)
    assert await until(phone, "() => window.upstage.role === 'owner' && window.upstage.state.board.objects.length === 4")
    await phone.screenshot(path=artifact("demo-stage-phone-performer.png"), full_page=True)
    await visitor.close()
    await hub.server.close()

    # a restart on the same database: still dressed, and not dressed twice
    again = await make_hub(demo=True, demo_password="demo-password-1", database_url=db, var_dir=tmp_path / "var")
    visitor = await again.connect()
    ack = await visitor.join("demo")
    assert [o["id"] for o in ack["state"]["board"]["objects"]] == [o["id"] for o in objects]
    assert ack["state"]["background"]["backdrop"]["src"].startswith("/media/")
