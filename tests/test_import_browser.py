"""Intake in a real browser (Debian's chromium, Playwright): a web-to-lead form embedded in another
site, and the import wizard.

The shop's page is served by a plain http.server on 127.0.0.1 (another origin than Leadline's
live server on localhost) and contains the embed snippet exactly as the form builder shows it.
"""

import html
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.test import Client

from leadline.core.clock import clock
from leadline.intake import webforms
from leadline.intake.models import Import, Submission
from leadline.leads.models import Lead

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FIELDS = [
    {"key": "first_name", "label": "First name", "type": "text"},
    {"key": "email", "label": "Work email", "type": "email", "required": True},
    {"key": "company", "label": "Company", "type": "text", "required": True},
    {
        "key": "skus",
        "label": "Products",
        "type": "multi_choice",
        "required": True,
        "options": ["SKU-100 Ceramic mug", "SKU-200 Tote bag"],
    },
    {"key": "order_volume", "label": "Order volume", "type": "number", "required": True},
]


class ShopPage:
    """Another website, on its own origin, with the snippet pasted into its page."""

    def __init__(self, snippet: str):
        body = (
            "<!doctype html><html><head><meta charset='utf-8'><title>Acme wholesale</title>"
            f"</head><body><h1>Buy in bulk</h1>{snippet}</body></html>"
        ).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.django_db(transaction=True)
