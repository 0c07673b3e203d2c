"""Every write to a lead goes through here, so events and history happen in one place.

Each function reads the clock once (or takes `now`), locks the lead row, checks its guards and
records what happened on the timeline, all in one transaction.
"""

from datetime import UTC, datetime

from django.db import transaction

from leadline.core.choices import (
    RECYCLE_MOVES,
    RESPONSE_KINDS,
    TRANSITIONS,
    ActivityKind,
    Status,
)
from leadline.core.clock import clock
from leadline.core.errors import DomainError
from leadline.core.models import BANT, DEFAULT_GUARDS, ReasonCode
from leadline.core.notify import after_assignment
from leadline.leads.models import Activity, Event, Lead, Task, Transition
from leadline.routing.assign import team_calendar

EDITABLE_FIELDS = (
    "first_name last_name email phone title company website industry employees revenue "
    "country region city timezone source_detail do_not_contact do_not_email do_not_call"
).split()


def aware(moment: datetime | None) -> datetime | None:
    """A time without an offset is read as UTC (the API's and the forms' convention)."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def record(lead: Lead, kind: str, summary: str, at: datetime, actor=None, /, **data) -> Event:
    return Event.objects.create(
        lead=lead, kind=kind, summary=summary, at=at, actor=actor, data=data
    )


def _locked(lead: Lead) -> Lead:
    return Lead.objects.select_for_update(of=("self",)).select_related("team").get(pk=lead.pk)


def criteria_for(lead: Lead) -> list[dict]:
    return lead.team.qualification_criteria if lead.team_id else BANT


def guards_for(lead: Lead, to: str) -> list[str]:
    guards = lead.team.guards if lead.team_id else DEFAULT_GUARDS
    return list(guards.get(to, []))


def unmet_criteria(criteria: list[dict], answers: dict) -> dict[str, str]:
    """Which qualification criteria the answers fail, keyed `qualification.<key>`."""
    problems = {}
    for item in criteria:
        if not item.get("required", True):
            continue
        key, value = item["key"], answers.get(item["key"])
        if item.get("type") == "number":
            try:
                number = float(value)
            except (TypeError, ValueError):
                problems[f"qualification.{key}"] = f"{item['label']}: a number is required"
                continue
            if item.get("min") is not None and number < float(item["min"]):
                problems[f"qualification.{key}"] = f"{item['label']}: at least {item['min']}"
        elif item.get("type") == "text":
            if not str(value or "").strip():
                problems[f"qualification.{key}"] = f"{item['label']}: required"
        elif value not in (True, "true", "yes", "1", 1):
            problems[f"qualification.{key}"] = f"{item['label']}: not met"
    return problems


def _check_guards(lead: Lead, to: str, *, reason_code: str, next_step_given: bool) -> None:
    allowed = TRANSITIONS.get(lead.status, ())
    if to not in allowed:
        options = ", ".join(allowed) or "none (final status)"
        raise DomainError({"to": f"cannot move from {lead.status} to {to}; allowed: {options}"})
    problems: dict[str, str] = {}
    for guard in guards_for(lead, to):
        if guard == "next_step" and not (next_step_given or lead.next_step):
            problems["next_step"] = f"a next step with a due time is required to move to {to}"
        elif guard == "criteria":
            problems.update(unmet_criteria(criteria_for(lead), lead.qualification or {}))
        elif guard == "reason_code" and not reason_code:
            problems["reason_code"] = "a reason code is required to disqualify"
    if reason_code and to == Status.DISQUALIFIED:
        if not ReasonCode.objects.filter(code=reason_code, is_active=True).exists():
            problems["reason_code"] = f"unknown reason code {reason_code!r}"
    if problems:
        raise DomainError(problems)


@transaction.atomic
def transition(
    lead: Lead,
    to: str,
    actor=None,
    *,
    reason: str = "",
    reason_code: str = "",
    next_step: str = "",
    next_step_due_at: datetime | None = None,
    answers: dict | None = None,
    now: datetime | None = None,
) -> Lead:
    """The only way a lead's status changes."""
    now = now or clock.now()
    next_step_due_at = aware(next_step_due_at)
    lead = _locked(lead)
    if to not in Status.values:
        raise DomainError({"to": f"unknown status {to!r}"})
    if answers:
        lead.qualification = {**(lead.qualification or {}), **answers}
    if next_step and not next_step_due_at:
        raise DomainError({"next_step_due_at": "when is the next step due?"})
    _check_guards(lead, to, reason_code=reason_code, next_step_given=bool(next_step))
    if next_step:
        _set_next_step(lead, next_step, next_step_due_at, actor, now)
    before = lead.status
    lead.status, lead.status_changed_at, lead.updated_at = to, now, now
    if (before, to) in RECYCLE_MOVES:
        lead.recycle_count += 1
        lead.recycle_at = None
        if before == Status.DISQUALIFIED:
            lead.disqualify_reason = ""
    if to == Status.DISQUALIFIED:
        lead.disqualify_reason = reason_code
        code = ReasonCode.objects.get(code=reason_code)
        lead.recycle_at = (
            team_calendar(lead.team).add_days(now, code.recycle_days) if code.recycle_days else None
        )
    if to in (Status.DISQUALIFIED, Status.CONVERTED):
        Task.objects.filter(lead=lead, done_at__isnull=True).update(done_at=now)
        lead.next_step, lead.next_step_due_at = "", None
    lead.save()
    Transition.objects.create(
        lead=lead,
        from_status=before,
        to_status=to,
        actor=actor,
        at=now,
        reason=reason,
        reason_code=reason_code,
    )
    summary = f"{before} → {to}" + (f" ({reason_code})" if reason_code else "")
    record(
        lead,
        "transition",
        summary + (f": {reason}" if reason else ""),
        now,
        actor,
        **{"from": before, "to": to, "reason": reason, "reason_code": reason_code},
    )
    return lead


