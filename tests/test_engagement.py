"""Engagement feeds: events through the API and from files, matched to leads, on the timeline,
moving last activity and the engagement score; leads created when the event type says so."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client

from leadline.core.clock import clock
from leadline.core.models import ApiToken
from leadline.intake.engagement import record_events
from leadline.intake.models import EngagementEvent, EventType, Import
from leadline.intake.pipeline import capture
from leadline.leads import actions
from leadline.leads.models import Event, Lead


def api(user) -> Client:
    _token, raw = ApiToken.issue(user, "feed")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def send(client, body):
    return client.post("/api/v1/events", body, content_type="application/json")


def parts(lead) -> dict:
    return {p["label"]: p["points"] for p in lead.score_parts}


def test_a_webinar_attendance_lands_on_the_lead_and_raises_its_score(workspace):
    lead = capture({"email": "dana@acme-corp.com", "source": "content"}).lead
    before = lead.engagement_score
    at = clock.now() - timedelta(hours=2)
    response = send(
        api(workspace.manager),
        {
            "kind": "webinar_attended",
            "email": " Dana@Acme-Corp.com ",
            "at": at.isoformat(),
            "id": "zoom-8812-1",
            "properties": {"title": "Spring launch", "minutes": 42},
        },
    )
    assert response.status_code == 200, response.json()
    assert response.json()["results"][0] | {"event_id": None} == {
        "index": 0,
        "status": "attached",
        "lead_id": lead.pk,
        "event_id": None,
        "errors": [],
    }
    lead.refresh_from_db()
    assert lead.custom == {"webinar_attended_count": 1}
    assert parts(lead)["Attended a webinar"] == 20
    assert lead.engagement_score == before + 20
    assert lead.last_activity_at == lead.captured_at  # the event is older than the capture
    timeline = lead.events.get(kind="engagement")
    assert timeline.summary == "Attended a webinar: Spring launch" and timeline.at == at
    assert timeline.data["properties"] == {"title": "Spring launch", "minutes": 42}
    assert lead.events.filter(kind="scored", summary__contains="after engagement").exists()


def test_a_batch_reports_each_event(workspace):
    known = capture({"email": "dana@acme-corp.com"}).lead
    body = {
        "events": [
            {"kind": "email_clicked", "email": "dana@acme-corp.com", "id": "c-1"},
            {
                "kind": "webinar_registered",
                "email": "new.person@globex.com",
                "first_name": "new",
                "company": "Globex",
                "properties": {"webinar": "Scaling support"},
            },
            {
                "kind": "page_visited",
                "email": "stranger@initech.com",
                "properties": {"url": "/pricing"},
            },
            {"kind": "fax_received", "email": "dana@acme-corp.com"},
            {"kind": "email_clicked", "email": "dana@acme-corp.com", "id": "c-1"},  # a retry
            {"kind": "email_opened", "at": "tomorrow", "email": "dana@acme-corp.com"},
        ]
    }
    response = send(api(workspace.manager), body).json()
    assert [r["status"] for r in response["results"]] == [
        "attached",
        "created_lead",
        "unmatched",
        "invalid",
        "duplicate",
        "invalid",
    ]
    assert (
        response["attached"],
        response["created_lead"],
        response["unmatched"],
        response["invalid"],
        response["duplicate"],
    ) == (1, 1, 1, 2, 1)
    assert response["results"][3]["errors"][0]["field"] == "kind"
    assert response["results"][5]["errors"] == [
        {"field": "at", "message": "use an ISO date-time such as 2026-03-02T15:00:00Z"}
    ]

    created = Lead.objects.get(email="new.person@globex.com")
    assert created.source == "webinar" and created.first_name == "New"
    assert created.source_detail == "Registered for a webinar: Scaling support"
    assert created.custom == {"webinar_registered_count": 1}
    assert created.owner is not None  # routed like any capture
    known.refresh_from_db()
    assert known.custom == {"email_clicked_count": 1}
    assert not Lead.objects.filter(email="stranger@initech.com").exists()
    unmatched = EngagementEvent.objects.get(status="unmatched")
    assert unmatched.email == "stranger@initech.com" and unmatched.lead is None


def test_events_match_by_external_id_when_there_is_no_email(workspace):
    lead = capture(
        {"last_name": "Mulder", "phone": "+1 202 555 0188", "external_id": "crm-51"}
    ).lead
    result = record_events([{"kind": "meeting_booked", "external_id": "crm-51"}])[0]
    assert (result.status, result.lead_id) == ("attached", lead.pk)
    lead.refresh_from_db()
    assert parts(lead)["Booked a meeting"] == 30


def test_an_event_sent_twice_counts_once(workspace):
    lead = capture({"email": "dana@acme-corp.com"}).lead
    event = {"kind": "email_replied", "email": "dana@acme-corp.com", "id": "msg-77"}
    assert record_events([event])[0].status == "attached"
    assert record_events([event])[0].status == "duplicate"
    lead.refresh_from_db()
    assert lead.custom == {"email_replied_count": 1}
    assert lead.events.filter(kind="engagement").count() == 1


def test_rules_count_repeated_events_and_move_last_activity(workspace):
    lead = capture({"email": "dana@acme-corp.com"}).lead
    for i in range(3):
        clock.advance(days=1)
        record_events([{"kind": "email_opened", "email": "dana@acme-corp.com", "id": f"o{i}"}])
        lead.refresh_from_db()
        assert ("Opened 3+ emails" in parts(lead)) == (i == 2)
    assert lead.custom["email_opened_count"] == 3
    assert lead.last_activity_at == clock.now()


def test_engagement_reaches_a_closed_lead_when_no_open_one_exists(workspace):
    lead = capture({"email": "dana@acme-corp.com"}).lead
    actions.transition(lead, "disqualified", workspace.owner, reason_code="no_budget")
    result = record_events([{"kind": "badge_scanned", "email": "dana@acme-corp.com"}])[0]
    assert (result.status, result.lead_id) == ("attached", lead.pk)
    assert Lead.objects.count() == 1


def test_an_event_type_can_stop_creating_leads(workspace):
    EventType.objects.filter(kind="webinar_registered").update(creates_lead=False)
    result = record_events([{"kind": "webinar_registered", "email": "someone@globex.com"}])[0]
    assert result.status == "unmatched" and Lead.objects.count() == 0


def test_a_single_bad_event_is_a_422_that_names_the_field(workspace):
    response = send(api(workspace.manager), {"kind": "webinar_attended"})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "email",
            "message": "give the lead's email (or its external_id) to attach the event to",
        }
    ]
    outsider = Client()
    assert send(outsider, {"kind": "webinar_attended"}).status_code == 401


def test_a_webinar_attendee_report_imports_as_events(workspace, tmp_path):
    """A webinar platform's attendee export: some people are known, some are new."""
    dana = capture({"email": "dana@acme-corp.com", "first_name": "Dana"}).lead
    path = tmp_path / "attendees.csv"
    path.write_text(
        "First Name,Last Name,Email,Join Time,Time in Session (minutes),Webinar\n"
        "Dana,Scully,dana@acme-corp.com,03/01/2026 09:05 AM,55,Spring launch\n"
        "Walter,Skinner,walter@fbi.gov,03/01/2026 09:10 AM,12,Spring launch\n"
        "Nobody,,not-an-email,03/01/2026 09:11 AM,3,Spring launch\n",
        encoding="utf-8",
    )
    out = io.StringIO()
    call_command("import", str(path), "--events", "--event-kind", "webinar_attended", stdout=out)
    assert (
        "3 rows: 1 attached to a lead, 1 created a lead, 0 no matching lead, "
        "0 already recorded, 1 invalid" in out.getvalue()
    )
    dana.refresh_from_db()
    assert dana.custom == {"webinar_attended_count": 1}
    event = dana.events.get(kind="engagement")
    assert event.at.isoformat() == "2026-03-01T09:05:00+00:00"
    assert event.data["properties"] == {"time_in_session_minutes": "55", "webinar": "Spring launch"}
    assert event.summary == "Attended a webinar: Spring launch"
    walter = Lead.objects.get(email="walter@fbi.gov")
    assert walter.source == "webinar" and walter.last_name == "Skinner"

    later = tmp_path / "attendees-final.csv"  # the platform's final export: one more row
    later.write_bytes(
        path.read_bytes() + b"Fox,Mulder,fox@fbi.gov,03/01/2026 09:30 AM,30,Spring launch\n"
    )
    out = io.StringIO()
    call_command("import", str(later), "--events", "--event-kind", "webinar_attended", stdout=out)
    assert (
        "4 rows: 0 attached to a lead, 1 created a lead, 0 no matching lead, "
        "2 already recorded, 1 invalid" in out.getvalue()
    )
    dana.refresh_from_db()
    assert dana.custom == {"webinar_attended_count": 1}
    assert Lead.objects.count() == 3 and Import.objects.count() == 2


