"""Web-to-lead forms: the hosted page and the public endpoint (validation, cross-origin rules,
spam checks, quarantine, double submits), the form builder and the forms API."""

import re
from datetime import timedelta

import pytest
from django.test import Client

from leadline.core.clock import clock
from leadline.core.models import ApiToken, Campaign
from leadline.intake import webforms
from leadline.intake.models import Form, Submission
from leadline.leads.models import Lead

BULK_FIELDS = [
    {"key": "first_name", "label": "First name", "type": "text"},
    {"key": "last_name", "label": "Last name", "type": "text"},
    {"key": "email", "label": "Work email", "type": "email", "required": True},
    {"key": "company", "label": "Company", "type": "text", "required": True},
    {
        "key": "skus",
        "label": "Products",
        "type": "multi_choice",
        "required": True,
        "options": ["SKU-100 Ceramic mug", "SKU-200 Tote bag", "SKU-300 Notebook"],
    },
    {"key": "order_volume", "label": "Order volume (units)", "type": "number", "required": True},
    {"key": "message", "label": "Anything else?", "type": "textarea"},
]
CONSENT = "Yes, Acme may email me about wholesale offers. I can unsubscribe at any time."
ANNA = {
    "first_name": "Anna",
    "last_name": "Berg",
    "email": "anna@gifts-and-more.se",
    "company": "Gifts & More AB",
    "skus": ["SKU-100 Ceramic mug", "SKU-300 Notebook"],
    "order_volume": "2,500",
    "message": "Need them by May.",
    "consent": "yes",
    "utm_source": "newsletter",
    "utm_campaign": "wholesale-spring",
}


@pytest.fixture
def bulk(workspace):
    campaign = Campaign.objects.create(name="Wholesale 2026")
    return webforms.save_form(
        None,
        {
            "name": "Bulk inquiry",
            "slug": "bulk",
            "fields": BULK_FIELDS,
            "campaign": campaign.pk,
            "consent_enabled": True,
            "consent_text": CONSENT,
            "allowed_domains": ["shop.acme.com"],
            "thank_you_message": "Thanks! A wholesale rep will call you within a day.",
        },
    )


def shown(client, slug="bulk") -> str:
    """Load the hosted page like a visitor, then take a human's time to fill it in."""
    page = client.get(f"/f/{slug}/").content.decode()
    clock.advance(seconds=20)
    return re.search(r'name="_ts" value="([^"]+)"', page).group(1)


def post(client, data, slug="bulk", **headers):
    """POST like a browser on the hosted page, which sends its Origin with every form post."""
    headers.setdefault("HTTP_ORIGIN", "http://testserver")
    return client.post(f"/f/{slug}/", data, **headers)


def test_the_hosted_page_shows_the_fields_consent_and_traps(bulk):
    page = Client().get("/f/bulk/").content.decode()
    assert '<input type="email" name="email" value="" required autocomplete="email">' in page
    assert 'name="skus" value="SKU-200 Tote bag"' in page
    assert CONSENT in page and 'name="fax_number" tabindex="-1"' in page
    assert re.search(r'name="_ts" value="[^"]+:[^"]+"', page)


def test_a_bulk_inquiry_becomes_a_lead_with_its_skus_volume_consent_and_utm(bulk, workspace):
    client = Client(REMOTE_ADDR="203.0.113.7")
    response = post(client, {**ANNA, "_ts": shown(client)})
    assert response.status_code == 302 and response["Location"] == "/f/bulk/thanks/"
    thanks = client.get(response["Location"]).content.decode()
    assert "A wholesale rep will call you within a day." in thanks

    lead = Lead.objects.get()
    assert (lead.first_name, lead.company, lead.email) == (
        "Anna",
        "Gifts & More AB",
        "anna@gifts-and-more.se",
    )
    assert lead.custom == {
        "skus": ["SKU-100 Ceramic mug", "SKU-300 Notebook"],
        "order_volume": 2500,
        "message": "Need them by May.",
    }
    assert lead.source == "web_form" and lead.source_detail == "Form: Bulk inquiry"
    assert lead.campaign.name == "Wholesale 2026"
    assert lead.consent_email is True and lead.consent_text == CONSENT
    assert (lead.utm_source, lead.utm_campaign) == ("newsletter", "wholesale-spring")
    assert lead.owner == workspace.owner and lead.sla_due_at is not None
    sub = Submission.objects.get()
    assert (sub.status, sub.lead, sub.outcome, sub.ip) == (
        "accepted",
        lead,
        "created",
        "203.0.113.7",
    )
    assert sub.data["skus"] == ANNA["skus"] and "_ts" not in sub.data


