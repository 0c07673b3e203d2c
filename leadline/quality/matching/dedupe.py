"""Batch duplicate detection over a list of lead records, and the ``leadline dedupe`` command.

    leadline dedupe leads.csv --out clusters.csv [--threshold 0.9]
    python -m leadline.quality.matching.dedupe leads.csv --out clusters.csv

The output has one row per input row: the original id, ``cluster_id`` (the id of the
cluster's first record), ``cluster_size``, ``match_probability`` (the record's strongest link
into its cluster; empty when it is alone), ``decision`` (``auto_merge`` / ``match`` for
clustered records, ``review`` / ``unique`` for the rest) and ``review_with`` (the best
candidate outside its cluster with a probability between the review and match thresholds).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import names
from .blocking import candidate_pairs
from .cluster import cluster
from .compare import Frame, Pairs
from .leads import lead_settings
from .model import MatchModel, Settings, TermFrequencies, probability

# Common header spellings -> field names (headers are lower-cased, non-alphanumerics -> "_").
HEADER_ALIASES = {
    "id": "lead_id record_id rec_id uuid contact_id external_id key lead",
    "first_name": "firstname first given_name givenname forename fname first_names",
    "last_name": "lastname last surname family_name familyname lname",
    "full_name": "name fullname contact_name contact person lead_name",
    "email": "e_mail email_address emailaddress mail work_email business_email",
    "phone": "phone_number telephone tel mobile mobile_phone cell work_phone phone1 phonenumber",
    "company": "company_name organization organisation org account account_name employer business",
    "job_title": "title jobtitle position role",
    "city": "town locality",
    "postcode": "post_code postal_code zip zip_code zipcode",
    "country": "country_code nation",
}
_ALIASES = {a: k for k, v in HEADER_ALIASES.items() for a in [k, *v.split()]}


def canonical_header(header: str) -> str | None:
    key = re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")
    return _ALIASES.get(key)


def columns_from_records(records: Sequence[Mapping[str, object]]) -> dict[str, list]:
    """Columnar form of a list of dicts whose keys may use any common header spelling."""
    keys: dict[str, str] = {}
    for rec in records[:1000]:
        for k in rec:
            canon = canonical_header(k)
            if canon and canon not in keys:
                keys[canon] = k
    cols = {canon: [rec.get(k) for rec in records] for canon, k in keys.items()}
    return _split_full_names(cols, len(records))


def _split_full_names(cols: dict[str, list], n: int) -> dict[str, list]:
    if "full_name" in cols and ("first_name" not in cols or "last_name" not in cols):
        parts = [
            names.split_full_name(v if isinstance(v, str) else None) for v in cols["full_name"]
        ]
        cols.setdefault("first_name", [p[0] for p in parts])
        cols.setdefault("last_name", [p[1] for p in parts])
    return cols


@dataclass
class Duplicates:
    """Result of a batch run: clusters plus the scored candidate pairs behind them."""

    cluster: np.ndarray  # cluster label per record: the smallest row number in the cluster
    probability: np.ndarray  # match probability of each record to its cluster (NaN if alone)
    a: np.ndarray  # candidate pairs (rows, a < b) ...
    b: np.ndarray
    pair_probability: np.ndarray  # ... and their match probabilities
    model: MatchModel
    stats: dict = field(default_factory=dict)

    def cluster_sizes(self) -> np.ndarray:
        return np.bincount(self.cluster, minlength=len(self.cluster))[self.cluster]

    def review_candidates(self) -> tuple[np.ndarray, np.ndarray]:
        """Per record, the best partner outside its cluster in the review band (-1 if none)."""
        m = self.model
        p = self.pair_probability
        band = (p >= m.review_threshold) & (self.cluster[self.a] != self.cluster[self.b])
        rec = np.concatenate([self.a[band], self.b[band]])
        other = np.concatenate([self.b[band], self.a[band]])
        pp = np.concatenate([p[band], p[band]])
        best = np.full(len(self.cluster), -1, dtype=np.int64)
        best_p = np.full(len(self.cluster), np.nan)
        if rec.size:
            order = np.lexsort((-pp, rec))
            first = order[np.r_[True, rec[order][1:] != rec[order][:-1]]]
            best[rec[first]] = other[first]
            best_p[rec[first]] = pp[first]
        return best, best_p


def find_duplicates(
    records: Sequence[Mapping[str, object]] | Mapping[str, Sequence[object]],
    *,
    settings: Settings | None = None,
    model: MatchModel | None = None,
    threshold: float | None = None,
    source: np.ndarray | None = None,
) -> Duplicates:
    """Cluster duplicate records; estimates the model from the records unless one is given.

    ``records`` is a list of dicts or a dict of columns (lists of equal length) keyed by field
    name. With ``source`` (a label per record) only records from different sources are linked.
    """
    settings = settings or (model.settings if model else lead_settings())
    cols = records if isinstance(records, Mapping) else columns_from_records(records)
    n = len(next(iter(cols.values()))) if cols else 0
    stats: dict[str, float | int | dict] = {"records": n}
    t0 = time.perf_counter()
    frame = settings.frame(cols, n)
    t1 = time.perf_counter()
    a, b, rule_mask = candidate_pairs(frame, settings.blocking, source)
    t2 = time.perf_counter()
    pairs = Pairs(frame, a, frame, b)
    levels, strata = settings.levels(pairs), settings.strata(pairs)
    t3 = time.perf_counter()
    if model is None:
        tf = TermFrequencies.from_frame(frame, settings.tf_features())
        model = MatchModel.estimate(settings, levels, strata, rule_mask, tf)
    elif not model.tf.tables:
        model.tf = TermFrequencies.from_frame(frame, settings.tf_features())
    t4 = time.perf_counter()
    prob = probability(model.match_weight(pairs, levels, strata))
    cut = model.threshold if threshold is None else threshold

    def score(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return probability(model.match_weight(Pairs(frame, i, frame, j)))

    label, rec_p = cluster(n, a, b, prob, cut, model.review_threshold, score)
    t5 = time.perf_counter()
    stats.update(
        candidates=int(a.size),
        candidates_per_rule={
            r.name: int(((rule_mask >> i) & 1).sum()) for i, r in enumerate(settings.blocking)
        },
        em_iterations=model.iterations,
        seconds={
            "features": round(t1 - t0, 3),
            "blocking": round(t2 - t1, 3),
            "comparisons": round(t3 - t2, 3),
            "estimate": round(t4 - t3, 3),
            "score_and_cluster": round(t5 - t4, 3),
            "total": round(t5 - t0, 3),
        },
    )
    return Duplicates(label, rec_p, a, b, prob, model, stats)


def estimate_model(
    records: Sequence[Mapping[str, object]] | Mapping[str, Sequence[object]],
    settings: Settings | None = None,
) -> MatchModel:
    """Estimate a match model from stored records (no labels), e.g. for ``MatchIndex``."""
    settings = settings or lead_settings()
    cols = records if isinstance(records, Mapping) else columns_from_records(records)
    n = len(next(iter(cols.values()))) if cols else 0
    frame = settings.frame(cols, n)
    a, b, rule_mask = candidate_pairs(frame, settings.blocking)
    pairs = Pairs(frame, a, frame, b)
    levels, strata = settings.levels(pairs), settings.strata(pairs)
    tf = TermFrequencies.from_frame(frame, settings.tf_features())
    return MatchModel.estimate(settings, levels, strata, rule_mask, tf)


def score_pairs(model: MatchModel, frame: Frame, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Match probabilities of given record pairs of one frame."""
    return probability(model.match_weight(Pairs(frame, a, frame, b)))


