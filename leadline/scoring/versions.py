"""Scoring rules are versioned: every change snapshots the rule set and re-scores open leads in the
background (a due-work job), so a lead's score always says which rules produced it."""

from datetime import datetime

from django.db import transaction

from leadline.core.choices import JobStatus
from leadline.core.clock import clock
from leadline.core.jobs import handler
from leadline.core.models import Job
from leadline.scoring import mql
from leadline.scoring.models import RuleSetVersion
from leadline.scoring.rules import load_rules

RESCORE_BATCH = 2000


def snapshot(note: str = "", now: datetime | None = None) -> RuleSetVersion:
    """Record the current rules as a new version and queue a re-score of open leads."""
    now = now or clock.now()
    rules = [
        {
            "id": r.id,
            "kind": r.kind,
            "label": r.label,
            "field": r.field,
            "op": r.op,
            "value": r.value,
            "points": r.points,
            "group": r.group,
            "cap": r.cap,
        }
        for r in load_rules()
    ]
    with transaction.atomic():
        last = RuleSetVersion.objects.select_for_update().order_by("-number").first()
        version = RuleSetVersion.objects.create(
            number=(last.number + 1) if last else 1, rules=rules, created_at=now, note=note
        )
        if not Job.objects.filter(kind="rescore_open", status=JobStatus.PENDING).exists():
            Job.objects.create(
                kind="rescore_open", run_at=now, created_at=now, payload={"version": version.number}
            )
    return version


@handler("rescore_open")
def rescore_open(job: Job, now: datetime) -> None:
    """Re-score every open lead with the current rules, in batches, and act on the leads the new
    rules move across the MQL line (once each: see `mql`)."""
    from leadline.intake.pipeline import apply_score
    from leadline.leads.models import Lead

    rules = load_rules()
    number = RuleSetVersion.objects.values_list("number", flat=True).first()
    cause = f"re-scored with rule set v{number}" if number else "re-scored"
    last_id = 0
    while True:
        with transaction.atomic():
            # Locked, so a capture or engagement event re-scoring one of them meanwhile waits
            # instead of having its score overwritten by this older reading of the lead.
            batch = list(
                Lead.objects.open()
                .select_for_update(of=("self",))
                .select_related("team")
                .filter(pk__gt=last_id)
                .order_by("pk")[:RESCORE_BATCH]
            )
            if not batch:
                return
            for lead in batch:
                apply_score(lead, rules, now)
            Lead.objects.bulk_update(
                batch, ["fit_score", "engagement_score", "score", "score_parts"]
            )
            mql.sync(batch, now, cause)
        last_id = batch[-1].pk
