"""Duplicates among stored leads: blocking keys, capture-time lookups, the review queue, scans.

Capture time (one lead or a batch, same code):

    matches = find_duplicates_batch(records)   # one indexed query on LeadKey, then pair scoring
    ...insert the new leads...
    record_keys(new_and_touched_leads)         # keep LeadKey current
    queue_reviews([(new_id, matches[i]), ...]) # review-band pairs -> DuplicateCandidate

A record is a ``Lead`` or a dict of its column values (attname -> value, as the capture
pipeline holds a new lead). The match model is the one ``leadline dedupe --db`` last estimated
from the stored leads, else the model shipped with Leadline; thresholds come from the team of
the stored lead (``MatchSettings``), so the team owning the existing lead decides.

Batch over the database: ``scan_database()`` (``leadline dedupe --db``) re-estimates the model,
rebuilds every lead's keys and fills the review queue.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache, partial
from itertools import islice
from pathlib import Path

import numpy as np
from django.db import connection, transaction
from django.db.models import Q

from leadline.core.choices import OPEN_STATUSES
from leadline.core.clock import clock
from leadline.core.rows import insert_rows
from leadline.leads.models import Lead
from leadline.quality.matching.blocking import record_keys as _rule_keys
from leadline.quality.matching.compare import Frame, OrganisationComparison, Pairs
from leadline.quality.matching.leads import lead_settings
from leadline.quality.matching.model import (
    DEFAULT_AUTO_MERGE,
    DEFAULT_REVIEW,
    MatchModel,
    probability,
)
from leadline.quality.models import (
    CandidateStatus,
    DuplicateCandidate,
    LeadKey,
    MatchModelVersion,
    MatchSettings,
)

DEFAULT_MODEL_PATH = Path(__file__).with_name("default_model.json")
# A block key shared by many leads (a switchboard, "john smith") brings at most this many of
# them, the most recent first: lookups stay cheap whatever the data.
MAX_POSTINGS = 50
# Below this many leads the stored data says too little to estimate a model from.
MIN_LEADS_TO_ESTIMATE = 2000
OPEN = frozenset(s.value for s in OPEN_STATUSES)

# Matcher field <- lead column (attname).
LEAD_COLUMNS = {
    "first_name": "first_name",
    "last_name": "last_name",
    "email": "email",
    "phone": "phone",
    "phone_e164": "phone_e164",
    "company": "company",
    "job_title": "title",
    "city": "city",
    "country": "country",
}
# Lead columns read for each stored candidate (the matcher's fields, then what decides).
CANDIDATE_COLUMNS = ("id", *dict.fromkeys(LEAD_COLUMNS.values()), "status", "team_id")


# --- records --------------------------------------------------------------------------------


def _get(lead, name: str):
    if type(lead) is dict or isinstance(lead, Mapping):  # (the abc check is slow: dicts first)
        return lead.get(name)
    return getattr(lead, name, None)


_COLUMN_PAIRS = tuple(LEAD_COLUMNS.items())


def lead_record(lead) -> dict:
    """The matcher's view of a lead (a Lead or a dict of column values)."""
    if type(lead) is dict:  # the capture pipeline's values, a stored candidate's row
        get = lead.get
        record = {f: get(col) for f, col in _COLUMN_PAIRS}
    else:
        record = {f: _get(lead, col) for f, col in _COLUMN_PAIRS}
    # The E.164 form when there is one: the matcher keys phones on their last nine digits.
    record["phone"] = record.pop("phone_e164") or record["phone"]
    return record


def _lead_id(lead) -> int | None:
    return _get(lead, "id") if isinstance(lead, Mapping) else getattr(lead, "pk", None)


def _features(record: dict) -> dict[str, str | None]:
    """The matcher's features of a ``lead_record`` (feature name -> value; not to be changed),
    remembered for the records met lately: the stored leads a capture is compared with are
    often the ones the last captures met (the namesakes of a common name, a big company's
    people). Two generations of RECORD_MEMO_SIZE records: when the current one fills, it
    becomes the previous one, whose records come back into the current one as they are met
    again — so the records in use survive a turnover (a single memo emptied when full forgot
    them all at once, every few batches of a large import)."""
    global _RECORD_MEMO_PREVIOUS
    key = tuple(record.values())
    got = _RECORD_MEMO.get(key)
    if got is None:
        got = _RECORD_MEMO_PREVIOUS.get(key)
        if got is None:
            got = _record_features(record)
        if len(_RECORD_MEMO) >= RECORD_MEMO_SIZE:
            _RECORD_MEMO_PREVIOUS = _RECORD_MEMO.copy()
            _RECORD_MEMO.clear()
        _RECORD_MEMO[key] = got
    return got