@pytest.mark.parametrize(
    "kind",
    [
        k
        for k, *_ in [
            ("webinar_registered",),
            ("webinar_attended",),
            ("content_downloaded",),
            ("page_visited",),
            ("email_opened",),
            ("email_clicked",),
            ("email_replied",),
            ("meeting_booked",),
            ("badge_scanned",),
        ]
    ],
)
def test_every_documented_event_type_is_accepted(workspace, kind):
    capture({"email": "dana@acme-corp.com"})
    assert record_events([{"kind": kind, "email": "dana@acme-corp.com"}])[0].status == "attached"
    assert Event.objects.filter(kind="engagement", data__kind=kind).count() == 1


def test_an_event_file_goes_through_the_import_pages(workspace, tmp_path):
    capture({"email": "dana@acme-corp.com"})
    path = tmp_path / "booth-scans.csv"
    path.write_text(
        "Email;Scanned at;Booth\ndana@acme-corp.com;02/03/2026 10:15;B12\n"
        "ben@bulkbuyers.co.uk;02/03/2026 10:20;B12\n",
        encoding="utf-8",
    )
    client = Client()
    client.force_login(workspace.manager)
    with open(path, "rb") as f:
        client.post("/imports/", {"file": f, "kind": "events"})
    imp = Import.objects.get()
    page = client.get(f"/imports/{imp.pk}/").content.decode()
    assert 'name="event_kind"' in page and "Event type" in page
    form = {f"col_{i}": t for i, t in enumerate(imp.mapping)}
    form.update(source="import", event_kind="badge_scanned")
    client.post(f"/imports/{imp.pk}/configure/", form)
    imp.refresh_from_db()
    assert imp.dry_counts == {
        "attached": 1,
        "created_lead": 1,
        "unmatched": 0,
        "duplicate": 0,
        "invalid": 0,
    }
    assert Lead.objects.count() == 1  # a dry run stores nothing
    client.post(f"/imports/{imp.pk}/commit/")
    ben = Lead.objects.get(email="ben@bulkbuyers.co.uk")
    assert ben.source == "event" and ben.custom == {"badge_scanned_count": 1}
    scan = ben.events.get(kind="engagement")
    assert scan.at.isoformat() == "2026-03-02T10:20:00+00:00"  # day first: a ";" file
    assert scan.data["properties"] == {"booth": "B12"}