def test_a_visitor_sends_an_embedded_form_from_another_site(
    leave_the_database_as_found, live_server, workspace, chromium
):
    from playwright.sync_api import expect, sync_playwright

    form = webforms.save_form(
        None,
        {
            "name": "Bulk inquiry",
            "fields": FIELDS,
            "thank_you_message": "Thanks! A wholesale rep will call you within a day.",
        },
    )
    manager = Client(HTTP_HOST=live_server.url.removeprefix("http://"))
    manager.force_login(workspace.manager)
    builder = manager.get(f"/forms/{form.pk}/").content.decode()
    snippet = html.unescape(
        re.search(r'id="embed-snippet"[^>]*>(.*?)</textarea>', builder, re.S).group(1)
    )
    assert f'action="{live_server.url}/f/bulk-inquiry/"' in snippet
    shop, stranger = ShopPage(snippet), ShopPage(snippet)
    webforms.save_form(form, {"allowed_domains": [shop.origin]})  # the shop only

    # No ORM call inside this block (Playwright's event loop runs in this thread); the live
    # server answers from its own thread and reads the same frozen clock.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(10_000)
            page.goto(shop.origin + "/?utm_source=partner-newsletter&utm_campaign=spring")
            expect(page.get_by_role("heading", name="Buy in bulk")).to_be_visible()
            page.wait_for_function("document.querySelector('[name=_ts]').value !== ''")
            clock.advance(seconds=30)  # a person takes a while to fill it in

            page.get_by_label("First name").fill("anna")
            page.get_by_label("Work email").fill("anna@gifts-and-more.se")
            page.get_by_label("Company").fill("Gifts & More AB")
            page.get_by_label("SKU-100 Ceramic mug").check()
            page.get_by_label("SKU-200 Tote bag").check()
            page.get_by_label("Order volume").fill("a lot")
            page.get_by_role("button", name="Send").click()
            expect(page.locator('.ll-error[data-for="order_volume"]')).to_have_text(
                "Enter a number."
            )
            expect(page.get_by_role("heading", name="Buy in bulk")).to_be_visible()

            page.get_by_label("Order volume").fill("2,500")
            page.get_by_role("button", name="Send").click()
            expect(page.locator(".ll-message")).to_have_text(
                "Thanks! A wholesale rep will call you within a day."
            )
            assert page.url.startswith(shop.origin)  # the visitor never left the shop

            # The same snippet on a site that is not allowed: the post is refused.
            page = browser.new_page()
            page.goto(stranger.origin + "/")
            page.get_by_label("Work email").fill("mallory@evil.example")
            page.get_by_label("Company").fill("Evil")
            page.get_by_label("SKU-100 Ceramic mug").check()
            page.get_by_label("Order volume").fill("1")
            page.get_by_role("button", name="Send").click()
            expect(page.get_by_text("This form cannot be sent from this site.")).to_be_visible()

            # JavaScript off: the plain HTML form still posts, and lands on the thank-you page.
            context = browser.new_context(java_script_enabled=False)
            page = context.new_page()
            page.goto(shop.origin + "/")
            page.get_by_label("Work email").fill("ben@bulkbuyers.co.uk")
            page.get_by_label("Company").fill("Bulk Buyers Ltd")
            page.get_by_label("SKU-200 Tote bag").check()
            page.get_by_label("Order volume").fill("800")
            page.get_by_role("button", name="Send").click()
            expect(page.get_by_role("status")).to_have_text(
                "Thanks! A wholesale rep will call you within a day."
            )
            assert page.url == f"{live_server.url}/f/bulk-inquiry/thanks/"
        finally:
            browser.close()
            shop.close()
            stranger.close()

    anna = Lead.objects.get(email="anna@gifts-and-more.se")
    assert (anna.first_name, anna.company) == ("Anna", "Gifts & More AB")
    assert anna.custom == {
        "skus": ["SKU-100 Ceramic mug", "SKU-200 Tote bag"],
        "order_volume": 2500,
    }
    assert (anna.utm_source, anna.utm_campaign) == ("partner-newsletter", "spring")
    accepted = Submission.objects.get(lead=anna)
    assert accepted.origin == shop.origin and accepted.page_url.startswith(shop.origin)
    assert Lead.objects.filter(email="ben@bulkbuyers.co.uk", company="Bulk Buyers Ltd").exists()
    assert not Lead.objects.filter(email="mallory@evil.example").exists()
    refused = Submission.objects.filter(origin=stranger.origin)
    assert refused.exists() and {s.status for s in refused} == {"rejected"}
    assert Submission.objects.filter(status="accepted").count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_manager_imports_a_hubspot_export_through_the_wizard(
    leave_the_database_as_found, live_server, workspace, chromium, tmp_path
):
    """Upload, check the mapping the wizard proposes, change it, dry run, read the report,
    import, then undo the import — the way a marketer does it."""
    from playwright.sync_api import expect, sync_playwright

    path = tmp_path / "hubspot-contacts-2026-03-01.csv"
    path.write_text(
        "Record ID,First Name,Last Name,Email,Phone Number,Lifecycle Stage,Company Name\n"
        "51,Fox,Mulder,fox@xfiles.org,+1 202 555 0188,Lead,FBI\n"
        "52,Dana,Scully,not-an-email,,Lead,FBI\n"
        "53,Walter,Skinner,walter@fbi.gov,,Subscriber,FBI\n",
        encoding="utf-8",
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(accept_downloads=True)
            page.set_default_timeout(10_000)
            page.goto(live_server.url + "/imports/")
            page.fill("#id_username", "maria")
            page.fill("#id_password", "correct-horse-1")
            page.get_by_role("button", name="Log in").click()

            expect(page.get_by_role("heading", name="Imports")).to_be_visible()
            page.set_input_files("#id_file", str(path))
            page.get_by_role("button", name="Upload and map columns").click()

            expect(page.locator("#recognised")).to_contain_text("HubSpot export")
            expect(page.get_by_label("Email", exact=True)).to_have_value("email")
            expect(page.get_by_label("Company Name")).to_have_value("company")
            page.get_by_label("Lifecycle Stage").select_option("")  # not wanted
            page.get_by_label("Campaign").fill("HubSpot migration")
            page.get_by_role("button", name="Dry run").click()

            expect(page.locator("#import-result h2")).to_have_text(
                "Dry run: 3 rows checked, nothing stored yet"
            )
            counts = page.locator("#import-result .import-counts")
            expect(counts.locator(".count-new strong")).to_have_text("2")
            expect(counts.locator(".count-invalid strong")).to_have_text("1")
            with page.expect_download() as download:
                page.locator("#report-link").click()
            report = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
            assert report[1].startswith("3,Invalid,Email,not-an-email,")

            page.get_by_role("button", name="Import 2 new leads").click()
            expect(page.locator("#import-result h2")).to_have_text("Imported 3 rows")
            expect(page.locator("#import-status")).to_have_text("Done")

            page.get_by_text("Undo this import").click()
            page.locator("#undo-button").click()
            expect(page.locator(".flash")).to_contain_text("Import undone: 2 leads removed.")
            expect(page.locator("#import-status")).to_have_text("Undone")
        finally:
            browser.close()

    imp = Import.objects.get()
    assert imp.status == "undone" and imp.campaign.name == "HubSpot migration"
    assert imp.counts["new"] == 2 and not Lead.objects.exists()