def _record_features(record: Mapping[str, object]) -> dict[str, str | None]:
    """The features, each function applied once per distinct value in this process."""
    out: dict[str, str | None] = {}
    for name, source, from_field, fn in _feature_plan():
        value = _text(record.get(source)) if from_field else out[source]
        if value is not None:
            memo = _FEATURE_MEMO.get(name)
            if memo is None or len(memo) > FEATURE_MEMO_SIZE:
                memo = _FEATURE_MEMO[name] = {}
            got = memo.get(value, _UNSEEN)
            if got is _UNSEEN:
                got = memo[value] = _text(fn(value))
            value = got
        out[name] = value
    return out


@lru_cache(maxsize=1)
def _feature_plan() -> tuple[tuple[str, str, bool, Callable], ...]:
    """(feature, its source, whether that is a raw field, function), sources first."""
    plan: dict[str, tuple] = {}

    def add(feat) -> None:
        if feat.name not in plan:
            if not isinstance(feat.source, str):
                add(feat.source)
            source = feat.source if isinstance(feat.source, str) else feat.source.name
            plan[feat.name] = (feat.name, source, isinstance(feat.source, str), feat.fn)

    for feat in lead_settings().features():
        add(feat)
    return tuple(plan.values())


# Feature values seen by this process (a name's phonetic code, a company's normal form, ...):
# lookups meet the same names, companies and domains again and again. Per feature, emptied
# when it passes FEATURE_MEMO_SIZE values.
FEATURE_MEMO_SIZE = 50_000
_FEATURE_MEMO: dict[str, dict] = {}
RECORD_MEMO_SIZE = 20_000
_RECORD_MEMO: dict[tuple, dict] = {}
_RECORD_MEMO_PREVIOUS: dict[tuple, dict] = {}
_UNSEEN = object()


def _text(value) -> str | None:
    return value if value and type(value) is str or isinstance(value, str) and value else None


def keys_of(frame: Frame, row: int) -> list[str]:
    return _rule_keys(lead_settings().blocking, frame, row)


def record_keys_of(record: Mapping[str, object]) -> list[str]:
    """The blocking keys of one record, worked out value by value (no frame): the same keys
    ``keys_of`` gives, cheaper for the few records of a capture."""
    memo: dict[str, str | None] = {}
    keys = []
    for rule in lead_settings().blocking:
        key = rule.key([_feature_value(f, record, memo) for f in rule.on])
        if key is not None:
            keys.append(key)
    return list(dict.fromkeys(keys))


def _feature_value(feat, record: Mapping[str, object], memo: dict) -> str | None:
    if feat.name not in memo:
        if isinstance(feat.source, str):
            source = _text(record.get(feat.source))
        else:
            source = _feature_value(feat.source, record, memo)
        memo[feat.name] = _text(feat.fn(source)) if source is not None else None
    return memo[feat.name]


# --- the model and thresholds ---------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    review: float = DEFAULT_REVIEW
    auto_merge: float = DEFAULT_AUTO_MERGE  # 1: never merge by itself, every match is reviewed

    def merges(self, probability: float) -> bool:
        """Whether a match this likely is the same lead, with no person asked."""
        return self.auto_merge < 1 and probability >= self.auto_merge


@dataclass
class Matcher:
    """The match model in use, its version (None: the shipped default) and the thresholds."""

    model: MatchModel
    version: int | None
    default: Thresholds
    teams: dict[int, Thresholds] = field(default_factory=dict)
    survivorship: dict[int | None, dict] = field(default_factory=dict)

    def thresholds(self, team_id: int | None) -> Thresholds:
        return self.teams.get(team_id, self.default) if team_id is not None else self.default

    @property
    def lowest_review(self) -> float:
        return min([self.default.review, *(t.review for t in self.teams.values())])


_cache: dict = {}
_cache_lock = threading.Lock()


