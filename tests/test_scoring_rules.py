from django.test import Client

from leadline.core.worker import run_until_idle
from leadline.intake.pipeline import capture
from leadline.leads import actions
from leadline.leads.models import Lead
from leadline.scoring.models import RuleSetVersion, ScoringRule
from leadline.scoring.versions import snapshot


def test_a_rule_change_is_versioned_and_rescores_open_leads(workspace):
    open_lead = capture({"email": "a@acme-corp.com", "industry": "Insurance"}).lead
    closed = capture({"email": "b@acme-corp.com", "industry": "Insurance"}).lead
    actions.transition(closed, "disqualified", workspace.owner, reason_code="spam")
    before = open_lead.score
    ScoringRule.objects.filter(label="Target industry").update(points=40)
    version = snapshot("Insurance matters more")
    assert version.number == 1 and any(r["points"] == 40 for r in version.rules)
    run_until_idle()
    open_lead.refresh_from_db()
    closed.refresh_from_db()
    assert open_lead.score == before + 30
    assert {"kind": "fit", "label": "Target industry", "points": 40} in [
        {k: p[k] for k in ("kind", "label", "points")} for p in open_lead.score_parts
    ]
    assert closed.score == before  # a closed lead keeps the score it was decided on


def test_editing_a_rule_in_settings_snapshots_it(workspace):
    admin = workspace.manager
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = Client()
    client.force_login(admin)
    rule = ScoringRule.objects.get(label="Requested a demo")
    response = client.post(
        f"/settings/admin/scoring/scoringrule/{rule.pk}/change/",
        {
            "kind": "engagement",
            "label": "Requested a demo",
            "field": "source",
            "op": "eq",
            "value": '"demo_request"',
            "points": 50,
            "is_active": "on",
            "order": 1,
        },
    )
    assert response.status_code == 302
    assert RuleSetVersion.objects.count() == 1
    lead = capture({"email": "a@acme-corp.com", "source": "demo_request"}).lead
    assert {p["label"]: p["points"] for p in lead.score_parts}["Requested a demo"] == 50


def test_an_unknown_operator_is_refused(workspace):
    admin = workspace.manager
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = Client()
    client.force_login(admin)
    response = client.post(
        "/settings/admin/scoring/scoringrule/add/",
        {
            "kind": "fit",
            "label": "Weird",
            "field": "title",
            "op": "resembles",
            "value": '"x"',
            "points": 5,
            "is_active": "on",
            "order": 1,
        },
    )
    assert response.status_code == 200 and b"unknown op" in response.content
    assert not ScoringRule.objects.filter(label="Weird").exists()
    assert Lead.objects.count() == 0
