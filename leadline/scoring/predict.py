"""The predictive model inside Leadline: train on the team's own outcomes, keep every version with
its evaluation, promote a version only when it is not worse on the back-test, and predict and
explain each lead from what was known when it arrived (its capture snapshot — never fields the
sales team filled in later, so nothing leaks from the outcome into the input)."""

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q

from leadline.core.choices import JobStatus, Status
from leadline.core.clock import clock
from leadline.core.jobs import handler
from leadline.core.models import Job
from leadline.core.prepared import Prepared
from leadline.scoring import model
from leadline.scoring.models import PredictiveModel

WINDOW_DAYS = 365
RETRAIN_EVERY = timedelta(days=7)
# A new version may be this much below the current one on the back-test's ROC AUC (noise).
TOLERANCE = 0.005
_CACHE: dict[int, model.LeadScorer] = {}


def outcomes(now: datetime, window_days: int = WINDOW_DAYS):
    """Leads whose outcome is known: converted (1), or disqualified / gone cold (0)."""
    from leadline.leads.models import Lead

    decided = Q(status__in=[Status.CONVERTED, Status.DISQUALIFIED]) | Q(cold_at__isnull=False)
    return (
        Lead.objects.live()
        .filter(decided, captured_at__gte=now - timedelta(days=window_days))
        .exclude(capture_snapshot={})
        .order_by("captured_at", "id")
    )


def training_set(now: datetime, window_days: int = WINDOW_DAYS):
    rows = list(
        outcomes(now, window_days).values_list("capture_snapshot", "status", "captured_at", "score")
    )
    records = [_features(snapshot) for snapshot, *_ in rows]
    y = [status == Status.CONVERTED for _, status, _, _ in rows]
    times = [at for _, _, at, _ in rows]
    rule_scores = [score for *_, score in rows]
    return records, y, times, rule_scores


def _features(snapshot: dict) -> dict:
    record = {k: v for k, v in snapshot.items() if k != "custom"}
    for key, value in (snapshot.get("custom") or {}).items():
        if isinstance(value, str | int | float | bool) or value is None:
            record[f"custom.{key}"] = value
    return record


def current() -> PredictiveModel | None:
    return PredictiveModel.objects.filter(is_current=True).defer("blob").first()


# (id, version) of the current model: read for every batch of new leads, so compiled once.
_live = Prepared(
    lambda: PredictiveModel.objects.filter(is_current=True).values_list("pk", "version")[:1]
)


def scorer_for(version: PredictiveModel) -> model.LeadScorer:
    return _scorer(version.pk, version.version)


def _scorer(pk: int, version: int) -> model.LeadScorer:
    if version not in _CACHE:
        blob = PredictiveModel.objects.values_list("blob", flat=True).get(pk=pk)
        _CACHE.clear()
        _CACHE[version] = model.load(bytes(blob))
    return _CACHE[version]


def train(now: datetime | None = None, note: str = "", window_days: int = WINDOW_DAYS) -> dict:
    """Train a new version; returns what happened, for the CLI, the UI and the job log."""
    now = now or clock.now()
    records, y, times, rule_scores = training_set(now, window_days)
    positives = sum(y)
    try:
        scorer = model.train(records, y)
    except model.NotEnoughOutcomes as exc:
        return {"status": "rules", "reason": str(exc), "leads": len(y), "positives": positives}
    metrics = {
        "backtest": model.backtest(records, y, times, rule_scores=rule_scores),
        "cross_validation": model.cross_validate(records, y, folds=5, rule_scores=rule_scores),
        "report": scorer.report.as_dict(),
    }
    metrics = _plain(metrics)
    live = current()
    new_auc = _backtest_auc(metrics)
    old_auc = _backtest_auc(live.metrics) if live else None
    promote = live is None or new_auc is None or old_auc is None or new_auc >= old_auc - TOLERANCE
    with transaction.atomic():
        last = PredictiveModel.objects.select_for_update().order_by("-version").first()
        version = PredictiveModel.objects.create(
            version=(last.version + 1) if last else 1,
            created_at=now,
            trained_on=len(y),
            positives=positives,
            metrics=metrics,
            leakage=metrics["report"]["leakage"],
            is_current=False,
            note=note,
            blob=scorer.to_bytes(),
        )
        if promote:
            PredictiveModel.objects.filter(is_current=True).update(is_current=False)
            PredictiveModel.objects.filter(pk=version.pk).update(is_current=True)
            Job.objects.create(
                kind="predict_open",
                run_at=now,
                created_at=now,
                payload={"version": version.version},
            )
    verdict = (
        "promoted"
        if promote
        else (
            f"kept v{live.version}: the new version's back-test ROC AUC {new_auc:.3f} is below "
            f"{old_auc:.3f}"
        )
    )
    return {
        "status": "trained",
        "version": version.version,
        "verdict": verdict,
        "leads": len(y),
        "positives": positives,
        "backtest_auc": new_auc,
        "cv_auc": metrics["cross_validation"]["mean"].get("roc_auc"),
        "leakage": metrics["report"]["leakage"],
    }