def default_model() -> MatchModel:
    with open(DEFAULT_MODEL_PATH, encoding="utf-8") as fh:
        return MatchModel.from_dict(json.load(fh), lead_settings())


def _fingerprint() -> tuple:
    # One cheap query: a new model version or an edited threshold is seen by the next lookup
    # in every process.
    version, settings = MatchModelVersion._meta.db_table, MatchSettings._meta.db_table
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT MAX({q('id')}) FROM {q(version)} WHERE {q('is_active')}), "
            f"(SELECT MAX({q('updated_at')}) FROM {q(settings)}), "
            f"(SELECT COUNT(*) FROM {q(settings)})"
        )
        return tuple(cursor.fetchone())


def matcher() -> Matcher:
    """The current Matcher, cached per process until the model or a threshold changes."""
    fp = _fingerprint()
    with _cache_lock:
        if _cache.get("fingerprint") != fp:
            _cache["matcher"] = _load_matcher()
            _cache["fingerprint"] = fp
        return _cache["matcher"]


def _load_matcher() -> Matcher:
    version = MatchModelVersion.objects.filter(is_active=True).order_by("-id").first()
    model = None
    if version is not None:
        try:
            model = MatchModel.from_dict(version.model, lead_settings())
        except ValueError:  # estimated for other comparisons: the next scan replaces it
            version = None
    if model is None:
        model = default_model()
    default = Thresholds(model.review_threshold, model.auto_merge_threshold)
    teams, rules = {}, {}
    for row in MatchSettings.objects.all():
        got = Thresholds(row.review_threshold, row.auto_merge_threshold)
        rules[row.team_id] = row.survivorship or {}
        if row.team_id is None:
            default = got
        else:
            teams[row.team_id] = got
    return Matcher(model, version.pk if version else None, default, teams, rules)


# --- capture-time lookups -------------------------------------------------------------------


@dataclass
class Match:
    """A stored lead (or an earlier record of the same batch) that may be the same person."""

    lead_id: int | None
    probability: float
    match_weight: float
    evidence: list[dict]
    decision: str  # "auto_merge": the same lead; "review": a person should decide
    is_open: bool = True
    batch_index: int | None = None  # set instead of lead_id for a record not stored yet

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def find_duplicates(lead, *, limit: int = 5, using: Matcher | None = None) -> list[Match]:
    """The stored leads that may be this lead (a Lead or its column values), best first."""
    return find_duplicates_batch([lead], limit=limit, within_batch=False, using=using)[0]


def find_duplicates_batch(
    leads: Sequence,
    *,
    limit: int = 5,
    within_batch: bool = True,
    using: Matcher | None = None,
    keys: list[list[str]] | None = None,
) -> list[list[Match]]:
    """``find_duplicates`` for many records: one key query for all of them, one scoring pass.

    With ``within_batch`` a record is also compared with the records before it in the batch
    (matches to those carry ``batch_index``), so a batch holding the same person twice links
    them although neither is stored yet. A stored lead is never matched with itself.
    ``using`` is the Matcher to apply (default: ``matcher()``, one query to check it is
    current); ``keys`` the records' blocking keys when the caller has worked them out.
    """
    if not leads:
        return []
    m = using or matcher()
    records = [lead_record(x) for x in leads]
    own = [_lead_id(x) for x in leads]
    if keys is None:
        keys = [record_keys_of(r) for r in records]
    wanted = sorted({k for ks in keys for k in ks})
    stored = _stored_candidates(wanted) if wanted else {"by_key": {}, "rows": {}}
    by_key = stored["by_key"]
    pairs_q, pairs_s = [], []
    for i, ks in enumerate(keys):
        found = {lead_id for k in ks for lead_id in by_key.get(k, ())} - {own[i]}
        pairs_q.extend([i] * len(found))
        pairs_s.extend(found)
    inner_a, inner_b = _within_batch(keys) if within_batch and len(records) > 1 else ([], [])
    out: list[list[Match]] = [[] for _ in records]
    if not pairs_q and not inner_a:
        return out  # nothing shares a key with these records: nothing to score
    rows = stored["rows"]
    feats = [_features(r) for r in records]
    stored_feats = {i: _features(lead_record(rows[i])) for i in dict.fromkeys(pairs_s)}
    pairs = [(feats[i], stored_feats[s]) for i, s in zip(pairs_q, pairs_s, strict=True)]
    pairs += [(feats[i], feats[j]) for i, j in zip(inner_a, inner_b, strict=True)]
    n_stored = len(pairs_q)
    for k, (prob, weight, ev) in enumerate(_score(m, pairs)):
        if prob is None:
            continue
        if k < n_stored:
            row = rows[pairs_s[k]]
            is_open = row["status"] in OPEN
            limits = m.thresholds(row["team_id"])
            if prob < limits.review:
                continue
            evidence = ev()
            sure = is_open and limits.merges(prob) and merges_alone(evidence)
            decision = "auto_merge" if sure else "review"
            out[pairs_q[k]].append(Match(pairs_s[k], prob, weight, evidence, decision, is_open))
        else:
            # An earlier record of the batch: the default thresholds (it has no team yet).
            limits, j = m.default, k - n_stored
            if prob < limits.review:
                continue
            evidence = ev()
            merges = limits.merges(prob) and merges_alone(evidence)
            decision = "auto_merge" if merges else "review"
            out[inner_a[j]].append(
                Match(None, prob, weight, evidence, decision, True, batch_index=inner_b[j])
            )
    for matches in out:
        matches.sort(key=lambda x: -x.probability)
        del matches[limit:]
    return out


