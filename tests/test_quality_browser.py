"""A manager reviews a duplicate pair in a real browser: compares, merges with a chosen field,
then undoes the merge from the history."""

import re

from leadline.intake.pipeline import capture
from leadline.quality.models import MatchSettings
from tests.test_browser import CHROMIUM_ARGS


def test_a_manager_merges_a_pair_and_undoes_it(
    leave_the_database_as_found, live_server, workspace, chromium
):
    from playwright.sync_api import expect, sync_playwright

    # This workspace merges nothing by itself: the second capture is a lead of its own, and
    # the pair waits in the review queue.
    MatchSettings.objects.create(auto_merge_threshold=1.0)
    dana = capture(
        {
            "first_name": "Dana",
            "last_name": "Scully",
            "email": "dana.scully@acme-corp.com",
            "company": "Acme Corp",
            "title": "VP Operations",
            "source": "demo_request",
        }
    ).lead
    twin = capture(
        {
            "first_name": "Dana",
            "last_name": "Scully",
            "email": "dana.scully@gmail.com",
            "company": "Acme Corp",
            "title": "COO",
            "source": "webinar",
        }
    ).lead

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(10_000)
            page.goto(live_server.url + "/login/")
            page.fill("#id_username", "maria")
            page.fill("#id_password", "correct-horse-1")
            page.get_by_role("button", name="Log in").click()

            page.get_by_role("link", name="Duplicates").click()
            expect(page.get_by_role("heading", name="Possible duplicates")).to_be_visible()
            page.locator("#duplicate-pairs").get_by_role("link", name="Compare").click()

            title = page.locator('tr[data-field="title"]')
            expect(title).to_have_class(re.compile("differs"))
            expect(page.locator("#evidence")).to_contain_text("shared keys")
            title.locator(f'input[value="{dana.pk}"]').check()
            page.locator(f'input[name="survivor"][value="{dana.pk}"]').check()
            page.fill("input[name=reason]", "same person, two forms")
            page.get_by_role("button", name="Merge").click()

            expect(page.get_by_role("heading", name="Dana Scully")).to_be_visible()
            expect(page.locator(".flash")).to_contain_text("it can be undone")
            expect(page.locator("#timeline")).to_contain_text(f"Merged lead {twin.pk}")
            expect(page.locator(".sub", has_text="VP Operations").first).to_be_visible()

            page.goto(live_server.url + "/quality/merges/")
            page.get_by_role("button", name="Unmerge").click()
            expect(page.locator(".flash")).to_contain_text(f"lead(s) {twin.pk} restored")
            expect(page.locator("#merges")).to_contain_text("undone")
        finally:
            browser.close()
