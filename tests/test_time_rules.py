from datetime import timedelta

import pytest

from leadline.core.clock import clock
from leadline.core.worker import run_until_idle
from leadline.intake.pipeline import capture
from leadline.leads import actions
from leadline.leads.models import Lead
from leadline.routing.models import RuleFiring, TimeRule


@pytest.fixture(autouse=True)
def only_the_rules_a_test_makes(db, request):
    if "defaults" not in request.node.name:
        TimeRule.objects.all().delete()


def test_the_defaults_nurture_silent_list_leads(workspace):
    names = set(TimeRule.objects.values_list("name", flat=True))
    assert len(names) == 3
    listed = capture({"email": "a@funded.io", "source": "list_purchase"}).lead
    clock.advance(days=15)
    run_until_idle()
    listed.refresh_from_db()
    assert listed.status == "nurture"


def working_lead(workspace, **data):
    lead = capture({"email": "a@acme-corp.com", **data}).lead
    actions.log_activity(lead, "call", workspace.owner, outcome="voicemail")
    return actions.transition(
        lead,
        "working",
        workspace.owner,
        next_step="Call again",
        next_step_due_at=clock.now() + timedelta(days=1),
    )


def test_no_engagement_after_a_list_import_moves_to_nurture(workspace):
    TimeRule.objects.create(
        name="Silent list leads",
        trigger="no_activity",
        days=14,
        business_days=False,
        action="nurture",
        statuses=["new", "working"],
        conditions=[{"field": "source", "op": "eq", "value": "list_purchase"}],
    )
    listed = capture({"email": "a@funded.io", "source": "list_purchase"}).lead
    other = capture({"email": "b@acme-corp.com", "source": "web_form"}).lead
    clock.advance(days=13)
    run_until_idle()
    assert Lead.objects.get(pk=listed.pk).status == "new"
    clock.advance(days=2)
    run_until_idle()
    assert Lead.objects.get(pk=listed.pk).status == "nurture"
    assert Lead.objects.get(pk=other.pk).status == "new"
    assert Lead.objects.get(pk=listed.pk).transitions.get().reason.startswith("Time rule")


def test_a_working_lead_without_a_next_step_gets_a_task_once(workspace):
    TimeRule.objects.create(
        name="No next step",
        trigger="no_next_step",
        days=1,
        action="task",
        task_title="Plan the next step",
        statuses=["working"],
    )
    lead = working_lead(workspace)
    Lead.objects.filter(pk=lead.pk).update(next_step="", next_step_due_at=None)
    clock.advance(days=2)
    run_until_idle()
    run_until_idle()
    lead.refresh_from_db()
    assert lead.next_step == "Plan the next step"
    assert RuleFiring.objects.filter(rule__name="No next step").count() == 1


def test_unanswered_follow_ups_make_a_lead_cold(workspace):
    TimeRule.objects.create(
        name="Cold",
        trigger="unanswered",
        followups=3,
        days=30,
        business_days=False,
        action="cold",
        statuses=["working"],
    )
    lead = working_lead(workspace)
    for _ in range(2):
        clock.advance(days=5)
        actions.log_activity(lead, "email", workspace.owner, outcome="no reply")
    clock.advance(days=25)
    run_until_idle()
    lead.refresh_from_db()
    assert lead.status == "nurture" and lead.cold_at == clock.now()
    assert lead.events.filter(kind="cold").count() == 1


def test_an_answered_lead_is_not_cold(workspace):
    TimeRule.objects.create(
        name="Cold",
        trigger="unanswered",
        followups=1,
        days=10,
        business_days=False,
        action="cold",
        statuses=["working"],
    )
    lead = working_lead(workspace)
    actions.log_activity(lead, "call", workspace.owner, outcome="connected")
    clock.advance(days=20)
    run_until_idle()
    lead.refresh_from_db()
    assert lead.status == "working" and lead.cold_at is None


def test_a_stalled_lead_is_reassigned(workspace):
    TimeRule.objects.create(
        name="Stalled", trigger="in_status", days=3, action="reassign", statuses=["new"]
    )
    lead = capture({"email": "a@acme-corp.com"}).lead
    clock.advance(days=7)
    run_until_idle()
    lead.refresh_from_db()
    assert lead.owner == workspace.teammate
    assert "Stalled" in lead.routing_reason["explanation"]


def test_a_notify_rule_emails_the_owner_once(workspace, smtp):
    TimeRule.objects.create(
        name="Untouched for 2 days",
        trigger="no_activity",
        days=2,
        action="notify",
        statuses=["new"],
    )
    capture({"email": "a@acme-corp.com"})
    run_until_idle()
    smtp.messages.clear()
    clock.advance(days=4)
    run_until_idle()
    run_until_idle()
    flagged = [m for m in smtp.messages if m["subject"].startswith("Needs attention")]
    assert len(flagged) == 1 and flagged[0]["to"] == ["jordan@example.com"]


def test_a_recycle_rule_brings_nurtured_leads_back(workspace):
    TimeRule.objects.create(
        name="Back from nurture",
        trigger="in_status",
        days=90,
        business_days=False,
        action="recycle",
        statuses=["nurture"],
    )
    lead = capture({"email": "a@acme-corp.com"}).lead
    actions.transition(lead, "nurture", workspace.owner, reason="Next quarter")
    clock.advance(days=91)
    run_until_idle()
    lead.refresh_from_db()
    assert lead.status == "working" and lead.recycle_count == 1
    assert lead.next_step == "Re-engage"
