"""The registry of due-work kinds and the one way to add work."""

from datetime import datetime

from leadline.core.clock import clock
from leadline.core.models import Job

HANDLERS = {}
# Kinds whose handler takes a list of jobs and returns {job id: exception} for the ones that
# failed: the worker claims up to a round's worth of them at once and runs each kind in one call
# (one query for all their leads, one SMTP connection for all their emails).
BATCH_HANDLERS = {}


def handler(kind: str, *, batch: bool = False):
    def register(func):
        (BATCH_HANDLERS if batch else HANDLERS)[kind] = func
        return func

    return register


def enqueue(
    kind: str,
    *,
    lead_id: int | None = None,
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
    **payload,
) -> Job | None:
    """Add due work; with a dedupe key, the same work is only ever added once."""
    now = clock.now()
    if dedupe_key and Job.objects.filter(dedupe_key=dedupe_key).exists():
        return None
    return Job.objects.create(
        kind=kind,
        lead_id=lead_id,
        run_at=run_at or now,
        created_at=now,
        payload=payload,
        dedupe_key=dedupe_key,
    )
