"""The JSON API (/api/v1), driven over HTTP with Django's test client and real tokens."""

import hashlib
import json
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from leadline.api.schemas import CaptureOut, LeadOut
from leadline.core.clock import clock
from leadline.core.models import ApiToken, Membership
from leadline.deals.models import Opportunity
from leadline.intake.pipeline import capture
from leadline.leads import actions
from leadline.leads.models import Activity, Event, IdempotencyKey, Lead

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
BANT_YES = {"budget": True, "authority": True, "need": True, "timeline": True}
TOMORROW = "2026-03-03T15:00:00Z"


def token_for(user) -> str:
    return ApiToken.issue(user, "test")[1]


def call(client, method, path, token=None, body=None, **headers):
    if token:
        headers["Authorization"] = f"Bearer {token}"
    kwargs = {"headers": headers}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(client, method)("/api/v1" + path, **kwargs)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


# Authentication ---------------------------------------------------------------------------------


def test_it_requires_a_token(client, workspace):
    response = client.get("/api/v1/leads")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert "Bearer" in response.json()["detail"]


def test_it_rejects_an_unknown_token(client, workspace):
    response = call(client, "get", "/leads", "ll_not-a-real-token")
    assert response.status_code == 401
    assert "authentication required" in response.json()["detail"]


def test_it_works_with_a_token_and_stores_only_its_hash(client, workspace):
    raw = token_for(workspace.owner)
    response = call(client, "get", "/leads", raw)
    assert response.status_code == 200
    stored = ApiToken.objects.get()
    assert stored.digest == hashlib.sha256(raw.encode()).hexdigest()
    row = ApiToken.objects.filter(pk=stored.pk).values().get()
    assert not any(raw in str(value) for value in row.values())  # the secret is nowhere
    assert raw.startswith(stored.prefix) and len(stored.prefix) < len(raw) // 3
    assert stored.last_used_at is not None


def test_it_rejects_a_revoked_token(client, workspace):
    raw = token_for(workspace.owner)
    assert call(client, "get", "/leads", raw).status_code == 200
    ApiToken.objects.update(revoked_at=clock.now())
    response = call(client, "get", "/leads", raw)
    assert response.status_code == 401
    assert response.json()["detail"]


def test_it_rejects_the_token_of_a_deactivated_user(client, workspace):
    raw = token_for(workspace.owner)
    get_user_model().objects.filter(pk=workspace.owner.pk).update(is_active=False)
    assert call(client, "get", "/leads", raw).status_code == 401


# Capture ----------------------------------------------------------------------------------------


def test_it_captures_a_lead(client, workspace):
    response = call(client, "post", "/leads", token_for(workspace.manager), DANA)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["outcome"] == "created"
    lead = body["lead"]
    assert Lead.objects.get().pk == lead["id"]
    assert (lead["first_name"], lead["last_name"]) == ("Dana", "Scully")
    assert lead["email"] == "dana.scully@acme-corp.com"
    assert lead["phone_e164"] == "+12025550143"
    assert lead["company_domain"] == "acme-corp.com"
    assert (lead["employees"], lead["seniority"], lead["country"]) == (1200, "vp", "US")
    parts = {part["label"]: part["points"] for part in lead["score_parts"]}
    assert parts["Requested a demo"] == 35 and parts["Vice president"] == 20
    assert lead["score"] == lead["fit_score"] + lead["engagement_score"] == sum(parts.values())
    assert lead["stage"] == "mql" and lead["status"] == "new"
    assert lead["owner"] == "jordan" and lead["team"] == "Americas"
    assert lead["routing_reason"]["method"] == "round_robin"
    assert "jordan was next in turn" in lead["routing_reason"]["explanation"]
    # Monday 10:00 in New York: five business minutes to answer.
    assert lead["sla_due_at"] == "2026-03-02T15:05:00Z"
    assert Event.objects.filter(lead_id=lead["id"], kind="captured").exists()
    # The response is exactly what the OpenAPI document promises, and reads the same as GET.
    assert set(lead) == set(LeadOut.model_fields)
    assert CaptureOut.model_validate(body).lead.id == lead["id"]
    fetched = call(client, "get", f"/leads/{lead['id']}", token_for(workspace.manager)).json()
    assert {k: v for k, v in fetched.items() if k != "timeline"} == lead


