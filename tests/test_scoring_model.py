"""The predictive lead-scoring model, its metrics and its CSV evaluator, on synthetic leads."""

import csv
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadline.scoring import evaluate as ev
from leadline.scoring.model import (
    LeadScorer,
    NotEnoughOutcomes,
    backtest,
    calibration_table,
    cross_validate,
    evaluate,
    expected_calibration_error,
    ranking_metrics,
    train,
)

SOURCE_EFFECT = {"Referral": 1.5, "Webinar": 0.5, "Ads": 0.0, "Bought list": -1.2}


def make_leads(n=600, seed=1):
    """Leads whose chance to convert depends on source, visits and whether a phone was given."""
    rng = np.random.default_rng(seed)
    sources = rng.choice(list(SOURCE_EFFECT), n, p=[0.2, 0.3, 0.2, 0.3])
    visits = rng.poisson(3, n)
    phone = rng.random(n) < 0.6
    z = np.array([SOURCE_EFFECT[s] for s in sources]) - 1.4 + 0.35 * visits + 1.2 * phone
    outcomes = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int).tolist()
    records = []
    for i in range(n):
        records.append(
            {
                "source": str(sources[i]),
                "visits": int(visits[i]) if rng.random() > 0.1 else None,
                "has_phone": "yes" if phone[i] else "",
                "newsletter": bool(rng.random() < 0.5),
                "lead_id": f"L{i:05d}",
            }
        )
    return records, outcomes


@pytest.fixture(scope="module")
def leads():
    return make_leads()


@pytest.fixture(scope="module")
def model(leads):
    records, outcomes = leads
    return train(records[:500], outcomes[:500], seed=0)


def test_it_learns_the_signal(leads, model):
    records, outcomes = leads
    p = model.predict(records[500:])
    assert p.shape == (100,)
    assert np.all((p > 0) & (p < 1))
    assert ranking_metrics(outcomes[500:], p)["roc_auc"] > 0.75


def test_it_reports_what_it_learned_from(model):
    report = model.report.as_dict()
    assert report["leads"] == 500
    assert report["positives"] + report["negatives"] == 500
    kinds = {f["name"]: f["kind"] for f in report["features"]}
    assert kinds["visits"] == "numeric"
    assert kinds["source"] == "categorical"
    # Ids never repeat: nothing to learn from them, so they are left out, with a note.
    assert "lead_id" not in kinds
    assert any(note.startswith("lead_id: values hardly repeat") for note in report["warnings"])
    assert report["calibration"]["method"] in ("stacked", "platt")
    assert report["leakage"] == []
    json.dumps(report)


def test_it_refuses_to_train_on_too_few_outcomes(leads):
    records, outcomes = leads
    few = [i for i, y in enumerate(outcomes) if y][:12] + [
        i for i, y in enumerate(outcomes) if not y
    ]
    with pytest.raises(NotEnoughOutcomes) as caught:
        train([records[i] for i in few], [outcomes[i] for i in few])
    assert caught.value.positives == 12
    assert caught.value.minimum == 30
    assert "fall back to the rules" in str(caught.value)


def test_the_minimum_is_a_parameter(leads):
    records, outcomes = leads
    with pytest.raises(NotEnoughOutcomes):
        train(records[:100], outcomes[:100], min_outcomes=80)


def test_it_flags_a_field_that_leaks_the_outcome(leads):
    records, outcomes = leads
    rng = np.random.default_rng(3)
    leaky = [
        {**r, "stage_after_call": ("won" if y else "lost") if rng.random() > 0.03 else "won"}
        for r, y in zip(records, outcomes, strict=True)
    ]
    model = train(leaky, outcomes, calibration="none")
    flagged = [item["feature"] for item in model.report.leakage]
    assert flagged == ["stage_after_call"]
    assert model.report.leakage[0]["single_field_auc"] >= 0.9


def test_a_field_of_unique_values_is_not_mistaken_for_leakage(leads):
    records, outcomes = leads
    # Kept value by value, a unique id "predicts" its own lead perfectly; the single-field check
    # is cross-fitted, so it sees that ids never recur and does not flag them.
    model = train(records, outcomes, min_category_count=1, calibration="none")
    assert model.report.leakage == []
    lead_id = next(f for f in model.report.features if f["name"] == "lead_id")
    assert lead_id["single_field_auc"] < 0.6


def test_it_takes_numpy_columns_with_gaps(leads):
    records, outcomes = leads
    visits = np.array([np.nan if r["visits"] is None else r["visits"] for r in records])
    columns = {"visits": visits, "source": np.array([r["source"] for r in records], dtype=object)}
    model = train(columns, np.array(outcomes, dtype=bool), categorical=["visits"])
    kinds = {f["name"]: f["kind"] for f in model.report.features}
    assert kinds == {"visits": "categorical", "source": "categorical"}
    assert np.all(np.isfinite(model.predict(columns)))


