from datetime import UTC, datetime

import pytest
from django.db import connection

from leadline.core.errors import DomainError
from leadline.core.models import Campaign, Job
from leadline.intake.pipeline import capture, capture_batch
from leadline.leads.models import Event, IdempotencyKey, Lead
from tests.conftest import at_once

DANA = {
    "first_name": "dana",
    "last_name": "SCULLY",
    "email": " Dana.Scully@Acme-Corp.com ",
    "phone": "(202) 555-0143",
    "country": "US",
    "title": "VP Operations",
    "company": "Acme Corp",
    "employees": "1,200",
    "source": "demo_request",
}


def test_it_normalises_scores_routes_and_starts_the_clock(workspace):
    result = capture(DANA)
    lead = Lead.objects.get()
    assert result.created and result.lead.pk == lead.pk
    assert (lead.first_name, lead.last_name) == ("Dana", "Scully")
    assert lead.email == "dana.scully@acme-corp.com"
    assert lead.phone_e164 == "+12025550143"
    assert lead.company_domain == "acme-corp.com"
    assert lead.employees == 1200 and lead.seniority == "vp"
    labels = {part["label"]: part["points"] for part in lead.score_parts}
    assert labels["Requested a demo"] == 35 and labels["Vice president"] == 20
    assert lead.score == lead.fit_score + lead.engagement_score == sum(labels.values())
    assert lead.owner == workspace.owner and lead.team == workspace.americas
    assert "round-robin" in lead.routing_reason["explanation"].lower()
    # Monday 10:00 New York, default SLA of 5 business minutes.
    assert lead.sla_due_at == datetime(2026, 3, 2, 15, 5, tzinfo=UTC)
    kinds = set(Event.objects.filter(lead=lead).values_list("kind", flat=True))
    assert kinds == {"captured", "scored", "assigned", "sla_started"}
    assert Job.objects.filter(kind="lead_captured", lead_id=lead.pk).count() == 1


def test_a_repeat_of_an_open_lead_is_a_touch_not_a_new_lead(workspace):
    first = capture({"email": "sam@acme-corp.com", "source": "content"})
    again = capture(
        {"email": "SAM@acme-corp.com", "first_name": "Sam", "source": "webinar", "title": "CTO"}
    )
    assert again.outcome == "matched" and again.lead.pk == first.lead.pk
    lead = Lead.objects.get()
    assert lead.touch_count == 2 and lead.first_name == "Sam" and lead.seniority == "c_level"
    assert lead.source == "content"  # the original source keeps the attribution
    assert lead.score > first.lead.score
    assert Event.objects.filter(lead=lead, kind="recaptured").count() == 1


def test_a_closed_lead_does_not_swallow_a_new_capture(workspace):
    first = capture({"email": "sam@acme-corp.com"})
    Lead.objects.filter(pk=first.lead.pk).update(status="disqualified")
    second = capture({"email": "sam@acme-corp.com"})
    assert second.created and Lead.objects.count() == 2


def test_an_idempotency_key_returns_the_first_result(workspace):
    first = capture({"email": "a@acme-corp.com"}, idempotency_key="k-1")
    again = capture({"email": "other@acme-corp.com"}, idempotency_key="k-1")
    assert again.outcome == "replayed" and again.lead.pk == first.lead.pk
    assert Lead.objects.count() == 1 and IdempotencyKey.objects.count() == 1


def test_an_external_id_returns_the_first_result(workspace):
    first = capture({"email": "a@acme-corp.com", "external_id": "crm-9"})
    again = capture({"email": "b@acme-corp.com", "external_id": "crm-9"})
    assert again.outcome == "replayed" and again.lead.pk == first.lead.pk


def test_bad_input_names_the_fields_and_stores_nothing(workspace):
    with pytest.raises(DomainError) as caught:
        capture(
            {
                "email": "not-an-email",
                "phone": "call me",
                "employees": "many",
                "source": "carrier pigeon",
                "colour": "blue",
                "campaign": "Nope",
            }
        )
    assert set(caught.value.errors) == {
        "email",
        "phone",
        "employees",
        "source",
        "colour",
        "campaign",
    }
    assert Lead.objects.count() == 0 and Event.objects.count() == 0


def test_it_needs_something_to_reach_the_lead_by(workspace):
    with pytest.raises(DomainError) as caught:
        capture({"title": "CEO"})
    assert "email" in caught.value.errors


def test_campaign_is_attached_by_name(workspace):
    Campaign.objects.create(name="Spring webinar", cost=1000)
    lead = capture({"email": "a@acme-corp.com", "campaign": "spring WEBINAR"}).lead
    assert lead.campaign.name == "Spring webinar"


def test_a_batch_reports_each_item(workspace):
    results = capture_batch(
        [
            {"email": "one@acme-corp.com", "first_name": "One"},
            {"email": "broken"},
            {"email": "ONE@acme-corp.com", "title": "CFO"},  # same person twice in one batch
            "not an object",
            {"email": "two@example.org", "country": "DE"},
        ]
    )
    outcomes = [r.outcome if not isinstance(r, DomainError) else "invalid" for r in results]
    assert outcomes == ["created", "invalid", "matched", "invalid", "created"]
    assert results[2].lead.pk == results[0].lead.pk
    one = Lead.objects.get(email="one@acme-corp.com")
    assert one.touch_count == 2 and one.title == "CFO"
    two = Lead.objects.get(email="two@example.org")
    assert two.team == workspace.emea and two.owner == workspace.outsider
    assert Event.objects.filter(lead=one, kind="recaptured").count() == 1
    assert Lead.objects.count() == 2


def test_a_batch_touches_open_leads_already_stored(workspace):
    stored = capture({"email": "one@acme-corp.com"}).lead
    results = capture_batch([{"email": "one@acme-corp.com", "company": "Acme"}])
    assert results[0].outcome == "matched" and results[0].lead.pk == stored.pk
    stored.refresh_from_db()
    assert stored.company == "Acme" and stored.touch_count == 2


def test_a_batch_replays_external_ids(workspace):
    capture_batch([{"email": "a@acme-corp.com", "external_id": "x1"}])
    results = capture_batch([{"email": "b@acme-corp.com", "external_id": "x1"}])
    assert results[0].outcome == "replayed" and Lead.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_captures_of_one_email_make_one_lead(workspace):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race is a PostgreSQL concern")
    outcomes = at_once(
        6, lambda i: capture({"email": "race@acme-corp.com", "first_name": f"R{i}"}).outcome
    )
    assert sorted(outcomes) == ["created"] + ["matched"] * 5
    lead = Lead.objects.get(email="race@acme-corp.com")
    assert lead.touch_count == 6


def test_a_batch_can_drop_bad_fields_instead_of_refusing_the_item(workspace):
    items = [
        {"email": "kept@acme-corp.com", "phone": "+1 555", "company": "Acme"},
        {"email": "not an email", "phone": "+1 555"},
    ]
    strict = capture_batch(items)
    assert all(isinstance(r, DomainError) for r in strict)
    kept, refused = capture_batch(items, refuse_on={"email", ""})
    assert kept.created and set(kept.errors) == {"phone"}  # what was dropped, and why
    lead = Lead.objects.get(email="kept@acme-corp.com")
    assert lead.phone == "" and lead.company == "Acme"
    assert isinstance(refused, DomainError) and set(refused.errors) == {"email", "phone"}
