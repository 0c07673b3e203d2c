"""Blocking: which pairs of records are compared at all.

Each rule names one or more features; records whose values agree on all of them share a
*block key*. Within a block every pair is a candidate, except in very large blocks (a
switchboard number, "john smith") where records are sorted by a secondary key and each is
paired with its ``window`` nearest neighbours only (sorted neighbourhood), so candidate counts
stay linear in the number of records. The union of the rules' pairs is the candidate set.

The same rules give each record a list of short key strings (``record_keys``) that the
application can store in an indexed column to find candidates with an ordinary query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .compare import Feature, Features, Frame


@dataclass(frozen=True)
class BlockingRule:
    """Records agreeing on every feature in ``on`` are candidates for each other."""

    name: str
    on: tuple[Feature, ...]
    # Key on the unordered set of values (e.g. given name and surname, so swaps still meet).
    unordered: bool = False
    # Pair each record with at most this many neighbours in its block (sorted by ``order``).
    window: int = 40
    order: tuple[Feature, ...] = ()

    def features(self) -> tuple[Feature, ...]:
        return self.on + self.order

    def key(self, values: Sequence[str | None]) -> str | None:
        if any(not v for v in values):
            return None
        parts = sorted(values) if self.unordered else values
        return f"{self.name}:{'|'.join(parts)}"  # type: ignore[arg-type]

    def shares(self, a: Features, b: Features) -> bool:
        """Whether two records (feature values) have this rule's key in common."""
        for f in self.on:
            x = a[f.name]
            if x is None or x != b[f.name]:
                break
        else:
            return True
        if self.unordered and len(self.on) == 2:
            f1, f2 = self.on[0].name, self.on[1].name
            x, y = a[f1], a[f2]
            return x is not None and y is not None and x == b[f2] and y == b[f1]
        return False

    def block_codes(self, frame: Frame) -> np.ndarray:
        """An int64 block id per record (``-1`` when a feature is missing)."""
        cols = [frame[f] for f in self.on]
        if self.unordered and len(cols) == 2:
            a, b = cols[0].codes.astype(np.int64), _recode(cols[1], cols[0]).astype(np.int64)
            size = np.int64(len(cols[0].vocab) + len(cols[1].vocab) + 1)
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            return np.where((a >= 0) & (b >= 0), lo * size + hi, -1)
        key = np.zeros(frame.n, dtype=np.int64)
        valid = np.ones(frame.n, dtype=bool)
        for col in cols:
            valid &= col.codes >= 0
            key = key * np.int64(len(col.vocab) + 1) + col.codes
            if len(cols) > 1:  # keep ids compact so products of vocab sizes never overflow
                key = np.unique(key, return_inverse=True)[1].astype(np.int64)
        return np.where(valid, key, -1)


def _recode(col, into) -> np.ndarray:
    """Codes of ``col`` expressed in the vocabulary of ``into`` (new values after it)."""
    index = {v: i for i, v in enumerate(into.vocab)}
    base = len(into.vocab)
    remap = np.fromiter(
        (index.get(v, base + i) for i, v in enumerate(col.vocab)),
        dtype=np.int64,
        count=len(col.vocab),
    )
    return np.where(col.codes >= 0, remap[np.maximum(col.codes, 0)], -1)


def rule_pairs(frame: Frame, rule: BlockingRule) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (i < j) of one rule, by sorted neighbourhood within each block."""
    key = rule.block_codes(frame)
    rows = np.nonzero(key >= 0)[0]
    if rows.size < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    sort_keys = [frame[f].codes[rows] for f in reversed(rule.order)] + [key[rows]]
    srt = rows[np.lexsort(sort_keys)]
    ks = key[srt]
    left, right = [], []
    for d in range(1, rule.window + 1):
        same = np.nonzero(ks[d:] == ks[:-d])[0]
        if same.size == 0:
            break
        left.append(srt[same])
        right.append(srt[same + d])
    if not left:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    a, b = np.concatenate(left), np.concatenate(right)
    return np.minimum(a, b), np.maximum(a, b)


def candidate_pairs(
    frame: Frame, rules: Sequence[BlockingRule], source: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The union of all rules' pairs as sorted arrays (i, j), i < j.

    Also returns, per pair, a bit mask of the rules that proposed it (bit r = ``rules[r]``).
    With ``source`` (one label per record) only pairs across sources are kept (linkage).
    """
    n = np.int64(frame.n)
    codes = []
    for rule in rules:
        a, b = rule_pairs(frame, rule)
        if source is not None:
            keep = source[a] != source[b]
            a, b = a[keep], b[keep]
        codes.append(a * n + b)
    if not codes:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32)
    pair, inverse = np.unique(np.concatenate(codes), return_inverse=True)
    mask = np.zeros(pair.size, dtype=np.int32)
    start = 0
    for r, c in enumerate(codes):  # a rule never proposes the same pair twice
        mask[inverse[start : start + c.size]] |= np.int32(1 << r)
        start += c.size
    return pair // n, pair % n, mask


def record_keys(rules: Sequence[BlockingRule], frame: Frame, row: int) -> list[str]:
    """Block keys of one record of ``frame`` (for an indexed database column)."""
    keys = []
    for rule in rules:
        key = rule.key([frame[f].value(row) for f in rule.on])
        if key is not None:
            keys.append(key)
    return list(dict.fromkeys(keys))
