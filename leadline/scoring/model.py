"""Predictive lead scoring: learn the chance that a lead converts from past leads with outcomes.

Pure Python (numpy, scikit-learn); no Django. The input is either a list of records (dicts of lead
field name to value) or a dict of columns (field name to a sequence of values); values may be
strings, numbers, bools or None.

**Features.** Each field is typed from the training data: *numeric* if every present value parses
as a number (bools count as 0/1), otherwise *categorical* (compared after trimming and case-folding,
so "Google" and "google" are one value). Missing values (None, NaN, blank strings) are information,
not noise: a categorical field gets its own "(missing)" category, a numeric field is left missing
for the trees and gets a missing indicator in the linear model. Categories seen fewer than
``min_category_count`` times are grouped as "(other)", as are values first seen after training;
this keeps identifiers and free text from being memorised. Fields with a single value are dropped.

**Model.** The average, in log-odds, of two models fitted with log loss:
- gradient-boosted trees (scikit-learn ``HistGradientBoostingClassifier``, native categorical
  splits and missing values; 67 trees of at most 15 leaves, learning rate 0.15, L2 1.0);
- an L2-regularised logistic regression (C = 0.5) on one-hot categories and, for each numeric
  field, a cubic B-spline of ``sign(x) * log(1 + |x|)`` with knots at its quantiles plus a
  missing indicator.
Both are fitted by minimising log loss and are close to calibrated on their own. When the training
set has at most ``CALIBRATION_MAX_ROWS`` leads (where boosted trees are most prone to
over-confidence and the extra fits are cheap), the blend weights and intercept are refitted on
3-fold out-of-fold predictions of the training data (a stacked Platt scaling); above that the
plain average is used, to keep a 30,000-lead fit under a second on one core. The training report
says which was done.

**Explanation.** ``LeadScorer.explain`` measures, for each field, how much this lead's probability
would change if that field took the values of typical leads instead: ``effect = p(lead) -
mean over background leads b of p(lead with the field set to b's value)``, with 100 background leads
drawn from the training data. Effects are in probability (0.05 = five percentage points), exact
for this definition, and not additive: they need not sum to ``p(lead) - average p``.

**Leakage.** A field that alone separates converted from not-converted leads almost perfectly is
usually filled in after the outcome is known; it is flagged in the training report, not dropped.
The test: score each lead by its value's conversion rate (numbers in 20 quantile bins), learned
on the other half of the leads (a stratified random half, so ids that never recur do not count),
and flag a ROC AUC >= ``LEAKAGE_AUC`` (0.9).

**Speed.** Fitting and scoring use one native thread (see ``THREADS``); categorical values are
looked up once per distinct value, so scoring a column costs one dict look-up per lead.

**Evaluation.** ``evaluate`` gives ROC AUC, PR AUC (average precision), Brier score, log loss,
expected calibration error over 10 equal-width probability bins (weighted by count), the
calibration table, lift by decile and the share of conversions held by the top 10/20/50% of
scored leads (ties at a cut-off are shared pro rata). ``cross_validate`` runs stratified k-fold
cross-validation and ``backtest`` a time-ordered split (train on older, test on newer).
"""

from __future__ import annotations

import functools
import itertools
import math
import pickle
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ParamSpec, TypeVar

import numpy as np
import sklearn
from scipy import sparse  # a dependency of scikit-learn
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import SplineTransformer
from threadpoolctl import ThreadpoolController  # a dependency of scikit-learn

MIN_OUTCOMES = 30
LEAKAGE_AUC = 0.9
MIN_CATEGORY_COUNT = 10
MAX_CATEGORIES = 250  # kept values per field; the trees allow at most 255 bins
CALIBRATION_MAX_ROWS = 20_000
CALIBRATION_FOLDS = 3
BACKGROUND_ROWS = 100
ECE_BINS = 10
CHUNK_ROWS = 100_000
DENSE_DESIGN_MAX_CELLS = 20_000_000  # 80 MB of float32: the linear model's design is dense below
FORMAT_VERSION = 1
# Native threads (OpenMP, BLAS) used to fit and score. Leadline runs the model inside web and
# worker processes that share the machine's cores; one thread meets the speed targets, while
# OpenMP's spinning threads on busy cores made a 9,000-lead fit 12x slower (0.9 s vs 37 s wall
# on a loaded 2-core machine).
THREADS = 1

# 67 trees at a learning rate of 0.15 rather than 100 at 0.1: a fifth less time to fit, with the
# same cross-validated ROC AUC, Brier score and calibration (within 0.001) on the benchmark's
# four fold splits.
TREE_PARAMS = {
    "learning_rate": 0.15,
    "max_iter": 67,
    "max_leaf_nodes": 15,
    "l2_regularization": 1.0,
    "early_stopping": False,
}
LINEAR_C = 0.5

Data = Mapping[str, Sequence[Any]] | Iterable[Mapping[str, Any]]
P = ParamSpec("P")
R = TypeVar("R")


_CONTROLLER: list[ThreadpoolController] = []


def _limit_threads(function: Callable[P, R]) -> Callable[P, R]:
    # `threadpool_limits()` inspects every loaded library each time (~4 ms: more than a
    # prediction); a controller made once per process keeps what it found.
    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if not _CONTROLLER:
            _CONTROLLER.append(ThreadpoolController())
        with _CONTROLLER[0].limit(limits=THREADS):
            return function(*args, **kwargs)

    return wrapper