def test_an_event_without_an_id_but_with_its_time_is_still_recorded_once(workspace, tmp_path):
    """A feed retried after a timeout, then the same attendance in the platform's CSV export."""
    lead = capture({"email": "dana@acme-corp.com"}).lead
    event = {
        "kind": "webinar_attended",
        "email": "dana@acme-corp.com",
        "at": "2026-03-02T14:00:00Z",
        "properties": {"webinar": "Spring launch"},
    }
    client = api(workspace.manager)
    assert send(client, event).json()["results"][0]["status"] == "attached"
    assert send(client, event).json()["results"][0]["status"] == "duplicate"
    path = tmp_path / "attendees.csv"
    path.write_text(
        "Email,Event type,Join time,Webinar\n"
        "dana@acme-corp.com,webinar_attended,2026-03-02 14:00,Spring launch\n"
    )
    call_command("import", str(path), "--events", stdout=io.StringIO())
    assert Import.objects.get().counts["duplicate"] == 1
    lead.refresh_from_db()
    assert lead.custom == {"webinar_attended_count": 1}
    # Without a time of its own, an event is "now": sent again, it is another event.
    opened = {"kind": "email_opened", "email": "dana@acme-corp.com"}
    assert [send(client, opened).json()["attached"] for _ in range(2)] == [1, 1]


def test_a_nurtured_lead_that_engages_is_back_in_its_owners_queue(workspace):
    lead = capture({"email": "dana@acme-corp.com", "first_name": "Dana"}).lead
    owner = lead.owner
    actions.transition(lead, "nurture", owner, reason="not ready until Q3")
    clock.advance(days=30)

    record_events([{"kind": "email_opened", "email": "dana@acme-corp.com", "id": "o-1"}])
    lead.refresh_from_db()
    assert lead.status == "nurture"  # opening an email is not coming back

    record_events(
        [
            {
                "kind": "webinar_attended",
                "email": "dana@acme-corp.com",
                "id": "w-1",
                "properties": {"title": "Pricing deep dive"},
            }
        ]
    )
    lead.refresh_from_db()
    assert lead.status == "working" and lead.owner == owner
    assert lead.next_step == "Follow up: Attended a webinar: Pricing deep dive"
    assert lead.next_step_due_at > clock.now()
    transition = lead.transitions.last()
    assert (transition.from_status, transition.to_status) == ("nurture", "working")
    assert transition.reason == "Re-engaged: Attended a webinar: Pricing deep dive"
    from leadline.core.models import Job

    job = Job.objects.get(kind="notify_rule", lead_id=lead.pk)
    assert job.payload == {"rule": "Re-engaged (Attended a webinar: Pricing deep dive)"}


def test_a_nurtured_lead_without_an_owner_is_routed_when_it_comes_back(workspace):
    lead = capture({"email": "dana@acme-corp.com"}).lead
    actions.transition(lead, "nurture", lead.owner, reason="later")
    Lead.objects.filter(pk=lead.pk).update(owner=None)
    EventType.objects.filter(kind="email_clicked").update(reengages=True)  # the team's choice
    clock.advance(days=3)
    record_events([{"kind": "email_clicked", "email": "dana@acme-corp.com", "id": "c-9"}])
    lead.refresh_from_db()
    assert lead.status == "working" and lead.owner in (workspace.owner, workspace.teammate)
    assert "re-engaged (Clicked a link in an email)" in lead.routing_reason["explanation"]