def test_it_treats_a_repeat_email_as_a_touch(client, workspace):
    raw = token_for(workspace.manager)
    first = call(client, "post", "/leads", raw, DANA).json()["lead"]
    response = call(
        client, "post", "/leads", raw, {"email": "DANA.SCULLY@acme-corp.com", "source": "webinar"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["outcome"] == "matched" and body["lead"]["id"] == first["id"]
    assert body["lead"]["touch_count"] == 2
    assert Lead.objects.count() == 1


def test_it_replays_an_idempotency_key(client, workspace):
    raw = token_for(workspace.manager)
    first = call(client, "post", "/leads", raw, DANA, **{"Idempotency-Key": "form-77"})
    assert first.status_code == 201
    again = call(client, "post", "/leads", raw, DANA, **{"Idempotency-Key": "form-77"})
    assert again.status_code == 200
    assert again.json()["outcome"] == "replayed"
    assert again.json()["lead"]["id"] == first.json()["lead"]["id"]
    assert again.json()["lead"]["touch_count"] == 1  # a replay is not a second touch
    assert Lead.objects.count() == 1 and IdempotencyKey.objects.count() == 1


def test_it_replays_an_external_id(client, workspace):
    raw = token_for(workspace.manager)
    first = call(client, "post", "/leads", raw, {"email": "a@acme-corp.com", "external_id": "x1"})
    again = call(client, "post", "/leads", raw, {"email": "b@acme-corp.com", "external_id": "x1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["outcome"] == "replayed"
    assert again.json()["lead"]["email"] == "a@acme-corp.com"
    assert Lead.objects.count() == 1


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"email": "dana@"}, "email"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
        ({"source": "carrier_pigeon"}, "source"),
        ({"country": "Narnia"}, "country"),
        ({"employees": "abc"}, "employees"),
        ({"phone": "call me maybe"}, "phone"),
        ({"campaign": "No such campaign"}, "campaign"),
    ],
)
def test_it_rejects_bad_input_and_stores_nothing(client, workspace, changes, field):
    before = (Lead.objects.count(), Event.objects.count())
    response = call(client, "post", "/leads", token_for(workspace.manager), {**DANA, **changes})
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert field in [error["field"] for error in body["errors"]]
    assert field in body["detail"]
    assert (Lead.objects.count(), Event.objects.count()) == before


def test_it_rejects_a_country_code_that_does_not_exist(client, workspace):
    body = {"email": "dana@acme-corp.com", "country": "QQ"}
    response = call(client, "post", "/leads", token_for(workspace.manager), body)
    assert response.status_code == 422
    assert "country" in [error["field"] for error in response.json()["errors"]]
    assert Lead.objects.count() == 0


def test_it_rejects_malformed_json(client, workspace):
    response = client.post(
        "/api/v1/leads",
        data="{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {token_for(workspace.manager)}"},
    )
    assert response.status_code == 400
    assert "parse" in response.json()["detail"]
    assert Lead.objects.count() == 0


def test_it_does_not_reveal_a_matched_lead_the_caller_may_not_see(client, workspace):
    capture(DANA)  # an Americas lead, owned by jordan
    response = call(
        client,
        "post",
        "/leads",
        token_for(workspace.outsider),
        {"email": "dana.scully@acme-corp.com"},
    )
    assert response.status_code in (200, 201, 202)
    assert Lead.objects.get().touch_count == 2  # the touch itself is never lost
    assert "+12025550143" not in response.content.decode()
    assert "jordan" not in response.content.decode()


# Batch ------------------------------------------------------------------------------------------


