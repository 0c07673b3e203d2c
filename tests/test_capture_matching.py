"""Capture-time duplicate matching: a capture the matcher is sure about touches the lead it is,
whatever its email; a likely one becomes a lead of its own with the pair in the review queue.
Every channel goes through the same pipeline: single captures, batches and the API."""

from django.test import Client

from leadline.core.models import ApiToken, Job
from leadline.intake.pipeline import capture, capture_batch
from leadline.leads import actions
from leadline.leads.models import Event, Lead
from leadline.quality.models import CandidateStatus, DuplicateCandidate, LeadKey, MatchSettings
from tests.test_dedupe_db import DANA, DANA_AGAIN  # Dana Scully of Acme Corp, twice

# The same name and mailbox at another domain, nothing else: likely, not certain.
MAYBE_DANA = {
    "first_name": "Dana",
    "last_name": "Scully",
    "email": "dana.scully@other.com",
    "source": "web_form",
}
MONICA = {
    "first_name": "Monica",
    "last_name": "Reyes",
    "email": "mreyes@fbi.gov",
    "phone": "+1 202 555 0199",
    "company": "FBI",
    "city": "Washington",
    "country": "US",
    "source": "event",
}


def test_the_same_person_from_another_email_touches_her_lead(workspace):
    dana = capture(DANA).lead
    again = capture(DANA_AGAIN)
    assert again.outcome == "matched" and again.lead.pk == dana.pk
    assert Lead.objects.count() == 1
    lead = Lead.objects.get()
    assert lead.touch_count == 2 and lead.title == "VP Operations"  # a blank filled in
    assert lead.email == DANA["email"]  # her first address stays the lead's
    event = Event.objects.get(lead=lead, kind="recaptured")
    assert "match" in event.summary and "not by email" in event.summary
    assert event.data["captured"]["email"] == "dscully@gmail.com"  # kept, not lost
    assert event.data["match"]["probability"] >= 0.99
    assert {e["field"] for e in event.data["match"]["evidence"]} >= {"name", "organisation"}
    # One new lead, one owner email: a repeat is not news to the owner.
    assert Job.objects.filter(kind="notify_owner").count() == 1


def test_a_captured_lead_can_be_found_by_the_next_capture(workspace):
    lead = capture(DANA).lead
    keys = set(LeadKey.objects.filter(lead=lead).values_list("key", flat=True))
    assert "e:dana.scully@acme-corp.com" in keys and any(k.startswith("p:") for k in keys)


def test_a_likely_match_is_a_new_lead_queued_for_review(workspace):
    dana = capture(DANA).lead
    maybe = capture(MAYBE_DANA)
    assert maybe.outcome == "created" and maybe.lead.pk != dana.pk
    pair = DuplicateCandidate.objects.get()
    assert (pair.lead_a_id, pair.lead_b_id) == (dana.pk, maybe.lead.pk)
    assert pair.status == CandidateStatus.OPEN and pair.found_by == "capture"
    assert 0.5 <= pair.probability < 0.99
    note = Event.objects.get(lead=maybe.lead, kind="possible_duplicate")
    assert f"lead {dana.pk}" in note.summary and "review" in note.summary


def test_a_closed_lead_is_never_touched_by_a_match(workspace):
    dana = capture(DANA).lead
    actions.transition(dana, "disqualified", reason_code="no_budget")
    again = capture(DANA_AGAIN)
    assert again.outcome == "created"
    assert DuplicateCandidate.objects.filter(lead_a=dana, lead_b=again.lead).exists()


def test_a_team_that_reviews_every_match_gets_two_leads_and_a_pair(workspace):
    MatchSettings.objects.create(auto_merge_threshold=1.0)
    dana = capture(DANA).lead
    again = capture(DANA_AGAIN)
    assert again.outcome == "created" and Lead.objects.count() == 2
    pair = DuplicateCandidate.objects.get()
    assert (pair.lead_a_id, pair.lead_b_id) == (dana.pk, again.lead.pk)
    assert pair.probability >= 0.99


def test_a_batch_matches_stored_leads_and_its_own_records(workspace):
    dana = capture(DANA).lead
    results = capture_batch(
        [
            DANA_AGAIN,
            MONICA,
            {**MONICA, "email": "monica.reyes@gmail.com", "title": "Special Agent"},
            {"first_name": "Walter", "last_name": "Skinner", "email": "ws@fbi.gov"},
        ]
    )
    assert [r.outcome for r in results] == ["matched", "created", "matched", "created"]
    assert results[0].lead_id == dana.pk
    monica = Lead.objects.get(email="mreyes@fbi.gov")
    assert results[2].lead_id == monica.pk
    assert monica.touch_count == 2 and monica.title == "Special Agent"
    assert Lead.objects.count() == 3 and Lead.objects.get(pk=dana.pk).touch_count == 2
    assert LeadKey.objects.filter(lead=monica, key="e:mreyes@fbi.gov").exists()
    assert not DuplicateCandidate.objects.exists()


