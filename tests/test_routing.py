from django.contrib.auth import get_user_model

from leadline.core.models import Membership, Team
from leadline.intake.pipeline import capture
from leadline.routing.models import RoutingRule


def test_round_robin_takes_turns_and_says_why(workspace):
    owners = [capture({"email": f"l{i}@acme-corp.com"}).lead.owner for i in range(4)]
    assert owners == [workspace.owner, workspace.teammate, workspace.owner, workspace.teammate]
    lead = capture({"email": "l9@acme-corp.com"}).lead
    reason = lead.routing_reason
    assert reason["method"] == "round_robin" and reason["chosen"] == "jordan"
    assert [c["user"] for c in reason["candidates"]] == ["jordan", "riley"]


def test_rules_send_leads_to_their_team(workspace):
    lead = capture({"email": "hans@example.de", "country": "DE"}).lead
    assert lead.team == workspace.emea and lead.owner == workspace.outsider
    assert lead.routing_reason["rule"] == "Europe"
    assert "Matched rule" in lead.routing_reason["explanation"]


def test_inactive_reps_are_skipped(workspace):
    Membership.objects.filter(user=workspace.owner).update(is_active=False)
    owners = {capture({"email": f"l{i}@acme-corp.com"}).lead.owner for i in range(3)}
    assert owners == {workspace.teammate}


def test_a_rule_can_name_a_person(workspace):
    RoutingRule.objects.create(
        name="Big accounts",
        order=0,
        team=workspace.americas,
        owner=workspace.manager,
        conditions=[{"field": "employees", "op": "gte", "value": 5000}],
    )
    big = capture({"email": "cio@bigco.com", "employees": 20000}).lead
    small = capture({"email": "cio@small.com", "employees": 20}).lead
    assert big.owner == workspace.manager and big.routing_reason["method"] == "rule_owner"
    assert small.owner == workspace.owner


def test_a_team_without_reps_keeps_the_lead_unassigned_in_its_queue(workspace):
    empty = Team.objects.create(name="Wholesale", slug="wholesale")
    RoutingRule.objects.create(
        name="Bulk",
        order=0,
        team=empty,
        conditions=[{"field": "source", "op": "eq", "value": "web_form"}],
    )
    lead = capture({"email": "buyer@shop.com", "source": "web_form"}).lead
    assert lead.team == empty and lead.owner is None
    assert "no active reps" in lead.routing_reason["explanation"]


def test_fairness_survives_a_restart(workspace):
    capture({"email": "a@acme-corp.com"})
    # A new process (a fresh Router) must continue the rotation, not restart it.
    second = capture({"email": "b@acme-corp.com"}).lead
    assert second.owner == workspace.teammate
    User = get_user_model()
    newcomer = User.objects.create_user("casey", "casey@example.com", "correct-horse-1")
    Membership.objects.create(user=newcomer, team=workspace.americas, role="rep")
    assert capture({"email": "c@acme-corp.com"}).lead.owner == newcomer
