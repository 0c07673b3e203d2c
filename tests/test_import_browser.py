"""A web-to-lead form embedded in another site, in a real browser (Debian's chromium, Playwright).

The shop's page is served by a plain http.server on 127.0.0.1 (another origin than Leadline's
live server on localhost) and contains the embed snippet exactly as the form builder shows it.
"""

import html
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client

from leadline.core.clock import clock
from leadline.intake import webforms
from leadline.intake.models import Submission
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