# --- CSV command ----------------------------------------------------------------------------


def read_csv(path: str) -> tuple[list[str], dict[str, list]]:
    """Ids and canonical columns of a lead CSV (any common header spelling)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        where: dict[str, int] = {}
        for i, h in enumerate(header):
            canon = canonical_header(h)
            if canon and canon not in where:
                where[canon] = i
        # Column by column, never a list of rows: a million rows stay a few hundred MB.
        picks = list(where.items())
        columns: list[list[str]] = [[] for _ in picks]
        appends = [(col.append, i) for col, (_, i) in zip(columns, picks, strict=True)]
        for row in reader:
            if len(row) < len(header):
                row += [""] * (len(header) - len(row))
            for append, i in appends:
                append(row[i])
    cols = {canon: col for (canon, _), col in zip(picks, columns, strict=True)}
    n = len(columns[0]) if columns else 0
    ids = cols.pop("id", None) or [str(i + 1) for i in range(n)]
    return ids, _split_full_names(cols, n)


def write_csv(path: str, ids: Sequence[str], result: Duplicates) -> None:
    m = result.model
    sizes = result.cluster_sizes()
    partner, _ = result.review_candidates()
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(
            ["id", "cluster_id", "cluster_size", "match_probability", "decision", "review_with"]
        )
        for i, rid in enumerate(ids):
            p = result.probability[i]
            if sizes[i] > 1:
                decision = "auto_merge" if p >= m.auto_merge_threshold else "match"
                shown = f"{p:.4f}"
            else:
                decision = "review" if partner[i] >= 0 else "unique"
                shown = ""
            review = ids[partner[i]] if partner[i] >= 0 else ""
            out.writerow([rid, ids[result.cluster[i]], int(sizes[i]), shown, decision, review])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="leadline dedupe", description="Find duplicate leads in a CSV file."
    )
    parser.add_argument("file", help="lead CSV (id, first_name, last_name, email, phone, ...)")
    parser.add_argument("--out", required=True, help="where to write id,cluster_id,... rows")
    parser.add_argument("--threshold", type=float, help="match probability to link two records")
    parser.add_argument("--review", type=float, help="lowest probability worth a review")
    parser.add_argument("--auto-merge", type=float, help="probability for automatic merging")
    parser.add_argument("--model", help="use a saved model (JSON) instead of estimating one")
    parser.add_argument("--save-model", help="write the estimated model as JSON")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    ids, cols = read_csv(args.file)
    settings = lead_settings()
    model = None
    if args.model:
        with open(args.model, encoding="utf-8") as fh:
            model = MatchModel.from_dict(json.load(fh), settings)
    result = find_duplicates(cols, settings=settings, model=model, threshold=args.threshold)
    if args.threshold is not None:
        result.model.threshold = args.threshold
    if args.review is not None:
        result.model.review_threshold = args.review
    if args.auto_merge is not None:
        result.model.auto_merge_threshold = args.auto_merge
    write_csv(args.out, ids, result)
    if args.save_model:
        with open(args.save_model, "w", encoding="utf-8") as fh:
            json.dump(result.model.to_dict(), fh)
    if not args.quiet:
        sizes = result.cluster_sizes()
        print(
            f"{len(ids)} records, {int((sizes > 1).sum())} in "
            f"{len(np.unique(result.cluster[sizes > 1]))} duplicate clusters, "
            f"{result.stats['candidates']} pairs compared, "
            f"{time.perf_counter() - t0:.1f}s",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