# Name levels that disagree: a pair showing one is never merged without a person, however
# likely. Colleagues share a company, its switchboard, its city and neighbouring direct lines;
# a changed surname (marriage) is for a reviewer to confirm.
NAMES_DISAGREE = frozenset(
    {"given name only (surname differs)", "surname only (given name differs)", "different"}
)


# What ties two records together besides the name: one mailbox (exact, a slip, or the same
# user name at another domain), the company, or — at another company or none — the very same
# phone number. A number one digit off at another company is a neighbour's line, not a tie.
TIES = {
    "email": frozenset({"exact", "same user, other domain", "typo"}),
    "organisation": frozenset(
        level
        for level in OrganisationComparison.labels
        if level.startswith(("company same", "company similar")) or level.endswith("phone same")
    ),
}


def names_agree(evidence: list[dict]) -> bool:
    return not any(e["field"] == "name" and e["level"] in NAMES_DISAGREE for e in evidence)


def merges_alone(evidence: list[dict]) -> bool:
    """Whether a likely match may be merged without a person: the names agree and something
    besides the name ties the two. A namesake at another company with another mailbox and
    phone may be the same person after a move, but a reviewer says so, not the matcher."""
    return names_agree(evidence) and any(e["level"] in TIES.get(e["field"], ()) for e in evidence)


def _within_batch(keys: list[list[str]]) -> tuple[list[int], list[int]]:
    """Pairs (later record, earlier record) of a batch sharing a key, at most MAX_POSTINGS
    earlier records per key."""
    first_seen: dict[str, list[int]] = {}
    ia, ib = [], []
    for i, ks in enumerate(keys):
        earlier = {j for k in ks for j in first_seen.get(k, ())[-MAX_POSTINGS:]}
        ia.extend([i] * len(earlier))
        ib.extend(sorted(earlier))
        for k in ks:
            first_seen.setdefault(k, []).append(i)
    return ia, ib


def _score(m: Matcher, pairs: list[tuple[dict, dict]]):
    """Per pair of records (features): (probability, match weight, a function giving its
    evidence); probability is None below the lowest review threshold (no evidence is worked
    out for those)."""
    levels, strata, weight = m.model.score_records(pairs)
    probs = probability(weight).tolist()
    weights = weight.tolist()
    floor = m.lowest_review
    evidence = m.model.record_evidence
    for k, prob in enumerate(probs):
        if prob < floor:
            yield None, None, None
            continue
        a, b = pairs[k]
        yield prob, round(weights[k], 3), partial(evidence, a, b, levels[k], strata[k])


