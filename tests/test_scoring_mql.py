"""Crossing the MQL line: recorded on the timeline and acted on (a task, routing again) exactly
once per crossing, whether the score moved at capture, by a rule change re-scored in the
background, or because the team moved its line."""

from datetime import UTC, datetime

from leadline.core.clock import clock
from leadline.core.models import Job
from leadline.core.worker import run_until_idle
from leadline.intake.pipeline import capture
from leadline.leads import actions
from leadline.leads.models import Event, Task
from leadline.routing.models import RoutingRule
from leadline.scoring import mql, ruleset
from leadline.scoring.models import MqlPolicy, MqlState, ScoringRule

# Business email (+10) and a target industry (+10): 20 points, below the default line of 50.
INSURER = {"email": "dana@acme-corp.com", "industry": "Insurance"}


def follow_up(team, **more):
    return MqlPolicy.objects.create(
        team=team, create_task=True, task_title="Call now: reached MQL", task_due_hours=4, **more
    )


def set_industry_points(points: int) -> None:
    ruleset.save_rule({"points": points}, ScoringRule.objects.get(label="Target industry"))


def crossings(lead) -> list[str]:
    return list(lead.events.filter(kind="mql").order_by("id").values_list("summary", flat=True))


def test_a_rule_change_that_lifts_a_lead_over_the_line_creates_one_task(workspace):
    follow_up(workspace.americas)
    lead = capture(INSURER).lead
    assert lead.score == 20 and lead.owner == workspace.owner

    set_industry_points(40)
    run_until_idle()  # re-scores in the background, then acts on the crossing
    lead.refresh_from_db()
    assert lead.score == 50 and lead.stage == "mql"
    assert crossings(lead) == ["Reached MQL: score 50 ≥ 50 (re-scored with rule set v1)"]
    task = Task.objects.get(lead=lead)
    assert task.title == "Call now: reached MQL" and task.assignee == workspace.owner
    # Four business hours after 10:00 in New York.
    assert task.due_at == datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
    assert lead.next_step == "Call now: reached MQL"

    # Re-scoring again (another rule changed, twice) is not another crossing.
    ruleset.save_rule({"points": 31}, ScoringRule.objects.get(label="Inbound call"))
    ruleset.save_rule({"points": 32}, ScoringRule.objects.get(label="Inbound call"))
    run_until_idle()
    assert len(crossings(lead)) == 1
    assert Task.objects.filter(lead=lead).count() == 1


def test_falling_below_and_rising_again_is_a_second_crossing(workspace):
    follow_up(workspace.americas)
    lead = capture(INSURER).lead
    set_industry_points(40)
    run_until_idle()
    set_industry_points(10)
    run_until_idle()
    assert list(lead.events.filter(kind="mql_left").values_list("summary", flat=True)) == [
        "Fell below the MQL line: score 20 < 50"
    ]
    clock.advance(hours=1)
    set_industry_points(40)
    run_until_idle()
    assert len(crossings(lead)) == 2
    assert Task.objects.filter(lead=lead).count() == 2
    assert Task.objects.filter(lead=lead, done_at__isnull=True).count() == 1  # the newest step


def test_a_lead_captured_over_the_line_crosses_once_when_swept(workspace):
    follow_up(workspace.americas)
    lead = capture({**INSURER, "source": "demo_request"}).lead  # +35: 55
    assert lead.score == 55
    assert mql.sweep(clock.now()) == 1
    assert mql.sweep(clock.now()) == 0
    run_until_idle()
    assert crossings(lead) == ["Reached MQL: score 55 ≥ 50"]
    assert Task.objects.filter(lead=lead, assignee=workspace.owner).count() == 1


def test_without_actions_the_crossing_is_only_recorded(workspace):
    lead = capture({**INSURER, "source": "demo_request"}).lead
    mql.sweep(clock.now())
    run_until_idle()
    assert len(crossings(lead)) == 1
    assert not Task.objects.filter(lead=lead).exists()


