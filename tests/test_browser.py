"""One end-to-end walk through the UI in a real browser (Debian's chromium, via Playwright)."""

import re

from leadline.intake.pipeline import capture

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def test_a_rep_works_a_lead_from_the_queue_to_qualified(
    leave_the_database_as_found, live_server, workspace, chromium
):
    from playwright.sync_api import expect, sync_playwright

    lead = capture(
        {
            "first_name": "Dana",
            "last_name": "Scully",
            "email": "dana.scully@acme-corp.com",
            "company": "Acme Corp",
            "title": "VP Operations",
            "source": "demo_request",
        }
    ).lead
    assert lead.owner == workspace.owner  # jordan: first in turn

    # No ORM call inside this block: while Playwright's event loop runs in this thread, Django
    # would hand out a separate, never-closed connection (its connections are per async context).
    # The live server answers from its own threads.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(10_000)
            page.goto(live_server.url + "/")
            expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
            page.fill("#id_username", "jordan")
            page.fill("#id_password", "correct-horse-1")
            page.get_by_role("button", name="Log in").click()

            expect(page.get_by_role("heading", name="My queue")).to_be_visible()
            row = page.locator("table.leads tbody tr", has_text="Dana Scully")
            expect(row.locator("[data-due]")).to_have_text("5m left")  # due 15:05, now 15:00
            row.get_by_role("link", name="Dana Scully").click()

            expect(page.get_by_role("heading", name="Dana Scully")).to_be_visible()
            badges = page.locator(".badges")
            expect(badges).to_contain_text("5m left")
            expect(page.locator("#score-parts")).to_contain_text("Requested a demo")

            activity = page.locator("#activity-form")
            activity.locator("[name=kind]").select_option("call")
            activity.locator("[name=subject]").fill("Intro call")
            activity.locator("[name=outcome]").fill("connected")
            activity.get_by_role("button", name="Log activity").click()
            expect(page.locator(".flash")).to_have_text("Activity logged.")
            expect(badges).to_contain_text("answered in 0s")
            expect(badges).not_to_contain_text("left")

            step = page.locator("#next-step-form")
            step.locator("[name=title]").fill("Send proposal outline")
            step.locator("[name=due_at]").fill("2026-03-03T10:00")  # 19 hours from now, UTC
            step.get_by_role("button", name="Set next step").click()
            expect(page.locator("#next-step")).to_contain_text("Send proposal outline")
            expect(page.locator("#next-step")).to_contain_text("due in 19h 0m")

            form = page.locator("#transition-form")
            form.locator("[name=to]").select_option("working")
            with page.expect_response(re.compile(r"/transition/$")) as posted:
                form.get_by_role("button", name="Change status").click()
            assert posted.value.status == 302  # accepted, back to the lead page
            expect(page.locator("#lead-status")).to_have_text("Working")

            form = page.locator("#transition-form")
            for key in ("budget", "authority", "need", "timeline"):
                form.locator(f"[name=q_{key}]").check()
            form.locator("[name=to]").select_option("qualified")
            with page.expect_response(re.compile(r"/transition/$")) as posted:
                form.get_by_role("button", name="Change status").click()
            assert posted.value.status == 302

            expect(page.locator("#lead-status")).to_have_text("Qualified")
            expect(page.locator("#timeline")).to_contain_text("working → qualified")
            expect(page.locator("#timeline")).to_contain_text("new → working")
        finally:
            browser.close()

    lead.refresh_from_db()
    assert (lead.status, lead.next_step) == ("qualified", "Send proposal outline")
    assert lead.qualification == {"budget": True, "authority": True, "need": True, "timeline": True}