def test_it_captures_a_batch_item_by_item(client, workspace):
    capture({"email": "known@acme-corp.com"})
    leads = [
        {"email": "one@acme-corp.com", "company": "One"},
        {"email": "not-an-email"},
        {"email": "known@acme-corp.com", "title": "CTO"},
        {"email": "two@acme-corp.com", "source": "nope"},
        {"email": "three@acme-corp.com", "external_id": "ext-3"},
        {"email": "other@acme-corp.com", "external_id": "ext-3"},
    ]
    response = call(client, "post", "/leads/batch", token_for(workspace.manager), {"leads": leads})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["matched"], body["replayed"], body["invalid"]) == (2, 1, 1, 2)
    results = body["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4, 5]
    assert [r["outcome"] for r in results] == [
        "created",
        "invalid",
        "matched",
        "invalid",
        "created",
        "replayed",
    ]
    assert results[1]["errors"][0]["field"] == "email"
    assert results[3]["errors"][0]["field"] == "source"
    assert results[5]["id"] == results[4]["id"]
    assert Lead.objects.count() == 3
    assert set(Lead.objects.values_list("email", flat=True)) == {
        "known@acme-corp.com",
        "one@acme-corp.com",
        "three@acme-corp.com",
    }
    assert Lead.objects.get(email="known@acme-corp.com").title == "CTO"


def test_it_refuses_a_batch_over_1000(client, workspace):
    leads = [{"email": f"p{i}@acme-corp.com"} for i in range(1001)]
    response = call(client, "post", "/leads/batch", token_for(workspace.manager), {"leads": leads})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "leads"
    assert "1000" in response.json()["detail"]
    assert Lead.objects.count() == 0


# Listing ----------------------------------------------------------------------------------------


def test_it_lists_with_filters(client, workspace):
    clock.set(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    old = capture({"email": "old@gmail.com", "source": "content", "company": "Oldco"}).lead
    clock.set(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    hot = capture(DANA).lead  # score 80
    cold = capture({"email": "zed@gmail.com", "source": "content"}).lead
    mine = capture({"email": "kim@globex.com", "source": "webinar", "company": "Globex"}).lead
    actions.transition(
        mine,
        "working",
        workspace.teammate,
        next_step="Call",
        next_step_due_at=datetime(2026, 3, 3, 15, 0, tzinfo=UTC),
    )
    # Round-robin alternates: jordan, riley, jordan, riley.
    assert [lead.owner.username for lead in (old, hot, cold, mine)] == [
        "jordan",
        "riley",
        "jordan",
        "riley",
    ]
    manager = token_for(workspace.manager)

    assert ids(call(client, "get", "/leads", manager)) == [mine.pk, cold.pk, hot.pk, old.pk]
    assert ids(call(client, "get", "/leads?status=working", manager)) == [mine.pk]
    assert ids(call(client, "get", "/leads?status=new,working", manager)) == [
        mine.pk,
        cold.pk,
        hot.pk,
        old.pk,
    ]
    assert ids(call(client, "get", "/leads?owner=me", token_for(workspace.owner))) == [
        cold.pk,
        old.pk,
    ]
    assert ids(call(client, "get", "/leads?owner=me", token_for(workspace.teammate))) == [
        mine.pk,
        hot.pk,
    ]
    assert ids(call(client, "get", "/leads?owner=riley", manager)) == [mine.pk, hot.pk]
    assert ids(call(client, "get", "/leads?source=content", manager)) == [cold.pk, old.pk]
    assert ids(call(client, "get", "/leads?score_min=50", manager)) == [hot.pk]
    assert ids(call(client, "get", "/leads?stage=mql", manager)) == [hot.pk]
    assert ids(call(client, "get", "/leads?q=globex", manager)) == [mine.pk]
    assert ids(call(client, "get", "/leads?q=dana%20acme", manager)) == [hot.pk]
    after = ids(call(client, "get", "/leads?created_after=2026-03-02", manager))
    assert after == [mine.pk, cold.pk, hot.pk]
    listed = call(client, "get", "/leads?stage=mql", manager).json()["items"][0]
    assert listed["stage"] == "mql" and listed["owner"] == "riley"


@pytest.mark.parametrize(
    "query, field",
    [
        ("status=won", "status"),
        ("stage=hot", "stage"),
        ("score_min=lots", "score_min"),
        ("created_after=yesterday", "created_after"),
        ("limit=0", "limit"),
        ("cursor=abc", "cursor"),
    ],
)
def test_it_rejects_bad_filters(client, workspace, query, field):
    response = call(client, "get", "/leads?" + query, token_for(workspace.manager))
    assert response.status_code == 422
    assert field in [error["field"] for error in response.json()["errors"]]


def test_it_pages_with_a_cursor(client, workspace):
    raw = token_for(workspace.manager)
    made = [capture({"email": f"p{i}@acme-corp.com"}).lead.pk for i in range(5)]
    seen, cursor, pages = [], "", 0
    while True:
        page = call(client, "get", f"/leads?limit=2&cursor={cursor}", raw).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == sorted(made, reverse=True)


# Who sees what ----------------------------------------------------------------------------------


@pytest.fixture
def spread(workspace):
    """jordan's lead, riley's lead, an unassigned Americas lead and an EMEA lead (alex's)."""
    jordans = capture({"email": "j@acme-corp.com"}).lead
    rileys = capture({"email": "r@acme-corp.com"}).lead
    loose = capture({"email": "u@acme-corp.com"}).lead
    loose = actions.reassign(loose, None, workspace.manager, reason="back to the pool")
    emea = capture({"email": "e@kestrel.de", "country": "DE"}).lead
    assert (jordans.owner, rileys.owner, loose.owner) == (workspace.owner, workspace.teammate, None)
    assert (emea.team, emea.owner) == (workspace.emea, workspace.outsider)
    return jordans, rileys, loose, emea


def test_an_outsider_gets_404_for_another_teams_lead(client, workspace, spread):
    jordans, _rileys, _loose, emea = spread
    raw = token_for(workspace.outsider)
    response = call(client, "get", f"/leads/{jordans.pk}", raw)
    assert response.status_code == 404
    assert response.json()["detail"] == f"lead {jordans.pk} not found"
    assert ids(call(client, "get", "/leads", raw)) == [emea.pk]
    assert ids(call(client, "get", "/leads?q=acme-corp", raw)) == []
    attempts = [
        ("patch", "", {"title": "CEO"}),
        ("post", "/activities", {"kind": "call"}),
        ("post", "/next-step", {"title": "Call", "due_at": TOMORROW}),
        ("post", "/transition", {"to": "nurture"}),
        ("post", "/convert", {"problem": "Leads go cold"}),
        ("post", "/assign", {"owner": workspace.outsider.pk, "reason": "mine now"}),
    ]
    for method, path, body in attempts:
        response = call(client, method, f"/leads/{jordans.pk}{path}", raw, body)
        assert response.status_code == 404, (path, response.content)
    jordans.refresh_from_db()
    assert (jordans.title, jordans.status, jordans.owner) == ("", "new", workspace.owner)
    assert not Activity.objects.exists()


def test_a_rep_sees_their_own_and_their_teams_unassigned_leads(client, workspace, spread):
    jordans, rileys, loose, _emea = spread
    raw = token_for(workspace.owner)
    assert ids(call(client, "get", "/leads", raw)) == [loose.pk, jordans.pk]
    assert call(client, "get", f"/leads/{rileys.pk}", raw).status_code == 404
    assert call(client, "get", f"/leads/{loose.pk}", raw).status_code == 200


def test_a_manager_sees_the_teams_leads(client, workspace, spread):
    jordans, rileys, loose, emea = spread
    raw = token_for(workspace.manager)
    assert ids(call(client, "get", "/leads", raw)) == [loose.pk, rileys.pk, jordans.pk]
    assert call(client, "get", f"/leads/{emea.pk}", raw).status_code == 404


def test_a_superuser_sees_everything(client, workspace, spread):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456789")
    assert ids(call(client, "get", "/leads", token_for(admin))) == sorted(
        (lead.pk for lead in spread), reverse=True
    )


def test_a_marketer_can_read_but_not_change(client, workspace, spread):
    jordans = spread[0]
    mia = get_user_model().objects.create_user("mia", "mia@example.com", "correct-horse-1")
    Membership.objects.create(user=mia, team=workspace.americas, role="marketer")
    raw = token_for(mia)
    assert len(ids(call(client, "get", "/leads", raw))) == 3
    assert call(client, "get", f"/leads/{jordans.pk}", raw).status_code == 200
    attempts = [
        ("patch", "", {"title": "CEO"}),
        ("post", "/activities", {"kind": "call"}),
        ("post", "/next-step", {"title": "Call", "due_at": TOMORROW}),
        ("post", "/transition", {"to": "nurture"}),
        ("post", "/assign", {"owner": workspace.teammate.pk, "reason": "mine now"}),
    ]
    for method, path, body in attempts:
        response = call(client, method, f"/leads/{jordans.pk}{path}", raw, body)
        assert response.status_code == 403, (path, response.content)
        assert response.json()["detail"]
    jordans.refresh_from_db()
    assert (jordans.title, jordans.status, jordans.owner) == ("", "new", workspace.owner)
    assert not Activity.objects.exists()


# Working a lead ---------------------------------------------------------------------------------


@pytest.fixture
def dana(workspace):
    return capture(DANA).lead


def test_it_refuses_a_transition_that_misses_its_guards(client, workspace, dana):
    raw = token_for(workspace.owner)
    url = f"/leads/{dana.pk}/transition"

    response = call(client, "post", url, raw, {"to": "working"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["next_step"]

    response = call(client, "post", url, raw, {"to": "disqualified"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["reason_code"]

    response = call(client, "post", url, raw, {"to": "qualified"})
    assert response.status_code == 422
    assert "allowed: working, nurture, disqualified" in response.json()["detail"]

    body = {"to": "working", "next_step": "Discovery call", "next_step_due_at": TOMORROW}
    assert call(client, "post", url, raw, body).status_code == 200
    response = call(client, "post", url, raw, {"to": "qualified", "answers": {"need": True}})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {
        "qualification.budget",
        "qualification.authority",
        "qualification.timeline",
    }
    dana.refresh_from_db()
    assert dana.status == "working" and dana.qualification == {}


def test_it_moves_a_lead_through_its_lifecycle(client, workspace, dana):
    raw = token_for(workspace.owner)
    url = f"/leads/{dana.pk}/transition"
    body = {"to": "working", "next_step": "Discovery call", "next_step_due_at": TOMORROW}
    response = call(client, "post", url, raw, body)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "working"
    assert response.json()["next_step"] == "Discovery call"
    assert response.json()["next_step_due_at"] == TOMORROW

    response = call(client, "post", url, raw, {"to": "qualified", "answers": BANT_YES})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["stage"]) == ("qualified", "sql")
    assert response.json()["qualification"] == BANT_YES

    timeline = call(client, "get", f"/leads/{dana.pk}", raw).json()["timeline"]
    moves = [e["summary"] for e in timeline if e["kind"] == "transition"]
    assert moves == ["working → qualified", "new → working"]
    assert timeline[0]["actor"] == "jordan"


def test_it_disqualifies_with_a_reason_code(client, workspace, dana):
    raw = token_for(workspace.owner)
    url = f"/leads/{dana.pk}/transition"
    response = call(client, "post", url, raw, {"to": "disqualified", "reason_code": "nope"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "reason_code"
    response = call(client, "post", url, raw, {"to": "disqualified", "reason_code": "no_budget"})
    assert response.status_code == 200
    assert response.json()["status"] == "disqualified"
    assert response.json()["disqualify_reason"] == "no_budget"


def test_logging_a_call_records_the_first_response(client, workspace, dana):
    raw = token_for(workspace.owner)
    clock.advance(minutes=3)
    response = call(
        client,
        "post",
        f"/leads/{dana.pk}/activities",
        raw,
        {"kind": "call", "subject": "Intro call", "outcome": "connected"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "call" and response.json()["subject"] == "Intro call"
    lead = call(client, "get", f"/leads/{dana.pk}", raw).json()
    assert lead["first_response_at"] == "2026-03-02T15:03:00Z"
    assert lead["response_minutes"] == 3
    assert "first_response" in [e["kind"] for e in lead["timeline"]]


def test_a_note_is_not_a_first_response(client, workspace, dana):
    raw = token_for(workspace.owner)
    response = call(client, "post", f"/leads/{dana.pk}/activities", raw, {"kind": "note"})
    assert response.status_code == 201
    assert call(client, "get", f"/leads/{dana.pk}", raw).json()["first_response_at"] is None


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "fax"}, "kind"),
        ({"kind": "call", "at": "2026-03-02T16:00:00Z"}, "at"),  # an hour in the future
        ({"subject": "no kind"}, "kind"),
    ],
)
def test_it_rejects_a_bad_activity(client, workspace, dana, body, field):
    response = call(
        client, "post", f"/leads/{dana.pk}/activities", token_for(workspace.owner), body
    )
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
    assert not Activity.objects.exists()


def test_it_accepts_an_activity_time_without_an_offset_as_utc(client, workspace, dana):
    response = call(
        client,
        "post",
        f"/leads/{dana.pk}/activities",
        token_for(workspace.owner),
        {"kind": "call", "at": "2026-03-02T14:58:00"},
    )
    assert response.status_code == 201, response.status_code
    assert Activity.objects.get().at == datetime(2026, 3, 2, 14, 58, tzinfo=UTC)


def test_it_sets_the_next_step(client, workspace, dana):
    raw = token_for(workspace.owner)
    url = f"/leads/{dana.pk}/next-step"
    response = call(client, "post", url, raw, {"title": "Send pricing", "due_at": TOMORROW})
    assert response.status_code == 200, response.content
    assert response.json()["next_step"] == "Send pricing"
    assert response.json()["next_step_due_at"] == TOMORROW
    response = call(client, "post", url, raw, {"title": "  ", "due_at": TOMORROW})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "title"
    response = call(client, "post", url, raw, {"title": "Call"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "due_at"


def test_it_converts_a_qualified_lead(client, workspace, dana):
    raw = token_for(workspace.owner)
    url = f"/leads/{dana.pk}/convert"
    response = call(client, "post", url, raw, {"problem": "Leads go cold"})
    assert response.status_code == 422
    assert "only a qualified lead" in response.json()["detail"]

    actions.transition(
        dana, "working", workspace.owner, next_step="Demo", next_step_due_at=clock.now()
    )
    actions.transition(dana, "qualified", workspace.owner, answers=BANT_YES)
    assert call(client, "post", url, raw, {"amount": "1000"}).status_code == 422  # no problem
    response = call(
        client,
        "post",
        url,
        raw,
        {"problem": "Leads go cold", "amount": "24000", "decision_makers": "Dana (VP)"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    opportunity = Opportunity.objects.get()
    assert body["opportunity_id"] == opportunity.pk and body["account_id"] == opportunity.account_id
    assert body["handoff_brief"]["problem"] == "Leads go cold"
    assert str(opportunity.amount) == "24000.00"
    lead = call(client, "get", f"/leads/{dana.pk}", raw).json()
    assert lead["status"] == "converted" and lead["stage"] == "opportunity"
    assert lead["converted_opportunity"] == opportunity.pk


def test_only_a_manager_can_reassign(client, workspace, dana):
    body = {"owner": workspace.teammate.pk, "reason": "Riley speaks their language"}
    url = f"/leads/{dana.pk}/assign"
    response = call(client, "post", url, token_for(workspace.owner), body)
    assert response.status_code == 403
    dana.refresh_from_db()
    assert dana.owner == workspace.owner

    manager = token_for(workspace.manager)
    response = call(client, "post", url, manager, {**body, "reason": " "})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "reason"
    response = call(client, "post", url, manager, {**body, "owner": 999999})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "owner"
    response = call(client, "post", url, manager, body)
    assert response.status_code == 200, response.content
    assert response.json()["owner"] == "riley"
    assert response.json()["routing_reason"]["method"] == "manual"
    assert "Riley speaks their language" in response.json()["routing_reason"]["explanation"]


def test_patch_updates_and_rescores(client, workspace, dana):
    raw = token_for(workspace.owner)
    before = call(client, "get", f"/leads/{dana.pk}", raw).json()
    response = call(client, "patch", f"/leads/{dana.pk}", raw, {"title": "CEO", "city": " Boston "})
    assert response.status_code == 200, response.content
    after = response.json()
    assert (after["title"], after["seniority"], after["city"]) == ("CEO", "c_level", "Boston")
    labels = [part["label"] for part in after["score_parts"]]
    assert "C-level or founder" in labels and "Vice president" not in labels
    assert after["score"] > before["score"]
    assert after["score"] == sum(part["points"] for part in after["score_parts"])
    assert Event.objects.filter(lead=dana, kind="updated").count() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"status": "qualified"}, "status"),
        ({"owner": 1}, "owner"),
        ({"score": 100}, "score"),
        ({"email": "broken@"}, "email"),
        ({"employees": "many"}, "employees"),
    ],
)
def test_patch_rejects_fields_it_cannot_change(client, workspace, dana, body, field):
    before = Lead.objects.values().get(pk=dana.pk)
    response = call(client, "patch", f"/leads/{dana.pk}", token_for(workspace.owner), body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
    assert Lead.objects.values().get(pk=dana.pk) == before


def test_patch_refuses_an_email_another_open_lead_has(client, workspace, dana):
    capture({"email": "kim@globex.com"})
    response = call(
        client,
        "patch",
        f"/leads/{dana.pk}",
        token_for(workspace.manager),
        {"email": "kim@globex.com"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "email"
    dana.refresh_from_db()
    assert dana.email == "dana.scully@acme-corp.com"


# Documentation ----------------------------------------------------------------------------------


def test_it_publishes_an_openapi_document(client, db):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {
        "/api/v1/leads",
        "/api/v1/leads/batch",
        "/api/v1/leads/{lead_id}",
        "/api/v1/leads/{lead_id}/transition",
        "/api/v1/leads/{lead_id}/activities",
        "/api/v1/leads/{lead_id}/next-step",
        "/api/v1/leads/{lead_id}/convert",
        "/api/v1/leads/{lead_id}/assign",
    } <= set(paths)
    assert set(paths["/api/v1/leads"]) == {"get", "post"}
    assert set(paths["/api/v1/leads/{lead_id}"]) == {"get", "patch"}
    assert response.json()["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"


def test_a_browser_session_can_use_the_api_with_a_csrf_token(workspace, dana):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(workspace.owner)
    assert browser.get(f"/api/v1/leads/{dana.pk}").status_code == 200
    url = f"/api/v1/leads/{dana.pk}/activities"
    body = json.dumps({"kind": "call"})
    refused = browser.post(url, data=body, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert not Activity.objects.exists()

    browser.get("/settings/tokens/")  # any page with a form sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    response = browser.post(
        url, data=body, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 201
    assert Activity.objects.get().actor == workspace.owner


def test_a_bearer_request_is_never_authenticated_by_its_session(workspace, dana):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(workspace.owner)
    url = f"/api/v1/leads/{dana.pk}"
    assert call(browser, "get", f"/leads/{dana.pk}").status_code == 200
    refused = browser.get(url, headers={"Authorization": "Bearer ll_not-a-real-token"})
    assert refused.status_code == 401
    refused = browser.post(
        f"{url}/activities",
        data=json.dumps({"kind": "call"}),
        content_type="application/json",
        headers={"Authorization": "bearer ll_not-a-real-token"},
    )
    assert refused.status_code in (401, 403)  # ninja checks the cookie's CSRF token first
    assert not Activity.objects.exists()


def test_a_token_request_needs_no_csrf_token_and_gets_no_cookies(workspace):
    browser = Client(enforce_csrf_checks=True)
    response = call(browser, "post", "/leads", token_for(workspace.manager), DANA)
    assert response.status_code == 201, response.content
    assert not response.cookies
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_token_request_still_needs_an_allowed_host(client, workspace):
    response = client.get(
        "/api/v1/leads",
        headers={"Authorization": f"Bearer {token_for(workspace.manager)}"},
        HTTP_HOST="evil.example.com",
    )
    assert response.status_code == 400


def test_a_user_in_no_team_cannot_capture(client, db):
    loner = get_user_model().objects.create_user("loner", "loner@example.com", "correct-horse-1")
    response = call(client, "post", "/leads", token_for(loner), DANA)
    assert response.status_code == 403
    assert "not a member of any team" in response.json()["detail"]
    assert not Lead.objects.exists()
