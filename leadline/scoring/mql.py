"""Crossing the MQL line: when a lead's score reaches its team's threshold, record it on the
timeline and do what the team asked (a follow-up task for the owner, routing again) — once per
crossing, however many times the lead is re-scored and however many workers re-score it.

Whether a lead was above the line when last checked is kept in `MqlState`; a crossing is a change
of that row claimed by a guarded update. The action runs as a job after the crossing is recorded,
so a failure is retried and never undoes the crossing.

`sync` checks leads just re-scored (the background re-score after a rule change calls it);
`sweep` finds every lead whose state disagrees with its stored score, whatever re-scored it
(captures, engagement events, edits) or moved the line (a new threshold).
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce

from leadline.core.choices import JobStatus, Status
from leadline.core.jobs import enqueue, handler
from leadline.core.models import Job
from leadline.core.prepared import Prepared
from leadline.scoring.models import MqlPolicy, MqlState

# The statuses whose marketing stage is MQL when the score reaches the line (qualified is SQL).
MQL_STATUSES = (Status.NEW, Status.WORKING, Status.NURTURE)
SWEEP_BATCH = 500
# The teams whose policy does something on a crossing (read for every batch of new leads).
_acting_teams = Prepared(
    lambda: MqlPolicy.objects.filter(Q(create_task=True) | Q(reroute=True)).values_list("team_id")
)


def is_above(lead, score: int | None = None) -> bool:
    """At or over the team's MQL line (with `score` instead of the lead's own, for a preview)."""
    if lead.status not in MQL_STATUSES or lead.merged_into_id is not None:
        return False
    return (lead.score if score is None else score) >= lead.mql_threshold


def sync(leads: Iterable, now: datetime, cause: str = "") -> int:
    """Record crossings of these (just re-scored, saved) leads; returns how many reached MQL."""
    leads = list(leads)
    was = dict(
        MqlState.objects.filter(lead_id__in=[lead.pk for lead in leads]).values_list(
            "lead_id", "is_mql"
        )
    )
    reached = 0
    for lead in leads:
        above = is_above(lead)
        if above and not was.get(lead.pk, False):
            reached += _reached(lead, now, cause)
        elif not above and was.get(lead.pk, False):
            _left(lead, now)
    return reached


def arrived(leads: list, now: datetime) -> int:
    """New leads, as the worker announces them: those captured over the line reach MQL now, in
    one round of statements for the batch (the sweep would otherwise find them one by one).
    The claim is an insert that does nothing on conflict and returns the rows it made: a lead
    the sweep (or another worker) already claimed is left alone. The action job is queued
    only for teams whose policy does something. Returns how many reached MQL."""
    from leadline.core.rows import insert_rows
    from leadline.leads.models import Event

    above = [lead for lead in leads if is_above(lead)]
    if not above:
        return 0
    table = connection.ops.quote_name(MqlState._meta.db_table)
    rows = ", ".join(["(%s, %s, %s, %s)"] * len(above))
    adapt = connection.ops.adapt_datetimefield_value
    params = [v for lead in above for v in (lead.pk, True, 1, adapt(now))]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (lead_id, is_mql, crossings, changed_at) VALUES {rows} "
            "ON CONFLICT (lead_id) DO NOTHING RETURNING lead_id",
            params,
        )
        won = {row[0] for row in cursor.fetchall()}
        reached = [lead for lead in above if lead.pk in won]
        acting = {team_id for (team_id,) in _acting_teams()}
        insert_rows(
            Event,
            [
                {
                    "lead_id": lead.pk,
                    "kind": "mql",
                    "summary": f"Reached MQL: score {lead.score} ≥ {lead.mql_threshold}",
                    "at": now,
                    "data": {
                        "score": lead.score,
                        "threshold": lead.mql_threshold,
                        "crossing": 1,
                        "cause": "",
                    },
                }
                for lead in reached
            ],
        )
        Job.objects.bulk_create(
            [
                Job(
                    kind="mql_reached",
                    lead_id=lead.pk,
                    run_at=now,
                    created_at=now,
                    payload={"crossing": 1},
                    dedupe_key=f"mql:{lead.pk}:1",
                )
                for lead in reached
                if lead.team_id in acting
            ],
            ignore_conflicts=True,
        )
    return len(reached)


def sweep(now: datetime, limit: int = SWEEP_BATCH) -> int:
    """Check up to `limit` leads whose MQL state disagrees with their score and status; returns
    how many were checked (0: every lead agrees)."""
    from leadline.leads.models import DEFAULT_MQL_THRESHOLD, Lead

    line = Coalesce(F("team__mql_threshold"), Value(DEFAULT_MQL_THRESHOLD))
    up = (
        Lead.objects.filter(status__in=MQL_STATUSES, merged_into__isnull=True, score__gte=line)
        .exclude(mql_state__is_mql=True)
        .values_list("pk", flat=True)[:limit]
    )
    lead_line = Coalesce(F("lead__team__mql_threshold"), Value(DEFAULT_MQL_THRESHOLD))
    down = (
        MqlState.objects.filter(is_mql=True)
        .filter(
            Q(lead__score__lt=lead_line)
            | ~Q(lead__status__in=MQL_STATUSES)
            | Q(lead__merged_into__isnull=False)
        )
        .values_list("lead_id", flat=True)[:limit]
    )
    ids = {*up, *down}
    if ids:
        sync(Lead.objects.select_related("team").filter(pk__in=ids).order_by("pk"), now)
    return len(ids)


def request_sweep(now: datetime) -> None:
    """Queue a full sweep (after the line moved), unless one is already waiting."""
    if not Job.objects.filter(kind="mql_sweep", status=JobStatus.PENDING).exists():
        enqueue("mql_sweep", run_at=now)


@handler("mql_sweep")
def sweep_job(job: Job, now: datetime) -> None:
    while sweep(now):
        pass


def _reached(lead, now: datetime, cause: str) -> bool:
    from leadline.leads.actions import record

    with transaction.atomic():
        # The claim: of two workers re-scoring the same lead, one update (or insert) wins.
        won = MqlState.objects.filter(lead_id=lead.pk, is_mql=False).update(
            is_mql=True, crossings=F("crossings") + 1, changed_at=now
        )
        if not won:
            try:
                with transaction.atomic():
                    MqlState.objects.create(
                        lead_id=lead.pk, is_mql=True, crossings=1, changed_at=now
                    )
            except IntegrityError:
                return False  # already above the line: no crossing
        crossing = MqlState.objects.values_list("crossings", flat=True).get(lead_id=lead.pk)
        threshold = lead.mql_threshold
        record(
            lead,
            "mql",
            f"Reached MQL: score {lead.score} ≥ {threshold}" + (f" ({cause})" if cause else ""),
            now,
            score=lead.score,
            threshold=threshold,
            crossing=crossing,
            cause=cause,
        )
        enqueue(
            "mql_reached",
            lead_id=lead.pk,
            run_at=now,
            dedupe_key=f"mql:{lead.pk}:{crossing}",
            crossing=crossing,
        )
    return True


def _left(lead, now: datetime) -> None:
    from leadline.leads.actions import record

    with transaction.atomic():
        won = MqlState.objects.filter(lead_id=lead.pk, is_mql=True).update(
            is_mql=False, changed_at=now
        )
        # A lead that was qualified, closed or merged has its own event; a score that fell says so.
        if won and lead.status in MQL_STATUSES and lead.merged_into_id is None:
            record(
                lead,
                "mql_left",
                f"Fell below the MQL line: score {lead.score} < {lead.mql_threshold}",
                now,
                score=lead.score,
                threshold=lead.mql_threshold,
            )


@handler("mql_reached")
def act(job: Job, now: datetime) -> None:
    """The team's MQL actions for one crossing: route again, then a task for the (new) owner."""
    from leadline.leads.models import Lead

    lead = Lead.objects.select_related("team", "owner").filter(pk=job.lead_id).first()
    if lead is None or not lead.is_open or lead.team_id is None:
        return
    policy = MqlPolicy.objects.filter(team_id=lead.team_id).first()
    if policy is None:
        return
    with transaction.atomic():
        if policy.reroute:
            _reroute(lead, now)
            lead.refresh_from_db()
        if policy.create_task:
            _follow_up(lead, policy, now)


