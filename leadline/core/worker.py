"""The background loop: due work claimed from the database by any number of workers.

Each step does one unit of work and says whether it found any. Work is claimed by a guarded
update (only the worker whose update changed the row proceeds); on PostgreSQL the candidate row
is also read with SKIP LOCKED so workers do not queue behind each other.
"""

import logging
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F

from leadline.core import notify  # noqa: F401  (registers the job handlers)
from leadline.core.choices import JobStatus, Status
from leadline.core.clock import clock
from leadline.core.jobs import HANDLERS, enqueue  # noqa: F401
from leadline.core.models import Job
from leadline.routing.sla import breach_due
from leadline.routing.timerules import apply_rules
from leadline.scoring import predict, versions  # noqa: F401  (register their jobs)

log = logging.getLogger("leadline.worker")
LEASE = timedelta(minutes=5)


def _skip_locked(qs):
    return qs.select_for_update(skip_locked=True) if connection.vendor == "postgresql" else qs


def claim_job(now: datetime) -> Job | None:
    with transaction.atomic():
        candidate = _skip_locked(
            Job.objects.filter(status=JobStatus.PENDING, run_at__lte=now).order_by("run_at", "id")
        ).first()
        if candidate is None:
            return None
        claimed = Job.objects.filter(pk=candidate.pk, status=JobStatus.PENDING).update(
            status=JobStatus.RUNNING, locked_until=now + LEASE, attempts=F("attempts") + 1
        )
    if not claimed:
        return None
    candidate.refresh_from_db()
    return candidate


def run_job(job: Job, now: datetime) -> None:
    func = HANDLERS.get(job.kind)
    try:
        if func is None:
            raise RuntimeError(f"no handler for job kind {job.kind!r}")
        func(job, now)
    except Exception as exc:  # noqa: BLE001 — any failure is recorded and retried, never lost
        log.warning("job %s (%s) failed: %s", job.pk, job.kind, exc)
        final = job.attempts >= job.max_attempts
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED if final else JobStatus.PENDING,
            run_at=now + timedelta(seconds=min(3600, 5 * 2**job.attempts)),
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            locked_until=None,
        )
        return
    Job.objects.filter(pk=job.pk).update(status=JobStatus.DONE, done_at=now, locked_until=None)


def release_stale(now: datetime) -> int:
    """Jobs whose worker died mid-run go back to the queue when their lease ends."""
    return Job.objects.filter(status=JobStatus.RUNNING, locked_until__lt=now).update(
        status=JobStatus.PENDING, locked_until=None
    )


def recycle_due(now: datetime, limit: int = 100) -> int:
    """Disqualified leads whose reason has a recycle period go back to new after it."""
    from leadline.leads.actions import transition
    from leadline.leads.models import Lead

    done = 0
    for lead in Lead.objects.filter(status=Status.DISQUALIFIED, recycle_at__lte=now)[:limit]:
        transition(lead, Status.NEW, None, reason="Recycle period over", now=now)
        done += 1
    return done


SWEEP_EVERY = timedelta(minutes=1)
_last_sweep: dict = {}


def _sweep_due(now: datetime) -> bool:
    """Rules on a scale of days need not run every half second: once a minute of the clock's
    time (and again whenever a test moves the clock back)."""
    last = _last_sweep.get("at")
    if last is None or now - last >= SWEEP_EVERY or now < last:
        _last_sweep["at"] = now
        return True
    return False


def tick(now: datetime | None = None) -> bool:
    """One round of due work; True when anything was done.

    Jobs (notifications, webhooks) go first: they are what a person waits for. SLA breaches are
    checked every round (their deadlines are minutes away); time rules, recycling and the
    retraining schedule once a minute."""
    now = now or clock.now()
    did = release_stale(now) > 0
    for _ in range(200):
        job = claim_job(now)
        if job is None:
            break
        run_job(job, now)
        did = True
    did |= breach_due(now) > 0
    if _sweep_due(now):
        did |= recycle_due(now) > 0
        did |= apply_rules(now) > 0
        did |= predict.schedule_retraining(now)
    return did


def run_until_idle(now: datetime | None = None, rounds: int = 100) -> None:
    for _ in range(rounds):
        if not tick(now):
            return


def run_forever(stop: threading.Event, poll: float | None = None) -> None:
    poll = settings.LEADLINE_WORKER_POLL_SECONDS if poll is None else poll
    log.info("worker started (poll every %.1fs)", poll)
    while not stop.is_set():
        try:
            busy = tick()
        except Exception:  # noqa: BLE001 — a bad round is logged; the loop goes on
            log.exception("worker round failed")
            busy = False
        if not busy:
            stop.wait(poll)
    log.info("worker stopped")