def test_outcomes_must_not_be_text(leads):
    records, outcomes = leads
    with pytest.raises(TypeError):
        train(records, [str(y) for y in outcomes])


def test_missing_values_are_information(model):
    with_phone = model.predict_one({"source": "Ads", "visits": 3, "has_phone": "yes"})
    without = model.predict_one({"source": "Ads", "visits": 3, "has_phone": None})
    assert with_phone > without + 0.1


def test_it_explains_a_lead(model):
    record = {"source": "Referral", "visits": 8, "has_phone": "yes", "newsletter": False}
    factors = model.explain(record)
    assert [f["feature"] for f in factors][:1] in (["source"], ["visits"], ["has_phone"])
    assert {f["feature"] for f in factors} == set(model.feature_names)
    sizes = [abs(f["effect"]) for f in factors]
    assert sizes == sorted(sizes, reverse=True)
    by_name = {f["feature"]: f for f in factors}
    assert by_name["source"]["value"] == "Referral"
    assert by_name["source"]["effect"] > 0
    assert by_name["has_phone"]["effect"] > 0
    assert len(model.explain(record, top=2)) == 2
    json.dumps(factors)


def test_a_poor_lead_is_explained_by_what_lowers_it(model):
    factors = model.explain({"source": "Bought list", "visits": 0, "has_phone": None})
    by_name = {f["feature"]: f for f in factors}
    assert by_name["source"]["effect"] < 0
    assert by_name["has_phone"]["effect"] < 0
    assert by_name["has_phone"]["value"] is None


def test_records_columns_and_streams_agree(leads, model):
    records, _ = leads
    columns = {name: [r.get(name) for r in records] for name in records[0]}
    from_records = model.predict(records)
    assert np.allclose(model.predict(columns), from_records)
    assert np.allclose(model.predict(iter(records), chunk_size=64), from_records)
    assert np.allclose(model.predict(columns, chunk_size=64), from_records)


def test_it_scores_unseen_values_and_absent_fields(model):
    p = model.predict(
        [{"source": "Trade show", "visits": "12"}, {}, {"visits": "n/a", "source": " referral "}]
    )
    assert np.all(np.isfinite(p))
    # Values are compared trimmed and case-folded.
    assert math.isclose(
        p[2], model.predict_one({"source": "Referral", "visits": None}), rel_tol=1e-12
    )


def test_it_round_trips_through_bytes(leads, model):
    records, _ = leads
    model.metrics = {"roc_auc": 0.8}
    restored = LeadScorer.from_bytes(model.to_bytes())
    assert np.array_equal(restored.predict(records[:50]), model.predict(records[:50]))
    assert restored.metrics == {"roc_auc": 0.8}
    assert restored.report.as_dict() == model.report.as_dict()


def test_it_rejects_bytes_that_are_not_a_model():
    import pickle

    with pytest.raises(ValueError):
        LeadScorer.from_bytes(pickle.dumps({"format": 99}))


def test_it_can_carry_its_cross_validation(leads):
    records, outcomes = leads
    model = train(records, outcomes, cv_folds=3, calibration="none")
    assert model.metrics["method"] == "stratified 3-fold cross-validation, seed 0"


def test_expected_calibration_error_uses_ten_equal_bins():
    y = [0, 1, 0, 1]
    p = [0.05, 0.05, 0.95, 0.95]  # two bins, each predicting 0.05 / 0.95 against 0.5
    assert math.isclose(expected_calibration_error(y, p), 0.45)
    table = calibration_table(y, p)
    assert len(table) == 10
    assert table[0] == {"bin": "0.0-0.1", "leads": 2, "mean_predicted": 0.05, "observed_rate": 0.5}
    assert table[5]["leads"] == 0 and table[5]["observed_rate"] is None


def test_ranking_metrics_count_lift_and_top_shares():
    y = [1] * 10 + [0] * 90
    scores = list(range(100, 0, -1))  # the ten converted leads are scored highest
    metrics = ranking_metrics(y, scores)
    assert metrics["roc_auc"] == 1.0
    assert metrics["top_decile_lift"] == 10.0
    assert metrics["top_share"] == {"top_10": 1.0, "top_20": 1.0, "top_50": 1.0}
    assert metrics["lift_by_decile"][1]["conversions"] == 0


