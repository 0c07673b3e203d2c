import random
from datetime import timedelta

from django.test import Client

from leadline.core.clock import clock
from leadline.core.models import Job
from leadline.core.worker import run_until_idle
from leadline.intake.pipeline import capture_batch
from leadline.leads.models import Lead
from leadline.scoring import predict
from leadline.scoring.models import PredictiveModel

INDUSTRIES = ["Software", "Insurance", "Retail", "Education", "Government"]


def history(n=240, seed=1, signal=True, leak=False):
    """Leads captured over past months whose outcome depends on industry and size."""
    rng = random.Random(seed)
    start = clock.now()
    clock.set(start - timedelta(days=200))
    items, outcomes = [], []
    for i in range(n):
        industry = rng.choice(INDUSTRIES)
        employees = rng.choice([5, 40, 300, 2000])
        p = (0.75 if industry in ("Software", "Insurance") else 0.15) if signal else 0.4
        p += 0.1 if employees >= 300 and signal else 0
        won = rng.random() < p
        item = {"email": f"h{seed}-{i}@co{i}.com", "industry": industry, "employees": employees}
        if leak:
            item["custom"] = {"stage_after_call": "won" if won else "lost"}
        items.append(item)
        outcomes.append(won)
    leads = []
    for chunk in range(0, n, 60):
        results = capture_batch(items[chunk : chunk + 60])
        leads += [r.lead for r in results]
        clock.advance(days=10)
    for lead, won in zip(leads, outcomes, strict=True):
        Lead.objects.filter(pk=lead.pk).update(status="converted" if won else "disqualified")
    clock.set(start)
    return leads


def test_it_falls_back_to_rules_without_enough_outcomes(workspace):
    history(n=40)
    result = predict.train()
    assert result["status"] == "rules" and "at least 30" in result["reason"]
    assert PredictiveModel.objects.count() == 0


def test_it_trains_promotes_predicts_and_explains(workspace):
    history()
    result = predict.train(note="first")
    assert result["status"] == "trained" and result["verdict"] == "promoted"
    live = predict.current()
    assert live.version == 1 and live.trained_on == 240
    assert live.metrics["backtest"]["model"]["roc_auc"] > 0.75
    assert live.metrics["cross_validation"]["mean"]["roc_auc"] > 0.75
    run_until_idle()  # predict_open
    new = capture_batch(
        [
            {"email": "x@software.io", "industry": "Software", "employees": 2000},
            {"email": "y@gov.org", "industry": "Government", "employees": 5},
        ]
    )
    run_until_idle()  # lead_captured predicts each new lead
    good, poor = (Lead.objects.get(pk=r.lead.pk) for r in new)
    assert good.conversion_probability > 0.6 > 0.3 > poor.conversion_probability
    assert good.probability_model == 1
    factors = predict.explain(good)
    assert factors[0]["feature"] == "industry" and factors[0]["effect"] > 0
    # The evaluation is shown to the team, and a manager can ask for a retraining.
    client = Client()
    client.force_login(workspace.manager)
    page = client.get("/scoring/").content.decode()
    assert "ROC AUC" in page and 'id="calibration-plot"' in page and "Rule score" in page
    assert client.post("/scoring/").status_code == 302
    assert Job.objects.filter(kind="retrain", status="pending").count() == 1
    rep = Client()
    rep.force_login(workspace.owner)
    assert rep.post("/scoring/").status_code == 403


def test_a_worse_version_does_not_replace_the_current_one(workspace):
    history()
    predict.train()
    Lead.objects.all().delete()
    history(seed=2, signal=False)
    result = predict.train()
    assert result["status"] == "trained" and result["verdict"].startswith("kept v1")
    assert predict.current().version == 1
    assert PredictiveModel.objects.count() == 2


def test_a_field_that_gives_the_outcome_away_is_flagged(workspace):
    history(leak=True)
    result = predict.train()
    assert [item["feature"] for item in result["leakage"]] == ["custom.stage_after_call"]


def test_retraining_is_scheduled_weekly_once(workspace):
    assert predict.schedule_retraining(clock.now())
    assert not predict.schedule_retraining(clock.now())
    clock.advance(days=8)
    assert predict.schedule_retraining(clock.now())
    assert Job.objects.filter(kind="retrain").count() == 2


def test_a_burst_of_new_leads_is_predicted_in_one_round(workspace):
    history()
    predict.train()
    run_until_idle()
    items = [
        {"email": f"n{i}@co{i}.com", "industry": INDUSTRIES[i % 5], "employees": 5 + 97 * i}
        for i in range(40)
    ]
    ids = [r.lead.pk for r in capture_batch(items)]
    run_until_idle()
    leads = Lead.objects.in_bulk(ids)
    scorer = predict.scorer_for(predict.current())
    expected = scorer.predict([predict._features(leads[pk].capture_snapshot) for pk in ids])
    assert [leads[pk].conversion_probability for pk in ids] == [float(p) for p in expected]
    assert {leads[pk].probability_model for pk in ids} == {1}