class NotEnoughOutcomes(ValueError):
    """Too few converted or not-converted leads to learn from: callers fall back to rules."""

    def __init__(self, positives: int, negatives: int, minimum: int) -> None:
        self.positives, self.negatives, self.minimum = positives, negatives, minimum
        super().__init__(
            f"Not enough outcomes to train a predictive model: {positives} converted and "
            f"{negatives} not converted leads; at least {minimum} of each are needed. "
            "Scores fall back to the rules."
        )


# --- columns and values ---------------------------------------------------------------------


def as_columns(data: Data, names: Sequence[str] | None = None) -> dict[str, Sequence[Any]]:
    """A dict of columns from either a dict of columns or an iterable of records."""
    if isinstance(data, Mapping):
        return dict(data)
    records = data if isinstance(data, Sequence) else list(data)
    if names is None:
        seen: dict[str, None] = {}
        for record in records:
            for name in record:
                seen.setdefault(name, None)
        names = list(seen)
    return {name: [record.get(name) for record in records] for name in names}


def _column_length(columns: Mapping[str, Sequence[Any]]) -> int:
    lengths = {len(values) for values in columns.values()}
    if len(lengths) > 1:
        raise ValueError("columns have different lengths")
    return lengths.pop() if lengths else 0


def _take(columns: Mapping[str, Sequence[Any]], index: np.ndarray) -> dict[str, np.ndarray]:
    return {name: np.asarray(values, dtype=object)[index] for name, values in columns.items()}


def _factorize(values: Sequence[Any]) -> tuple[list[Any], np.ndarray]:
    """The distinct values and, for each position, the index of its value (fast for 1e6 rows)."""
    if isinstance(values, np.ndarray):
        # Python objects, so both passes below see the same objects (NaN matches itself only
        # by identity, and iterating an array makes new scalars each time).
        values = values.tolist()
    try:
        return _factorize_hashable(values)
    except TypeError:  # unhashable values such as lists: compare them by their text
        return _factorize_hashable([v if _hashable(v) else repr(v) for v in values])


def _factorize_hashable(values: Sequence[Any]) -> tuple[list[Any], np.ndarray]:
    # One pass in C: a value not yet in the dict gets the next number (first-seen order). Each
    # pass reads every value object from memory, the slow part, so one pass rather than two.
    index: defaultdict[Any, int] = defaultdict(itertools.count().__next__)
    inverse = np.fromiter(map(index.__getitem__, values), dtype=np.intp, count=len(values))
    return list(index), inverse


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        return not value.strip()
    return False


def _to_float(value: Any) -> float:
    """The value as a finite number, or NaN when it is missing or not a number."""
    if isinstance(value, bool | np.bool_):
        return float(value)
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def _category_key(value: Any) -> str | None:
    """The value compared as a category: trimmed and case-folded text; None when missing."""
    if _is_missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return " ".join(str(value).split()).casefold()


def _numeric_values(values: Sequence[Any]) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        out = values.astype(float)
    else:
        try:
            out = np.array(values, dtype=float)
        except (TypeError, ValueError):
            distinct, inverse = _factorize(values)
            out = np.array([_to_float(v) for v in distinct], dtype=float)[inverse]
    out[~np.isfinite(out)] = np.nan
    return out


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


# --- feature encoding -------------------------------------------------------------------------


@dataclass
class _Feature:
    name: str
    kind: str  # "categorical" or "numeric"
    missing_share: float
    categories: list[str] = field(default_factory=list)  # categorical: kept values, by code
    index: dict[str, int] = field(default_factory=dict)
    median: float = 0.0  # numeric: fill for the linear model, on the signed-log scale
    has_missing: bool = False
    spline: SplineTransformer | None = None
    mean: float = 0.0
    scale: float = 1.0

    @property
    def other_code(self) -> int:
        return len(self.categories)

    @property
    def missing_code(self) -> int:
        return len(self.categories) + 1

    def codes(self, values: Sequence[Any]) -> np.ndarray:
        distinct, inverse = _factorize(values)
        lookup = []
        for value in distinct:
            key = _category_key(value)
            lookup.append(
                self.missing_code if key is None else self.index.get(key, self.other_code)
            )
        return np.array(lookup, dtype=np.intp)[inverse]

    def linear_width(self) -> int:
        if self.kind == "categorical":
            return len(self.categories) + 2
        basis = self.spline.n_features_out_ if self.spline is not None else 1
        return basis + int(self.has_missing)

    def linear_basis(self, x: np.ndarray) -> np.ndarray:
        """The numeric field's columns in the linear model."""
        missing = np.isnan(x)
        t = np.where(missing, self.median, _signed_log(np.where(missing, 0.0, x)))
        if self.spline is not None:
            parts = [self.spline.transform(t[:, None])]
        else:
            parts = [((t - self.mean) / self.scale)[:, None]]
        if self.has_missing:
            parts.append(missing[:, None].astype(float))
        return np.hstack(parts)


