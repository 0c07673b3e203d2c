"""Account ownership: a lead from a company that is already an account goes to its owner, when
a routing rule says so; otherwise, or when the owner cannot take it, the rotation decides."""

from datetime import timedelta

from leadline.core.clock import clock
from leadline.deals.models import Account
from leadline.intake.pipeline import capture
from leadline.routing.models import Absence, RoutingRule
from leadline.routing.simulate import simulate


def existing_accounts_rule(workspace, **more):
    return RoutingRule.objects.create(
        name="Existing accounts", order=0, team=workspace.americas, to_account_owner=True, **more
    )


def test_a_lead_of_an_owned_account_goes_to_the_account_owner(workspace):
    existing_accounts_rule(workspace)
    account = Account.objects.create(
        name="Acme Corp", domain="acme-corp.com", owner=workspace.teammate
    )
    lead = capture({"email": "dana@acme-corp.com", "first_name": "Dana"}).lead
    lead.refresh_from_db()
    assert lead.owner == workspace.teammate and lead.account == account
    assert lead.routing_reason["method"] == "account_owner"
    assert "Acme Corp is an existing account owned by riley" in lead.routing_reason["explanation"]
    # The rotation was not used: the next new company still gets the rep whose turn it is.
    other = capture({"email": "sam@globex.com"}).lead
    assert other.routing_reason["method"] == "round_robin"


def test_an_account_owner_in_another_team_takes_the_lead_into_that_team(workspace):
    existing_accounts_rule(workspace)
    Account.objects.create(name="Kestrel", domain="kestrel.de", owner=workspace.outsider)
    lead = capture({"email": "jo@kestrel.de", "country": "US"}).lead
    assert (lead.owner, lead.team) == (workspace.outsider, workspace.emea)


def test_an_away_account_owner_falls_back_to_the_rotation_and_says_why(workspace):
    existing_accounts_rule(workspace)
    Account.objects.create(name="Acme Corp", domain="acme-corp.com", owner=workspace.teammate)
    Absence.objects.create(
        user=workspace.teammate,
        starts_at=clock.now() - timedelta(days=1),
        ends_at=clock.now() + timedelta(days=2),
    )
    lead = capture({"email": "dana@acme-corp.com"}).lead
    assert lead.owner == workspace.owner
    assert lead.routing_reason["account_owner"] == "Acme Corp's owner riley is out of office"


def test_without_the_rule_account_leads_are_rotated_like_any_other(workspace):
    Account.objects.create(name="Acme Corp", domain="acme-corp.com", owner=workspace.teammate)
    lead = capture({"email": "dana@acme-corp.com"}).lead
    assert lead.routing_reason["method"] == "round_robin" and lead.owner == workspace.owner


def test_the_simulator_replays_account_ownership_as_a_run_does(workspace):
    Account.objects.create(name="Acme Corp", domain="acme-corp.com", owner=workspace.teammate)
    existing_accounts_rule(workspace, is_active=False)  # a draft, not yet active
    for i in range(4):
        capture({"email": f"buyer{i}@acme-corp.com"})  # rotated: jordan, riley, jordan, riley
    draft = list(RoutingRule.objects.order_by("order"))
    for rule in draft:
        rule.is_active = True
    result = simulate(days=1, rules=draft)
    assert result["by_rep"] == {"riley": 4}
    assert result["different_owner"] == 2