def test_engagement_that_lifts_a_lead_over_the_mql_line_acts_at_once(workspace):
    from leadline.core.models import Job
    from leadline.core.worker import run_until_idle
    from leadline.scoring.models import MqlPolicy

    MqlPolicy.objects.create(team=workspace.americas, create_task=True, task_due_hours=2)
    lead = capture({"email": "dana@acme-corp.com"}).lead
    workspace.americas.mql_threshold = lead.score + 25
    workspace.americas.save()
    record_events([{"kind": "meeting_booked", "email": "dana@acme-corp.com", "id": "cal-1"}])
    lead.refresh_from_db()
    crossing = lead.events.get(kind="mql")
    assert crossing.summary.endswith("(engagement)")
    assert Job.objects.filter(kind="mql_reached", lead_id=lead.pk).exists()
    run_until_idle()
    lead.refresh_from_db()
    assert lead.next_step == "Follow up: reached MQL"


def test_a_marketer_says_what_each_event_does(workspace):
    client = Client()
    client.force_login(workspace.manager)
    page = client.get("/events/").content.decode()
    assert "<code>webinar_attended</code>" in page
    listed = EventType.objects.get(kind="page_visited")
    response = client.post(
        "/events/",
        {
            "id": listed.pk,
            "label": "Visited a page",
            "reengages": "on",
            "is_active": "on",
            "lead_source": "other",
        },
    )
    assert response.status_code == 302
    listed.refresh_from_db()
    assert listed.reengages and not listed.creates_lead and listed.is_active

    added = client.post(
        "/events/",
        {
            "add": "1",
            "new-kind": "trial_started",
            "new-label": "Started a trial",
            "new-creates_lead": "on",
            "new-lead_source": "content",
            "new-is_active": "on",
        },
    )
    assert added.status_code == 302
    result = record_events([{"kind": "trial_started", "email": "ola@globex.com"}])[0]
    assert result.status == "created_lead"
    lead = Lead.objects.get(email="ola@globex.com")
    assert lead.source == "content" and lead.custom == {"trial_started_count": 1}
    page = client.get("/events/?status=created_lead").content.decode()
    assert "trial_started" in page and "ola@globex.com" in page

    again = client.post(
        "/events/", {"add": "1", "new-kind": "trial_started", "new-lead_source": "content"}
    )
    assert again.status_code == 422 and "&#x27;trial_started&#x27; exists already" in (
        again.content.decode()
    )
    rep = Client()
    rep.force_login(workspace.owner)
    assert rep.get("/events/").status_code == 403


def test_event_types_over_the_api(workspace):
    manager = api(workspace.manager)
    kinds = {t["kind"]: t for t in manager.get("/api/v1/event-types").json()}
    assert kinds["meeting_booked"] == {
        "kind": "meeting_booked",
        "label": "Booked a meeting",
        "creates_lead": True,
        "reengages": True,
        "lead_source": "demo_request",
        "is_active": True,
    }
    created = manager.post(
        "/api/v1/event-types",
        {"kind": "Demo no-show", "creates_lead": False},
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["kind"] == "demo_no_show"
    changed = manager.patch(
        "/api/v1/event-types/demo_no_show",
        {"is_active": False, "lead_source": "nowhere"},
        content_type="application/json",
    )
    assert changed.status_code == 422
    assert changed.json()["errors"][0]["field"] == "lead_source"
    rep = api(workspace.owner)
    assert rep.get("/api/v1/event-types").status_code == 200
    refused = rep.patch(
        "/api/v1/event-types/demo_no_show", {"is_active": False}, content_type="application/json"
    )
    assert refused.status_code == 403


def test_old_engagement_does_not_pull_a_nurtured_lead_back(workspace):
    lead = capture({"email": "dana@acme-corp.com"}).lead
    clock.advance(days=60)
    actions.transition(lead, "nurture", lead.owner, reason="not ready")
    clock.advance(days=1)
    before_nurture = clock.now() - timedelta(days=10)  # attended before being nurtured
    last_month = clock.now() - timedelta(days=30)
    record_events(
        [
            {"kind": "webinar_attended", "email": lead.email, "at": before_nurture.isoformat()},
            {"kind": "meeting_booked", "email": lead.email, "at": last_month.isoformat()},
        ]
    )
    lead.refresh_from_db()
    assert lead.status == "nurture"
    assert lead.custom == {"webinar_attended_count": 1, "meeting_booked_count": 1}