def test_invalid_input_re_renders_the_form_with_messages_and_keeps_the_values(bulk):
    client = Client()
    data = {
        **ANNA,
        "email": "anna-at-gifts",
        "order_volume": "lots",
        "skus": "SKU-999",
        "consent": "",
        "_ts": shown(client),
    }
    response = post(client, data)
    assert response.status_code == 422
    page = response.content.decode()
    assert "Please correct the fields marked below." in page
    assert 'data-for="email" role="alert">Enter a valid email address.' in page
    assert 'data-for="order_volume" role="alert">Enter a number.' in page
    assert "“SKU-999” is not one of the options." in page
    assert 'name="company" value="Gifts &amp; More AB"' in page  # what was typed stays
    assert Lead.objects.count() == 0
    sub = Submission.objects.get()
    assert sub.status == "rejected" and "invalid email: Enter a valid email address." in (
        sub.reasons
    )


def test_a_fetch_post_gets_json(bulk):
    client = Client()
    token = shown(client)
    bad = post(client, {"email": "x", "_ts": token}, HTTP_ACCEPT="application/json")
    assert bad.status_code == 422
    assert bad.json()["errors"] == {
        "email": "Enter a valid email address.",
        "company": "This field is required.",
        "skus": "This field is required.",
        "order_volume": "This field is required.",
    }
    good = post(client, {**ANNA, "_ts": token}, HTTP_ACCEPT="application/json")
    assert good.status_code == 200
    assert good.json() == {"ok": True, "message": bulk.thank_you_message}


def test_only_the_listed_sites_may_post_and_read_the_answer(bulk):
    client = Client()
    token = shown(client)
    allowed = post(
        client,
        {**ANNA, "_ts": token},
        HTTP_ORIGIN="https://shop.acme.com",
        HTTP_ACCEPT="application/json",
    )
    assert allowed.status_code == 200
    assert allowed["Access-Control-Allow-Origin"] == "https://shop.acme.com"

    elsewhere = post(
        client,
        {**ANNA, "email": "other@x.com", "_ts": token},
        HTTP_ORIGIN="https://evil.example",
        HTTP_ACCEPT="application/json",
    )
    assert elsewhere.status_code == 403 and "Access-Control-Allow-Origin" not in elsewhere
    assert Lead.objects.count() == 1
    refused = Submission.objects.get(status="rejected")
    assert refused.reasons == ["posted from https://evil.example, which is not an allowed site"]

    preflight = client.options("/f/bulk/", HTTP_ORIGIN="https://www.shop.acme.com")
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "https://www.shop.acme.com"
    token_answer = client.get("/f/bulk/token", HTTP_ORIGIN="https://shop.acme.com")
    assert token_answer["Access-Control-Allow-Origin"] == "https://shop.acme.com"
    assert webforms.token_age(bulk, token_answer.json()["token"], clock.now())[0] == 0


def test_the_public_endpoint_needs_no_csrf_token(bulk):
    client = Client(enforce_csrf_checks=True)
    response = post(client, {**ANNA, "_ts": shown(client)})
    assert response.status_code == 302 and Lead.objects.count() == 1


def test_a_filled_honeypot_is_thanked_and_dropped(bulk):
    client = Client()
    response = post(client, {**ANNA, "fax_number": "555-0100", "_ts": shown(client)})
    assert response.status_code == 302  # a bot learns nothing
    assert Lead.objects.count() == 0
    assert Submission.objects.get().reasons == ["honeypot field filled"]