def _batched(items: Sequence, size: int) -> Iterable[Sequence]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _stored_candidates(keys: list[str]) -> dict:
    """The lead ids sharing each key (up to MAX_POSTINGS live leads per key, the most recent
    first), as {"by_key": {key: [lead id, ...]}, "rows": {lead id: its columns}}.

    One statement for any number of keys: per key an index range scan of at most MAX_POSTINGS
    postings (a key shared by a hundred thousand leads costs what one shared by fifty does),
    then each lead by its primary key.
    """
    sql, adapt = _candidates_sql(connection.vendor)
    by_key: dict[str, list[int]] = {}
    rows: dict[int, dict] = {}
    for key, lead_id, *values in _fetch(sql, [adapt([k[:200] for k in keys])]):
        by_key.setdefault(key, []).append(lead_id)
        if lead_id not in rows:  # (a lead sharing several keys comes once per key)
            rows[lead_id] = dict(zip(CANDIDATE_COLUMNS, (lead_id, *values), strict=True))
    for ids in by_key.values():
        ids.sort(reverse=True)  # the order does not depend on the engine's plan
    return {"by_key": by_key, "rows": rows}


def _fetch(sql: str, params: list) -> list[tuple]:
    """Rows of a read on the driver's own cursor (SQLite placeholders are written ``?``).

    A capture's lookup costs tens of microseconds in the database; Django's cursor adds as
    much again (on SQLite rewriting every ``%s`` with a regular expression). Errors come out
    as Django's, as from Django's cursor.
    """
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchall()
        finally:
            cursor.close()


_CANDIDATES_SQL: dict[str, tuple[str, Callable]] = {}


def _candidates_sql(vendor: str) -> tuple[str, Callable]:
    """The candidates statement for an engine, and how its one parameter (the keys) is passed."""
    got = _CANDIDATES_SQL.get(vendor)
    if got is not None:
        return got
    q = connection.ops.quote_name
    lk, lead = q(LeadKey._meta.db_table), q(Lead._meta.db_table)
    key_col, lead_col, lead_id = q("key"), q("lead_id"), q("id")
    wanted = ", ".join(f"l.{q(c)}" for c in CANDIDATE_COLUMNS)
    if vendor == "postgresql":
        # Planned once per connection (a prepared statement): per key an index range scan,
        # then each lead by its primary key. (A UNION of one branch per key made PostgreSQL
        # plan 200 branches per statement, 70-90 ms, and hash-join them to a scan of the
        # whole lead table.) OFFSET 0 keeps the lead lookup a nested loop.
        sql = (
            f"SELECT q.key, {wanted} FROM unnest(%s::text[]) AS q(key) "
            f"CROSS JOIN LATERAL (SELECT {lead_col} FROM {lk} WHERE {key_col} = q.key "
            f"ORDER BY {lead_col} DESC LIMIT {MAX_POSTINGS}) k "
            f"CROSS JOIN LATERAL (SELECT {', '.join(q(c) for c in CANDIDATE_COLUMNS)} "
            f"FROM {lead} WHERE {lead_id} = k.{lead_col} "
            f"AND {q('merged_into_id')} IS NULL OFFSET 0) l"
        )
        got = (sql, list)
    else:
        # SQLite has no LATERAL: each key's postings are those at or above its
        # MAX_POSTINGS-th most recent one, found by a correlated subquery on the same index.
        # (A UNION of one LIMITed branch per key cost 1.7 ms per 200 keys, this 0.27 ms.)
        sql = (
            f"SELECT k.{key_col}, {wanted} FROM json_each(?) AS q "
            f"JOIN {lk} k ON k.{key_col} = q.value AND k.{lead_col} >= coalesce(("
            f"SELECT x.{lead_col} FROM {lk} x WHERE x.{key_col} = q.value "
            f"ORDER BY x.{lead_col} DESC LIMIT 1 OFFSET {MAX_POSTINGS - 1}), 0) "
            f"JOIN {lead} l ON l.{lead_id} = k.{lead_col} WHERE l.{q('merged_into_id')} IS NULL"
        )
        got = (sql, json.dumps)
    _CANDIDATES_SQL[vendor] = got
    return got


# --- keeping keys current -------------------------------------------------------------------


