"""Editing in the studio and backstage, in a real headless Chromium: frames, voice ("hear it"),
link, deleting media that is still used, and a failed save that keeps what was typed."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser import artifact
from tests.conftest import Hub
from tests.studio import WAIT, data, open_logged_in, png, upload_as, write

TABLET = {"width": 768, "height": 1024}
MEDIA = "{ media { id name type frames voice link stages { slug } } }"

# Records what "Hear it" spoke (static/js/speech.js announces each line).
SPY = """
window.spoken = [];
document.addEventListener('upstage:spoken', (e) => window.spoken.push(e.detail));
"""


async def test_frames_voice_link_and_deleting_media_still_in_use(hub: Hub, browser, tmp_path) -> None:  # noqa: F811
    await hub.stage("show", "alice")
    robot = await upload_as(hub, "alice", "robot.png", png(10, 10, (10, 10, 200)), "avatar")
    two_frames = (await upload_as(hub, "alice", "robot-2.png", png(10, 10, (200, 10, 10)), "avatar", frame_of=robot["id"]))["frames"]
    assert len(two_frames) == 2
    door = await upload_as(hub, "alice", "door.png", png(12, 20, (120, 80, 40)), "prop")
    stage_id = (await data(hub, '{ stage(slug: "show") { id } }', user="alice"))["stage"]["id"]
    await data(hub, "mutation($s: ID!, $m: [ID!]!) { assignMedia(stageId: $s, mediaIds: $m) { id } }", {"s": stage_id, "m": [door["id"]]}, user="alice")

    page = await open_logged_in(browser, hub, "alice", "/studio")
    await page.add_init_script(SPY)
    await page.reload()
    card = page.locator(f'.media-card[data-media-id="{robot["id"]}"]')
    await expect(card.locator(".badge.frames")).to_have_text("2 frames", timeout=WAIT)

    # A third frame from the editor, then the last frame first; a voice, heard and saved.
    await card.get_by_role("button", name="Edit").click()
    editor = page.locator("dialog form.media-editor")
    await editor.get_by_label("Add frames").set_input_files(write(tmp_path, "robot-3.png", png(10, 10, (10, 200, 10))))
    await expect(editor.locator(".frames li")).to_have_count(3, timeout=WAIT)
    await editor.get_by_role("button", name="Move frame 3 up").click()
    await editor.get_by_role("button", name="Move frame 2 up").click()
    await editor.locator("select[name=voice]").select_option("en/en-rp")
    await editor.locator("select[name=variant]").select_option("m3")
    await editor.get_by_label("Pitch (0–100)").fill("100")
    await editor.get_by_label("Speed (0–350)").fill("350")
    await editor.get_by_label("Line to hear").fill("Beep boop")
    await editor.get_by_role("button", name="Hear it").click()
    spoken = (await (await page.wait_for_function("() => window.spoken.length && window.spoken", timeout=WAIT)).json_value())
    assert [(s["text"], s["options"]) for s in spoken] == [("Beep boop", {"voice": "en/en-rp", "variant": "m3", "pitch": 99, "speed": 350, "amplitude": 100})]
    assert spoken[0]["samples"] > 1000  # meSpeak made the sound, the same engine as on stage
    await editor.locator("fieldset.voice").screenshot(path=artifact("studio-voice.png"))
    await editor.get_by_role("button", name="Save").click()
    await expect(editor).to_have_count(0, timeout=WAIT)

    saved = {m["id"]: m for m in (await data(hub, MEDIA, user="alice"))["media"]}
    frames = saved[robot["id"]]["frames"]
    assert len(frames) == 3 and frames[0] not in two_frames and frames[1:] == two_frames  # the new frame first
    assert saved[robot["id"]]["voice"] == {"voice": "en/en-rp", "variant": "m3", "pitch": 100, "speed": 350, "amplitude": 100}

    # The prop gets a link.
    await page.locator(f'.media-card[data-media-id="{door["id"]}"]').get_by_role("button", name="Edit").click()
    await editor.get_by_label("URL").fill("https://upstage.org.nz/")
    await editor.get_by_label("Open in a new tab").check()
    await editor.get_by_role("button", name="Save").click()
    await expect(editor).to_have_count(0, timeout=WAIT)
    saved = {m["id"]: m for m in (await data(hub, MEDIA, user="alice"))["media"]}
    assert saved[door["id"]]["link"] == {"url": "https://upstage.org.nz/", "blank": True, "effect": False}

    # Deleting the door first says which stage still uses it.
    await page.locator(f'.media-card[data-media-id="{door["id"]}"]').get_by_role("button", name="Edit").click()
    await expect(page.locator("dialog .danger-zone")).to_contain_text("Still used by: Show")
    await page.get_by_role("button", name="Delete this media").click()
    confirm = page.locator("dialog.confirm")
    await expect(confirm.locator("li")).to_have_text(["Show"])
    await confirm.get_by_role("button", name="Delete").click()
    await expect(page.locator(f'.media-card[data-media-id="{door["id"]}"]')).to_have_count(0, timeout=WAIT)
    assert door["id"] not in {m["id"] for m in (await data(hub, MEDIA, user="alice"))["media"]}
    assert (await data(hub, '{ stage(slug: "show") { media { id } } }', user="alice"))["stage"]["media"] == []


async def test_a_failed_save_keeps_what_was_typed_and_says_what_went_wrong_by_the_field(hub: Hub, browser) -> None:  # noqa: F811
    await hub.stage("taken", "zoe")
    await hub.user("alice")
    page = await open_logged_in(browser, hub, "alice", "/backstage#new", viewport=TABLET)
    form = page.locator("form.stage-editor")
    await form.get_by_label("Name").fill("My Show")
    await form.get_by_label("Address (slug)").fill("taken")
    await form.get_by_label("Description").fill("A long description I would hate to type again.")
    await form.get_by_role("button", name="Create stage").click()
    slug_error = form.locator('[data-error-for="slug"]')
    await expect(slug_error).to_contain_text("taken", timeout=WAIT)
    await expect(form.get_by_label("Address (slug)")).to_have_attribute("aria-invalid", "true")
    await expect(form.get_by_label("Name")).to_have_value("My Show")
    await expect(form.get_by_label("Description")).to_have_value("A long description I would hate to type again.")

    await form.get_by_label("Address (slug)").fill("my-show")
    await form.get_by_label("Add to players").fill("nobody-here")
    await form.get_by_role("button", name="Create stage").click()
    await expect(form.locator('[data-error-for="players"]')).to_contain_text("nobody-here", timeout=WAIT)
    await expect(slug_error).to_be_hidden()
    await expect(form.get_by_role("list", name="Players")).to_contain_text("nobody-here")
    await form.get_by_role("button", name="Remove nobody-here from players").click()
    await form.get_by_role("button", name="Create stage").click()
    await page.wait_for_url("**/backstage#stage/my-show", timeout=WAIT)
    stage = (await data(hub, '{ stage(slug: "my-show") { name description } }', user="alice"))["stage"]
    assert stage == {"name": "My Show", "description": "A long description I would hate to type again."}

    # On a tablet in portrait the stage page fits the width: one column, nothing to scroll sideways.
    await expect(page.locator("form.stage-media-form")).to_be_visible(timeout=WAIT)
    await page.screenshot(path=artifact("backstage-tablet.png"), full_page=True)
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
