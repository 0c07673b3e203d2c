"""Columnar features and the comparisons that turn a pair of records into comparison levels.

A *feature* is a normalised key derived from a raw field (or from another feature) by a pure
function of one string. A ``Frame`` holds each feature of N records as integer codes into a
vocabulary of distinct values, so the normalising functions run once per distinct value and
exact agreement is an integer comparison. A *comparison* maps pairs of rows ``(A[ia], B[ib])``
to a small integer level per pair (``-1`` when the fields are missing), fully vectorised; the
same code scores a million candidate pairs in a batch and a few hundred at capture time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA, JaroWinkler

from . import names

NULL = -1
_PARALLEL_MIN = 20_000  # below this many pairs a thread pool costs more than it saves


@dataclass(frozen=True)
class Feature:
    """A normalised key: ``fn(source value)``; ``source`` is a raw field name or a feature."""

    source: str | Feature
    fn: Callable[[str | None], str | None] = field(compare=True)

    @property
    def name(self) -> str:
        src = self.source if isinstance(self.source, str) else self.source.name
        return f"{src}.{self.fn.__name__}"

    @property
    def field(self) -> str:
        """The raw input field this feature is ultimately derived from."""
        return self.source if isinstance(self.source, str) else self.source.field


class Column:
    """One feature of N records: ``codes[i]`` indexes ``vocab`` (``-1`` = missing)."""

    __slots__ = ("codes", "vocab", "ext", "cache")

    def __init__(self, codes: np.ndarray, vocab: Sequence[str]) -> None:
        self.codes = codes
        self.vocab = np.array(list(vocab), dtype=object) if not isinstance(vocab, np.ndarray) else vocab
        # vocab with "" appended, so that ext[codes] maps missing (-1) to "".
        self.ext = np.append(self.vocab, np.array([""], dtype=object))
        self.cache: dict = {}

    @classmethod
    def encode(cls, values: Iterable[object], n: int) -> Column:
        index: dict[str, int] = {}
        put = index.setdefault
        codes = np.fromiter(
            (put(v, len(index)) if v and isinstance(v, str) else NULL for v in values),
            dtype=np.int32,
            count=n,
        )
        return cls(codes, np.array(list(index), dtype=object))

    def derive(self, fn: Callable[[str | None], str | None]) -> Column:
        mapped = Column.encode((fn(v) for v in self.vocab), len(self.vocab))
        remap = np.append(mapped.codes, np.int32(NULL))
        return Column(remap[self.codes], mapped.vocab)

    def strings(self, rows: np.ndarray) -> np.ndarray:
        return self.ext[self.codes[rows]]

    def value(self, row: int) -> str | None:
        code = int(self.codes[row])
        return None if code < 0 else self.vocab[code]

    def counts(self) -> np.ndarray:
        present = self.codes[self.codes >= 0]
        return np.bincount(present, minlength=len(self.vocab))


class Frame:
    """Features of N records, computed from raw columns."""

    def __init__(self, n: int, columns: dict[str, Column]) -> None:
        self.n = n
        self.columns = columns

    def __getitem__(self, feature: Feature) -> Column:
        return self.columns[feature.name]

    @classmethod
    def build(
        cls, raw: Mapping[str, Sequence[object]], features: Iterable[Feature], n: int | None = None
    ) -> Frame:
        if n is None:
            n = len(next(iter(raw.values()))) if raw else 0
        frame = cls(n, {})
        encoded: dict[str, Column] = {}
        for feat in features:
            frame._resolve(feat, raw, encoded)
        return frame

    def _resolve(self, feat: Feature, raw: Mapping[str, Sequence[object]], encoded: dict) -> Column:
        col = self.columns.get(feat.name)
        if col is not None:
            return col
        if isinstance(feat.source, str):
            base = encoded.get(feat.source)
            if base is None:
                values = raw.get(feat.source)
                base = Column.encode(values if values is not None else [None] * self.n, self.n)
                encoded[feat.source] = base
        else:
            base = self._resolve(feat.source, raw, encoded)
        col = base.derive(feat.fn)
        self.columns[feat.name] = col
        return col

    def take(self, rows: np.ndarray) -> Frame:
        """A compact frame of the given rows (used to score a few candidates)."""
        cols = {}
        for name, col in self.columns.items():
            cols[name] = Column.encode(col.strings(rows), len(rows))
        return Frame(len(rows), cols)


# --- vectorised primitives over pairs -------------------------------------------------------


class Pairs:
    """Rows ``ia`` of frame ``A`` paired with rows ``ib`` of frame ``B``."""

    __slots__ = ("A", "B", "ia", "ib", "_cache")

    def __init__(self, A: Frame, ia: np.ndarray, B: Frame, ib: np.ndarray) -> None:
        self.A, self.B, self.ia, self.ib = A, B, ia, ib
        self._cache: dict = {}

    def __len__(self) -> int:
        return len(self.ia)

    def codes(self, feat: Feature) -> tuple[np.ndarray, np.ndarray]:
        key = ("c", feat.name)
        if key not in self._cache:
            self._cache[key] = (self.A[feat].codes[self.ia], self.B[feat].codes[self.ib])
        return self._cache[key]

    def present(self, feat: Feature) -> tuple[np.ndarray, np.ndarray]:
        ca, cb = self.codes(feat)
        return ca >= 0, cb >= 0

    def both(self, feat: Feature) -> np.ndarray:
        ca, cb = self.codes(feat)
        return (ca >= 0) & (cb >= 0)

    def eq(self, feat: Feature, feat_b: Feature | None = None) -> np.ndarray:
        """Exact agreement of A's ``feat`` with B's ``feat_b`` (default the same feature)."""
        feat_b = feat_b or feat
        key = ("eq", feat.name, feat_b.name)
        if key in self._cache:
            return self._cache[key]
        ca = self.A[feat].codes[self.ia]
        cb = self.B[feat_b].codes[self.ib]
        if self.A[feat] is self.B[feat_b]:
            out = (ca == cb) & (ca >= 0)
        else:
            out = np.zeros(len(ca), dtype=bool)
            sel = np.nonzero((ca >= 0) & (cb >= 0))[0]
            if sel.size:
                out[sel] = self.A[feat].ext[ca[sel]] == self.B[feat_b].ext[cb[sel]]
        self._cache[key] = out
        return out

    def sim(
        self, feat: Feature, scorer: Callable, mask: np.ndarray, feat_b: Feature | None = None
    ) -> np.ndarray:
        """``scorer`` of the pair's values where ``mask`` (and both present), else 0."""
        feat_b = feat_b or feat
        ca = self.A[feat].codes[self.ia]
        cb = self.B[feat_b].codes[self.ib]
        out = np.zeros(len(ca), dtype=np.float32)
        sel = np.nonzero(mask & (ca >= 0) & (cb >= 0))[0]
        if sel.size:
            sa = self.A[feat].ext[ca[sel]]
            sb = self.B[feat_b].ext[cb[sel]]
            workers = -1 if sel.size >= _PARALLEL_MIN else 1
            out[sel] = process.cpdist(sa, sb, scorer=scorer, workers=workers)
        return out

    def jw(self, feat: Feature, mask: np.ndarray, feat_b: Feature | None = None) -> np.ndarray:
        return self.sim(feat, JaroWinkler.normalized_similarity, mask, feat_b)

    def edits(self, feat: Feature, mask: np.ndarray, cutoff: int = 3) -> np.ndarray:
        """Optimal-string-alignment edits (typos and transpositions), capped at ``cutoff``."""
        out = np.full(len(self.ia), cutoff + 1, dtype=np.int32)
        ca, cb = self.codes(feat)
        sel = np.nonzero(mask & (ca >= 0) & (cb >= 0))[0]
        if sel.size:
            sa, sb = self.A[feat].ext[ca[sel]], self.B[feat].ext[cb[sel]]
            workers = -1 if sel.size >= _PARALLEL_MIN else 1
            out[sel] = process.cpdist(sa, sb, scorer=OSA.distance, score_cutoff=cutoff, workers=workers)
        return out