def _follow_up(lead, policy: MqlPolicy, now: datetime) -> None:
    from leadline.leads.actions import set_next_step
    from leadline.routing.assign import team_calendar

    due = team_calendar(lead.team).add_minutes(now, policy.task_due_hours * 60)
    set_next_step(lead, policy.task_title, due, None, now=now)


def _reroute(lead, now: datetime) -> None:
    """Route the lead again with its MQL score. A rule that names a person, or a lead nobody owns
    yet, gets the routed owner; a lead with an owner in the routed team keeps it."""
    from django.contrib.auth import get_user_model

    from leadline.intake.pipeline import score_record
    from leadline.leads.actions import reassign, record
    from leadline.routing.assign import Router

    router = Router(now)
    values = {f.attname: getattr(lead, f.attname) for f in type(lead)._meta.concrete_fields}
    assignment = router.route(score_record(values))
    explanation = assignment.reason.get("explanation", "")
    if assignment.team is None or assignment.team.pk != lead.team_id:
        # Moving a lead to another team has no action of its own yet (see the issue note).
        record(
            lead,
            "mql",
            f"Routing again sends it to {assignment.team or 'no team'}; it stays with {lead.team} "
            "(moving a lead between teams is done by hand).",
            now,
            routed_team=assignment.team.name if assignment.team else None,
        )
        return
    named = assignment.reason.get("method") == "rule_owner"
    if assignment.owner_id is None or assignment.owner_id == lead.owner_id:
        return
    if lead.owner_id is not None and not named:
        return  # the rotation would only take it from its owner
    router.flush()
    owner = get_user_model().objects.get(pk=assignment.owner_id)
    reassign(lead, owner, None, reason=f"reached MQL; routed again. {explanation}", now=now)
