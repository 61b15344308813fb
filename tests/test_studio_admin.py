"""The admin page in a real headless Chromium: activating a registered player, who can then log
in; a player is turned away from the page and the API refuses the calls behind it."""

from __future__ import annotations

from playwright.async_api import expect

from client import HubError, login
from tests.browser import artifact
from tests.conftest import PASSWORD, Hub
from tests.studio import WAIT, data, gql, log_in, open_logged_in

USERS = "{ users { id username active } }"


async def test_admin_activates_a_registered_player_who_can_then_log_in(hub: Hub, browser) -> None:  # noqa: F811
    await hub.user("root", role="admin")
    await hub.user("pat")
    await hub.store.archive.set_meta("site.selfSignup", "on")  # registration needs sign-up open
    registered = await data(hub, "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { username active } }", {"u": "newbie", "p": PASSWORD})
    assert registered["register"] == {"username": "newbie", "active": False}
    try:
        await login(hub.url, "newbie", PASSWORD)
        raise AssertionError("an inactive user logged in")
    except HubError:
        pass

    page = await open_logged_in(browser, hub, "root", "/admin")
    await page.get_by_label("Show").select_option("false")
    row = page.locator('form.user-row[data-username="newbie"]')
    await expect(row).to_contain_text("awaiting activation", timeout=WAIT)
    await expect(page.locator("form.user-row")).to_have_count(1, timeout=WAIT)
    await page.get_by_label("Show").select_option("")
    await expect(page.locator("form.user-row")).to_have_count(3, timeout=WAIT)
    await page.screenshot(path=artifact("admin-users.png"), full_page=True)
    await row.get_by_role("button", name="Activate").click()
    await expect(page.locator('form.user-row[data-username="newbie"] .badge')).to_have_count(0, timeout=WAIT)
    users = {u["username"]: u for u in (await data(hub, USERS, user="root"))["users"]}
    assert users["newbie"]["active"] is True

    # Upload limit and the foyer texts, saved from the same page.
    pat_row = page.locator('form.user-row[data-username="pat"]')
    await pat_row.get_by_label("Upload limit (MB)").fill("3")
    await pat_row.get_by_role("button", name="Save").click()
    await expect(pat_row.locator(".saved")).to_have_text("Saved.", timeout=WAIT)
    site = page.locator("form.site")
    await site.get_by_label("Title").fill("Cyber Foyer")
    await site.get_by_label("Description").fill("Live online performance.")
    await site.get_by_role("button", name="Save foyer texts").click()
    await expect(site.locator(".saved")).to_have_text("Saved.", timeout=WAIT)
    saved = await data(hub, '{ site { title description } users(search: "pat") { uploadLimit } }', user="root")
    assert saved["site"] == {"title": "Cyber Foyer", "description": "Live online performance."}
    assert saved["users"][0]["uploadLimit"] == 3 * 1024 * 1024

    newbie = await browser.new_context()
    newbie_page = await newbie.new_page()
    await newbie_page.goto(hub.url + "/backstage")
    await log_in(newbie_page, "newbie")
    await expect(newbie_page.locator("main h1")).to_have_text("Backstage", timeout=WAIT)


async def test_a_player_is_turned_away_from_admin_and_its_api_calls_are_refused(hub: Hub, browser) -> None:  # noqa: F811
    await hub.user("root", role="admin")
    pat = await hub.user("pat")
    page = await open_logged_in(browser, hub, "pat", "/admin")
    await expect(page.locator("main")).to_contain_text("Admins only", timeout=WAIT)
    await expect(page.locator("main").get_by_role("link", name="Back to the foyer")).to_have_attribute("href", "/")
    await expect(page.locator("form.user-row")).to_have_count(0)
    await expect(page.locator("header nav").get_by_role("link", name="Admin")).to_have_count(0)

    # The same calls the page makes, as pat: every one refused with `forbidden`.
    calls = [
        (USERS, {}),
        ("mutation($id: ID!) { updateUser(id: $id, active: true, role: \"admin\") { id } }", {"id": str(pat)}),
        ("mutation($id: ID!) { deleteUser(id: $id) }", {"id": str(pat)}),
        ('mutation { updateSite(title: "Mine") { title } }', {}),
    ]
    for query, variables in calls:
        body = await gql(hub, query, variables, user="pat")
        assert body["errors"][0]["extensions"]["code"] == "forbidden", (query, body)
    mine = await data(hub, "{ whoami { role } site { title } }", user="pat")
    assert mine["whoami"]["role"] == "player" and mine["site"]["title"] != "Mine"

    # Even a page whose saved login claims "admin" gets nothing from the API.
    await page.evaluate("""() => {
        const auth = JSON.parse(localStorage.getItem('upstage.auth'));
        auth.user.role = 'admin';
        localStorage.setItem('upstage.auth', JSON.stringify(auth));
    }""")
    await page.reload()
    await expect(page.locator(".users [role=alert]")).to_be_visible(timeout=WAIT)
    await expect(page.locator("form.user-row")).to_have_count(0)