def _backtest_auc(metrics: dict) -> float | None:
    backtest = (metrics or {}).get("backtest") or {}
    if backtest.get("status") != "ok":
        return None
    return backtest.get("model", {}).get("roc_auc")


def predict_leads(leads, now: datetime | None = None) -> int:
    """Store the current model's probability on these leads; returns how many."""
    live = _live()
    if not live:
        return 0
    pk, version = live[0]
    leads = [lead for lead in leads if lead.capture_snapshot]
    if not leads:
        return 0
    scores = _scorer(pk, version).predict([_features(lead.capture_snapshot) for lead in leads])
    for lead, p in zip(leads, scores, strict=True):
        lead.conversion_probability = float(p)
        lead.probability_model = version
    _store(leads, version)
    return len(leads)


STORE_CHUNK = 1000


def _store(leads: list, version: int) -> None:
    """The probabilities in one UPDATE per thousand leads (bulk_update builds an expression
    per lead, which costs more than predicting it)."""
    from leadline.leads.models import Lead

    quote = connection.ops.quote_name
    table, pk = quote(Lead._meta.db_table), quote(Lead._meta.pk.column)
    field = Lead._meta.get_field("conversion_probability")
    model_column = quote(Lead._meta.get_field("probability_model").column)
    cast = f"CAST(%s AS {field.db_type(connection)})"
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        for at in range(0, len(leads), STORE_CHUNK):
            chunk = leads[at : at + STORE_CHUNK]
            whens = " ".join([f"WHEN %s THEN {cast}"] * len(chunk))
            marks = ", ".join(["%s"] * len(chunk))
            params = [version]
            params += [v for lead in chunk for v in (lead.pk, lead.conversion_probability)]
            params += [lead.pk for lead in chunk]
            cursor.execute(
                f"UPDATE {table} SET {model_column} = %s, {quote(field.column)} = "
                f"CASE {pk} {whens} END WHERE {pk} IN ({marks})",
                params,
            )


def explain(lead, top: int = 8) -> list[dict]:
    live = current()
    if live is None or not lead.capture_snapshot:
        return []
    return scorer_for(live).explain(_features(lead.capture_snapshot), top=top)


def schedule_retraining(now: datetime) -> bool:
    """Retrain weekly (and as soon as there is no model): one job per week, whoever asks."""
    live = current()
    if live and now - live.created_at < RETRAIN_EVERY:
        return False
    week = now.strftime("%G-W%V")
    if Job.objects.filter(dedupe_key=f"retrain:{week}").exists():
        return False
    Job.objects.create(
        kind="retrain",
        run_at=now,
        created_at=now,
        dedupe_key=f"retrain:{week}",
        payload={"note": "weekly retraining"},
    )
    return True


def request_retraining(note: str, now: datetime | None = None) -> Job:
    now = now or clock.now()
    pending = Job.objects.filter(kind="retrain", status=JobStatus.PENDING).first()
    return pending or Job.objects.create(
        kind="retrain", run_at=now, created_at=now, payload={"note": note}
    )


@handler("retrain")
def retrain_job(job: Job, now: datetime) -> None:
    result = train(now, note=job.payload.get("note", ""))
    Job.objects.filter(pk=job.pk).update(payload={**job.payload, "result": _plain(result)})


@handler("predict_open")
def predict_open(job: Job, now: datetime) -> None:
    from leadline.leads.models import Lead

    last = 0
    while True:
        batch = list(Lead.objects.open().filter(pk__gt=last).order_by("pk")[:5000])
        if not batch:
            return
        predict_leads(batch, now)
        last = batch[-1].pk


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value
