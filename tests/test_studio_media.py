"""Studio and backstage in a real headless Chromium: a player uploads media, builds a stage, shares
it and finds the media in the stage's toolbox; refused uploads explain themselves and leave
nothing behind."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from tests.browser import artifact
from tests.conftest import Hub
from tests.studio import WAIT, data, open_logged_in, png, wav, write

MEDIA = "query($f: MediaFilter) { media(filter: $f) { id name type stages { slug } } }"


async def upload(page, path: str, as_type: str) -> None:
    await page.get_by_label("Upload as").select_option(as_type)
    await page.locator("#upload-files").set_input_files(path)


async def test_player_uploads_builds_a_stage_shares_it_and_finds_the_media_in_the_toolbox(hub: Hub, browser, tmp_path: Path) -> None:  # noqa: F811
    await hub.user("alice")
    await hub.user("bob")
    avatar = write(tmp_path, "Robot.png", png(24, 24))
    sound = write(tmp_path, "Chime.wav", wav())

    page = await open_logged_in(browser, hub, "alice", "/studio")
    await upload(page, avatar, "avatar")
    await expect(page.locator(".upload-row", has_text="Robot.png")).to_contain_text("Uploaded as avatar", timeout=WAIT)
    await upload(page, sound, "audio")
    await expect(page.locator(".upload-row", has_text="Chime.wav")).to_contain_text("Uploaded as audio", timeout=WAIT)
    cards = page.locator(".media-card")
    await expect(cards).to_have_count(2, timeout=WAIT)
    avatar_card = page.locator(".media-card", has=page.locator(".badge", has_text="avatar"))
    await expect(avatar_card.locator("img")).to_have_js_property("naturalWidth", 24, timeout=WAIT)
    await expect(page.locator(".media-card", has=page.locator(".badge", has_text="audio")).locator("audio")).to_have_count(1)
    await page.screenshot(path=artifact("studio-media.png"), full_page=True)
    media = {m["type"]: m for m in (await data(hub, MEDIA, user="alice"))["media"]}
    assert set(media) == {"avatar", "audio"}
    assert len([p for p in (tmp_path / "hub0" / "media").rglob("*") if p.is_file()]) == 2  # where files go

    # A new stage with bob as a player.
    await page.goto(hub.url + "/backstage#new")
    form = page.locator("form.stage-editor")
    await form.get_by_label("Name").fill("Night Show")
    await form.get_by_label("Address (slug)").fill("night-show")
    await form.get_by_label("Status").select_option("live")
    await form.get_by_label("Add to players").fill("bo")
    await expect(form.locator('.user-picker datalist option[value="bob"]')).to_have_count(1, timeout=WAIT)
    await form.get_by_label("Add to players").fill("bob")
    await form.get_by_label("Add to players").press("Enter")
    await form.get_by_role("button", name="Create stage").click()
    await page.wait_for_url("**/backstage#stage/night-show", timeout=WAIT)
    await expect(page.locator("h1")).to_have_text("Night Show", timeout=WAIT)
    await expect(page.locator("form.stage-editor .chips", has_text="bob")).to_be_visible()

    # The avatar goes on from the stage editor, the sound from the studio's media editor.
    media_form = page.locator("form.stage-media-form")
    await expect(media_form.get_by_label("Media to add").locator("option", has_text=media["avatar"]["name"])).to_have_count(1, timeout=WAIT)
    await media_form.get_by_label("Media to add").select_option(label=f"{media['avatar']['name']} (avatar)")
    await media_form.get_by_role("button", name="Add", exact=True).click()
    await media_form.get_by_role("button", name="Save media").click()
    await expect(media_form.locator(".saved")).to_have_text("Saved.", timeout=WAIT)
    await page.screenshot(path=artifact("backstage-stage-editor.png"), full_page=True)

    await page.goto(hub.url + "/studio")
    sound_card = page.locator(f'.media-card[data-media-id="{media["audio"]["id"]}"]')
    await sound_card.get_by_role("button", name="Edit").click()
    editor = page.locator("dialog form.media-editor")
    await editor.get_by_label("Night Show").check()
    await editor.get_by_role("button", name="Save").click()
    await expect(editor).to_have_count(0, timeout=WAIT)
    await expect(sound_card).to_contain_text("On: Night Show", timeout=WAIT)

    stage = (await data(hub, '{ stage(slug: "night-show") { media { id } playerAccess { username } } }', user="alice"))["stage"]
    assert [m["id"] for m in stage["media"]] == [media["avatar"]["id"], media["audio"]["id"]]
    assert [u["username"] for u in stage["playerAccess"]] == ["bob"]

    # On the stage, the performer's toolbox holds both.
    await page.goto(hub.url + "/stage/night-show")
    toolbox = page.locator(".toolbox")
    await expect(toolbox.locator(".media-item", has_text=media["avatar"]["name"])).to_be_visible(timeout=WAIT)
    await expect(toolbox.locator(".audio-row", has_text=media["audio"]["name"])).to_be_visible(timeout=WAIT)

    # Bob finds the stage in his backstage list.
    bob = await open_logged_in(browser, hub, "bob", "/backstage")
    row = bob.locator('.stage-row[data-slug="night-show"]')
    await expect(row).to_contain_text("Night Show", timeout=WAIT)
    await expect(row.get_by_role("link", name="Open stage")).to_have_attribute("href", "/stage/night-show")


async def test_refused_uploads_show_their_error_and_leave_nothing_behind(hub: Hub, browser, tmp_path: Path) -> None:  # noqa: F811
    await hub.user("root", role="admin")
    carol = await hub.user("carol")
    await data(hub, "mutation($id: ID!) { updateUser(id: $id, uploadLimit: 300) { uploadLimit } }", {"id": str(carol)}, user="root")
    not_an_image = write(tmp_path, "notes.png", b"my notes, not a picture\n" * 5)  # under the limit: refused for its type
    too_large = write(tmp_path, "big.png", png(200, 200))
    assert Path(too_large).stat().st_size > 300

    page = await open_logged_in(browser, hub, "carol", "/studio")
    await expect(page.locator(".media-list [role=status]")).to_contain_text("No media", timeout=WAIT)
    await upload(page, not_an_image, "prop")
    wrong = page.locator(".upload-row.refused", has_text="notes.png")
    await expect(wrong.locator(".error")).to_contain_text("Not an accepted file", timeout=WAIT)
    await upload(page, too_large, "prop")
    large = page.locator(".upload-row.refused", has_text="big.png")
    await expect(large.locator(".error")).to_contain_text("over your upload limit of 300 B", timeout=WAIT)

    assert (await data(hub, MEDIA, user="carol"))["media"] == []
    assert (await data(hub, MEDIA, user="root"))["media"] == []
    await expect(page.locator(".media-card")).to_have_count(0)
    media_dir = tmp_path / "hub0" / "media"  # the hub fixture's var dir is tmp_path/hub0
    assert [p for p in media_dir.rglob("*") if p.is_file()] == []