def _set_next_step(lead: Lead, title: str, due_at: datetime, actor, now: datetime) -> Task:
    Task.objects.filter(lead=lead, done_at__isnull=True).update(done_at=now)
    task = Task.objects.create(
        lead=lead,
        title=title[:200],
        due_at=due_at,
        assignee_id=lead.owner_id,
        created_by=actor,
        created_at=now,
    )
    lead.next_step, lead.next_step_due_at = task.title, due_at
    record(lead, "next_step", f"Next step: {task.title}", now, actor, due_at=due_at.isoformat())
    return task


@transaction.atomic
def set_next_step(
    lead: Lead, title: str, due_at: datetime, actor=None, now: datetime | None = None
) -> Lead:
    now = now or clock.now()
    if not title.strip():
        raise DomainError({"title": "describe the next step"})
    if due_at is None:
        raise DomainError({"due_at": "when is the next step due?"})
    due_at = aware(due_at)
    lead = _locked(lead)
    if not lead.is_open:
        raise DomainError({"": f"the lead is {lead.status}; reopen it first"})
    _set_next_step(lead, title.strip(), due_at, actor, now)
    lead.updated_at = now
    lead.save(update_fields=["next_step", "next_step_due_at", "updated_at"])
    return lead


@transaction.atomic
def log_activity(
    lead: Lead,
    kind: str,
    actor=None,
    *,
    subject: str = "",
    body: str = "",
    outcome: str = "",
    at: datetime | None = None,
    now: datetime | None = None,
) -> Activity:
    """Log a call, email, meeting or note; the first sales touch stops the SLA clock."""
    now = now or clock.now()
    at = aware(at) or now
    if kind not in ActivityKind.values:
        raise DomainError({"kind": f"must be one of {', '.join(ActivityKind.values)}"})
    if at > now:
        raise DomainError({"at": "an activity cannot be logged in the future"})
    lead = _locked(lead)
    activity = Activity.objects.create(
        lead=lead,
        kind=kind,
        subject=subject[:200],
        body=body,
        outcome=outcome[:60],
        actor=actor,
        at=at,
    )
    fields = ["last_activity_at", "updated_at"]
    lead.last_activity_at = max(filter(None, [lead.last_activity_at, at]))
    lead.updated_at = now
    first = kind in RESPONSE_KINDS and actor is not None and lead.first_response_at is None
    if first:
        lead.first_response_at = at
        lead.response_minutes = team_calendar(lead.team).minutes_between(lead.captured_at, at)
        fields += ["first_response_at", "response_minutes"]
    lead.save(update_fields=fields)
    label = ActivityKind(kind).label
    record(
        lead,
        "activity",
        f"{label}: {subject or outcome or body[:80]}".rstrip(": "),
        at,
        actor,
        activity=activity.pk,
        kind=kind,
        outcome=outcome,
    )
    if first:
        on_time = lead.sla_due_at is None or at <= lead.sla_due_at
        record(
            lead,
            "first_response",
            f"First response after {lead.response_minutes:.0f} business minute(s)"
            + ("" if on_time else " — after the SLA"),
            at,
            actor,
            minutes=lead.response_minutes,
            within_sla=on_time,
        )
    return activity