def test_a_batch_queues_likely_pairs_under_their_stored_ids(workspace):
    dana = capture(DANA).lead
    results = capture_batch([MAYBE_DANA, {**MAYBE_DANA, "email": "dana.scully@third.org"}])
    assert [r.outcome for r in results] == ["created", "created"]
    pairs = set(DuplicateCandidate.objects.values_list("lead_a_id", "lead_b_id"))
    first, second = results[0].lead_id, results[1].lead_id
    assert (dana.pk, first) in pairs and (first, second) in pairs


def test_filling_a_blank_phone_or_editing_an_email_rekeys_the_lead(workspace):
    lead = capture({k: v for k, v in DANA.items() if k != "phone"}).lead
    assert not LeadKey.objects.filter(lead=lead, key__startswith="p:").exists()
    capture({"email": DANA["email"], "phone": DANA["phone"], "source": "web_form"})
    assert LeadKey.objects.filter(lead=lead, key__startswith="p:").exists()
    actions.update_fields(Lead.objects.get(pk=lead.pk), {"email": "dana@fbi.gov"})
    keys = set(LeadKey.objects.filter(lead=lead).values_list("key", flat=True))
    assert "e:dana@fbi.gov" in keys and "e:dana.scully@acme-corp.com" not in keys


def test_the_api_says_a_matched_capture_is_the_existing_lead(workspace):
    _, raw = ApiToken.issue(workspace.manager, "test")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    first = client.post("/api/v1/leads", DANA, content_type="application/json")
    again = client.post("/api/v1/leads", DANA_AGAIN, content_type="application/json")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["outcome"] == "matched" and again.json()["id"] == first.json()["id"]


def test_colleagues_with_alike_names_and_neighbouring_lines_are_never_folded(workspace):
    """Same company, its switchboard range and a surname that sounds alike: likely by the
    numbers, but names that disagree always go to a person."""
    base = {"company": "Redridge Motors", "country": "US", "source": "web_form"}
    smith = capture(
        {
            **base,
            "first_name": "David",
            "last_name": "Smith",
            "phone": "+1 415 555 0063",
            "email": "david.smith@redridge-motors.com",
        }
    ).lead
    schmidt = capture(
        {
            **base,
            "first_name": "David",
            "last_name": "Schmidt",
            "phone": "+1 415 555 0003",
            "email": "david.schmidt@redridge-motors.com",
        }
    )
    assert schmidt.outcome == "created" and Lead.objects.count() == 2
    pair = DuplicateCandidate.objects.get()
    assert (pair.lead_a_id, pair.lead_b_id) == (smith.pk, schmidt.lead.pk)
    assert pair.probability >= 0.99  # what the numbers alone would have merged


def test_a_namesake_with_nothing_else_in_common_is_for_a_reviewer(workspace):
    # The same rare name, another company, mailbox and phone: perhaps the same person after a
    # move, perhaps not. The matcher may find it likely, but only a person merges on a name.
    first = capture(
        {
            "first_name": "Farid",
            "last_name": "Ito",
            "email": "farid.ito.5@northwind-analytics.com",
            "phone": "+1 415 856 3198",
            "company": "Northwind Analytics",
            "source": "web_form",
        }
    ).lead
    second = capture(
        {
            "first_name": "Farid",
            "last_name": "Ito",
            "email": "farid.ito.485@harborforge-consulting.com",
            "phone": "+1 415 563 0250",
            "company": "Harborforge Consulting",
            "source": "web_form",
        }
    )
    assert second.outcome == "created" and second.lead.pk != first.pk
    assert Lead.objects.count() == 2
    pair = DuplicateCandidate.objects.filter(lead_a=first, lead_b=second.lead).first()
    if pair is not None:
        assert pair.status == CandidateStatus.OPEN


def test_a_namesake_at_another_company_with_a_neighbouring_number_is_for_a_reviewer(workspace):
    # Same name and city, another company, phone numbers one digit apart: two offices on one
    # exchange as often as one person. Only the very same number ties two companies.
    first = capture(
        {
            "first_name": "Ximena",
            "last_name": "Ahmed",
            "email": "x.ahmed@prism-security.de",
            "phone": "+49 30 55556541",
            "company": "Prism Security Ltd",
            "city": "Berlin",
            "country": "DE",
            "source": "web_form",
        }
    ).lead
    second = capture(
        {
            "first_name": "Ximena",
            "last_name": "Ahmed",
            "email": "ximena@nimbus-health.de",
            "phone": "+49 30 55556941",
            "company": "Nimbus Health Corp.",
            "city": "Berlin",
            "country": "DE",
            "source": "web_form",
        }
    )
    assert second.outcome == "created" and second.lead.pk != first.pk
