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


def claim_job(now: datetime) -> Job | None:
    """One due job of a kind that runs alone (batch kinds are claimed by claim_batch)."""
    kinds = list(BATCH_HANDLERS)
    if not _any_due(now, kinds, batch=False):
        return None
    others = f" AND kind NOT IN ({', '.join(['%s'] * len(kinds))})" if kinds else ""
    adapt = connection.ops.adapt_datetimefield_value
    jobs = _claim(
        f"run_at <= %s{others} ORDER BY run_at, id LIMIT 1",
        [adapt(now), *kinds],
        now,
    )
    return jobs[0] if jobs else None


def claim_batch(now: datetime, limit: int = BATCH) -> list[Job]:
    """Up to `limit` due jobs of the batch kinds, claimed in one statement: an UPDATE of the
    oldest pending rows (skipping rows another worker has locked, on PostgreSQL) that returns
    the rows it changed, so two workers never claim the same job."""
    kinds = list(BATCH_HANDLERS)
    if not kinds or not _any_due(now, kinds, batch=True):
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


def _any_due(now: datetime, kinds: list[str], *, batch: bool) -> bool:
    """Whether a job of these kinds (or, not `batch`, of any other kind) is due: a read, so an
    idle worker polling ten times a second takes no write lock; plain SQL, as it runs every
    round."""
    table = connection.ops.quote_name(Job._meta.db_table)
    marks = ", ".join(["%s"] * len(kinds))
    of_kind = (
        (f" AND kind IN ({marks})" if batch else f" AND kind NOT IN ({marks})") if kinds else ""
    )
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE status = %s AND run_at <= %s{of_kind} LIMIT 1",
            [JobStatus.PENDING, adapt(now), *kinds],
        )
        return cursor.fetchone() is not None


def _claim(where: str, params: list, now: datetime) -> list[Job]:
    """Claim the pending jobs `where` picks, in one UPDATE that returns the claimed rows whole
    (no second query to load them)."""
    table = connection.ops.quote_name(Job._meta.db_table)
    fields = Job._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    picked = f"SELECT id FROM {table} WHERE status = %s AND {where}"
    if connection.vendor == "postgresql":
        # Materialized, so the locking read runs once: as a plain subquery the planner may run
        # it again for each row, and each run skips the rows the last one locked, claiming
        # more than LIMIT.
        head = f"WITH picked AS MATERIALIZED ({picked} FOR UPDATE SKIP LOCKED) "
        picked = "SELECT id FROM picked"
    else:
        head = ""
    sql = (
        f"{head}UPDATE {table} SET status = %s, locked_until = %s, attempts = attempts + 1 "
        f"WHERE id IN ({picked}) AND status = %s RETURNING {columns}"
    )
    adapt = connection.ops.adapt_datetimefield_value
    pick = [JobStatus.PENDING, *params]
    claim = [JobStatus.RUNNING, adapt(now + LEASE)]
    params = [*pick, *claim] if head else [*claim, *pick]
    with write_turn(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [*params, JobStatus.PENDING])
        rows = cursor.fetchall()
    if not rows:
        return []
    # Each column's value as the ORM would have read it (dates, JSON), then the model.
    converters = []
    for i, field in enumerate(fields):
        col = field.get_col(Job._meta.db_table)
        for convert in connection.ops.get_db_converters(col) + field.get_db_converters(connection):
            converters.append((i, convert, col))
    jobs = []
    for row in rows:
        values = list(row)
        for i, convert, col in converters:
            values[i] = convert(values[i], col, connection)
        jobs.append(Job.from_db(connection.alias, None, values))
    return sorted(jobs, key=lambda job: (job.run_at, job.pk))


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
    # Plain SQL: it runs every round, and compiling the queryset costs more than running it.
    if ids:
        table = connection.ops.quote_name(Job._meta.db_table)
        marks = ", ".join(["%s"] * len(ids))
        adapt = connection.ops.adapt_datetimefield_value
        with write_turn(), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET status = %s, done_at = %s, locked_until = NULL "
                f"WHERE id IN ({marks})",
                [JobStatus.DONE, adapt(now), *ids],
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
    """One round of due work; True when anything was done."""
    return _round(now or clock.now())[0]


ROUNDS = 20  # claims of each sort per round, so SLA breaches are never starved by a backlog
BREACHES = 100  # SLA breaches handled per round


def _round(now: datetime) -> tuple[bool, bool]:
    """One round: (whether anything was done, whether more is due at once because the round
    stopped at a limit).

    Jobs (notifications, webhooks) go first: they are what a person waits for. SLA breaches are
    checked every round (their deadlines are minutes away); time rules, recycling and the
    retraining schedule once a minute."""
    sweep = _sweep_due(now)
    # Leases last minutes: a dead worker's jobs are looked for once a minute, before claiming.
    did = more = sweep and release_stale(now) > 0
    for _ in range(ROUNDS):
        jobs = claim_batch(now)
        if not jobs:
            break
        run_batch(jobs, now)
        did = True
    else:
        more = True
    for _ in range(ROUNDS):
        job = claim_job(now)
        if job is None:
            break
        run_job(job, now)
        did = True
    else:
        more = True
    breached = breach_due(now, limit=BREACHES)
    did |= breached > 0
    more |= breached >= BREACHES
    if sweep:
        did |= recycle_due(now) > 0
        did |= apply_rules(now) > 0
        did |= mql.sweep(now) > 0
        did |= predict.schedule_retraining(now)
    return did, more


def run_until_idle(now: datetime | None = None, rounds: int = 100) -> None:
    for _ in range(rounds):
        if not tick(now):
            return


def run_forever(stop: threading.Event, poll: float | None = None) -> None:
    poll = settings.LEADLINE_WORKER_POLL_SECONDS if poll is None else poll
    log.info("worker started (poll every %.1fs)", poll)
    while not stop.is_set():
        # A round runs everything due when it starts, and what its jobs queue: the next poll
        # (not an immediate second round, which would find nothing) picks up what came since,
        # unless the round stopped at a limit with more waiting.
        try:
            more = _round(clock.now())[1]
        except Exception:  # noqa: BLE001 — a bad round is logged; the loop goes on
            log.exception("worker round failed")
            more = False
        if not more:
            stop.wait(poll)
    log.info("worker stopped")