def test_lowering_a_teams_line_acts_on_the_leads_it_now_covers(workspace):
    follow_up(workspace.americas)
    lead = capture(INSURER).lead
    ruleset.save_team_mql(workspace.americas, {"mql_threshold": 20})
    run_until_idle()  # the sweep the new line queued
    assert crossings(lead) == ["Reached MQL: score 20 ≥ 20"]
    assert Task.objects.filter(lead=lead).count() == 1


def test_closed_and_qualified_leads_do_not_cross(workspace):
    follow_up(workspace.americas)
    spam = capture({**INSURER, "email": "spam@acme-corp.com", "source": "demo_request"}).lead
    actions.transition(spam, "disqualified", workspace.owner, reason_code="spam")
    mql.sweep(clock.now())
    assert crossings(spam) == []

    lead = capture({**INSURER, "source": "demo_request"}).lead
    mql.sweep(clock.now())
    actions.transition(
        lead,
        "working",
        workspace.owner,
        next_step="Discovery call",
        next_step_due_at=clock.now().replace(hour=20),
    )
    bant = dict.fromkeys(("budget", "authority", "need", "timeline"), True)
    actions.transition(lead, "qualified", workspace.owner, answers=bant)
    mql.sweep(clock.now())  # now an SQL: no longer an MQL, without a "fell below" event
    assert MqlState.objects.get(lead=lead).is_mql is False
    assert not lead.events.filter(kind="mql_left").exists()
    assert len(crossings(lead)) == 1


def test_routing_again_gives_the_lead_to_the_person_a_rule_names_for_mqls(workspace):
    follow_up(workspace.americas, reroute=True)
    RoutingRule.objects.create(
        name="MQLs to Riley",
        order=0,
        team=workspace.americas,
        owner=workspace.teammate,
        conditions=[{"field": "score", "op": "gte", "value": 50}],
    )
    lead = capture(INSURER).lead
    assert lead.owner == workspace.owner  # 20 points: the rotation
    set_industry_points(40)
    run_until_idle()
    lead.refresh_from_db()
    assert lead.owner == workspace.teammate
    assert "reached MQL; routed again" in lead.events.filter(kind="assigned").first().summary
    assert Task.objects.get(lead=lead).assignee == workspace.teammate  # the task follows


def test_routing_again_leaves_an_owned_lead_with_its_owner(workspace):
    follow_up(workspace.americas, reroute=True)
    lead = capture(INSURER).lead
    set_industry_points(40)
    run_until_idle()
    lead.refresh_from_db()
    assert lead.owner == workspace.owner
    assert Event.objects.filter(lead=lead, kind="assigned").count() == 1  # at capture only


def test_the_action_runs_once_even_if_its_job_is_queued_again(workspace):
    follow_up(workspace.americas)
    lead = capture({**INSURER, "source": "demo_request"}).lead
    mql.sweep(clock.now())
    mql.sync([lead], clock.now())  # a second worker that read the lead before the crossing
    assert Job.objects.filter(kind="mql_reached", lead_id=lead.pk).count() == 1


def test_leads_captured_over_the_line_reach_mql_when_the_worker_announces_them(workspace):
    follow_up(workspace.americas)
    hot = [
        capture({**INSURER, "email": f"hot{i}@acme-corp.com", "source": "demo_request"}).lead
        for i in range(5)
    ]
    cold = capture({**INSURER, "email": "cold@acme-corp.com"}).lead
    run_until_idle()
    for lead in hot:
        assert crossings(lead) == ["Reached MQL: score 55 ≥ 50"]
        assert Task.objects.filter(lead=lead, title="Call now: reached MQL").count() == 1
    assert crossings(cold) == [] and not Task.objects.filter(lead=cold).exists()
    assert mql.sweep(clock.now()) == 0  # nothing left for the minute's sweep to find


def test_a_team_without_mql_actions_queues_no_action_jobs(workspace):
    lead = capture({**INSURER, "source": "demo_request"}).lead
    run_until_idle()
    assert crossings(lead) == ["Reached MQL: score 55 ≥ 50"]
    assert not Job.objects.filter(kind="mql_reached").exists()
