"""Issue 17's hostile pass in headless Chromium: pressing Record keeps the performer's prepared
(backstage) objects on their page, and the audience's phone still shows nothing of them."""

from __future__ import annotations

from tests.browser import PHONE, artifact
from tests.test_board_backstage import BEAR, BULB, ok
from tests.webpages import WAIT_MS, open_stage, person, state, until

IDS = "() => window.upstage.state.board.objects.map((o) => o.id).join(',')"


async def test_pressing_record_keeps_the_backstage_objects(hub, browser) -> None:
    await hub.stage("show", "helen", players=("pat",))
    pat = await hub.joined("pat")
    await ok(pat, "board", {"type": "placeObjectOnStage", "object": BULB})
    await ok(pat, "board", {"type": "placeObjectOnStage", "object": BEAR})
    owner = await open_stage(await person(browser, hub, "helen", viewport={"width": 1280, "height": 900}), hub)
    phone = await open_stage(await person(browser, hub, viewport=PHONE, is_mobile=True, has_touch=True), hub)
    await owner.wait_for_selector('.obj.backstage[data-id="bulb"]', state="attached", timeout=WAIT_MS)
    await owner.get_by_role("button", name="Record").click()
    await owner.get_by_label("Recording name").fill("Act 1")
    await owner.get_by_role("button", name="Start recording").click()
    await until(owner, "() => { const b = document.querySelector('.recording-badge'); return b && !b.hidden; }")
    await ok(pat, "chat", {"message": "after the snapshot"})
    await until(owner, "() => window.upstage.state.chat.messages.length === 1")
    assert await until(owner, IDS) == "bulb,bear"
    assert await owner.locator('.obj.backstage[data-id="bulb"]').count() == 1
    await until(phone, "() => window.upstage.state.chat.messages.length === 1")
    assert [o["id"] for o in (await state(phone))["board"]["objects"]] == ["bear"]
    assert await phone.locator('.obj[data-id="bulb"]').count() == 0
    await owner.screenshot(path=artifact("hostile-record-keeps-backstage.png"))
    assert not owner.errors and not phone.errors