def _select(conditions: list[np.ndarray], n: int, null: np.ndarray | None = None) -> np.ndarray:
    """Level = index of the first true condition, else the last level; ``null`` gives -1."""
    out = np.full(n, len(conditions), dtype=np.int8)
    for level in range(len(conditions) - 1, -1, -1):
        out[conditions[level]] = level
    if null is not None:
        out[null] = NULL
    return out


# --- comparisons ----------------------------------------------------------------------------


class Comparison:
    """Maps record pairs to comparison levels; subclasses define ``labels`` and ``levels``."""

    name: str = ""
    labels: tuple[str, ...] = ()
    # Starting m-probabilities for EM (the u start is taken from the data).
    m_start: tuple[float, ...] = ()
    # level -> features on which that level implies exact agreement (term-frequency adjusted).
    tf: dict[int, tuple[Feature, ...]] = {}

    def features(self) -> tuple[Feature, ...]:
        raise NotImplementedError

    def levels(self, pairs: Pairs) -> np.ndarray:
        raise NotImplementedError

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.field for f in self.features()))


class NameComparison(Comparison):
    """Given name + surname together, so swaps, nicknames and initials are one judgement."""

    labels = (
        "exact",
        "nickname or swapped",
        "initial",
        "typo",
        "one part missing",
        "given name only (surname differs)",
        "surname only (given name differs)",
        "different",
    )
    m_start = (0.6, 0.08, 0.05, 0.1, 0.05, 0.06, 0.03, 0.03)

    def __init__(self, first: str = "first_name", last: str = "last_name", name: str = "name",
                 typo: float = 0.88) -> None:
        self.name = name
        self.typo = typo
        self.f = Feature(first, names.given_name)
        self.fc = Feature(first, names.given_key)
        self.fi = Feature(self.f, names.initial)
        self.f1 = Feature(self.f, names.is_initial)
        self.l = Feature(last, names.surname)
        self.tf = {0: (self.fc, self.l), 1: (self.fc, self.l), 2: (self.l,), 5: (self.fc,)}

    def features(self) -> tuple[Feature, ...]:
        return (self.f, self.fc, self.fi, self.f1, self.l)

    def levels(self, p: Pairs) -> np.ndarray:
        n = len(p)
        f_both, l_both = p.both(self.f), p.both(self.l)
        fa, fb = p.present(self.f)
        la, lb = p.present(self.l)
        f_eq, fc_eq, l_eq = p.eq(self.f), p.eq(self.fc), p.eq(self.l)
        exact = f_eq & l_eq
        open_ = ~exact
        swap = np.zeros(n, dtype=bool)
        cand = np.nonzero(open_ & fa & la & fb & lb & ~l_eq)[0]
        if cand.size:
            sub = Pairs(p.A, p.ia[cand], p.B, p.ib[cand])
            swap[cand] = sub.eq(self.f, self.l) & sub.eq(self.l, self.f)
        initial = l_eq & p.eq(self.fi) & (p.present(self.f1)[0] | p.present(self.f1)[1])
        jf = p.jw(self.f, open_ & ~f_eq & f_both)
        jl = p.jw(self.l, open_ & ~l_eq & l_both)
        t = self.typo
        f_like = f_eq | fc_eq | (jf >= t)
        l_like = l_eq | (jl >= t)
        typo = (l_eq & (jf >= t)) | (fc_eq & (jl >= t)) | ((jf >= t) & (jl >= t))
        partial = (l_eq & ~f_both) | (fc_eq & ~l_both)
        first_only = fc_eq & l_both & ~l_like
        last_only = l_eq & f_both & ~f_like
        null = ~(f_both | l_both | swap)
        return _select(
            [exact, (fc_eq & l_eq) | swap, initial, typo, partial, first_only, last_only],
            n,
            null,
        )


