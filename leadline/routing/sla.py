"""Speed-to-lead SLAs: which policy applies, when a first response is due, what a breach does."""

from datetime import datetime

from django.db import transaction

from leadline.core.calendar import BusinessCalendar
from leadline.core.choices import OPEN_STATUSES
from leadline.core.conditions import all_match
from leadline.core.models import Job, Team
from leadline.core.prepared import Prepared
from leadline.routing.models import SlaPolicy

DEFAULT_SLA_MINUTES = 5


def load_policies() -> list[SlaPolicy]:
    return list(SlaPolicy.objects.filter(is_active=True))


def due_at(team: Team | None, record: dict, policies: list[SlaPolicy], start: datetime):
    """(due time, policy name): the first matching policy, else the team's default target."""
    policy = next((p for p in policies if all_match(p.conditions, record)), None)
    calendar = team.calendar() if team else BusinessCalendar()
    if policy is not None:
        if not policy.business_hours:
            calendar = BusinessCalendar(always_open=True)
        return calendar.add_minutes(start, policy.minutes), policy.name
    minutes = team.sla_minutes if team else DEFAULT_SLA_MINUTES
    return calendar.add_minutes(start, minutes), ""


BREACH_ROUND = 100  # leads handled per worker round


def _overdue(limit: int):
    from leadline.leads.models import Lead

    return lambda now: (
        Lead.objects.filter(
            first_response_at__isnull=True,
            sla_breached_at__isnull=True,
            sla_due_at__lte=now,
            status__in=OPEN_STATUSES,
            merged_into__isnull=True,
        )
        .order_by("sla_due_at")
        .values_list("pk", flat=True)[:limit]
    )


_OVERDUE: list = []  # compiled once (it runs in every worker round, work or not)


def breach_due(now: datetime, limit: int = BREACH_ROUND) -> int:
    """Handle leads whose first-response deadline passed, each breach exactly once."""
    if limit != BREACH_ROUND:
        due = list(_overdue(limit)(now))
    else:
        if not _OVERDUE:
            from leadline.leads.models import Lead

            _OVERDUE.append(Prepared(_overdue(limit), Lead._meta.get_field("sla_due_at")))
        due = [row[0] for row in _OVERDUE[0](now)]
    return sum(_breach(pk, now) for pk in due)


@transaction.atomic
def _breach(pk: int, now: datetime) -> bool:
    from leadline.leads.actions import record
    from leadline.leads.models import Lead

    # The guarded update is the claim: a second worker's update changes no row and stops here.
    won = Lead.objects.filter(
        pk=pk, sla_breached_at__isnull=True, first_response_at__isnull=True
    ).update(sla_breached_at=now)
    if not won:
        return False
    lead = Lead.objects.select_related("owner", "team").get(pk=pk)
    due = lead.sla_due_at
    record(
        lead,
        "sla_breached",
        f"Speed-to-lead SLA breached (due {due:%Y-%m-%d %H:%M} UTC)",
        now,
        due_at=due.isoformat(),
        owner=lead.owner.get_username() if lead.owner else None,
    )
    Job.objects.create(
        kind="notify_breach",
        lead_id=pk,
        run_at=now,
        created_at=now,
        payload={"owner": lead.owner_id},
        dedupe_key=f"breach:{pk}:{due.isoformat()}",
    )
    team = lead.team
    if team and team.reassign_on_breach and lead.reassign_count < team.max_reassignments:
        _reassign_after_breach(lead, team, now)
    return True


def _reassign_after_breach(lead, team: Team, now: datetime) -> None:
    from leadline.core.notify import after_assignment
    from leadline.leads.actions import record
    from leadline.routing.assign import Router

    router = Router(now)
    owner_id, reason = router.pick(team, exclude=(lead.owner_id,) if lead.owner_id else ())
    if owner_id is None:
        return
    router.flush()
    before = lead.owner
    lead.owner_id = owner_id
    lead.assigned_at = now
    lead.reassign_count += 1
    lead.sla_breached_at = None  # the new owner gets a fresh clock
    lead.sla_due_at, _ = due_at(team, {}, [], now)
    reason["explanation"] = (
        f"Reassigned after {before or 'nobody'} missed the first-response SLA "
        f"(reassignment {lead.reassign_count} of {team.max_reassignments}). "
        + reason.get("explanation", "")
    )
    lead.routing_reason = reason
    lead.save(
        update_fields=[
            "owner",
            "assigned_at",
            "reassign_count",
            "sla_breached_at",
            "sla_due_at",
            "routing_reason",
        ]
    )
    record(lead, "assigned", reason["explanation"], now, reason=reason)
    after_assignment(lead, now)
