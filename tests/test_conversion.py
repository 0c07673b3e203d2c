from datetime import timedelta
from decimal import Decimal

import pytest

from leadline.core.clock import clock
from leadline.core.errors import DomainError
from leadline.deals.conversion import convert
from leadline.deals.models import Account, Opportunity
from leadline.intake.pipeline import capture
from leadline.leads import actions


def qualified_lead(workspace, email="dana@acme-corp.com"):
    lead = capture(
        {"email": email, "first_name": "Dana", "company": "Acme Corp", "source": "webinar"}
    ).lead
    actions.log_activity(lead, "call", workspace.owner, subject="Intro", outcome="connected")
    actions.transition(
        lead,
        "working",
        workspace.owner,
        next_step="Discovery",
        next_step_due_at=clock.now() + timedelta(days=1),
    )
    return actions.transition(
        lead,
        "qualified",
        workspace.owner,
        answers={"budget": True, "authority": True, "need": True, "timeline": True},
    )


def test_it_creates_account_contact_and_opportunity_with_a_brief(workspace):
    lead = qualified_lead(workspace)
    opp = convert(
        lead,
        workspace.owner,
        amount=Decimal("24000"),
        problem="Slow follow-up",
        outcome="Answer in 5 minutes",
        decision_makers="Dana (VP)",
    )
    lead.refresh_from_db()
    assert lead.status == "converted" and lead.converted_opportunity == opp
    assert opp.account.name == "Acme Corp" and opp.account.domain == "acme-corp.com"
    assert opp.contact.email == "dana@acme-corp.com" and opp.owner == workspace.owner
    assert opp.source == "webinar" and opp.amount == Decimal("24000")
    brief = opp.handoff_brief
    assert brief["problem"] == "Slow follow-up" and brief["qualification"]["budget"] is True
    assert brief["recent_activity"][0]["subject"] == "Intro"
    assert lead.stage == "opportunity"


def test_it_attaches_to_an_existing_account_by_domain(workspace):
    account = Account.objects.create(name="ACME Corporation", domain="acme-corp.com")
    opp = convert(qualified_lead(workspace), workspace.owner, problem="x")
    assert opp.account == account and Account.objects.count() == 1


def test_only_qualified_leads_convert(workspace):
    lead = capture({"email": "new@acme-corp.com"}).lead
    with pytest.raises(DomainError):
        convert(lead, workspace.owner, problem="x")
    assert Opportunity.objects.count() == 0 and Account.objects.count() == 0


def test_the_brief_needs_the_problem(workspace):
    lead = qualified_lead(workspace)
    with pytest.raises(DomainError) as caught:
        convert(lead, workspace.owner, problem="  ")
    assert "problem" in caught.value.errors
    assert Opportunity.objects.count() == 0