@transaction.atomic
def update_fields(lead: Lead, changes: dict, actor=None, now: datetime | None = None) -> Lead:
    """Edit a lead's descriptive fields (status, owner and scores have their own actions)."""
    from leadline.intake.pipeline import normalise, rescore
    from leadline.quality.duplicates import KEYED_COLUMNS, record_keys

    now = now or clock.now()
    unknown = set(changes) - set(EDITABLE_FIELDS) - {"custom"}
    if unknown:
        raise DomainError({name: "cannot be changed here" for name in sorted(unknown)})
    lead = _locked(lead)
    current = {name: getattr(lead, name) for name in EDITABLE_FIELDS}
    current["custom"] = lead.custom
    clean, errors = normalise({**current, **changes})
    if errors:
        raise DomainError(errors)
    changed = {}
    for name, value in clean.items():
        if (
            hasattr(lead, name)
            and getattr(lead, name) != value
            and name
            in (
                *EDITABLE_FIELDS,
                "email_key",
                "phone_e164",
                "company_domain",
                "seniority",
                "department",
                "custom",
            )
        ):
            changed[name] = [getattr(lead, name), value]
            setattr(lead, name, value)
    if not changed:
        return lead
    if "email_key" in changed and lead.email_key and lead.is_open:
        twin = Lead.objects.open().filter(email_key=lead.email_key).exclude(pk=lead.pk).first()
        if twin:
            raise DomainError({"email": f"lead {twin.pk} is open with this email already"})
    lead.updated_at = now
    rescore(lead, now)
    lead.save()
    if KEYED_COLUMNS.intersection(changed) and not lead.merged_into_id:
        record_keys([lead])  # the capture-time duplicate lookup finds it by its new details
    shown = {k: v for k, v in changed.items() if k in changes}
    record(
        lead,
        "updated",
        "Updated " + ", ".join(sorted(shown)),
        now,
        actor,
        changes={k: [str(a), str(b)] for k, (a, b) in shown.items()},
    )
    return lead


@transaction.atomic
def reassign(lead: Lead, owner, actor=None, *, reason: str = "", now: datetime | None = None):
    now = now or clock.now()
    if not reason.strip():
        raise DomainError({"reason": "say why the lead is reassigned"})
    lead = _locked(lead)
    if (
        owner is not None
        and lead.team_id
        and not owner.memberships.filter(team_id=lead.team_id).exists()
    ):
        raise DomainError({"owner": f"{owner} is not a member of {lead.team}"})
    before = lead.owner
    lead.owner, lead.assigned_at, lead.updated_at = owner, now, now
    lead.routing_reason = {
        "method": "manual",
        "chosen": owner.get_username() if owner else None,
        "explanation": f"Reassigned by {actor or 'the system'}: {reason}",
    }
    lead.save(update_fields=["owner", "assigned_at", "updated_at", "routing_reason"])
    record(
        lead,
        "assigned",
        f"Reassigned from {before or 'nobody'} to {owner or 'nobody'}: {reason}",
        now,
        actor,
        reason=reason,
    )
    after_assignment(lead, now)
    return lead


@transaction.atomic
def reassign_many(leads, owner, actor=None, *, reason: str = "", now: datetime | None = None):
    """Bulk reassignment: all or nothing, each lead's move recorded on its own timeline."""
    now = now or clock.now()
    return [reassign(lead, owner, actor, reason=reason, now=now) for lead in leads]
