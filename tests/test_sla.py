from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from leadline.core.clock import clock
from leadline.core.worker import run_until_idle
from leadline.intake.pipeline import capture
from leadline.leads import actions
from leadline.leads.models import Lead
from leadline.routing.models import SlaPolicy
from tests.conftest import at_once


def test_a_matching_policy_sets_the_target(workspace):
    SlaPolicy.objects.create(
        name="List import",
        minutes=2 * 8 * 60,
        order=1,
        conditions=[{"field": "source", "op": "eq", "value": "list_purchase"}],
    )
    listed = capture({"email": "a@acme-corp.com", "source": "list_purchase"}).lead
    demo = capture({"email": "b@acme-corp.com", "source": "demo_request"}).lead
    # Two business days of 8 hours from Monday 10:00 New York: Wednesday 10:00.
    assert listed.sla_due_at == datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
    assert listed.sla_policy == "List import"
    assert demo.sla_due_at == datetime(2026, 3, 2, 15, 5, tzinfo=UTC) and demo.sla_policy == ""


def test_an_imported_list_gets_two_business_days_out_of_the_box(workspace, tmp_path):
    """The policy every new workspace starts with: a list import is not a hand-raiser."""
    from leadline.intake import imports

    path = tmp_path / "list.csv"
    path.write_text("Email,First Name\nann@acme-corp.com,Ann\n", encoding="utf-8")
    imp = imports.open_import(path)
    imports.start(imp, "commit")
    while imports.run(imp):
        pass
    listed = Lead.objects.get(email="ann@acme-corp.com")
    asked = capture({"email": "bo@acme-corp.com", "source": "demo_request"}).lead
    # Monday 10:00 New York: two 8-hour business days later is Wednesday 10:00.
    assert listed.sla_due_at == datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
    assert listed.sla_policy == "List import: 2 business days"
    assert asked.sla_due_at == datetime(2026, 3, 2, 15, 5, tzinfo=UTC) and asked.sla_policy == ""


def test_a_policy_can_count_wall_clock_minutes(workspace):
    SlaPolicy.objects.create(name="Always 30 minutes", minutes=30, business_hours=False)
    clock.set(datetime(2026, 3, 7, 12, 0, tzinfo=UTC))  # Saturday
    lead = capture({"email": "a@acme-corp.com"}).lead
    assert lead.sla_due_at == datetime(2026, 3, 7, 12, 30, tzinfo=UTC)


def test_a_weekend_capture_is_due_on_monday_morning(workspace):
    clock.set(datetime(2026, 3, 7, 12, 0, tzinfo=UTC))  # Saturday
    lead = capture({"email": "a@acme-corp.com"}).lead
    assert lead.sla_due_at == datetime(2026, 3, 9, 13, 5, tzinfo=UTC)  # 09:05 New York (EDT)


def test_a_breach_reassigns_along_the_rotation_up_to_the_limit(workspace, smtp):
    team = workspace.americas
    team.reassign_on_breach, team.max_reassignments = True, 1
    team.save()
    lead = capture({"email": "a@acme-corp.com"}).lead
    assert lead.owner == workspace.owner
    clock.advance(minutes=6)
    run_until_idle()
    lead.refresh_from_db()
    assert lead.owner == workspace.teammate and lead.reassign_count == 1
    assert lead.sla_breached_at is None and lead.sla_due_at == clock.now() + timedelta(minutes=5)
    assert "missed the first-response SLA" in lead.routing_reason["explanation"]
    clock.advance(minutes=6)
    run_until_idle()
    run_until_idle()
    lead.refresh_from_db()
    assert lead.owner == workspace.teammate  # the limit is reached: stays, marked breached
    assert lead.sla_breached_at is not None
    assert lead.events.filter(kind="sla_breached").count() == 2
    subjects = [m["subject"] for m in smtp.messages]
    assert sum("SLA breached" in s for s in subjects) == 2


def test_answering_stops_the_clock_before_the_breach(workspace, smtp):
    lead = capture({"email": "a@acme-corp.com"}).lead
    clock.advance(minutes=4)
    actions.log_activity(lead, "call", workspace.owner, outcome="connected")
    clock.advance(days=2)
    run_until_idle()
    assert Lead.objects.get().sla_breached_at is None


def test_a_team_holiday_pushes_the_deadline(workspace):
    team = workspace.americas
    team.holidays = ["2026-03-03"]
    team.save()
    clock.set(datetime(2026, 3, 2, 21, 58, tzinfo=UTC))  # Monday 16:58 New York
    lead = capture({"email": "a@acme-corp.com"}).lead
    # 2 minutes on Monday, Tuesday is a holiday, 3 minutes on Wednesday from 09:00.
    assert lead.sla_due_at == datetime(2026, 3, 4, 14, 3, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_escalate_a_breach_once(workspace, smtp):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race is a PostgreSQL concern")
    leads = [capture({"email": f"l{i}@acme-corp.com"}).lead for i in range(5)]
    run_until_idle()
    smtp.messages.clear()
    clock.advance(minutes=10)
    at_once(4, lambda i: run_until_idle())
    for lead in leads:
        assert lead.events.filter(kind="sla_breached").count() == 1
    assert sum("SLA breached" in m["subject"] for m in smtp.messages) == 5