def record_keys(leads: Sequence) -> int:
    """Store (replace) the blocking keys of these leads (Leads or dicts with "id").

    Call it after a lead is created or its name, email, phone, company or location change.
    Merged-away leads lose their keys. Returns the number of keys written.
    """
    ids = [_lead_id(x) for x in leads]
    if not ids:
        return 0
    live = [x for x in leads if not _get(x, "merged_into_id")]
    rows = [
        LeadKey(lead_id=_lead_id(x), kind=key.partition(":")[0], key=key[:200])
        for x in live
        for key in record_keys_of(lead_record(x))
    ]
    with transaction.atomic():
        for chunk in _batched(ids, 500):
            LeadKey.objects.filter(lead_id__in=chunk).delete()
        LeadKey.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def key_rows(leads: Sequence, keys: Sequence[list[str]] | None = None) -> list[dict]:
    """The LeadKey rows (column values) of new leads (dicts with "id", or Leads), for a bulk
    insert in the capture's transaction; ``keys`` when already worked out, one list per lead."""
    if keys is None:
        keys = [record_keys_of(lead_record(x)) for x in leads]
    return [
        {"lead_id": _lead_id(x), "kind": key.partition(":")[0], "key": key[:200]}
        for x, lead_keys in zip(leads, keys, strict=True)
        for key in lead_keys
    ]


# The lead columns the blocking keys are made from: an edit of one of them re-keys the lead.
KEYED_COLUMNS = frozenset(LEAD_COLUMNS.values())


def forget_keys(lead_ids: Iterable[int]) -> None:
    LeadKey.objects.filter(lead_id__in=list(lead_ids)).delete()


# --- the review queue -----------------------------------------------------------------------


def queue_reviews(
    items: Iterable[tuple[int, Sequence[Match]]],
    *,
    batch_ids: Sequence[int | None] | None = None,
    found_by: str = "capture",
    now: datetime | None = None,
    new_leads: bool = False,
) -> int:
    """Open a review candidate for each (lead id, its matches) pair not decided before.

    ``batch_ids`` maps a match's ``batch_index`` to the id its record was stored under (None:
    not stored). A pair already in the queue, dismissed or merged is left as it is: "not a
    duplicate" is remembered. Returns the number of new candidates.

    ``new_leads``: the lead ids were stored in this transaction (a capture's new leads), so no
    pair of theirs can have been decided: the lookup of known pairs is skipped (a pair
    another capture queued meanwhile still loses to the unique pair).
    """
    rows = review_rows(items, batch_ids=batch_ids, found_by=found_by, now=now)
    if not rows:
        return 0
    known = (
        set()
        if new_leads
        else set(
            DuplicateCandidate.objects.filter(
                lead_a_id__in={r["lead_a_id"] for r in rows},
                lead_b_id__in={r["lead_b_id"] for r in rows},
            ).values_list("lead_a_id", "lead_b_id")
        )
    )
    fresh = [row for row in rows if (row["lead_a_id"], row["lead_b_id"]) not in known]
    # A concurrent capture may have queued the same pair since: the unique pair wins.
    insert_rows(DuplicateCandidate, fresh, ignore_conflicts=True)
    return len(fresh)


def review_rows(
    items: Iterable[tuple[int, Sequence[Match]]],
    *,
    batch_ids: Sequence[int | None] | None = None,
    found_by: str = "capture",
    now: datetime | None = None,
) -> list[dict]:
    """The DuplicateCandidate rows `queue_reviews` would write for these pairs (lower id
    first, one row per pair with its highest probability), before any check of pairs already
    decided: a capture's new lead, written with them in one statement, has none."""
    now = now or clock.now()
    rows: dict[tuple[int, int], dict] = {}
    for lead_id, matches in items:
        for match in matches:
            other = match.lead_id
            if other is None and match.batch_index is not None and batch_ids is not None:
                other = batch_ids[match.batch_index]
            if other is None or other == lead_id:
                continue
            a, b = sorted((lead_id, other))
            if (a, b) in rows and rows[(a, b)]["probability"] >= match.probability:
                continue
            rows[(a, b)] = {
                "lead_a_id": a,
                "lead_b_id": b,
                "probability": match.probability,
                "match_weight": match.match_weight,
                "evidence": match.evidence,
                "found_by": found_by,
                "created_at": now,
            }
    return list(rows.values())


def dismiss(candidate: DuplicateCandidate, by=None, *, now: datetime | None = None):
    """ "Not a duplicate": the pair leaves the queue and is never proposed again."""
    from leadline.core.errors import DomainError
    from leadline.leads.actions import record

    now = now or clock.now()
    with transaction.atomic():
        updated = DuplicateCandidate.objects.filter(
            pk=candidate.pk, status=CandidateStatus.OPEN
        ).update(status=CandidateStatus.DISMISSED, decided_at=now, decided_by=by)
        if not updated:
            raise DomainError({"": f"this pair is already {_status_of(candidate)}"})
        for lead_id, other in (
            (candidate.lead_a_id, candidate.lead_b_id),
            (candidate.lead_b_id, candidate.lead_a_id),
        ):
            record(
                Lead(pk=lead_id),
                "not_duplicate",
                f"Marked as not a duplicate of lead {other}",
                now,
                by,
                other=other,
                probability=candidate.probability,
            )
    candidate.refresh_from_db()
    return candidate


