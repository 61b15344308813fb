"""/admin's mail line in headless Chromium: it says whether mail is configured, and its "Send a
test mail" button makes a mail arrive at a real SMTP server (tests/mailbox.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from playwright.async_api import expect

from tests.browser import PHONE, artifact
from tests.conftest import Hub
from tests.mailbox import Mailbox, mailbox  # noqa: F401 - the fixture
from tests.studio import WAIT, open_logged_in


async def test_admin_sees_the_mail_state_and_sends_a_test_mail(
    make_hub: Callable[..., Awaitable[Hub]], mailbox: Mailbox, browser  # noqa: F811
) -> None:
    mailbox.start()
    hub = await make_hub(smtp_url=mailbox.url(), public_url="https://stage.example.org")
    await hub.user("root", role="admin")
    page = await open_logged_in(browser, hub, "root", "/admin")
    section = page.locator("section.mail")
    await expect(section.locator(".mail-state")).to_have_attribute("data-configured", "true", timeout=WAIT)
    await expect(section.locator(".mail-state")).to_contain_text("UpStage <noreply@localhost>")
    await section.get_by_label("To", exact=True).fill("ann@example.org")
    await section.get_by_role("button", name="Send a test mail").click()
    await expect(section.locator(".saved")).to_have_text("Queued for ann@example.org.", timeout=WAIT)
    (mail,) = await mailbox.wait(1)
    assert mail.recipients == ["ann@example.org"] and "sent by root" in mail.part("plain")
    await section.scroll_into_view_if_needed()
    await page.screenshot(path=artifact("admin-mail.png"), full_page=True)

    unconfigured = await make_hub()
    await unconfigured.user("root", role="admin")
    page = await open_logged_in(browser, unconfigured, "root", "/admin")
    await page.set_viewport_size(PHONE)
    state = page.locator("section.mail .mail-state")
    await expect(state).to_have_attribute("data-configured", "false", timeout=WAIT)
    await expect(state).to_contain_text("only written to the hub's log")
    await state.scroll_into_view_if_needed()
    await page.screenshot(path=artifact("admin-mail-phone.png"))
