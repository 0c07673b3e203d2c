"""The background loop: due work claimed from the database by any number of workers.

Each step does one unit of work and says whether it found any. Work is claimed by a guarded
update (only the worker whose update changed the row proceeds); on PostgreSQL the candidate rows
are also read with SKIP LOCKED so workers do not queue behind each other. Quick kinds (a new
lead's notifications, owner emails) are claimed up to BATCH at a time in one statement and run
kind by kind in one call each; the rest (imports, retraining) one at a time.
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
from leadline.core.jobs import BATCH_HANDLERS, HANDLERS, enqueue  # noqa: F401
from leadline.core.models import Job
from leadline.core.writes import write_turn
from leadline.routing.sla import breach_due
from leadline.routing.timerules import apply_rules
from leadline.scoring import mql, predict, versions  # noqa: F401  (register their jobs)

log = logging.getLogger("leadline.worker")
LEASE = timedelta(minutes=5)
BATCH = 100


def _skip_locked(qs):
    return qs.select_for_update(skip_locked=True) if connection.vendor == "postgresql" else qs


def claim_job(now: datetime) -> Job | None:
    """One due job of a kind that runs alone (batch kinds are claimed by claim_batch)."""
    with write_turn(), transaction.atomic():
        candidate = _skip_locked(
            Job.objects.filter(status=JobStatus.PENDING, run_at__lte=now)
            .exclude(kind__in=list(BATCH_HANDLERS))
            .order_by("run_at", "id")
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


def claim_batch(now: datetime, limit: int = BATCH) -> list[Job]:
    """Up to `limit` due jobs of the batch kinds, claimed in one statement: an UPDATE of the
    oldest pending rows (skipping rows another worker has locked, on PostgreSQL) that returns
    the ids it changed, so two workers never claim the same job."""
    kinds = list(BATCH_HANDLERS)
    if not kinds:
        return []
    due = Job.objects.filter(status=JobStatus.PENDING, run_at__lte=now, kind__in=kinds)
    if not due.exists():  # a read: an idle worker polling often takes no write lock
        return []
    marks = ", ".join(["%s"] * len(kinds))
    adapt = connection.ops.adapt_datetimefield_value
    return _claim(
        f"run_at <= %s AND kind IN ({marks}) ORDER BY run_at, id LIMIT %s",
        [adapt(now), *kinds, limit],
        now,
    )


def claim_ids(ids: list[int], now: datetime) -> list[Job]:
    """These jobs, if still pending (instant dispatch claims the jobs a capture just wrote; a
    worker that got there first keeps them)."""
    ids = [int(pk) for pk in ids]
    if not ids:
        return []
    marks = ", ".join(["%s"] * len(ids))
    return _claim(f"id IN ({marks})", ids, now)


def _claim(where: str, params: list, now: datetime) -> list[Job]:
    table = connection.ops.quote_name(Job._meta.db_table)
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    sql = (
        f"UPDATE {table} SET status = %s, locked_until = %s, attempts = attempts + 1 "
        f"WHERE id IN (SELECT id FROM {table} WHERE status = %s AND {where}{lock}) "
        "AND status = %s RETURNING id"
    )
    adapt = connection.ops.adapt_datetimefield_value
    head = [JobStatus.RUNNING, adapt(now + LEASE), JobStatus.PENDING]
    with write_turn(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [*head, *params, JobStatus.PENDING])
        ids = [row[0] for row in cursor.fetchall()]
    return list(Job.objects.filter(pk__in=ids).order_by("run_at", "id")) if ids else []


def _failed(job: Job, exc: BaseException, now: datetime) -> None:
    log.warning("job %s (%s) failed: %s", job.pk, job.kind, exc)
    final = job.attempts >= job.max_attempts
    with write_turn():
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED if final else JobStatus.PENDING,
            run_at=now + timedelta(seconds=min(3600, 5 * 2**job.attempts)),
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            locked_until=None,
        )


def _done(ids: list[int], now: datetime) -> None:
    if ids:
        with write_turn():
            Job.objects.filter(pk__in=ids).update(
                status=JobStatus.DONE, done_at=now, locked_until=None
            )


def run_job(job: Job, now: datetime) -> None:
    func = HANDLERS.get(job.kind)
    try:
        if func is None:
            raise RuntimeError(f"no handler for job kind {job.kind!r}")
        func(job, now)
    except Exception as exc:  # noqa: BLE001 — any failure is recorded and retried, never lost
        _failed(job, exc, now)
        return
    _done([job.pk], now)


def run_batch(jobs: list[Job], now: datetime) -> None:
    """Run claimed batch-kind jobs, one handler call per kind; a failure is recorded for its
    own job (or, if the handler itself fails, for each of its jobs) and retried later."""
    by_kind: dict[str, list[Job]] = {}
    for job in jobs:
        by_kind.setdefault(job.kind, []).append(job)
    done: list[int] = []
    for kind, group in by_kind.items():
        try:
            failures = BATCH_HANDLERS[kind](group, now) or {}
        except Exception as exc:  # noqa: BLE001 — recorded on every job of the call
            failures = {job.pk: exc for job in group}
        for job in group:
            if job.pk in failures:
                _failed(job, failures[job.pk], now)
            else:
                done.append(job.pk)
    _done(done, now)


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
    sweep = _sweep_due(now)
    # Leases last minutes: a dead worker's jobs are looked for once a minute, before claiming.
    did = sweep and release_stale(now) > 0
    for _ in range(20):
        jobs = claim_batch(now)
        if not jobs:
            break
        run_batch(jobs, now)
        did = True
    for _ in range(20):
        job = claim_job(now)
        if job is None:
            break
        run_job(job, now)
        did = True
    did |= breach_due(now) > 0
    if sweep:
        did |= recycle_due(now) > 0
        did |= apply_rules(now) > 0
        did |= mql.sweep(now) > 0
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