def test_a_form_sent_too_fast_is_quarantined_then_released_by_an_admin(bulk, workspace):
    client = Client()
    page = client.get("/f/bulk/").content.decode()
    token = re.search(r'name="_ts" value="([^"]+)"', page).group(1)
    clock.advance(seconds=1)
    response = post(client, {**ANNA, "_ts": token})
    assert response.status_code == 302 and Lead.objects.count() == 0
    sub = Submission.objects.get()
    assert sub.status == "quarantined"
    assert sub.reasons == ["sent 1.0s after the form was shown (minimum 3s)"]

    admin = Client()
    admin.force_login(workspace.manager)
    listing = admin.get("/forms/submissions/").content.decode()
    assert "anna@gifts-and-more.se" in listing and "sent 1.0s after" in listing
    response = admin.post(f"/forms/submissions/{sub.pk}/release/")
    assert response.status_code == 302
    sub.refresh_from_db()
    lead = Lead.objects.get()
    assert sub.status == "accepted" and sub.lead == lead and sub.reviewed_by == workspace.manager
    assert lead.custom["order_volume"] == 2500


def test_quarantined_spam_can_be_deleted(bulk, workspace):
    client = Client()
    post(client, {**ANNA, "first_name": "Visit http://cheap-pills.example", "_ts": shown(client)})
    sub = Submission.objects.get()
    assert sub.reasons == ["a link in the first name"]
    admin = Client()
    admin.force_login(workspace.manager)
    admin.post(f"/forms/submissions/{sub.pk}/delete/")
    assert not Submission.objects.exists() and not Lead.objects.exists()


@pytest.mark.parametrize(
    ("change", "form_settings", "reason"),
    [
        ({"first_name": "xkqzvbnt"}, {}, "the first name looks random"),
        ({"last_name": "hJkLmNqP"}, {}, "the last name looks random"),
        (
            {"email": "boss@competitor.io"},
            {"blocked_domains": ["competitor.io"]},
            "blocked domain competitor.io",
        ),
        ({"email": "anna.berg@gmail.com"}, {"free_mail": "quarantine"}, "free-mail address"),
        ({"_ts": "forged:token"}, {}, "forged timing token"),
        (
            {"_ts": ""},
            {"require_timing_token": True},
            "no timing token (JavaScript off, or a script)",
        ),
    ],
)
def test_suspicious_submissions_are_quarantined(bulk, change, form_settings, reason):
    webforms.save_form(bulk, form_settings)
    client = Client()
    post(client, {**ANNA, "_ts": shown(client), **change})
    sub = Submission.objects.get()
    assert (sub.status, sub.reasons) == ("quarantined", [reason])
    assert Lead.objects.count() == 0


def test_real_names_are_not_mistaken_for_spam(bulk):
    client = Client()
    token = shown(client)
    for first, last, email in [
        ("Friedrich", "Nietzsche", "fn@example.de"),
        ("María José", "DeLaCruz", "mj@example.mx"),
        ("Siobhán", "Ní Bhriain", "sb@example.ie"),
    ]:
        post(client, {**ANNA, "first_name": first, "last_name": last, "email": email, "_ts": token})
    assert Submission.objects.filter(status="accepted").count() == 3


