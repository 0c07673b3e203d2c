"""Predictive lead scoring on real leads, beside three baselines, in one run on the same folds.

    python bench/scoring.py          # from the repository root, with the virtualenv active

Data: ``../shared/data/xeducation/leads.csv`` (9,240 leads of an online-education company, 38.5%
converted; see ``../shared/data/README.md``). Blank cells and ``Select`` are missing. The columns
filled in by sales after contact (Tags, Lead Quality, Lead Profile, Last Activity, Last Notable
Activity, the four Asymmetrique columns) and the ids (Prospect ID, Lead Number) are never inputs:
the capture-time set is the 25 other columns besides the target ``Converted``; the minimal set is
eight of them.

Every model sees the same stratified 5-fold split (seed 0) and is scored by the same code
(``leadline.scoring.model.evaluate``); figures are means over the five test folds:
- **Leadline**: ``leadline.scoring.model.train`` with its defaults (nothing here is tuned per fold;
  its calibration uses out-of-fold predictions inside each training fold only).
- **HistGradientBoosting**: scikit-learn defaults, categories ordinal-encoded as native
  categorical features (a missing value is its own category), numbers as they are.
- **Logistic (one-hot)**: one-hot categories (missing its own category), numbers mean-imputed
  and standardised, ``LogisticRegression(max_iter=2000)``.
- **Naive Bayes (Odoo-style)**: the frequency model of Odoo's predictive lead scoring: every field
  value (numbers included, missing included) is a category; P(value | converted) and
  P(value | not converted) are counted with 0.1 added to each count; the score is
  P(converted) x product of P(value | converted), normalised against the same for not converted.
- **Base rate**: the training fold's conversion rate for every lead.

ECE uses 10 equal-width probability bins, weighted by leads, computed per test fold and averaged;
"ECE floor" is what a perfectly calibrated model with the same predictions would show on folds of
this size (outcomes drawn from the predictions), i.e. sampling noise; "pooled ECE" is over all
9,240 out-of-fold predictions at once. Top-decile lift is the conversion rate
of the best-scored 10% over the base rate (ties shared pro rata). Timings run on one thread: fit
on 30,000 leads resampled with replacement from the file (seed 0) and scoring of 1,000,000
resampled leads (seed 1), passed as columns of the raw CSV strings (the slowest input form); the
1,000,000 dict records timing includes building the dicts. Wall-clock and CPU time are both shown
because the machine may be shared: the load average is printed.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from leadline.scoring.evaluate import read_csv
from leadline.scoring.model import backtest, evaluate, expected_calibration_error, train

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".." / "shared" / "data" / "xeducation" / "leads.csv"
TARGET = "Converted"
IDS = ["Prospect ID", "Lead Number"]
LEAKING = [
    "Tags",
    "Lead Quality",
    "Lead Profile",
    "Last Activity",
    "Last Notable Activity",
    "Asymmetrique Activity Index",
    "Asymmetrique Profile Index",
    "Asymmetrique Activity Score",
    "Asymmetrique Profile Score",
]
MINIMAL = [
    "Lead Origin",
    "Lead Source",
    "Do Not Email",
    "Do Not Call",
    "TotalVisits",
    "Total Time Spent on Website",
    "Page Views Per Visit",
    "A free copy of Mastering The Interview",
]
MISSING = "(missing)"


# --- baselines --------------------------------------------------------------------------------


def is_numeric(values) -> bool:
    present = [v for v in values if v is not None]
    try:
        for v in present:
            float(v)
    except ValueError:
        return False
    return bool(present)


def matrices(columns, numeric):
    cats = [n for n in columns if n not in numeric]
    cat = np.array([[MISSING if v is None else v for v in columns[n]] for n in cats], dtype=object)
    num = np.array(
        [[np.nan if v is None else float(v) for v in columns[n]] for n in numeric], dtype=float
    )
    length = len(next(iter(columns.values())))
    return cat.T.reshape(length, len(cats)), num.T.reshape(length, len(numeric))


def fit_hgb(train_cols, y, test_cols, numeric):
    cat_tr, num_tr = matrices(train_cols, numeric)
    cat_te, num_te = matrices(test_cols, numeric)
    encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    xtr = np.hstack([encoder.fit_transform(cat_tr), num_tr])
    xte = np.hstack([encoder.transform(cat_te), num_te])
    mask = [True] * cat_tr.shape[1] + [False] * num_tr.shape[1]
    model = HistGradientBoostingClassifier(categorical_features=mask, random_state=0)
    return model.fit(xtr, y).predict_proba(xte)[:, 1]


def fit_logistic(train_cols, y, test_cols, numeric):
    cat_tr, num_tr = matrices(train_cols, numeric)
    cat_te, num_te = matrices(test_cols, numeric)
    k = cat_tr.shape[1]
    prep = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), list(range(k))),
            (
                "num",
                make_pipeline(SimpleImputer(), StandardScaler()),
                list(range(k, k + num_tr.shape[1])),
            ),
        ]
    )
    model = make_pipeline(prep, LogisticRegression(max_iter=2000))
    xtr = np.hstack([cat_tr, num_tr.astype(object)])
    xte = np.hstack([cat_te, num_te.astype(object)])
    return model.fit(xtr, y).predict_proba(xte)[:, 1]


def fit_naive_bayes(train_cols, y, test_cols, numeric, smoothing=0.1):
    won_total, lost_total = int(y.sum()), int(len(y) - y.sum())
    log_won = np.full(len(next(iter(test_cols.values()))), math.log(won_total / len(y)))
    log_lost = np.full_like(log_won, math.log(lost_total / len(y)))
    for name, values in train_cols.items():
        won, lost = {}, {}
        for value, outcome in zip(values, y, strict=True):
            counts = won if outcome else lost
            counts[value] = counts.get(value, 0) + 1
        test = test_cols[name]
        log_won += np.log([(won.get(v, 0) + smoothing) / (won_total + smoothing) for v in test])
        log_lost += np.log([(lost.get(v, 0) + smoothing) / (lost_total + smoothing) for v in test])
    return 1 / (1 + np.exp(log_lost - log_won))


def fit_leadline(train_cols, y, test_cols, numeric):
    return train(train_cols, y, seed=0).predict(test_cols)


def fit_base_rate(train_cols, y, test_cols, numeric):
    return np.full(len(next(iter(test_cols.values()))), y.mean())


MODELS = [
    ("Leadline", fit_leadline),
    ("HistGradientBoosting", fit_hgb),
    ("Logistic (one-hot)", fit_logistic),
    ("Naive Bayes (Odoo-style)", fit_naive_bayes),
    ("Base rate", fit_base_rate),
]
KEYS = ["roc_auc", "pr_auc", "brier", "ece", "top_decile_lift"]


def cross_validated(columns, y, folds):
    numeric = {n for n, v in columns.items() if is_numeric(v)}
    arrays = {n: np.array(v, dtype=object) for n, v in columns.items()}
    results = {}
    for label, fit in MODELS:
        per_fold, oof = [], np.zeros(len(y))
        for fit_rows, test_rows in folds:
            tr = {n: v[fit_rows] for n, v in arrays.items()}
            te = {n: v[test_rows] for n, v in arrays.items()}
            oof[test_rows] = fit(tr, y[fit_rows], te, numeric)
            per_fold.append(evaluate(y[test_rows], oof[test_rows]))
        summary = {k: float(np.mean([m[k] for m in per_fold])) for k in KEYS}
        summary["top_20"] = float(np.mean([m["top_share"]["top_20"] for m in per_fold]))
        summary["auc_folds"] = [m["roc_auc"] for m in per_fold]
        summary["pooled_ece"] = evaluate(y, oof)["ece"]
        summary["ece_floor"] = ece_noise_floor(oof, folds)
        results[label] = summary
    return results


def ece_noise_floor(p, folds, draws=200):
    """Mean per-fold ECE of a perfectly calibrated model with these predictions: outcomes drawn
    as Bernoulli(p), so any ECE left is sampling noise of folds this size."""
    rng = np.random.default_rng(0)
    values = []
    for _ in range(draws):
        drawn = rng.random(len(p)) < p
        values.append(np.mean([expected_calibration_error(drawn[t], p[t]) for _, t in folds]))
    return float(np.mean(values))


def print_table(title, results):
    print(f"\n{title}")
    print(
        f"{'model':26s} {'ROC AUC':>8s} {'PR AUC':>7s} {'Brier':>7s} {'ECE':>7s} "
        f"{'ECE floor':>9s} {'pooled ECE':>10s} {'lift@10%':>8s} {'top 20%':>8s}"
    )
    for label, r in results.items():
        print(
            f"{label:26s} {r['roc_auc']:8.4f} {r['pr_auc']:7.4f} {r['brier']:7.4f} "
            f"{r['ece']:7.4f} {r['ece_floor']:9.4f} {r['pooled_ece']:10.4f} "
            f"{r['top_decile_lift']:8.3f} "
            f"{r['top_20']:8.3f}"
        )
    folds = ", ".join(f"{a:.4f}" for a in results["Leadline"]["auc_folds"])
    print(f"Leadline ROC AUC per fold: {folds}")


# --- timings ----------------------------------------------------------------------------------


def timed(function, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def resample(columns, y, n, seed):
    rows = np.random.default_rng(seed).integers(0, len(y), n)
    return {name: np.array(v, dtype=object)[rows] for name, v in columns.items()}, y[rows]


def records(columns, n):
    names = list(columns)
    arrays = [columns[name] for name in names]
    for i in range(n):
        yield {name: values[i] for name, values in zip(names, arrays, strict=True)}


def main() -> int:
    if not DATA.exists():
        print(f"missing benchmark data: {DATA}")
        return 2
    print(f"Leadline predictive scoring benchmark — {DATA.resolve()}")
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.2f}")
    table = read_csv(DATA)
    y = np.array([int(v) for v in table[TARGET]], dtype=np.int8)
    capture = {n: v for n, v in table.items() if n not in (*IDS, *LEAKING, TARGET)}
    minimal = {n: capture[n] for n in MINIMAL}
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(np.zeros(len(y)), y))
    print(f"{len(y)} leads, {int(y.sum())} converted ({y.mean():.1%}); stratified 5-fold, seed 0")

    with threadpool_limits(limits=1):
        started = time.perf_counter()
        full = cross_validated(capture, y, folds)
        print_table(f"Capture-time columns ({len(capture)} inputs), mean of 5 test folds", full)
        small = cross_validated(minimal, y, folds)
        print_table("Minimal columns (8 inputs), mean of 5 test folds", small)
        print(f"(cross-validation of all models: {time.perf_counter() - started:.0f} s)")

        cols30, y30 = resample(capture, y, 30_000, seed=0)
        train(cols30, y30)  # warm-up: imports and first-call costs
        fits = [timed(train, cols30, y30) for _ in range(3)]
        model = fits[-1][0]
        fit_wall = statistics.median(f[1] for f in fits)
        fit_cpu = statistics.median(f[2] for f in fits)
        _, stacked_wall, stacked_cpu = timed(train, cols30, y30, calibration="stacked")
        cols1m, _ = resample(capture, y, 1_000_000, seed=1)
        scores, score_wall, score_cpu = timed(model.predict, cols1m)
        assert len(scores) == 1_000_000 and np.all(np.isfinite(scores))
        del cols1m
        gen_cols, _ = resample(capture, y, 1_000, seed=2)
        gen_cols = {n: np.resize(v, 1_000_000) for n, v in gen_cols.items()}
        _, records_wall, records_cpu = timed(model.predict, records(gen_cols, 1_000_000))
        del gen_cols
        explain_record = {n: v[0] for n, v in capture.items()}
        _, explain_wall, _ = timed(model.explain, explain_record)

        everything = {n: v for n, v in table.items() if n != TARGET}
        leak_model = train(everything, y)
        flagged = [item["feature"] for item in leak_model.report.leakage]
        order = [float(v) for v in table["Lead Number"]]
        back = backtest(capture, y, order)

    print("\nTimings (one thread)")
    for label, wall, cpu in [
        ("fit, 30,000 leads (median of 3)", fit_wall, fit_cpu),
        ("  same, with stacked calibration", stacked_wall, stacked_cpu),
        ("score 1,000,000 leads (columns)", score_wall, score_cpu),
        ("score 1,000,000 leads (dict records)", records_wall, records_cpu),
    ]:
        print(f"{label + ':':38s} wall {wall:6.2f} s   cpu {cpu:6.2f} s")
    print(f"{'explain one lead:':38s} wall {explain_wall * 1000:6.0f} ms")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    print(
        f"\nLeakage check on all {len(everything)} other columns, ids included: flagged {flagged}"
    )
    for note in leak_model.report.warnings:
        print(f"  note: {note}")
    if back["status"] == "ok":
        m = back["model"]
        print(
            f"Back-test by Lead Number (train oldest 80%, test newest 20%): ROC AUC "
            f"{m['roc_auc']:.4f}, Brier {m['brier']:.4f}, ECE {m['ece']:.4f}, "
            f"lift@10% {m['top_decile_lift']:.3f} (conversion rate "
            f"{back['train_conversion_rate']:.3f} before, {back['test_conversion_rate']:.3f} after)"
        )

    lead = full["Leadline"]
    checks = [
        ("ROC AUC, capture-time columns", lead["roc_auc"], ">=", 0.875),
        (
            "beats HistGradientBoosting",
            lead["roc_auc"],
            ">=",
            full["HistGradientBoosting"]["roc_auc"],
        ),
        ("beats logistic (one-hot)", lead["roc_auc"], ">=", full["Logistic (one-hot)"]["roc_auc"]),
        ("beats naive Bayes", lead["roc_auc"], ">=", full["Naive Bayes (Odoo-style)"]["roc_auc"]),
        ("ROC AUC, minimal columns", small["Leadline"]["roc_auc"], ">=", 0.825),
        ("expected calibration error", lead["ece"], "<=", 0.025),
        ("Brier score", lead["brier"], "<=", 0.137),
        ("top-decile lift", lead["top_decile_lift"], ">=", 2.45),
        ("fit 30,000 leads, wall s", fit_wall, "<=", 1.0),
        ("score 1,000,000 leads, wall s", score_wall, "<=", 60.0),
        ("leakage check flags Tags", float("Tags" in flagged), ">=", 1.0),
    ]
    print("\nTargets")
    failed = 0
    for label, value, op, bound in checks:
        ok = value >= bound if op == ">=" else value <= bound
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {label:32s} {value:9.4f} {op} {bound:.4f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
