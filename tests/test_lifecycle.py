from datetime import timedelta

import pytest

from leadline.core.clock import clock
from leadline.core.errors import DomainError
from leadline.intake.pipeline import capture
from leadline.leads import actions
from leadline.leads.models import Task, Transition

BANT_YES = {"budget": True, "authority": True, "need": True, "timeline": True}


@pytest.fixture
def lead(workspace):
    return capture({"email": "dana@acme-corp.com", "company": "Acme"}).lead


def tomorrow():
    return clock.now() + timedelta(days=1)


def test_working_needs_a_next_step(lead, workspace):
    with pytest.raises(DomainError) as caught:
        actions.transition(lead, "working", workspace.owner)
    assert "next_step" in caught.value.errors
    lead = actions.transition(
        lead, "working", workspace.owner, next_step="Call back", next_step_due_at=tomorrow()
    )
    assert lead.status == "working" and lead.next_step == "Call back"
    assert Task.objects.get(lead=lead, done_at__isnull=True).title == "Call back"


def test_qualified_needs_every_criterion(lead, workspace):
    actions.transition(
        lead, "working", workspace.owner, next_step="Discovery", next_step_due_at=tomorrow()
    )
    with pytest.raises(DomainError) as caught:
        actions.transition(
            lead, "qualified", workspace.owner, answers={"budget": True, "need": True}
        )
    assert set(caught.value.errors) == {"qualification.authority", "qualification.timeline"}
    lead.refresh_from_db()
    assert lead.status == "working" and lead.qualification == {}  # nothing half-saved
    lead = actions.transition(lead, "qualified", workspace.owner, answers=BANT_YES)
    assert lead.status == "qualified" and lead.stage == "sql"


def test_a_team_can_use_its_own_criteria(lead, workspace):
    team = workspace.americas
    team.qualification_criteria = [
        {
            "key": "order_volume",
            "label": "Order volume",
            "type": "number",
            "min": 500,
            "required": True,
        }
    ]
    team.save()
    actions.transition(
        lead, "working", workspace.owner, next_step="Quote", next_step_due_at=tomorrow()
    )
    with pytest.raises(DomainError) as caught:
        actions.transition(lead, "qualified", workspace.owner, answers={"order_volume": 120})
    assert "at least 500" in caught.value.errors["qualification.order_volume"]
    lead = actions.transition(lead, "qualified", workspace.owner, answers={"order_volume": 800})
    assert lead.status == "qualified"


def test_disqualified_needs_a_known_reason_code(lead, workspace):
    with pytest.raises(DomainError) as caught:
        actions.transition(lead, "disqualified", workspace.owner)
    assert "reason_code" in caught.value.errors
    with pytest.raises(DomainError) as caught:
        actions.transition(lead, "disqualified", workspace.owner, reason_code="bored")
    assert "unknown reason code" in caught.value.errors["reason_code"]
    lead = actions.transition(lead, "disqualified", workspace.owner, reason_code="too_small")
    assert lead.status == "disqualified" and lead.disqualify_reason == "too_small"
    assert lead.recycle_at is None  # too_small has no recycle period


def test_moves_outside_the_lifecycle_are_refused(lead, workspace):
    for target in ("qualified", "converted", "new", "sideways"):
        with pytest.raises(DomainError) as caught:
            actions.transition(lead, target, workspace.owner)
        assert "to" in caught.value.errors
    assert Transition.objects.count() == 0


def test_every_transition_is_recorded(lead, workspace):
    actions.transition(
        lead,
        "working",
        workspace.owner,
        next_step="Call",
        next_step_due_at=tomorrow(),
        reason="Picked up",
    )
    clock.advance(hours=1)
    actions.transition(lead, "nurture", workspace.owner, reason="Next year")
    history = list(Transition.objects.values_list("from_status", "to_status", "actor", "reason"))
    assert history == [
        ("new", "working", workspace.owner.pk, "Picked up"),
        ("working", "nurture", workspace.owner.pk, "Next year"),
    ]
    assert lead.events.filter(kind="transition").count() == 2


def test_recycling_is_counted(lead, workspace):
    lead = actions.transition(lead, "disqualified", workspace.owner, reason_code="no_budget")
    assert lead.recycle_at is not None  # no_budget recycles after 90 days
    lead = actions.transition(lead, "new", workspace.owner, reason="Budget freed up")
    assert lead.recycle_count == 1 and lead.disqualify_reason == ""
    lead = actions.transition(lead, "nurture", workspace.owner)
    lead = actions.transition(
        lead, "working", workspace.owner, next_step="Re-engage", next_step_due_at=tomorrow()
    )
    assert lead.recycle_count == 2


def test_the_first_sales_touch_stops_the_clock(lead, workspace):
    actions.log_activity(lead, "note", workspace.owner, body="Looked them up")
    lead.refresh_from_db()
    assert lead.first_response_at is None  # a note does not reach the lead
    clock.advance(minutes=3)
    actions.log_activity(lead, "call", workspace.owner, outcome="connected")
    lead.refresh_from_db()
    assert lead.first_response_at == clock.now() and lead.response_minutes == 3
    assert lead.events.filter(kind="first_response").count() == 1


def test_activities_cannot_be_logged_in_the_future(lead, workspace):
    with pytest.raises(DomainError) as caught:
        actions.log_activity(lead, "call", workspace.owner, at=clock.now() + timedelta(hours=1))
    assert "at" in caught.value.errors


def test_a_new_next_step_closes_the_previous_one(lead, workspace):
    actions.set_next_step(lead, "Call", tomorrow(), workspace.owner)
    actions.set_next_step(lead, "Email deck", tomorrow() + timedelta(days=1), workspace.owner)
    assert list(Task.objects.filter(done_at__isnull=True).values_list("title", flat=True)) == [
        "Email deck"
    ]
    lead.refresh_from_db()
    assert lead.next_step == "Email deck"


def test_editing_fields_renormalises_and_rescores(lead, workspace):
    before = lead.score
    lead = actions.update_fields(
        lead, {"title": "Chief Executive Officer", "phone": "+44 20 7946 0018"}, workspace.owner
    )
    assert lead.seniority == "c_level" and lead.phone_e164 == "+442079460018"
    assert lead.score > before
    with pytest.raises(DomainError) as caught:
        actions.update_fields(lead, {"status": "converted"}, workspace.owner)
    assert "status" in caught.value.errors