def _status_of(candidate: DuplicateCandidate) -> str:
    status = DuplicateCandidate.objects.filter(pk=candidate.pk).values_list("status", flat=True)
    return CandidateStatus(status.first() or "open").label.lower()


def candidates_for(lead_id: int):
    """Open review pairs involving a lead."""
    return DuplicateCandidate.objects.filter(
        Q(lead_a_id=lead_id) | Q(lead_b_id=lead_id), status=CandidateStatus.OPEN
    ).live()


# --- the batch scan over the database -------------------------------------------------------


@dataclass
class ScanResult:
    leads: int = 0
    pairs_scored: int = 0
    new_candidates: int = 0
    updated_candidates: int = 0
    keys: int = 0
    model_version: int | None = None
    estimated: bool = False
    decisions: int = 0
    seconds: dict = field(default_factory=dict)


def _live_columns(progress: Callable[[str], None] | None) -> tuple[list[int], dict, dict]:
    """Ids, matcher columns and (status, team) of every live lead, read in one pass."""
    cols = ("id", *LEAD_COLUMNS.values(), "status", "team_id")
    ids: list[int] = []
    raw: dict[str, list] = {c: [] for c in cols[1:]}
    appends = [raw[c].append for c in cols[1:]]
    for values in Lead.objects.live().order_by("id").values_list(*cols).iterator(10_000):
        ids.append(values[0])
        for append, value in zip(appends, values[1:], strict=True):
            append(value)
    if progress:
        progress(f"read {len(ids):,} leads")
    records = {f: raw[col] for f, col in LEAD_COLUMNS.items()}
    records["phone"] = [
        e or p for e, p in zip(records.pop("phone_e164"), records["phone"], strict=True)
    ]
    return ids, records, {"status": raw["status"], "team_id": raw["team_id"]}


def _decisions(limit: int = 20_000) -> list[tuple[dict, dict, bool]]:
    """Reviewers' verdicts as (record, record, same person?) for refining the model."""
    decided = (
        DuplicateCandidate.objects.exclude(status=CandidateStatus.OPEN)
        .filter(decided_by__isnull=False)
        .select_related("lead_a", "lead_b")
        .order_by("-decided_at")[:limit]
    )
    return [
        (lead_record(c.lead_a), lead_record(c.lead_b), c.status == CandidateStatus.MERGED)
        for c in decided
    ]


def save_model(model: MatchModel, leads: int, decisions: int, now: datetime) -> MatchModelVersion:
    """Make ``model`` the active version (earlier versions are kept, inactive)."""
    with transaction.atomic():
        MatchModelVersion.objects.filter(is_active=True).update(is_active=False)
        return MatchModelVersion.objects.create(
            model=model.to_dict(), leads=leads, decisions=decisions, created_at=now
        )


