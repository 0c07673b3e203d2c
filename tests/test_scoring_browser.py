"""The rule editor in a real browser (Debian's chromium, via Playwright): a manager adds a rule,
sees the mistake on its field, previews the leads it lifts over the MQL line, and saves it."""

import re

from leadline.intake.pipeline import capture
from leadline.scoring.models import RuleSetVersion, ScoringRule
from tests.test_browser import CHROMIUM_ARGS


def test_a_manager_adds_a_rule_after_previewing_it(
    leave_the_database_as_found, live_server, workspace, chromium
):
    from playwright.sync_api import expect, sync_playwright

    # The line at 30: the new rule's 30 points lift the lead over it whether or not the seeded
    # rules are there (a transactional test elsewhere may have emptied their table).
    workspace.americas.mql_threshold = 30
    workspace.americas.save()
    lead = capture({"email": "dana@acme-corp.com", "custom": {"volume": 800}}).lead
    assert lead.score < 30

    # No ORM call inside this block (see test_browser.py): the live server answers from its own
    # threads.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(10_000)
            page.goto(live_server.url + "/login/")
            page.fill("#id_username", "maria")
            page.fill("#id_password", "correct-horse-1")
            page.get_by_role("button", name="Log in").click()
            page.get_by_role("link", name="Scoring rules").click()
            expect(page.get_by_role("heading", name="Scoring rules")).to_be_visible()
            page.get_by_role("link", name="Add a rule").click()

            form = page.locator("#rule-form")
            form.locator("[name=label]").fill("Large order volume")
            form.locator("[name=field]").fill("custom.volume")
            form.locator("[name=op]").select_option("gte")
            form.locator("[name=value]").fill("lots")
            form.locator("[name=points]").fill("30")
            form.get_by_role("button", name="Preview").click()
            error = page.locator("label.has-error", has_text="Value")
            expect(error).to_contain_text("'lots' is not a number")

            form.locator("[name=value]").fill("500")
            form.get_by_role("button", name="Preview").click()
            expect(page.locator("#preview")).to_contain_text(
                "This change would move 1 open lead across the MQL line: 1 up to MQL"
            )
            with page.expect_response(re.compile(r"/scoring/rules/new/$")) as posted:
                form.get_by_role("button", name="Save").click()
            assert posted.value.status == 302
            expect(page.locator(".flash")).to_contain_text("Saved as rule set v1")
            expect(page.locator("#rules-fit")).to_contain_text("Large order volume")
        finally:
            browser.close()

    rule = ScoringRule.objects.get(label="Large order volume")
    assert (rule.field, rule.op, rule.value, rule.points) == ("custom.volume", "gte", 500, 30)
    assert RuleSetVersion.objects.get().note == "Added “Large order volume” (maria)"
