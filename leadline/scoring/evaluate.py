"""Evaluate the predictive lead-scoring model on any CSV of past leads with outcomes.

    leadline scoring evaluate leads.csv --target Converted --exclude Id --time-column Created
    python -m leadline.scoring.evaluate leads.csv --target Converted

Prints JSON: stratified k-fold cross-validation, a time-ordered back-test when a time column is
given, the base rate (and a rule score column, if named) on the same leads, and the training
report of a model fitted on every lead (fields used, probable leakage, warnings).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from leadline.scoring.model import (
    MIN_OUTCOMES,
    NotEnoughOutcomes,
    backtest,
    check_outcomes,
    cross_validate,
    train,
)

MISSING = frozenset({"", "Select"})  # "Select": a drop-down left unset
TRUE = frozenset({"1", "true", "yes", "y", "t", "won", "converted"})
FALSE = frozenset({"0", "false", "no", "n", "f", "lost", "not converted"})


def read_csv(path: str | Path) -> dict[str, list[str | None]]:
    """The file's columns, with blank and "Select" cells as None."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path}: empty file")
        columns: list[list[str | None]] = [[] for _ in header]
        for row in reader:
            if not row:
                continue
            row = row + [""] * (len(header) - len(row))
            for column, cell in zip(columns, row, strict=False):
                column.append(None if cell.strip() in MISSING else cell)
    return dict(zip(header, columns, strict=True))


def parse_outcome(value: str | None) -> int | None:
    """1 converted, 0 not converted, None unknown; raises ValueError on anything else."""
    if value is None:
        return None
    text = value.strip().casefold()
    if text in TRUE:
        return 1
    if text in FALSE:
        return 0
    try:
        return int(float(text) > 0)
    except ValueError:
        raise ValueError(f"target value {value!r} is neither converted nor not converted") from None


def time_values(values: Sequence[str | None]) -> list[Any]:
    """Sortable times: numbers if all cells are, else ISO date-times (naive = UTC), else text."""
    present = [v.strip() for v in values if v is not None]
    for parse in (float, _iso_datetime):
        try:
            for value in present:
                parse(value)
        except ValueError:
            continue
        return [parse(v.strip()) if v is not None else None for v in values]
    return [v.strip() if v is not None else None for v in values]


def _iso_datetime(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def rule_scores(values: Sequence[str | None]) -> list[float]:
    """Rule scores as numbers; a lead without one ranks below every scored lead."""
    try:
        scores = [float(v) if v is not None else None for v in values]
    except ValueError as error:
        raise ValueError(f"rule score column: {error}") from None
    lowest = min((s for s in scores if s is not None), default=0.0) - 1.0
    return [s if s is not None else lowest for s in scores]


def evaluate_csv(
    path: str | Path,
    target: str,
    exclude: Iterable[str] = (),
    time_column: str | None = None,
    seed: int = 0,
    *,
    rule_score_column: str | None = None,
    folds: int = 5,
    min_outcomes: int = MIN_OUTCOMES,
) -> dict[str, Any]:
    """Cross-validate (and back-test) the model on a CSV; a JSON-serialisable dict of metrics.

    Rows without an outcome are left out. With too few outcomes the result has status
    "not_enough_outcomes" and a message to show instead of metrics.
    """
    columns = read_csv(path)
    named = [target, *exclude, *(c for c in (time_column, rule_score_column) if c)]
    unknown = [name for name in named if name not in columns]
    if unknown:
        raise ValueError(f"no such column: {', '.join(unknown)}")
    outcomes = [parse_outcome(v) for v in columns[target]]
    rows = [i for i, outcome in enumerate(outcomes) if outcome is not None]
    y = np.array([outcomes[i] for i in rows], dtype=np.int8)
    skip = {target, *exclude, *(c for c in (time_column, rule_score_column) if c)}
    features = {name: [values[i] for i in rows] for name, values in columns.items()}
    inputs = {name: values for name, values in features.items() if name not in skip}
    result: dict[str, Any] = {
        "file": str(path),
        "target": target,
        "leads": len(rows),
        "conversions": int(y.sum()),
        "base_rate": round(float(y.mean()), 4) if len(y) else None,
        "excluded": sorted(skip - {target}),
    }
    try:
        check_outcomes(y, min_outcomes)
    except NotEnoughOutcomes as error:
        return {**result, "status": "not_enough_outcomes", "message": str(error)}
    rules = rule_scores(features[rule_score_column]) if rule_score_column else None
    model = train(inputs, y, min_outcomes=min_outcomes, seed=seed)
    result["status"] = "ok"
    result["training"] = model.report.as_dict()
    result["cross_validation"] = cross_validate(
        inputs, y, folds=folds, seed=seed, rule_scores=rules, min_outcomes=min_outcomes
    )
    if time_column:
        times = time_values(features[time_column])
        result["backtest"] = backtest(
            inputs, y, times, rule_scores=rules, min_outcomes=min_outcomes, seed=seed
        )
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the evaluation of a CSV as JSON; exit status 2 on too few outcomes."""
    parser = argparse.ArgumentParser(
        prog="leadline scoring evaluate",
        description="Cross-validate the predictive lead-scoring model on a CSV of past leads.",
    )
    parser.add_argument("file", help="CSV with a header row; blank and 'Select' cells are missing")
    parser.add_argument("--target", required=True, help="outcome column (1/0, yes/no, won/lost)")
    parser.add_argument("--exclude", nargs="+", default=[], action="extend", metavar="COLUMN")
    parser.add_argument("--time-column", help="back-test: train on older leads, test on newer")
    parser.add_argument("--rule-score", help="a column of rule scores to compare against")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-outcomes", type=int, default=MIN_OUTCOMES)
    args = parser.parse_args(argv)
    try:
        result = evaluate_csv(
            args.file,
            args.target,
            exclude=args.exclude,
            time_column=args.time_column,
            seed=args.seed,
            rule_score_column=args.rule_score,
            folds=args.folds,
            min_outcomes=args.min_outcomes,
        )
    except (OSError, ValueError) as error:
        parser.exit(1, f"leadline scoring evaluate: {error}\n")
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0 if result["status"] == "ok" else 2


if __name__ == "__main__":
    sys.exit(main())