def _fit_feature(
    name: str, values: Sequence[Any], min_count: int, force_categorical: bool
) -> tuple[_Feature | None, np.ndarray | None, str | None]:
    """Type one field from its training values and encode them; None (and why) if unusable."""
    distinct, inverse = _factorize(values)
    n = len(inverse)
    keys = [_category_key(v) for v in distinct]
    present = np.array([k is not None for k in keys], dtype=bool)
    counts = np.bincount(inverse, minlength=len(distinct))
    missing_share = 1.0 - counts[present].sum() / n if n else 1.0
    if not present.any():
        return None, None, f"{name}: always missing, ignored"
    parsed = np.array([_to_float(v) for v in distinct], dtype=float)
    numeric = not force_categorical and bool(np.all(~np.isnan(parsed[present])))
    if numeric:
        x = parsed[inverse]
        observed = x[~np.isnan(x)]
        if np.unique(observed).size < 2 and missing_share == 0:
            return None, None, f"{name}: a single value, ignored"
        feature = _Feature(name, "numeric", missing_share, has_missing=missing_share > 0)
        t = _signed_log(observed)
        feature.median = float(np.median(t))
        knots = np.unique(np.quantile(t, np.linspace(0, 1, 6)))
        if knots.size >= 3:
            feature.spline = SplineTransformer(
                knots=knots[:, None], degree=3, extrapolation="constant"
            ).fit(t[:, None])
        else:
            feature.mean, feature.scale = float(t.mean()), float(t.std() or 1.0)
        return feature, x, None
    totals: dict[str, int] = {}
    for key, count in zip(keys, counts.tolist(), strict=True):
        if key is not None:
            totals[key] = totals.get(key, 0) + count
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = [key for key, count in ranked if count >= min_count][:MAX_CATEGORIES]
    has_other = len(kept) < len(ranked)
    if not kept and not missing_share:
        return None, None, f"{name}: values hardly repeat (an identifier or free text?), ignored"
    if len(kept) + int(has_other) + int(missing_share > 0) < 2:
        return None, None, f"{name}: a single value, ignored"
    feature = _Feature(name, "categorical", missing_share, categories=kept)
    feature.index = {key: code for code, key in enumerate(kept)}
    lookup = [
        feature.index.get(k, feature.other_code) if k is not None else feature.missing_code
        for k in keys
    ]
    return feature, np.array(lookup, dtype=np.intp)[inverse], None


@dataclass
class _Encoded:
    """Features of n leads: category codes (n, categorical fields) and numbers (n, numeric)."""

    codes: np.ndarray
    numbers: np.ndarray

    def rows(self, index: np.ndarray) -> _Encoded:
        return _Encoded(self.codes[index], self.numbers[index])

    def __len__(self) -> int:
        return len(self.codes)


# --- the model --------------------------------------------------------------------------------


@dataclass
class TrainingReport:
    """What training saw and decided; JSON-serialisable through ``as_dict``."""

    leads: int
    positives: int
    negatives: int
    base_rate: float
    features: list[dict[str, Any]]
    leakage: list[dict[str, Any]]
    warnings: list[str]
    calibration: dict[str, Any]
    settings: dict[str, Any]
    fit_seconds: float
    versions: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class LeadScorer:
    """A trained model: ``predict`` probabilities, ``explain`` one lead, ``to_bytes`` to store."""

    def __init__(
        self,
        features: list[_Feature],
        trees: HistGradientBoostingClassifier,
        linear: _Linear,
        blend: tuple[float, float, float],
        background: _Encoded,
        report: TrainingReport,
    ) -> None:
        self.features = features
        self.trees = trees
        self.linear = linear
        self.blend = blend  # (weight of trees, weight of linear model, intercept), in log-odds
        self.background = background
        self.report = report
        self.metrics: dict[str, Any] | None = None  # evaluation results kept with the model

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    # Prediction --------------------------------------------------------------------------

    def _log_odds(self, encoded: _Encoded) -> np.ndarray:
        trees = self.trees.decision_function(_tree_matrix(encoded))
        linear = self.linear.log_odds(encoded)
        w_trees, w_linear, intercept = self.blend
        return w_trees * trees + w_linear * linear + intercept

    def _proba(self, encoded: _Encoded) -> np.ndarray:
        return _sigmoid(self._log_odds(encoded))

    @_limit_threads
    def predict(self, data: Data, chunk_size: int = CHUNK_ROWS) -> np.ndarray:
        """Conversion probabilities for a dict of columns or an iterable of records, in order."""
        if isinstance(data, Mapping):
            n = _column_length(data)
            parts = []
            for start in range(0, n, chunk_size):
                chunk = {name: values[start : start + chunk_size] for name, values in data.items()}
                parts.append(self._proba(_encode(self.features, chunk)))
            return np.concatenate(parts) if parts else np.empty(0)
        names = self.feature_names
        parts = [
            self._proba(_encode(self.features, as_columns(chunk, names)))
            for chunk in _chunks(iter(data), chunk_size)
        ]
        return np.concatenate(parts) if parts else np.empty(0)

    def predict_one(self, record: Mapping[str, Any]) -> float:
        return float(self.predict([record])[0])

    # Explanation ---------------------------------------------------------------------------

    @_limit_threads
    def explain(self, record: Mapping[str, Any], top: int | None = None) -> list[dict[str, Any]]:
        """The fields that raised and lowered this lead's probability, largest effect first.

        ``effect`` is p(lead) minus the mean p over background leads of the lead with this field
        replaced by theirs (see the module docstring); ``value`` is the record's own value.
        """
        x = _encode(self.features, as_columns([record], self.feature_names))
        p = float(self._proba(x)[0])
        b = len(self.background)
        blocks = []
        for kind, j in self._positions():
            block = _Encoded(np.repeat(x.codes, b, axis=0), np.repeat(x.numbers, b, axis=0))
            if kind == "categorical":
                block.codes[:, j] = self.background.codes[:, j]
            else:
                block.numbers[:, j] = self.background.numbers[:, j]
            blocks.append(block)
        stacked = _Encoded(
            np.vstack([blk.codes for blk in blocks]), np.vstack([blk.numbers for blk in blocks])
        )
        replaced = self._proba(stacked).reshape(len(blocks), b).mean(axis=1)
        factors = [
            {"feature": f.name, "value": _plain(record.get(f.name)), "effect": p - float(r)}
            for f, r in zip(self.features, replaced, strict=True)
        ]
        factors.sort(key=lambda item: -abs(item["effect"]))
        return factors[:top] if top is not None else factors

    def _positions(self) -> list[tuple[str, int]]:
        counters = {"categorical": 0, "numeric": 0}
        positions = []
        for f in self.features:
            positions.append((f.kind, counters[f.kind]))
            counters[f.kind] += 1
        return positions

    # Storage -------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The model with its report and metrics, as bytes (a pickle: load only trusted data)."""
        payload = {
            "format": FORMAT_VERSION,
            "sklearn": sklearn.__version__,
            "numpy": np.__version__,
            "model": self,
        }
        return pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def from_bytes(cls, data: bytes) -> LeadScorer:
        """A model stored by ``to_bytes``; never pass bytes from an untrusted source."""
        payload = pickle.loads(data)  # our own stored model versions only
        if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION:
            raise ValueError("not a stored Leadline scoring model of this format version")
        if payload["sklearn"] != sklearn.__version__:
            warnings.warn(
                f"model stored with scikit-learn {payload['sklearn']}, "
                f"running {sklearn.__version__}: retrain if predictions look wrong",
                stacklevel=2,
            )
        model = payload["model"]
        if not isinstance(model, cls):
            raise ValueError("stored object is not a LeadScorer")
        return model