def test_ties_at_a_cut_are_shared_pro_rata():
    metrics = ranking_metrics([1, 0] * 50, [1.0] * 100)
    assert metrics["top_share"]["top_10"] == pytest.approx(0.1)
    assert metrics["top_decile_lift"] == pytest.approx(1.0)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    st.lists(st.tuples(st.booleans(), st.floats(0, 1)), min_size=4, max_size=200).filter(
        lambda rows: 0 < sum(y for y, _ in rows) < len(rows)
    )
)
def test_metrics_stay_in_range(rows):
    y = [int(a) for a, _ in rows]
    p = [b for _, b in rows]
    metrics = evaluate(y, p)
    assert 0 <= metrics["ece"] <= 1
    assert 0 <= metrics["brier"] <= 1
    shares = metrics["top_share"]
    assert 0 <= shares["top_10"] <= shares["top_20"] <= shares["top_50"] <= 1 + 1e-9
    assert metrics["lift_by_decile"][-1]["cumulative_share"] == pytest.approx(1.0)
    assert sum(row["leads"] for row in metrics["calibration"]) == len(y)


def test_cross_validation_compares_with_the_base_rate_and_rules(leads):
    records, outcomes = leads
    rules = [10 * (r["has_phone"] == "yes") for r in records]
    result = cross_validate(records, outcomes, folds=3, rule_scores=rules, calibration="none")
    assert len(result["per_fold"]) == 3
    assert result["mean"]["roc_auc"] > result["rule_score"]["roc_auc"] > 0.5
    assert result["base_rate"]["roc_auc"] == 0.5
    assert result["mean"]["brier"] < result["base_rate"]["brier"]
    assert len(result["pooled"]["calibration"]) == 10
    json.dumps(result)


def test_backtest_trains_on_older_leads(leads):
    records, outcomes = leads
    times = [f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(len(records))]
    result = backtest(records, outcomes, times, calibration="none")
    assert result["status"] == "ok"
    assert result["train_until"] <= result["test_from"]
    assert result["test_leads"] == 120
    assert result["model"]["roc_auc"] > 0.7


def write_csv(path, leads):
    records, outcomes = leads
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Lead Id", "Source", "Visits", "Has phone", "Created", "Rule", "Won"])
        for i, (r, y) in enumerate(zip(records, outcomes, strict=True)):
            source = "Select" if i % 17 == 0 else r["source"]
            visits = "" if r["visits"] is None else r["visits"]
            created = f"2025-01-01T{i // 60:02d}:{i % 60:02d}:00"
            rule = 10 if r["has_phone"] else 0
            writer.writerow(
                [r["lead_id"], source, visits, r["has_phone"], created, rule, "yes" if y else "no"]
            )


def test_evaluate_csv_cross_validates_and_backtests(tmp_path, leads):
    path = tmp_path / "leads.csv"
    write_csv(path, leads)
    result = ev.evaluate_csv(
        path,
        "Won",
        exclude=["Lead Id"],
        time_column="Created",
        rule_score_column="Rule",
        folds=3,
    )
    assert result["status"] == "ok"
    assert result["leads"] == 600
    assert result["excluded"] == ["Created", "Lead Id", "Rule"]
    names = [f["name"] for f in result["training"]["features"]]
    assert sorted(names) == ["Has phone", "Source", "Visits"]
    source = next(f for f in result["training"]["features"] if f["name"] == "Source")
    assert source["missing_share"] == pytest.approx(36 / 600, abs=1e-3)  # "Select" is missing
    assert result["cross_validation"]["mean"]["roc_auc"] > 0.7
    assert result["backtest"]["status"] == "ok"
    assert result["backtest"]["train_until"].startswith("2025-01-01 07:")
    assert "rule_score" in result["backtest"]
    json.dumps(result)


def test_evaluate_csv_says_when_outcomes_are_too_few(tmp_path, leads):
    records, outcomes = leads
    path = tmp_path / "few.csv"
    write_csv(path, (records[:40], outcomes[:40]))
    result = ev.evaluate_csv(path, "Won")
    assert result["status"] == "not_enough_outcomes"
    assert "fall back to the rules" in result["message"]


def test_the_command_prints_json(tmp_path, leads, capsys):
    path = tmp_path / "leads.csv"
    write_csv(path, leads)
    status = ev.main([str(path), "--target", "Won", "--exclude", "Lead Id", "Rule", "--folds", "3"])
    assert status == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["cross_validation"]["method"].startswith("stratified 3-fold")
    assert "backtest" not in printed


def test_the_command_rejects_an_unknown_column(tmp_path, leads):
    path = tmp_path / "leads.csv"
    write_csv(path, leads)
    with pytest.raises(SystemExit) as caught:
        ev.main([str(path), "--target", "Outcome"])
    assert caught.value.code == 1


def test_outcomes_are_read_from_common_spellings():
    assert [ev.parse_outcome(v) for v in ["Yes", "no", "1", "0", "Won", None]] == [
        1,
        0,
        1,
        0,
        1,
        None,
    ]
    with pytest.raises(ValueError):
        ev.parse_outcome("maybe")