def scan_database(
    *,
    estimate: bool | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> ScanResult:
    """Match every live lead against every other: rebuild the keys, fill the review queue.

    ``estimate``: estimate a new model from the data and reviewers' decisions (default: when
    there are at least MIN_LEADS_TO_ESTIMATE leads). ``dry_run`` counts but writes nothing.
    """
    import time

    from leadline.quality.matching.blocking import candidate_pairs
    from leadline.quality.matching.model import TermFrequencies

    now = now or clock.now()
    t0 = time.perf_counter()
    result = ScanResult()
    ids, records, info = _live_columns(progress)
    n = result.leads = len(ids)
    settings = lead_settings()
    frame = settings.frame({f: records.get(f, [None] * n) for f in settings.fields}, n)
    a, b, rule_mask = candidate_pairs(frame, settings.blocking)
    pairs = Pairs(frame, a, frame, b)
    levels, strata = settings.levels(pairs), settings.strata(pairs)
    tf = TermFrequencies.from_frame(frame, settings.tf_features())
    t1 = time.perf_counter()
    if estimate is None:
        estimate = n >= MIN_LEADS_TO_ESTIMATE
    if estimate and a.size and not dry_run:
        model = MatchModel.estimate(settings, levels, strata, rule_mask, tf)
        decisions = _decisions()
        if decisions:
            model = model.refine_from_records(decisions)
        version = save_model(model, n, len(decisions), now)
        result.estimated, result.decisions = True, len(decisions)
        if progress:
            progress(f"estimated match model #{version.pk} ({len(decisions)} decisions)")
    m = matcher()
    result.model_version = m.version
    # A copy with these leads' term frequencies when the model brings none (the default).
    model = m.model if m.model.tf.tables else dataclasses.replace(m.model, tf=tf)
    t2 = time.perf_counter()
    weight = model.match_weight(pairs, levels, strata)
    prob = probability(weight)
    result.pairs_scored = int(a.size)
    teams = info["team_id"]
    review = np.fromiter(
        (m.thresholds(teams[i]).review for i in range(n)), dtype=np.float64, count=n
    )
    keep = np.nonzero(prob >= np.maximum(review[a], review[b]))[0]
    if progress:
        progress(f"scored {a.size:,} candidate pairs, {keep.size:,} worth a review")
    t3 = time.perf_counter()
    if dry_run:
        result.new_candidates = int(keep.size)
    else:
        from leadline.quality.accounts import rebuild_account_keys

        result.keys = _rebuild_keys(ids, frame, progress)
        rebuild_account_keys()
        found = [
            (
                ids[int(a[k])],
                ids[int(b[k])],
                float(prob[k]),
                round(float(weight[k]), 3),
                [dataclasses.asdict(e) for e in model.evidence(pairs, levels, strata, int(k))],
            )
            for k in keep.tolist()
        ]
        result.new_candidates, result.updated_candidates = _upsert_candidates(found, now)
    result.seconds = {
        "features_and_pairs": round(t1 - t0, 2),
        "estimate": round(t2 - t1, 2),
        "score": round(t3 - t2, 2),
        "write": round(time.perf_counter() - t3, 2),
    }
    return result


def _rebuild_keys(ids: list[int], frame: Frame, progress) -> int:
    """Every live lead's keys, written afresh (a merged-away lead keeps none)."""
    written = 0
    with transaction.atomic():
        LeadKey.objects.all().delete()
        batch: list[LeadKey] = []
        for row, lead_id in enumerate(ids):
            for key in keys_of(frame, row):
                batch.append(LeadKey(lead_id=lead_id, kind=key.partition(":")[0], key=key[:200]))
            if len(batch) >= 20_000:
                LeadKey.objects.bulk_create(batch, batch_size=5000)
                written += len(batch)
                batch = []
        LeadKey.objects.bulk_create(batch, batch_size=5000)
        written += len(batch)
    if progress:
        progress(f"wrote {written:,} blocking keys")
    return written


def _upsert_candidates(found: list[tuple], now: datetime) -> tuple[int, int]:
    """New pairs become open candidates; open ones get the new score; decided ones stay."""
    new = updated = 0
    for chunk in _batched(found, 500):
        by_pair = {}
        for x, y, prob, weight, evidence in chunk:
            a, b = sorted((x, y))
            by_pair[(a, b)] = (prob, weight, evidence)
        existing = {
            (c.lead_a_id, c.lead_b_id): c
            for c in DuplicateCandidate.objects.filter(
                lead_a_id__in={a for a, _ in by_pair}, lead_b_id__in={b for _, b in by_pair}
            )
        }
        fresh, changed = [], []
        for (a, b), (prob, weight, evidence) in by_pair.items():
            known = existing.get((a, b))
            if known is None:
                fresh.append(
                    DuplicateCandidate(
                        lead_a_id=a,
                        lead_b_id=b,
                        probability=prob,
                        match_weight=weight,
                        evidence=evidence,
                        found_by="scan",
                        created_at=now,
                    )
                )
            elif known.status == CandidateStatus.OPEN:
                known.probability, known.match_weight, known.evidence = prob, weight, evidence
                changed.append(known)
        with transaction.atomic():
            DuplicateCandidate.objects.bulk_create(fresh, ignore_conflicts=True)
            DuplicateCandidate.objects.bulk_update(
                changed, ["probability", "match_weight", "evidence"]
            )
        new += len(fresh)
        updated += len(changed)
    return new, updated