def _chunks(iterator: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a record value."""
    if _is_missing(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _tree_matrix(encoded: _Encoded) -> np.ndarray:
    return np.hstack([encoded.codes.astype(float), encoded.numbers])


def _linear_design(features: list[_Feature], encoded: _Encoded) -> sparse.csr_matrix:
    """One-hot categories and numeric bases, as a sparse matrix for fitting."""
    categorical = [f for f in features if f.kind == "categorical"]
    numeric = [f for f in features if f.kind == "numeric"]
    n = len(encoded)
    widths = [f.linear_width() for f in categorical]
    offsets = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.intp)
    k = len(categorical)
    onehot = sparse.csr_matrix(
        (
            np.ones(n * k),
            (encoded.codes + offsets).ravel(),
            np.arange(0, n * k + 1, k) if k else np.zeros(n + 1, dtype=np.intp),
        ),
        shape=(n, int(sum(widths))),
    )
    blocks = [onehot]
    for j, f in enumerate(numeric):
        blocks.append(sparse.csr_matrix(f.linear_basis(encoded.numbers[:, j])))
    return sparse.hstack(blocks, format="csr")


class _Linear:
    """The logistic model with its coefficients split per field, to score without one-hot."""

    def __init__(self, features: list[_Feature], model: LogisticRegression) -> None:
        self.model = model
        self.intercept = float(model.intercept_[0])
        self.numeric = [f for f in features if f.kind == "numeric"]
        coef = model.coef_[0]
        self.tables: list[np.ndarray] = []  # per field, indexed by category code or basis column
        start = 0
        for f in [f for f in features if f.kind == "categorical"] + self.numeric:
            self.tables.append(coef[start : start + f.linear_width()])
            start += f.linear_width()

    def log_odds(self, encoded: _Encoded) -> np.ndarray:
        z = np.full(len(encoded), self.intercept)
        k = encoded.codes.shape[1]
        for j in range(k):
            z += self.tables[j][encoded.codes[:, j]]
        for j, f in enumerate(self.numeric):
            z += f.linear_basis(encoded.numbers[:, j]) @ self.tables[k + j]
        return z


def _encode(features: list[_Feature], columns: Mapping[str, Sequence[Any]]) -> _Encoded:
    """Category codes and numbers for the model's fields; absent fields count as missing."""
    n = _column_length(columns)
    absent = [None] * n
    categorical = [f for f in features if f.kind == "categorical"]
    numeric = [f for f in features if f.kind == "numeric"]
    codes = np.empty((n, len(categorical)), dtype=np.intp)
    for j, f in enumerate(categorical):
        codes[:, j] = f.codes(columns.get(f.name, absent))
    numbers = np.empty((n, len(numeric)), dtype=float)
    for j, f in enumerate(numeric):
        numbers[:, j] = _numeric_values(columns.get(f.name, absent))
    return _Encoded(codes, numbers)


# --- training ---------------------------------------------------------------------------------


def check_outcomes(outcomes: Sequence[Any], minimum: int = MIN_OUTCOMES) -> np.ndarray:
    """The outcomes as 0/1, or NotEnoughOutcomes when either class has fewer than ``minimum``."""
    if any(isinstance(v, str) for v in outcomes):
        raise TypeError("outcomes must be booleans or 0/1, not text")
    y = np.asarray([bool(v) for v in outcomes], dtype=np.int8)
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives < max(minimum, 1) or negatives < max(minimum, 1):
        raise NotEnoughOutcomes(positives, negatives, minimum)
    return y


CALIBRATIONS = ("auto", "stacked", "none")


@_limit_threads
def train(
    data: Data,
    outcomes: Sequence[Any],
    *,
    exclude: Iterable[str] = (),
    categorical: Iterable[str] = (),
    min_outcomes: int = MIN_OUTCOMES,
    min_category_count: int = MIN_CATEGORY_COUNT,
    calibration: str = "auto",
    leakage_auc: float = LEAKAGE_AUC,
    cv_folds: int = 0,
    seed: int = 0,
) -> LeadScorer:
    """Train on leads (records or columns) and their outcomes (truthy = converted).

    Raises NotEnoughOutcomes below ``min_outcomes`` of either class. ``categorical`` names
    fields to treat as categories even if numeric (codes, postcodes). ``calibration`` is "auto",
    "stacked" (blend refitted on out-of-fold predictions) or "none". With ``cv_folds`` > 1 the
    model also carries ``cross_validate`` metrics in ``.metrics``.
    """
    if calibration not in CALIBRATIONS:
        raise ValueError(f"calibration must be one of {', '.join(CALIBRATIONS)}")
    started = time.perf_counter()
    columns = as_columns(data)
    y = check_outcomes(outcomes, min_outcomes)
    if _column_length(columns) != len(y):
        raise ValueError("as many outcomes as leads are needed")
    skip, forced = set(exclude), set(categorical)
    features, encoded, notes = _fit_features(columns, skip, forced, min_category_count)
    trees, linear = _fit_pair(features, encoded, y, seed)
    blend, calibrated = _calibrate(features, encoded, y, calibration, seed)
    rows = np.random.default_rng(seed).choice(len(y), min(BACKGROUND_ROWS, len(y)), replace=False)
    settings = {
        "trees": TREE_PARAMS,
        "linear_c": LINEAR_C,
        "min_category_count": min_category_count,
        "leakage_auc": leakage_auc,
        "background_rows": len(rows),
        "excluded": sorted(skip),
        "categorical": sorted(forced),
    }
    report = _report(columns, features, encoded, y, notes, calibrated, settings, seed)
    model = LeadScorer(features, trees, linear, blend, encoded.rows(rows), report)
    report.fit_seconds = round(time.perf_counter() - started, 3)
    if cv_folds > 1:
        model.metrics = cross_validate(
            {f.name: columns[f.name] for f in features},
            y,
            folds=cv_folds,
            seed=seed,
            calibration=calibration,
            categorical=forced,
            min_category_count=min_category_count,
            min_outcomes=min_outcomes,
        )
    return model


def _fit_features(
    columns: Mapping[str, Sequence[Any]], skip: set[str], forced: set[str], min_count: int
) -> tuple[list[_Feature], _Encoded, list[str]]:
    """The usable fields (categorical first, then numeric), their training values encoded,
    and notes on the fields left out."""
    fitted, notes = [], []
    for name, values in columns.items():
        if name in skip:
            continue
        feature, column, note = _fit_feature(name, values, min_count, name in forced)
        if feature is not None:
            fitted.append((feature, column))
        if note:
            notes.append(note)
    if not fitted:
        raise ValueError("no usable fields: every field is missing, constant or excluded")
    fitted.sort(key=lambda pair: pair[0].kind != "categorical")
    features = [f for f, _ in fitted]
    n_cat = sum(f.kind == "categorical" for f in features)
    empty = np.empty((_column_length(columns), 0))
    encoded = _Encoded(
        np.column_stack([c for _, c in fitted[:n_cat]] or [empty]).astype(np.intp),
        np.column_stack([c for _, c in fitted[n_cat:]] or [empty]).astype(float),
    )
    return features, encoded, notes + _identifier_warnings(features, encoded)


def _calibrate(
    features: list[_Feature], encoded: _Encoded, y: np.ndarray, calibration: str, seed: int
) -> tuple[tuple[float, float, float], dict[str, Any]]:
    """Blend weights and intercept, and what was done to choose them."""
    plain = (0.5, 0.5, 0.0)
    if calibration == "none":
        return plain, {"method": "none", "reason": "not asked for"}
    if calibration == "auto" and len(y) > CALIBRATION_MAX_ROWS:
        reason = f"more than {CALIBRATION_MAX_ROWS} leads: plain average of log-odds"
        return plain, {"method": "none", "reason": reason}
    if min(int(y.sum()), int(len(y) - y.sum())) < 4 * CALIBRATION_FOLDS:
        return plain, {"method": "none", "reason": "too few outcomes for out-of-fold fitting"}
    return _stacked_blend(features, encoded, y, seed)


def _report(
    columns: Mapping[str, Sequence[Any]],
    features: list[_Feature],
    encoded: _Encoded,
    y: np.ndarray,
    notes: list[str],
    calibration: dict[str, Any],
    settings: dict[str, Any],
    seed: int,
) -> TrainingReport:
    single = _single_field_auc(features, encoded, y, seed)
    position = {name: i for i, name in enumerate(columns)}
    listed = sorted(zip(features, single, strict=True), key=lambda pair: position[pair[0].name])
    threshold = settings["leakage_auc"]
    return TrainingReport(
        leads=len(y),
        positives=int(y.sum()),
        negatives=int(len(y) - y.sum()),
        base_rate=float(y.mean()),
        features=[
            {
                "name": f.name,
                "kind": f.kind,
                "missing_share": round(float(f.missing_share), 4),
                "categories": len(f.categories) if f.kind == "categorical" else None,
                "single_field_auc": round(auc, 4),
            }
            for f, auc in listed
        ],
        leakage=[
            {
                "feature": f.name,
                "single_field_auc": round(auc, 4),
                "message": f"{f.name} alone predicts the outcome almost perfectly (ROC AUC "
                f"{auc:.3f}): it is probably filled in after the outcome is known. Exclude it "
                "unless it is known when the lead arrives.",
            }
            for f, auc in listed
            if auc >= threshold
        ],
        warnings=notes,
        calibration=calibration,
        settings=settings,
        fit_seconds=0.0,
        versions={"sklearn": sklearn.__version__, "numpy": np.__version__},
    )


def _fit_pair(
    features: list[_Feature], encoded: _Encoded, y: np.ndarray, seed: int
) -> tuple[HistGradientBoostingClassifier, _Linear]:
    is_cat = [True] * encoded.codes.shape[1] + [False] * encoded.numbers.shape[1]
    trees = HistGradientBoostingClassifier(
        categorical_features=np.array(is_cat), random_state=seed, **TREE_PARAMS
    )
    trees.fit(_tree_matrix(encoded), y)
    design = _linear_design(features, encoded)
    if design.shape[0] * design.shape[1] <= DENSE_DESIGN_MAX_CELLS:
        # Each Newton step's Hessian (design.T @ diag(w) @ design) is the bulk of the logistic
        # fit; in dense float32 it is a BLAS product at twice float64's speed, and takes 40%
        # less time than the sparse float64 product (the coefficients move by ~1e-4).
        design = design.astype(np.float32).toarray()
    # Newton's method converges in a few steps but builds a dense (columns x columns) Hessian.
    solver = "newton-cholesky" if design.shape[1] <= 1000 else "lbfgs"
    linear = LogisticRegression(C=LINEAR_C, solver=solver, max_iter=1000)
    linear.fit(design, y)
    return trees, _Linear(features, linear)


def _stacked_blend(
    features: list[_Feature], encoded: _Encoded, y: np.ndarray, seed: int
) -> tuple[tuple[float, float, float], dict[str, Any]]:
    """Blend weights and intercept fitted on out-of-fold log-odds of the training leads."""
    oof = np.zeros((len(y), 2))
    folds = StratifiedKFold(CALIBRATION_FOLDS, shuffle=True, random_state=seed)
    for fit_rows, held_rows in folds.split(np.zeros(len(y)), y):
        trees, linear = _fit_pair(features, encoded.rows(fit_rows), y[fit_rows], seed)
        part = encoded.rows(held_rows)
        oof[held_rows, 0] = trees.decision_function(_tree_matrix(part))
        oof[held_rows, 1] = linear.log_odds(part)
    stack = LogisticRegression(C=1e4).fit(oof, y)
    w_trees, w_linear = (float(w) for w in stack.coef_[0])
    intercept = float(stack.intercept_[0])
    method = "stacked"
    if w_trees <= 0 or w_linear <= 0:  # collinear scores: keep the plain average, rescaled
        platt = LogisticRegression(C=1e4).fit(oof.mean(axis=1, keepdims=True), y)
        slope = max(float(platt.coef_[0][0]), 1e-3)
        w_trees = w_linear = slope / 2
        intercept = float(platt.intercept_[0])
        method = "platt"
    blended = _sigmoid(w_trees * oof[:, 0] + w_linear * oof[:, 1] + intercept)
    info = {
        "method": method,
        "folds": CALIBRATION_FOLDS,
        "weights": {"trees": round(w_trees, 4), "linear": round(w_linear, 4)},
        "intercept": round(intercept, 4),
        "out_of_fold_roc_auc": round(float(roc_auc_score(y, blended)), 4),
        "out_of_fold_ece": round(expected_calibration_error(y, blended), 4),
    }
    return (w_trees, w_linear, intercept), info


def _single_field_auc(
    features: list[_Feature], encoded: _Encoded, y: np.ndarray, seed: int
) -> list[float]:
    """ROC AUC of each field alone: each value (numbers: 20 quantile bins) scored by its
    conversion rate, cross-fitted (rates from one half of the leads score the other half)."""
    # Stratified halves: shuffle, then alternate within each outcome.
    order = np.random.default_rng(seed).permutation(len(y))
    order = order[np.argsort(y[order], kind="stable")]
    half = np.zeros(len(y), dtype=bool)
    half[order[::2]] = True
    result = []
    for j in range(encoded.codes.shape[1]):
        result.append(_cross_fitted_auc(encoded.codes[:, j], y, half))
    for j in range(encoded.numbers.shape[1]):
        x = encoded.numbers[:, j]
        edges = np.unique(np.quantile(x[~np.isnan(x)], np.linspace(0, 1, 21)[1:-1]))
        groups = np.where(np.isnan(x), 0, 1 + np.searchsorted(edges, np.nan_to_num(x)))
        result.append(_cross_fitted_auc(groups, y, half))
    return result


def _cross_fitted_auc(groups: np.ndarray, y: np.ndarray, half: np.ndarray) -> float:
    # Leads and conversions per (group, half) in two passes over the leads, rather than
    # masked copies per half: column 0 is the second half, column 1 the first.
    cell = 2 * groups + half
    k = int(groups.max()) + 1
    n = np.bincount(cell, minlength=2 * k).reshape(k, 2)
    pos = np.bincount(cell, weights=y, minlength=2 * k).reshape(k, 2)
    scores, positives, negatives = [], [], []
    for side, other in ((1, 0), (0, 1)):
        total = n[:, other].sum()
        prior = pos[:, other].sum() / total if total else 0.5
        # unseen values score the prior
        scores.append((pos[:, other] + prior) / (n[:, other] + 1.0))
        positives.append(pos[:, side])
        negatives.append(n[:, side] - pos[:, side])
    return _auc_from_counts(
        np.concatenate(scores), np.concatenate(positives), np.concatenate(negatives)
    )


def _auc_from_counts(scores: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> float:
    """ROC AUC when every lead of group g has score scores[g] (ties count one half)."""
    levels, level = np.unique(scores, return_inverse=True)
    pos_l = np.bincount(level, weights=pos, minlength=levels.size)
    neg_l = np.bincount(level, weights=neg, minlength=levels.size)
    below = np.cumsum(neg_l) - neg_l
    denominator = pos_l.sum() * neg_l.sum()
    return float((pos_l @ below + 0.5 * pos_l @ neg_l) / denominator) if denominator else 0.5


def _identifier_warnings(features: list[_Feature], encoded: _Encoded) -> list[str]:
    notes = []
    numeric = [f for f in features if f.kind == "numeric"]
    for j, f in enumerate(numeric):
        observed = encoded.numbers[:, j][~np.isnan(encoded.numbers[:, j])]
        distinct = np.unique(observed).size == observed.size
        if observed.size >= 50 and distinct and np.all(observed == np.round(observed)):
            notes.append(
                f"{f.name}: every value is a distinct whole number; if it is an identifier "
                "or a sequence number, exclude it"
            )
    for f in features:
        if f.kind == "categorical" and not f.categories:
            notes.append(f"{f.name}: no value repeats often enough to learn from")
    return notes


# --- evaluation -------------------------------------------------------------------------------


def expected_calibration_error(
    outcomes: Sequence[Any], probabilities: Sequence[float], n_bins: int = ECE_BINS
) -> float:
    """Sum over equal-width probability bins of (share of leads) x |mean predicted - observed|."""
    y = np.asarray(outcomes, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    pred = np.bincount(bins, weights=p, minlength=n_bins)
    obs = np.bincount(bins, weights=y, minlength=n_bins)
    return float(np.abs(pred - obs).sum() / len(y)) if len(y) else 0.0


def calibration_table(
    outcomes: Sequence[Any], probabilities: Sequence[float], n_bins: int = ECE_BINS
) -> list[dict[str, Any]]:
    """Per equal-width probability bin: leads, mean predicted and observed conversion rate."""
    y = np.asarray(outcomes, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    rows = []
    for b in range(n_bins):
        mask = bins == b
        count = int(mask.sum())
        rows.append(
            {
                "bin": f"{b / n_bins:.1f}-{(b + 1) / n_bins:.1f}",
                "leads": count,
                "mean_predicted": round(float(p[mask].mean()), 4) if count else None,
                "observed_rate": round(float(y[mask].mean()), 4) if count else None,
            }
        )
    return rows


def _positives_in_top(y: np.ndarray, s: np.ndarray, ks: Sequence[int]) -> np.ndarray:
    """Expected conversions among the k best-scored leads, sharing ties at the cut pro rata."""
    order = np.argsort(-s, kind="stable")
    ss, yy = -s[order], y[order]
    cum = np.concatenate([[0.0], np.cumsum(yy)])
    out = []
    for k in ks:
        if k <= 0:
            out.append(0.0)
            continue
        lo = np.searchsorted(ss, ss[k - 1], side="left")
        hi = np.searchsorted(ss, ss[k - 1], side="right")
        out.append(cum[lo] + (k - lo) * (cum[hi] - cum[lo]) / (hi - lo))
    return np.array(out)


def ranking_metrics(outcomes: Sequence[Any], scores: Sequence[float]) -> dict[str, Any]:
    """Metrics that need only an ordering: for probabilities and for rule scores alike."""
    y = np.asarray(outcomes, dtype=float)
    s = np.asarray(scores, dtype=float)
    n, positives = len(y), float(y.sum())
    if n == 0 or positives in (0, n):
        raise ValueError("ranking metrics need both converted and not-converted leads")
    base = positives / n
    cuts = [round(n * d / 10) for d in range(11)]
    cum = _positives_in_top(y, s, cuts)
    deciles = []
    for d in range(10):
        leads = cuts[d + 1] - cuts[d]
        conv = cum[d + 1] - cum[d]
        rate = conv / leads if leads else 0.0
        deciles.append(
            {
                "decile": d + 1,
                "leads": leads,
                "conversions": round(float(conv), 2),
                "rate": round(float(rate), 4),
                "lift": round(float(rate / base), 3),
                "cumulative_share": round(float(cum[d + 1] / positives), 4),
            }
        )
    tops = _positives_in_top(y, s, [math.ceil(n * q) for q in (0.1, 0.2, 0.5)]) / positives
    return {
        "leads": n,
        "conversions": int(positives),
        "base_rate": round(base, 4),
        "roc_auc": float(roc_auc_score(y, s)),
        "pr_auc": float(average_precision_score(y, s)),
        "top_decile_lift": deciles[0]["lift"],
        "top_share": {
            "top_10": round(float(tops[0]), 4),
            "top_20": round(float(tops[1]), 4),
            "top_50": round(float(tops[2]), 4),
        },
        "lift_by_decile": deciles,
    }


def evaluate(
    outcomes: Sequence[Any], probabilities: Sequence[float], n_bins: int = ECE_BINS
) -> dict[str, Any]:
    """Ranking metrics plus Brier score, log loss, ECE and the calibration table."""
    y = np.asarray(outcomes, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    clipped = np.clip(p, 1e-12, 1 - 1e-12)
    result = ranking_metrics(y, p)
    result.update(
        brier=float(np.mean((p - y) ** 2)),
        log_loss=float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))),
        ece=expected_calibration_error(y, p, n_bins),
        ece_bins=f"{n_bins} equal-width bins on [0, 1], weighted by leads",
        calibration=calibration_table(y, p, n_bins),
    )
    return result


SUMMARY_KEYS = ("roc_auc", "pr_auc", "brier", "ece", "top_decile_lift")


def _summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [k for k in SUMMARY_KEYS if k in results[0]]
    out = {k: float(np.mean([r[k] for r in results])) for k in keys}
    out["std"] = {k: float(np.std([r[k] for r in results])) for k in keys}
    out["top_share"] = {
        t: float(np.mean([r["top_share"][t] for r in results])) for t in results[0]["top_share"]
    }
    return out


def cross_validate(
    data: Data,
    outcomes: Sequence[Any],
    *,
    folds: int = 5,
    seed: int = 0,
    rule_scores: Sequence[float] | None = None,
    **train_options: Any,
) -> dict[str, Any]:
    """Stratified k-fold cross-validation against the base rate (and a rule score, if given).

    ``mean`` averages per-fold metrics; ``pooled`` scores all out-of-fold predictions together
    (its calibration table and deciles). Training options pass through to ``train``.
    """
    columns = as_columns(data)
    y = np.asarray([bool(v) for v in outcomes], dtype=np.int8)
    check_outcomes(y, train_options.pop("min_outcomes", MIN_OUTCOMES))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    oof = np.zeros(len(y))
    base_oof = np.zeros(len(y))
    per_fold, base_fold, rule_fold = [], [], []
    for fit_rows, test_rows in splitter.split(np.zeros(len(y)), y):
        model = train(
            _take(columns, fit_rows), y[fit_rows], min_outcomes=0, seed=seed, **train_options
        )
        oof[test_rows] = model.predict(_take(columns, test_rows))
        base_oof[test_rows] = y[fit_rows].mean()
        per_fold.append(evaluate(y[test_rows], oof[test_rows]))
        base_fold.append(evaluate(y[test_rows], base_oof[test_rows]))
        if rule_scores is not None:
            rules = np.asarray(rule_scores, dtype=float)[test_rows]
            rule_fold.append(ranking_metrics(y[test_rows], rules))
    result: dict[str, Any] = {
        "method": f"stratified {folds}-fold cross-validation, seed {seed}",
        "mean": _summary(per_fold),
        "pooled": evaluate(y, oof),
        "per_fold": [{k: r[k] for k in SUMMARY_KEYS} for r in per_fold],
        "base_rate": _summary(base_fold),
    }
    if rule_scores is not None:
        result["rule_score"] = _summary(rule_fold)
    return result


def backtest(
    data: Data,
    outcomes: Sequence[Any],
    times: Sequence[Any],
    *,
    test_fraction: float = 0.2,
    rule_scores: Sequence[float] | None = None,
    **train_options: Any,
) -> dict[str, Any]:
    """Train on the oldest leads, test on the newest ``test_fraction`` (leads without a time
    are left out); returns the test metrics beside the base rate and rule score."""
    columns = as_columns(data)
    y = np.asarray([bool(v) for v in outcomes], dtype=np.int8)
    dated = [i for i, t in enumerate(times) if not _is_missing(t)]
    order = np.array(sorted(dated, key=lambda i: times[i]), dtype=np.intp)
    cut = int(round(len(order) * (1 - test_fraction)))
    fit_rows, test_rows = order[:cut], order[cut:]
    if len(test_rows) == 0 or len(set(y[test_rows].tolist())) < 2:
        return {"status": "skipped", "reason": "the newest leads lack one of the outcomes"}
    min_outcomes = train_options.pop("min_outcomes", MIN_OUTCOMES)
    try:
        model = train(
            _take(columns, fit_rows), y[fit_rows], min_outcomes=min_outcomes, **train_options
        )
    except NotEnoughOutcomes as error:
        return {"status": "skipped", "reason": str(error)}
    p = model.predict(_take(columns, test_rows))
    result: dict[str, Any] = {
        "status": "ok",
        "method": f"train on the oldest {1 - test_fraction:.0%}, test on the newest "
        f"{test_fraction:.0%} by time",
        "train_leads": len(fit_rows),
        "test_leads": len(test_rows),
        "train_until": str(times[fit_rows[-1]]),
        "test_from": str(times[test_rows[0]]),
        "train_conversion_rate": round(float(y[fit_rows].mean()), 4),
        "test_conversion_rate": round(float(y[test_rows].mean()), 4),
        "model": evaluate(y[test_rows], p),
        "base_rate": evaluate(y[test_rows], np.full(len(test_rows), y[fit_rows].mean())),
    }
    if rule_scores is not None:
        rules = np.asarray(rule_scores, dtype=float)[test_rows]
        result["rule_score"] = ranking_metrics(y[test_rows], rules)
    return result


def load(data: bytes) -> LeadScorer:
    """A model from ``LeadScorer.to_bytes`` output (trusted bytes only)."""
    return LeadScorer.from_bytes(data)