class EmailComparison(Comparison):
    labels = ("exact", "same user, other domain", "typo", "different")
    m_start = (0.6, 0.05, 0.05, 0.3)

    def __init__(self, source: str = "email", name: str = "email", typo: float = 0.92) -> None:
        self.name = name
        self.typo = typo
        self.e = Feature(source, names.email)
        self.user = Feature(self.e, names.email_user)
        self.local = Feature(self.e, names.email_local)
        self.domain = Feature(self.e, names.email_domain_of)
        self.tf = {0: (self.e,)}

    def features(self) -> tuple[Feature, ...]:
        return (self.e, self.user, self.local, self.domain)

    def levels(self, p: Pairs) -> np.ndarray:
        exact = p.eq(self.e)
        same_domain = p.eq(self.domain)
        other_domain = p.eq(self.user) & ~same_domain
        typo = same_domain & (p.jw(self.local, ~exact & same_domain) >= self.typo)
        return _select([exact, other_domain, typo], len(p), ~p.both(self.e))


class OrganisationComparison(Comparison):
    """Company and phone judged jointly.

    Colleagues share the company name and often the switchboard number, so treating the two as
    independent evidence would count the same fact ("same organisation") twice. Their joint
    levels let EM learn how often a non-match agrees on both.
    """

    labels = tuple(
        f"{c}, {p}"
        for c in ("company same", "company similar", "company differs", "company missing")
        for p in ("phone same", "phone one typo", "phone differs", "phone missing")
    )
    m_start = (0.4, 0.05, 0.1, 0.1, 0.02, 0.01, 0.02, 0.02, 0.05, 0.01, 0.06, 0.02, 0.05, 0.01,
               0.05, 0.04)

    def __init__(self, company: str = "company", phone: str = "phone", name: str = "organisation",
                 similar: float = 0.92) -> None:
        self.name = name
        self.similar = similar
        self.c = Feature(company, names.company)
        self.p = Feature(phone, names.phone)
        self.tf = {0: (self.p,), 4: (self.p,), 8: (self.p,), 12: (self.p,),
                   1: (self.c,), 2: (self.c,), 3: (self.c,)}

    def features(self) -> tuple[Feature, ...]:
        return (self.c, self.p)

    def levels(self, p: Pairs) -> np.ndarray:
        c_both, p_both = p.both(self.c), p.both(self.p)
        c_eq, p_eq = p.eq(self.c), p.eq(self.p)
        c_sim = c_eq | (p.jw(self.c, c_both & ~c_eq) >= self.similar)
        p_typo = p.edits(self.p, p_both & ~p_eq, cutoff=1) <= 1
        c_lvl = np.where(c_eq, 0, np.where(c_sim, 1, np.where(c_both, 2, 3)))
        p_lvl = np.where(p_eq, 0, np.where(p_typo, 1, np.where(p_both, 2, 3)))
        out = (c_lvl * 4 + p_lvl).astype(np.int8)
        out[(c_lvl == 3) & (p_lvl == 3)] = NULL
        return out


