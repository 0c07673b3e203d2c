"""Capture-time matching: find the stored records that one new record may duplicate.

Two ways to find candidates, one way to score them:

* ``blocking_keys(record)`` gives the record's block keys (short strings). Stored in an indexed
  database column (one row per key), they find candidates with ``WHERE key IN (...)``; the
  candidate rows then go to ``score_candidates``.
* ``MatchIndex`` keeps the stored records in memory, incrementally (``add`` / ``remove``), and
  answers ``lookup(record)`` directly: postings from key hash to rows in sorted numpy arrays
  plus a small insertion buffer that is merged when it grows, and the records' features as
  integer codes into per-feature vocabularies.

Both return ``Candidate`` objects, best first, with the match probability and per-comparison
evidence (comparison, level, weight in bits).
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .blocking import record_keys
from .compare import Column, Feature, Frame, Pairs
from .dedupe import columns_from_records
from .leads import lead_settings
from .model import Evidence, MatchModel, Settings, probability


@dataclass
class Candidate:
    record_id: Hashable
    probability: float
    match_weight: float
    evidence: list[Evidence] = field(default_factory=list)


def _single(record: Mapping[str, object]) -> dict[str, list]:
    return columns_from_records([record])


def blocking_keys(record: Mapping[str, object], settings: Settings | None = None) -> list[str]:
    """The block keys of one record, e.g. ``["e:jsmith@gmail.com", "n:john|smith", ...]``."""
    settings = settings or lead_settings()
    frame = settings.frame(_single(record), 1)
    return record_keys(settings.blocking, frame, 0)


def score_candidates(
    model: MatchModel,
    record: Mapping[str, object],
    candidates: Sequence[tuple[Hashable, Mapping[str, object]]],
    limit: int | None = None,
) -> list[Candidate]:
    """Score stored records against a new one (e.g. rows found through ``blocking_keys``)."""
    if not candidates:
        return []
    settings = model.settings
    query = settings.frame(_single(record), 1)
    stored = settings.frame(columns_from_records([r for _, r in candidates]), len(candidates))
    return _rank(model, query, stored, [cid for cid, _ in candidates], limit)


def _rank(model, query: Frame, stored: Frame, ids: Sequence[Hashable], limit) -> list[Candidate]:
    n = stored.n
    pairs = Pairs(query, np.zeros(n, dtype=np.int64), stored, np.arange(n))
    levels, strata = model.compare(pairs)
    weight = model.match_weight(pairs, levels, strata)
    order = np.argsort(-weight, kind="stable")[: limit or n]
    prob = probability(weight)
    return [
        Candidate(
            ids[i], float(prob[i]), float(weight[i]), model.evidence(pairs, levels, strata, i)
        )
        for i in order.tolist()
    ]


class _GrowingColumn:
    """A feature of the stored records that can grow one record at a time."""

    __slots__ = ("codes", "vocab", "index", "counts", "n", "size", "sum_sq")

    def __init__(self) -> None:
        self.codes = np.empty(1024, dtype=np.int32)
        self.counts = np.zeros(1024, dtype=np.int64)
        self.vocab: list[str] = []
        self.index: dict[str, int] = {}
        self.n = 0  # records with a value
        self.size = 0  # records
        self.sum_sq = 0  # Σ count², for Σ p² in term-frequency adjustments

    def extend(self, values: Sequence[str | None]) -> None:
        need = self.size + len(values)
        if need > len(self.codes):
            self.codes = np.resize(self.codes, max(need, 2 * len(self.codes)))
        index, vocab = self.index, self.vocab
        out = []
        for v in values:
            if not v:
                out.append(-1)
                continue
            code = index.get(v)
            if code is None:
                code = index[v] = len(vocab)
                vocab.append(v)
            out.append(code)
        new = np.asarray(out, dtype=np.int32)
        self.codes[self.size : need] = new
        self.size = need
        if len(vocab) > len(self.counts):
            grown = np.zeros(max(len(vocab), 2 * len(self.counts)), dtype=np.int64)
            grown[: len(self.counts)] = self.counts
            self.counts = grown
        codes, k = np.unique(new[new >= 0], return_counts=True)
        before = self.counts[codes]
        self.counts[codes] = before + k
        self.sum_sq += int(((before + k) ** 2 - before**2).sum())
        self.n += int(k.sum())

    def values(self, rows: np.ndarray) -> list[str | None]:
        vocab = self.vocab
        return [vocab[c] if c >= 0 else None for c in self.codes[rows].tolist()]

    def count(self, value: str) -> int:
        code = self.index.get(value)
        return int(self.counts[code]) if code is not None else 0


class _IndexFrequencies:
    """Term frequencies read live from the index's columns (same interface as the model's)."""

    def __init__(self, columns: dict[str, _GrowingColumn]) -> None:
        self.columns = columns
        self.tables = columns  # truthy when there is something to adjust with

    def bits(self, feat: Feature, values: np.ndarray) -> np.ndarray:
        col = self.columns.get(feat.name)
        if col is None or col.n == 0:
            return np.zeros(len(values))
        sumsq = col.sum_sq / col.n**2
        c = np.fromiter((max(col.count(v), 1) for v in values), dtype=np.float64, count=len(values))
        return np.log2(sumsq * col.n / c)


class MatchIndex:
    """Stored records, kept for capture-time lookups; add and remove one record at a time.

    ``max_postings`` caps how many records one block key contributes to a lookup (the most
    recently added win), so a switchboard shared by thousands keeps lookups fast.
    """

    def __init__(self, model: MatchModel, max_postings: int = 50, buffer: int = 50_000) -> None:
        self.model = model
        self.settings = model.settings
        self.features = self.settings.features()
        self.columns = {f.name: _GrowingColumn() for f in self.features}
        self.ids: list[Hashable] = []
        self.row_of: dict[Hashable, int] = {}
        self.alive = np.zeros(1024, dtype=bool)
        self.max_postings = max_postings
        self.buffer_limit = buffer
        self._hashes = np.empty(0, dtype=np.int64)
        self._rows = np.empty(0, dtype=np.int32)
        self._buffer: dict[int, list[int]] = {}
        self._buffered = 0
        tf_columns = {f.name: self.columns[f.name] for f in self.settings.tf_features()}
        # The model scores with the index's own, live term frequencies.
        self._model = dataclasses.replace(model, tf=_IndexFrequencies(tf_columns))

    def __len__(self) -> int:
        return len(self.row_of)

    def add(self, record_id: Hashable, record: Mapping[str, object]) -> None:
        self.add_many([record_id], [record])

    def add_many(
        self,
        ids: Sequence[Hashable],
        records: Sequence[Mapping[str, object]] | Mapping[str, Sequence[object]],
    ) -> None:
        """Add (or replace) records; the batch path for loading a whole table at start-up."""
        cols = records if isinstance(records, Mapping) else columns_from_records(records)
        n = len(ids)
        frame = self.settings.frame(cols, n)
        for rid in ids:
            if rid in self.row_of:
                self.remove(rid)
        first = len(self.ids)
        for feat in self.features:
            col = frame[feat]
            self.columns[feat.name].extend(col.ext[col.codes].tolist() if n else [])
        self.ids.extend(ids)
        for i, rid in enumerate(ids):
            self.row_of[rid] = first + i
        if len(self.ids) > len(self.alive):
            grown = np.zeros(max(len(self.ids), 2 * len(self.alive)), dtype=bool)
            grown[: len(self.alive)] = self.alive
            self.alive = grown
        self.alive[first : len(self.ids)] = True
        self._post(frame, first)
        # The index is millions of long-lived strings: keep them out of the cyclic collector's
        # full passes, which would otherwise stall a lookup now and then for a second.
        gc.freeze()

    def remove(self, record_id: Hashable) -> None:
        row = self.row_of.pop(record_id, None)
        if row is not None:
            self.alive[row] = False

    def lookup(
        self, record: Mapping[str, object], limit: int = 5, exclude: Hashable | None = None
    ) -> list[Candidate]:
        """The stored records most likely to be the same lead, best first."""
        query = self.settings.frame(_single(record), 1)
        rows = self._candidates(record_keys(self.settings.blocking, query, 0))
        if exclude is not None and exclude in self.row_of:
            rows = rows[rows != self.row_of[exclude]]
        if rows.size == 0:
            return []
        stored = Frame(
            rows.size,
            {
                f.name: Column.encode(self.columns[f.name].values(rows), rows.size)
                for f in self.features
            },
        )
        return _rank(self._model, query, stored, [self.ids[r] for r in rows.tolist()], limit)

    # --- internals ----------------------------------------------------------------------

    def _post(self, frame: Frame, first: int) -> None:
        hashes, rows = [], []
        for rule in self.settings.blocking:
            parts = [frame[f].ext[frame[f].codes] for f in rule.on]
            for i, vals in enumerate(zip(*parts, strict=False)):
                key = rule.key(vals)
                if key is not None:
                    hashes.append(hash(key))
                    rows.append(first + i)
        for h, r in zip(hashes, rows, strict=False):
            self._buffer.setdefault(h, []).append(r)
        self._buffered += len(hashes)
        if self._buffered > self.buffer_limit:
            self._merge()

    def _merge(self) -> None:
        if not self._buffer:
            return
        h = np.fromiter(
            (k for k, v in self._buffer.items() for _ in v), dtype=np.int64, count=self._buffered
        )
        r = np.fromiter(
            (x for v in self._buffer.values() for x in v), dtype=np.int32, count=self._buffered
        )
        hashes = np.concatenate([self._hashes, h])
        rows = np.concatenate([self._rows, r])
        order = np.lexsort((rows, hashes))
        self._hashes, self._rows = hashes[order], rows[order]
        self._buffer.clear()
        self._buffered = 0

    def _candidates(self, keys: list[str]) -> np.ndarray:
        found = []
        cap = self.max_postings
        for key in keys:
            h = hash(key)
            lo = np.searchsorted(self._hashes, h, "left")
            hi = np.searchsorted(self._hashes, h, "right")
            hits = self._rows[max(lo, hi - cap) : hi]
            extra = self._buffer.get(h)
            if extra:
                hits = np.concatenate([hits, np.asarray(extra[-cap:], dtype=np.int32)])[-cap:]
            found.append(hits)
        if not found:
            return np.empty(0, dtype=np.int64)
        rows = np.unique(np.concatenate(found)).astype(np.int64)
        return rows[self.alive[rows]]
