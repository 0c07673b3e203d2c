"""Time-based rules: "when a lead has been in STATUS / without activity / without a next step for
N (business) days → act". Each rule acts once per episode of a lead (the anchor is the moment the
episode started: the status change, the last activity), claimed by inserting a RuleFiring first so
two workers never act twice."""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.db.models.functions import Coalesce

from leadline.core.calendar import BusinessCalendar
from leadline.core.choices import OPEN_STATUSES, Status
from leadline.core.conditions import all_match
from leadline.core.models import Job, Team
from leadline.routing.models import RuleFiring, TimeRule

ANSWERED = ("connected", "replied", "meeting booked", "answered")
BATCH = 200


def _threshold(rule: TimeRule, team: Team | None, now: datetime) -> datetime:
    if rule.business_days:
        calendar = team.calendar() if team else BusinessCalendar()
        return calendar.subtract_days(now, rule.days)
    return now - timedelta(days=rule.days)


def candidates(rule: TimeRule, team: Team | None, now: datetime):
    """Leads of one team that the rule applies to now, each with the anchor of its episode."""
    from leadline.leads.models import Lead

    limit = _threshold(rule, team, now)
    statuses = rule.statuses or list(OPEN_STATUSES)
    qs = Lead.objects.live().filter(status__in=statuses, team=team)
    if rule.trigger == TimeRule.Trigger.IN_STATUS:
        qs = qs.filter(status_changed_at__lte=limit).annotate(
            anchor=Coalesce("status_changed_at", "captured_at")
        )
    elif rule.trigger == TimeRule.Trigger.NO_ACTIVITY:
        qs = qs.annotate(anchor=Coalesce("last_activity_at", "captured_at")).filter(
            anchor__lte=limit
        )
    elif rule.trigger == TimeRule.Trigger.NO_NEXT_STEP:
        qs = qs.filter(next_step="", status_changed_at__lte=limit).annotate(
            anchor=Coalesce("status_changed_at", "captured_at")
        )
    else:  # unanswered follow-ups since the lead's status changed
        qs = qs.annotate(
            anchor=Coalesce("status_changed_at", "captured_at"),
            tries=Count("activities", filter=Q(activities__kind__in=("call", "email"))),
            answers=Count("activities", filter=Q(activities__outcome__in=ANSWERED)),
        ).filter(tries__gte=max(1, rule.followups), answers=0, anchor__lte=limit)
    fired = RuleFiring.objects.filter(rule=rule).values("lead_id", "anchor")
    seen = {(f["lead_id"], f["anchor"]) for f in fired.filter(lead_id__in=qs.values("pk"))}
    for lead in qs.select_related("team", "owner").order_by("pk")[:BATCH]:
        if (lead.pk, lead.anchor) in seen:
            continue
        if rule.conditions and not all_match(rule.conditions, lead.__dict__):
            continue
        yield lead


def apply_rules(now: datetime) -> int:
    """Run every active rule for every team; returns how many actions were taken."""
    done = 0
    teams = [*Team.objects.all(), None]
    for rule in TimeRule.objects.filter(is_active=True):
        for team in teams:
            for lead in list(candidates(rule, team, now)):
                done += act(rule, lead, now)
    return done


def act(rule: TimeRule, lead, now: datetime) -> bool:
    from leadline.leads import actions
    from leadline.leads.models import Lead

    try:
        with transaction.atomic():
            RuleFiring.objects.create(rule=rule, lead=lead, anchor=lead.anchor, fired_at=now)
            why = f"Time rule “{rule.name}”"
            if rule.action in (TimeRule.Action.NURTURE, TimeRule.Action.COLD):
                if rule.action == TimeRule.Action.COLD:
                    Lead.objects.filter(pk=lead.pk).update(cold_at=now)
                    actions.record(lead, "cold", f"{why}: marked cold", now, rule=rule.pk)
                if lead.status != Status.NURTURE:
                    actions.transition(lead, Status.NURTURE, None, reason=why, now=now)
            elif rule.action == TimeRule.Action.TASK:
                calendar = lead.team.calendar() if lead.team_id else BusinessCalendar()
                actions.set_next_step(
                    lead, rule.task_title or rule.name, calendar.add_days(now, 1), None, now=now
                )
            elif rule.action == TimeRule.Action.NOTIFY:
                Job.objects.create(
                    kind="notify_rule",
                    lead_id=lead.pk,
                    run_at=now,
                    created_at=now,
                    payload={"rule": rule.name},
                )
                actions.record(lead, "rule", f"{why}: owner notified", now, rule=rule.pk)
            elif rule.action == TimeRule.Action.REASSIGN:
                _reassign(lead, why, now)
            elif rule.action == TimeRule.Action.RECYCLE:
                _recycle(lead, why, now)
    except IntegrityError:
        return False  # another worker fired it for this episode
    return True


def _reassign(lead, why: str, now: datetime) -> None:
    from django.contrib.auth import get_user_model

    from leadline.leads import actions
    from leadline.routing.assign import Router

    if not lead.team_id:
        return
    router = Router(now)
    owner_id, reason = router.pick(lead.team, exclude=(lead.owner_id,) if lead.owner_id else ())
    if owner_id is None:
        return
    router.flush()
    owner = get_user_model().objects.get(pk=owner_id)
    actions.reassign(lead, owner, None, reason=why, now=now)


def _recycle(lead, why: str, now: datetime) -> None:
    from leadline.leads import actions

    if lead.status == Status.DISQUALIFIED:
        actions.transition(lead, Status.NEW, None, reason=why, now=now)
    elif lead.status == Status.NURTURE:
        calendar = lead.team.calendar() if lead.team_id else BusinessCalendar()
        actions.transition(
            lead,
            Status.WORKING,
            None,
            reason=why,
            next_step="Re-engage",
            next_step_due_at=calendar.add_days(now, 1),
            now=now,
        )