class LocationComparison(Comparison):
    labels = (
        "city and postcode",
        "city or postcode",
        "city similar",
        "same country, other or unknown city",
        "other country",
    )
    m_start = (0.5, 0.25, 0.05, 0.15, 0.05)

    def __init__(self, city: str = "city", postcode: str = "postcode", country: str = "country",
                 name: str = "location") -> None:
        self.name = name
        self.city = Feature(city, names.city)
        self.pc = Feature(postcode, names.postcode)
        self.country = Feature(country, names.country)
        self.tf = {1: (self.city,)}

    def features(self) -> tuple[Feature, ...]:
        return (self.city, self.pc, self.country)

    def levels(self, p: Pairs) -> np.ndarray:
        city_both, pc_both, co_both = p.both(self.city), p.both(self.pc), p.both(self.country)
        city_eq, pc_eq, co_eq = p.eq(self.city), p.eq(self.pc), p.eq(self.country)
        both = (city_eq & pc_eq) | (pc_eq & ~city_both) | (city_eq & ~pc_both & co_eq)
        one = city_eq | pc_eq
        similar = p.jw(self.city, city_both & ~city_eq) >= 0.9
        same_country = ~(co_both & ~co_eq)
        null = ~(city_both | pc_both | co_both)
        return _select([both, one, similar, same_country], len(p), null)


class StringComparison(Comparison):
    """Exact / Jaro-Winkler at thresholds / different, for any free-text field."""

    def __init__(self, source: str, fn: Callable = names.text, thresholds=(0.92, 0.8),
                 name: str | None = None, tf: bool = False) -> None:
        self.name = name or source
        self.thresholds = thresholds
        self.x = Feature(source, fn)
        self.labels = ("exact", *(f"similar >= {t}" for t in thresholds), "different")
        self.m_start = (0.7, *([0.2 / len(thresholds)] * len(thresholds)), 0.1)
        self.tf = {0: (self.x,)} if tf else {}

    def features(self) -> tuple[Feature, ...]:
        return (self.x,)

    def levels(self, p: Pairs) -> np.ndarray:
        eq = p.eq(self.x)
        sim = p.jw(self.x, ~eq)
        return _select([eq, *(sim >= t for t in self.thresholds)], len(p), ~p.both(self.x))


class EditComparison(Comparison):
    """Exact / within k typos (OSA distance) / different: dates, identifiers, postcodes."""

    def __init__(self, source: str, fn: Callable = names.digits, max_edits=(1, 2),
                 name: str | None = None, tf: bool = False) -> None:
        self.name = name or source
        self.max_edits = max_edits
        self.x = Feature(source, fn)
        self.labels = ("exact", *(f"{k} edit{'s' if k > 1 else ''}" for k in max_edits), "different")
        self.m_start = (0.7, *([0.2 / len(max_edits)] * len(max_edits)), 0.1)
        self.tf = {0: (self.x,)} if tf else {}

    def features(self) -> tuple[Feature, ...]:
        return (self.x,)

    def levels(self, p: Pairs) -> np.ndarray:
        eq = p.eq(self.x)
        d = p.edits(self.x, ~eq, cutoff=max(self.max_edits))
        return _select([eq, *(d <= k for k in self.max_edits)], len(p), ~p.both(self.x))


class ExactComparison(Comparison):
    labels = ("exact", "different")
    m_start = (0.9, 0.1)

    def __init__(self, source: str, fn: Callable = names.text, name: str | None = None,
                 tf: bool = False) -> None:
        self.name = name or source
        self.x = Feature(source, fn)
        self.tf = {0: (self.x,)} if tf else {}

    def features(self) -> tuple[Feature, ...]:
        return (self.x,)

    def levels(self, p: Pairs) -> np.ndarray:
        return _select([p.eq(self.x)], len(p), ~p.both(self.x))
