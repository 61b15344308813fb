"""Accounts in the browser: signing up until an admin activates the account in /admin and the
new user logs in, resetting a password by the mailed link, and admins creating users (one with
a password, many from pasted lines) in /admin; the mail is read from a real SMTP server."""

from __future__ import annotations

from typing import Any

from tests.accounts_support import link_in, mail_hub
from tests.browser import PHONE, artifact, browser
from tests.conftest import PASSWORD, Hub
from tests.mailbox import Mailbox, mailbox
from tests.webpages import WAIT_MS, person

__all__ = ["browser", "mail_hub", "mailbox"]  # fixtures used by name
SECRET = "a-brand-new-secret"


async def log_in(page: Any, hub: Hub, username: str, password: str) -> None:
    """Log in with the header's form on the foyer."""
    await page.goto(hub.url + "/")
    if await page.is_visible("header .login-toggle"):
        await page.click("header .login-toggle")
    await page.fill("header form.login input[name=username]", username)
    await page.fill("header form.login input[name=password]", password)
    await page.click("header form.login button[type=submit]")
    await page.wait_for_selector(f"header .who .username:text('{username}')", timeout=WAIT_MS)


def local(hub: Hub, link: str) -> str:
    """A link from a mail (made for HUB_PUBLIC_URL) on the test hub's address."""
    return link.replace("http://upstage.test", hub.url)


async def test_sign_up_admin_activates_user_logs_in(mail_hub: Hub, mailbox: Mailbox, browser: Any) -> None:
    await mail_hub.store.archive.set_meta("site.selfSignup", "on")
    newcomer = await (await person(browser, mail_hub, viewport=PHONE)).new_page()
    await newcomer.goto(mail_hub.url + "/signup")
    await newcomer.fill("form.signup input[name=username]", "newbie")
    await newcomer.fill("form.signup input[name=email]", "newbie@example.org")
    await newcomer.fill("form.signup input[name=password]", "newbie-newbie")
    await newcomer.click("form.signup button[type=submit]")
    await newcomer.wait_for_selector("[data-error-for=password]:not([hidden])", timeout=WAIT_MS)
    await newcomer.fill("form.signup input[name=password]", SECRET)
    await newcomer.click("form.signup button[type=submit]")
    await newcomer.wait_for_selector("p.done:not([hidden])", timeout=WAIT_MS)
    await newcomer.screenshot(path=artifact("accounts-signup-done.png"))
    (to_admin,) = await mailbox.wait(1)
    assert to_admin.recipients == ["admin@example.org"]

    admin = await (await person(browser, mail_hub, "boss")).new_page()
    await admin.goto(local(mail_hub, link_in(to_admin, "/admin")))
    row = "form.user-row[data-username=newbie]"
    await admin.wait_for_selector(f"{row} .badge.upcoming", timeout=WAIT_MS)
    await admin.screenshot(path=artifact("accounts-admin-pending.png"), full_page=True)
    await admin.click(f"{row} button.activate")
    await admin.wait_for_selector(f"{row}:not(:has(.badge.upcoming))", timeout=WAIT_MS)
    mails = await mailbox.wait(2)
    assert mails[1].recipients == ["newbie@example.org"] and "active" in mails[1].message["Subject"]

    await log_in(newcomer, mail_hub, "newbie", SECRET)
    await newcomer.screenshot(path=artifact("accounts-newbie-logged-in.png"))


async def test_reset_by_the_mailed_link(mail_hub: Hub, mailbox: Mailbox, browser: Any) -> None:
    uid = await mail_hub.user("ada")
    await mail_hub.store.set_profile(uid, email="ada@example.org")
    page = await (await person(browser, mail_hub, viewport=PHONE)).new_page()
    await page.goto(mail_hub.url + "/")
    await page.click("header .login-toggle")
    await page.click("header form.login a.forgot")
    await page.wait_for_url("**/forgot")
    await page.fill("form.forgot input[name=login]", "ada@example.org")
    await page.click("form.forgot button[type=submit]")
    await page.wait_for_selector("p.done:not([hidden])", timeout=WAIT_MS)
    (mail,) = await mailbox.wait(1)
    await page.goto(local(mail_hub, link_in(mail, "/reset#token=")))
    assert "token" not in page.url  # dropped from the address bar once read
    await page.fill("form.reset input[name=password]", SECRET)
    await page.click("form.reset button[type=submit]")
    await page.wait_for_selector("p.done:not([hidden])", timeout=WAIT_MS)
    await page.screenshot(path=artifact("accounts-reset-done.png"))
    await log_in(page, mail_hub, "ada", SECRET)
    again = await (await person(browser, mail_hub)).new_page()  # the link works once
    await again.goto(local(mail_hub, link_in(mail, "/reset#token=")))
    await again.fill("form.reset input[name=password]", SECRET + "2")
    await again.click("form.reset button[type=submit]")
    message = await again.text_content("[data-error-for=form]:not([hidden])", timeout=WAIT_MS)
    assert message and "already used" in message


async def test_admin_creates_one_and_many_users(mail_hub: Hub, mailbox: Mailbox, browser: Any) -> None:
    page = await (await person(browser, mail_hub, "boss")).new_page()
    await page.goto(mail_hub.url + "/admin")
    one = "form.create-user"
    await page.fill(f"{one} input[name=username]", "pat")
    await page.fill(f"{one} input[name=email]", "pat@example.org")
    await page.uncheck(f"{one} input[name=sendResetLink]")
    await page.fill(f"{one} input[name=password]", PASSWORD)
    await page.click(f"{one} button[type=submit]")
    await page.wait_for_selector("form.user-row[data-username=pat]", timeout=WAIT_MS)
    many = "form.create-users"
    await page.fill(f"{many} textarea[name=lines]", "ann,ann@example.org\nnot a line\nben,ben@example.org,admin\npat,p2@example.org")
    await page.click(f"{many} button[type=submit]")
    await page.wait_for_selector(".bulk-results li.failed", timeout=WAIT_MS)
    results = await page.locator(".bulk-results li").all_text_contents()
    assert [r.split(":")[0] for r in results] == ["Line 1 (ann,ann@example.org)", "Line 2 (not a line)",
                                                  "Line 3 (ben,ben@example.org,admin)", "Line 4 (pat,p2@example.org)"]
    assert "created ann" in results[0] and "taken" in results[3] and "Expected" in results[1]
    await page.wait_for_selector("form.user-row[data-username=ben]", timeout=WAIT_MS)
    await page.screenshot(path=artifact("accounts-admin-created.png"), full_page=True)
    mails = await mailbox.wait(2)
    assert sorted(m.recipients[0] for m in mails) == ["ann@example.org", "ben@example.org"]
    await page.click("form.user-row[data-username=pat] button.send-reset")
    await mailbox.wait(3)
    assert mailbox.received[2].recipients == ["pat@example.org"]
    pat = await (await person(browser, mail_hub, "pat")).new_page()
    await pat.goto(mail_hub.url + "/profile")
    await pat.fill("form.profile input[name=displayName]", "Pat Q")
    await pat.click("form.profile button[type=submit]")
    await pat.wait_for_selector("form.profile .saved:text('Saved.')", timeout=WAIT_MS)
    await pat.screenshot(path=artifact("accounts-profile.png"), full_page=True)