def test_free_mail_can_be_refused_with_a_message(bulk):
    webforms.save_form(bulk, {"free_mail": "reject"})
    client = Client()
    response = post(
        client,
        {**ANNA, "email": "anna@gmail.com", "_ts": shown(client)},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {"email": "Please use your work email address."}


def test_a_double_submit_makes_one_lead(bulk):
    client = Client()
    token = shown(client)
    post(client, {**ANNA, "_ts": token})
    clock.advance(seconds=2)
    post(client, {**ANNA, "email": " ANNA@Gifts-and-More.se ", "_ts": token})
    assert Lead.objects.count() == 1
    assert list(Submission.objects.order_by("id").values_list("outcome", flat=True)) == [
        "created",
        "replayed",
    ]
    assert Lead.objects.get().touch_count == 1


def test_rate_limits_refuse_a_flood_from_one_address_and_quarantine_a_spike(bulk):
    webforms.save_form(bulk, {"per_ip_per_hour": 3, "per_form_per_hour": 4})
    flood = Client(REMOTE_ADDR="198.51.100.9")
    token = shown(flood)
    codes = [
        post(flood, {**ANNA, "email": f"a{i}@shop.se", "_ts": token}).status_code for i in range(4)
    ]
    assert codes == [302, 302, 302, 429]
    other = Client(REMOTE_ADDR="198.51.100.10")
    post(other, {**ANNA, "email": "b@shop.se", "_ts": token})
    post(other, {**ANNA, "email": "c@shop.se", "_ts": token})
    statuses = list(Submission.objects.order_by("id").values_list("status", flat=True))
    assert statuses == ["accepted"] * 3 + ["rejected", "accepted", "quarantined"]
    clock.advance(hours=1, seconds=1)
    assert post(flood, {**ANNA, "email": "d@shop.se", "_ts": token}).status_code == 302


def test_behind_a_proxy_the_visitors_own_address_is_limited(bulk, settings):
    settings.LEADLINE_PROXY_COUNT = 1
    webforms.save_form(bulk, {"per_ip_per_hour": 1})
    proxy = Client(REMOTE_ADDR="10.0.0.2")
    token = shown(proxy)
    one = post(proxy, {**ANNA, "_ts": token}, HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.5")
    two = post(
        proxy, {**ANNA, "email": "b@shop.se", "_ts": token}, HTTP_X_FORWARDED_FOR="203.0.113.6"
    )
    again = post(
        proxy,
        {**ANNA, "email": "c@shop.se", "_ts": token},
        HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.5",
    )
    assert (one.status_code, two.status_code, again.status_code) == (302, 302, 429)
    assert Submission.objects.first().ip == "203.0.113.5"


def test_a_closed_form_refuses_posts(bulk):
    webforms.save_form(bulk, {"is_active": False})
    client = Client()
    assert client.get("/f/bulk/").status_code == 410
    assert post(client, {**ANNA}).status_code == 410
    assert Submission.objects.get().status == "rejected" and Lead.objects.count() == 0


# builder and API --------------------------------------------------------------------------------


def builder_post(fields: list[dict], **settings) -> dict:
    data = {
        "name": "Bulk inquiry",
        "slug": "",
        "title": "Wholesale",
        "intro": "",
        "submit_label": "Request a quote",
        "source": "web_form",
        "campaign": "",
        "consent_text": CONSENT,
        "consent_enabled": "on",
        "thank_you_message": "Thanks!",
        "redirect_url": "",
        "allowed_domains": "shop.acme.com\nwww.acme.com",
        "min_fill_seconds": "3",
        "per_ip_per_hour": "20",
        "per_form_per_hour": "1000",
        "free_mail": "allow",
        "blocked_domains": "",
        "is_active": "on",
        "f-TOTAL_FORMS": str(len(fields)),
        "f-INITIAL_FORMS": "0",
        "f-MIN_NUM_FORMS": "0",
        "f-MAX_NUM_FORMS": "1000",
    }
    for i, field in enumerate(fields):
        for key, value in field.items():
            data[f"f-{i}-{key}"] = value
    data.update(settings)
    return data


def test_a_marketer_builds_a_form_and_gets_its_embed_snippet(workspace):
    client = Client()
    client.force_login(workspace.manager)
    fields = [
        {"label": "Work email", "goes_to": "email", "type": "email", "required": "on"},
        {"label": "Company", "goes_to": "company", "type": "text"},
        {
            "label": "Products",
            "goes_to": "custom",
            "type": "multi_choice",
            "required": "on",
            "options": "SKU-100, SKU-200",
        },
        {"label": "Order volume", "goes_to": "custom", "type": "number"},
        {"label": "", "goes_to": "custom", "type": "text"},  # an empty extra row
    ]
    response = client.post("/forms/new/", builder_post(fields))
    form = Form.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/forms/{form.pk}/"
    assert form.slug == "bulk-inquiry" and form.allowed_domains == ["shop.acme.com", "www.acme.com"]
    assert [(f["key"], f["type"], f["required"]) for f in form.fields] == [
        ("email", "email", True),
        ("company", "text", False),
        ("products", "multi_choice", True),
        ("order_volume", "number", False),
    ]
    assert form.fields[2]["options"] == ["SKU-100", "SKU-200"]

    Client().post(
        "/f/bulk-inquiry/",
        {"email": "x@y.com", "products": "SKU-100", "_ts": "forged"},
        HTTP_ORIGIN="https://www.acme.com",
    )
    page = client.get(f"/forms/{form.pk}/").content.decode()
    assert "forged timing token" in page  # the latest submissions, with why
    assert "action=&quot;http://testserver/f/bulk-inquiry/&quot;" in page
    assert "data-token-url=&quot;http://testserver/f/bulk-inquiry/token&quot;" in page
    assert "name=&quot;products&quot; value=&quot;SKU-200&quot;" in page


def test_the_builder_explains_what_is_wrong(workspace):
    client = Client()
    client.force_login(workspace.manager)
    fields = [
        {"label": "Company", "goes_to": "company", "type": "text"},
        {"label": "Products", "goes_to": "custom", "type": "choice"},
    ]
    response = client.post("/forms/new/", builder_post(fields, allowed_domains="not a site"))
    assert response.status_code == 422
    page = response.content.decode()
    assert "Products: a choice needs options" in page
    assert "&#x27;not a site&#x27; is not a site" in page
    assert not Form.objects.exists()


def test_reps_do_not_build_forms(workspace, bulk):
    client = Client()
    client.force_login(workspace.owner)
    assert client.get("/forms/").status_code == 403
    assert client.get(f"/forms/{bulk.pk}/").status_code == 403
    sub = Submission.objects.create(form=bulk, received_at=clock.now(), status="quarantined")
    assert client.post(f"/forms/submissions/{sub.pk}/release/").status_code == 403


def test_forms_and_their_quarantine_over_the_api(workspace):
    _token, raw = ApiToken.issue(workspace.manager, "site")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    created = api.post(
        "/api/v1/forms",
        {
            "name": "Demo request",
            "fields": [
                {"key": "email", "label": "Email", "type": "email", "required": True},
                {
                    "key": "team_size",
                    "label": "Team size",
                    "type": "choice",
                    "options": ["1-10", "11-50", "51+"],
                },
            ],
            "source": "demo_request",
            "allowed_domains": ["acme.com"],
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    form = created.json()
    assert form["url"] == "http://testserver/f/demo-request/" and form["source"] == "demo_request"

    bad = api.post(
        "/api/v1/forms",
        {"name": "X", "fields": [{"label": "Size", "type": "dial"}]},
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["message"].startswith("type 'dial'")

    visitor = Client()
    visitor.post(
        "/f/demo-request/",
        {"email": "sam@acme.com", "team_size": "51+", "_ts": "forged"},
        HTTP_ORIGIN="https://www.acme.com",
    )
    listed = api.get(f"/api/v1/forms/{form['id']}/submissions?status=quarantined").json()
    assert [s["reasons"] for s in listed] == [["forged timing token"]]
    released = api.post(f"/api/v1/submissions/{listed[0]['id']}/release")
    assert released.status_code == 200 and released.json()["status"] == "accepted"
    lead = Lead.objects.get()
    assert lead.source == "demo_request" and lead.custom == {"team_size": "51+"}
    again = api.post(f"/api/v1/submissions/{listed[0]['id']}/release")
    assert again.status_code == 422

    changed = api.patch(
        f"/api/v1/forms/{form['id']}", {"is_active": False}, content_type="application/json"
    )
    assert changed.json()["is_active"] is False

    rep = Client(HTTP_AUTHORIZATION=f"Bearer {ApiToken.issue(workspace.owner, 'x')[1]}")
    assert rep.get("/api/v1/forms").status_code == 403


def test_consent_is_kept_with_its_proof(bulk):
    client = Client(REMOTE_ADDR="203.0.113.7")
    post(client, {**ANNA, "_ts": shown(client), "_page": "https://shop.acme.com/wholesale"})
    lead = Lead.objects.get()
    assert lead.consent_email is True and lead.consent_text == CONSENT
    assert lead.consent_at == clock.now()
    proof = lead.events.get(kind="consent")
    sub = Submission.objects.get()
    assert proof.summary == "Agreed to emails on the form “Bulk inquiry”"
    assert proof.data == {
        "form": bulk.pk,
        "submission": sub.pk,
        "wording": CONSENT,
        "page": "https://shop.acme.com/wholesale",
        "ip": "203.0.113.7",
    }


def test_an_unticked_box_later_does_not_withdraw_consent(bulk):
    client = Client()
    post(client, {**ANNA, "_ts": shown(client)})
    given_at = clock.now()
    clock.advance(days=40)
    later = {**ANNA, "message": "Reorder?"}
    del later["consent"]
    post(client, {**later, "_ts": shown(client)})
    lead = Lead.objects.get()
    assert lead.touch_count == 2
    assert (lead.consent_email, lead.consent_at) == (True, given_at)

    ola = {**later, "first_name": "Ola", "last_name": "Nordin", "email": "ola@shop.se"}
    post(client, {**ola, "_ts": shown(client)})
    newcomer = Lead.objects.get(email="ola@shop.se")
    assert newcomer.consent_email is False and newcomer.consent_at is None  # asked, not given
    assert not newcomer.events.filter(kind="consent").exists()


def test_a_released_submission_keeps_the_time_consent_was_given(bulk, workspace):
    client = Client()
    post(client, {**ANNA, "_ts": "", "first_name": "asdfghjkl"})  # looks random: quarantined
    sent_at = clock.now()
    sub = Submission.objects.get()
    assert sub.status == "quarantined"
    clock.advance(hours=5)
    webforms.release(sub, workspace.manager)
    lead = Lead.objects.get()
    assert lead.consent_at == sent_at
    assert lead.events.get(kind="consent").actor == workspace.manager


def test_the_address_limit_counts_an_ipv6_network_not_each_address(bulk):
    webforms.save_form(bulk, {"per_ip_per_hour": 2})
    token = shown(Client())
    codes = []
    for i, address in enumerate(["2001:db8:1:2::10", "2001:db8:1:2::11", "2001:db8:1:2:ab::3"]):
        client = Client(REMOTE_ADDR=address)
        codes.append(post(client, {**ANNA, "email": f"a{i}@shop.se", "_ts": token}).status_code)
    assert codes == [302, 302, 429]
    neighbour = Client(REMOTE_ADDR="2001:db8:1:3::10")  # the next /64: someone else
    assert post(neighbour, {**ANNA, "email": "n@shop.se", "_ts": token}).status_code == 302
    refused = Submission.objects.get(status="rejected")
    assert refused.reasons == ["more than 2 posts from 2001:db8:1:2::/64 in an hour"]


def test_a_forged_forwarded_address_is_not_stored(bulk, settings):
    settings.LEADLINE_PROXY_COUNT = 1
    client = Client(REMOTE_ADDR="10.0.0.2")
    response = post(client, {**ANNA, "_ts": shown(client)}, HTTP_X_FORWARDED_FOR="not-an-ip")
    assert response.status_code == 302
    sub = Submission.objects.get()
    assert (sub.status, sub.ip, sub.ip_block) == ("accepted", None, "")


def test_a_visitor_who_mistypes_keeps_their_campaign_even_without_javascript(bulk):
    client = Client()
    page = client.get("/f/bulk/?utm_source=linkedin&utm_campaign=spring&utm_term=mugs").content
    assert b'name="utm_source" value="linkedin"' in page  # filled by the server, not a script
    token = re.search(r'name="_ts" value="([^"]+)"', page.decode()).group(1)
    clock.advance(seconds=20)
    utm = {"utm_source": "linkedin", "utm_campaign": "spring", "utm_term": "mugs"}
    first = post(client, {**ANNA, **utm, "email": "anna-at-gifts", "_ts": token})
    assert first.status_code == 422
    again = first.content.decode()
    assert 'name="utm_campaign" value="spring"' in again
    values = dict(re.findall(r'name="(utm_\w+)" value="([^"]*)"', again))
    post(client, {**ANNA, **values, "_ts": token})
    lead = Lead.objects.get()
    assert (lead.utm_source, lead.utm_campaign, lead.utm_term) == ("linkedin", "spring", "mugs")


def test_a_problem_of_no_single_field_is_said_in_words(workspace):
    form = webforms.save_form(
        None,
        {
            "name": "Callback",
            "fields": [
                {"key": "phone", "label": "Phone", "type": "phone"},
                {"key": "notes", "label": "Notes", "type": "textarea"},
            ],
            "min_fill_seconds": 0,
        },
    )
    client = Client()
    response = post(client, {"notes": "call me"}, slug=form.slug, HTTP_ACCEPT="application/json")
    assert response.status_code == 422
    assert response.json()["message"] == "Give at least an email, a phone, a company or a name."
    page = post(client, {"notes": "call me"}, slug=form.slug).content.decode()
    assert "Give at least an email, a phone, a company or a name." in page


def test_a_spam_wave_is_cleared_in_one_go_and_only_what_was_seen(bulk, workspace):
    other = webforms.save_form(
        None, {"name": "Contact", "fields": BULK_FIELDS[:3], "min_fill_seconds": 30}
    )
    for i in range(3):
        post(Client(), {**ANNA, "email": f"s{i}@spam.se", "first_name": "qwrtzpsdfg"})
    post(Client(), {"email": "x@spam.se", "first_name": "qwrtzpsdfg"}, slug=other.slug)
    quarantined = Submission.objects.filter(status="quarantined")
    assert quarantined.count() == 4
    manager = Client()
    manager.force_login(workspace.manager)
    page = manager.get(f"/forms/submissions/?status=quarantined&form={bulk.pk}").content.decode()
    assert "Delete all 3 as spam" in page
    before = re.search(r'name="before" value="([^"]+)"', page).group(1)
    clock.advance(seconds=5)
    post(Client(), {**ANNA, "email": "late@spam.se", "first_name": "xxxxxx"})  # after
    response = manager.post(
        "/forms/submissions/clear/",
        {"form": bulk.pk, "before": before, "next": "https://evil.example/phish"},
    )
    assert response.status_code == 302 and response["Location"] == "/forms/submissions/"
    left = Submission.objects.filter(status="quarantined")
    assert sorted(s.email_key for s in left) == ["late@spam.se", "x@spam.se"]
    assert Submission.objects.filter(status="accepted").count() == 0


def test_a_double_submit_across_a_round_minute_is_still_one_lead(workspace):
    """A phone-only callback form (no email to match on) sent twice, seconds apart, around
    15:00:00 — the edge of any fixed ten-minute window."""
    form = webforms.save_form(
        None,
        {
            "name": "Call me back",
            "fields": [
                {"key": "phone", "label": "Phone", "type": "phone", "required": True},
                {"key": "last_name", "label": "Name", "type": "text"},
            ],
            "min_fill_seconds": 0,
        },
    )
    data = {"phone": "+1 415 555 0143", "last_name": "Okafor"}
    clock.set(clock.now() - timedelta(seconds=2))
    post(Client(), data, slug=form.slug)
    clock.advance(seconds=4)
    post(Client(), data, slug=form.slug)
    assert Lead.objects.count() == 1
    assert list(Submission.objects.order_by("id").values_list("outcome", flat=True)) == [
        "created",
        "replayed",
    ]
