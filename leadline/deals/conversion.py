"""Conversion: a qualified lead becomes account + contact + opportunity with a handoff brief."""

from datetime import datetime
from decimal import Decimal

from django.db import transaction

from leadline.core.choices import Status
from leadline.core.clock import clock
from leadline.core.errors import DomainError
from leadline.deals.models import Account, Contact, Opportunity


def find_account(lead) -> Account | None:
    if lead.account_id:
        return lead.account
    if lead.company_domain:
        found = Account.objects.filter(domain=lead.company_domain).first()
        if found:
            return found
    if lead.company:
        return Account.objects.filter(name__iexact=lead.company).first()
    return None


def handoff_brief(lead, *, problem: str, outcome: str, decision_makers: str) -> dict:
    activities = lead.activities.order_by("-at")[:5]
    return {
        "problem": problem,
        "desired_outcome": outcome,
        "decision_makers": decision_makers,
        "qualification": lead.qualification,
        "source": lead.source,
        "campaign": lead.campaign.name if lead.campaign_id else None,
        "score": {"total": lead.score, "fit": lead.fit_score, "engagement": lead.engagement_score},
        "first_response_minutes": lead.response_minutes,
        "recent_activity": [
            {
                "at": a.at.isoformat(),
                "kind": a.kind,
                "subject": a.subject,
                "outcome": a.outcome,
                "by": a.actor.get_username() if a.actor else None,
            }
            for a in activities
        ],
    }


@transaction.atomic
def convert(
    lead,
    actor=None,
    *,
    opportunity_name: str = "",
    amount: Decimal | None = None,
    problem: str = "",
    outcome: str = "",
    decision_makers: str = "",
    now: datetime | None = None,
) -> Opportunity:
    from leadline.leads.actions import _locked, record, transition

    now = now or clock.now()
    lead = _locked(lead)
    if lead.status != Status.QUALIFIED:
        raise DomainError(
            {"to": f"only a qualified lead can be converted (this one is {lead.status})"}
        )
    if not problem.strip():
        raise DomainError({"problem": "the handoff brief needs the problem to solve"})
    account = find_account(lead)
    created_account = account is None
    if account is None:
        account = Account.objects.create(
            name=lead.company or lead.display_name,
            domain=lead.company_domain,
            website=lead.website,
            industry=lead.industry,
            employees=lead.employees,
            country=lead.country,
            owner_id=lead.owner_id,
            created_at=now,
        )
    contact = None
    if lead.email:
        contact = Contact.objects.filter(account=account, email=lead.email).first()
    if contact is None:
        contact = Contact.objects.create(
            account=account,
            first_name=lead.first_name,
            last_name=lead.last_name,
            email=lead.email,
            phone=lead.phone_e164 or lead.phone,
            title=lead.title,
            created_at=now,
        )
    opportunity = Opportunity.objects.create(
        name=opportunity_name.strip() or f"{account.name} — {lead.display_name}",
        account=account,
        contact=contact,
        owner_id=lead.owner_id,
        amount=amount,
        source=lead.source,
        campaign_id=lead.campaign_id,
        created_at=now,
        handoff_brief=handoff_brief(
            lead, problem=problem, outcome=outcome, decision_makers=decision_makers
        ),
    )
    lead.account, lead.converted_opportunity, lead.converted_at = account, opportunity, now
    lead.save(update_fields=["account", "converted_opportunity", "converted_at"])
    transition(
        lead,
        Status.CONVERTED,
        actor,
        reason=f"Converted to opportunity “{opportunity.name}”",
        now=now,
    )
    record(
        lead,
        "converted",
        f"Opportunity “{opportunity.name}” for "
        f"{'new' if created_account else 'existing'} account {account.name}",
        now,
        actor,
        opportunity=opportunity.pk,
        account=account.pk,
        contact=contact.pk,
    )
    return opportunity
