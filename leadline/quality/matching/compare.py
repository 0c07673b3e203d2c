"""Columnar features and the comparisons that turn a pair of records into comparison levels.

A *feature* is a normalised key derived from a raw field (or from another feature) by a pure
function of one string. A ``Frame`` holds each feature of N records as integer codes into a
vocabulary of distinct values, so the normalising functions run once per distinct value and
exact agreement is an integer comparison. A *comparison* maps pairs of rows ``(A[ia], B[ib])``
to a small integer level per pair (``-1`` when the fields are missing), fully vectorised; the
same code scores a million candidate pairs in a batch and a few hundred at capture time.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA, JaroWinkler

from . import names

NULL = -1
_PARALLEL_MIN = 20_000  # below this many pairs a thread pool costs more than it saves

# One record's features by feature name (None = missing), for scoring a few pairs without
# arrays: ``Comparison.level`` gives for one pair the level ``Comparison.levels`` gives.
Features = Mapping[str, "str | None"]


@dataclass(frozen=True)
class Feature:
    """A normalised key: ``fn(source value)``; ``source`` is a raw field name or a feature."""

    source: str | Feature
    fn: Callable[[str | None], str | None] = field(compare=True)

    def __post_init__(self) -> None:
        # Computed once: names are dictionary keys on every comparison of every pair batch.
        src = self.source if isinstance(self.source, str) else self.source.name
        root = self.source if isinstance(self.source, str) else self.source.field
        object.__setattr__(self, "name", f"{src}.{self.fn.__name__}")
        object.__setattr__(self, "field", root)

    name: str = field(init=False, compare=False, repr=False)
    # The raw input field this feature is ultimately derived from.
    field: str = field(init=False, compare=False, repr=False)


class Column:
    """One feature of N records: ``codes[i]`` indexes ``vocab`` (``-1`` = missing)."""

    __slots__ = ("codes", "vocab", "ext", "cache")

    def __init__(self, codes: np.ndarray, vocab: Sequence[str]) -> None:
        self.codes = codes
        self.vocab = (
            np.array(list(vocab), dtype=object) if not isinstance(vocab, np.ndarray) else vocab
        )
        # vocab with "" appended, so that ext[codes] maps missing (-1) to "".
        self.ext = np.append(self.vocab, np.array([""], dtype=object))
        self.cache: dict = {}

    @classmethod
    def encode(cls, values: Iterable[object], n: int) -> Column:
        values = values if isinstance(values, list) else list(values)
        # dict.fromkeys, zip and map run in C; only the distinct values pass through Python.
        index: dict = dict.fromkeys(values)
        vocab = [k for k in index if k and isinstance(k, str)]
        bad = [k for k in index if not (k and isinstance(k, str))]  # None, "", NaN
        index = dict(zip(vocab, range(len(vocab)), strict=False))
        index.update(dict.fromkeys(bad, NULL))
        codes = np.fromiter(map(index.__getitem__, values), dtype=np.int32, count=n)
        return cls(codes, np.array(vocab, dtype=object))

    def derive(self, fn: Callable[[str | None], str | None]) -> Column:
        mapped = Column.encode(list(map(fn, self.vocab)), len(self.vocab))
        remap = np.append(mapped.codes, np.int32(NULL))
        return Column(remap[self.codes], mapped.vocab)

    def strings(self, rows: np.ndarray) -> np.ndarray:
        return self.ext[self.codes[rows]]

    def first_letters(self) -> np.ndarray:
        """Code of each vocabulary value's first character (-1 for the missing entry)."""
        got = self.cache.get("first")
        if got is None:
            got = np.append(
                np.fromiter((ord(v[0]) for v in self.vocab), np.int32, len(self.vocab)), -1
            )
            self.cache["first"] = got
        return got

    def digit_matrix(self, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Values of exactly ``width`` digits as a (V+1, width) uint8 matrix, and which are."""
        got = self.cache.get(("digits", width))
        if got is None:
            ok = np.fromiter(
                (len(v) == width and v.isdigit() for v in self.vocab), bool, len(self.vocab)
            )
            mat = np.zeros((len(self.vocab) + 1, width), dtype=np.uint8)
            if ok.any():
                kept = (v for v, good in zip(self.vocab, ok, strict=True) if good)
                joined = "".join(kept).encode()
                mat[:-1][ok] = np.frombuffer(joined, dtype=np.uint8).reshape(-1, width)
            got = (mat, np.append(ok, False))
            self.cache[("digits", width)] = got
        return got

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
        # Millions of new strings and no cycles: the cyclic collector would only slow this down.
        enabled = gc.isenabled()
        gc.disable()
        try:
            for feat in features:
                frame._resolve(feat, raw, encoded)
        finally:
            if enabled:
                gc.enable()
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
        return self.A[feat].codes[self.ia], self.B[feat].codes[self.ib]

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
        col_a, col_b = self.A[feat], self.B[feat_b]
        ca = col_a.codes[self.ia]
        if col_a is col_b:
            cb = col_b.codes[self.ib]
            out = (ca == cb) & (ca >= 0)
        elif self.A is self.B:
            # Two features of one frame (given name vs surname): map B's codes into A's vocab.
            cb = _recode(col_b, col_a)[self.ib]
            out = (ca == cb) & (ca >= 0)
        else:
            cb = col_b.codes[self.ib]
            out = np.zeros(len(ca), dtype=bool)
            sel = np.nonzero((ca >= 0) & (cb >= 0))[0]
            if sel.size:
                out[sel] = col_a.ext[ca[sel]] == col_b.ext[cb[sel]]
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

    def jw(
        self, feat: Feature, mask: np.ndarray, feat_b: Feature | None = None, same_first=False
    ) -> np.ndarray:
        """Jaro-Winkler similarity; ``same_first`` skips pairs whose first letters differ
        (they cannot reach the high thresholds used for names of things)."""
        if same_first:
            col_a, col_b = self.A[feat], self.B[feat_b or feat]
            fa = col_a.first_letters()[col_a.codes[self.ia]]
            fb = col_b.first_letters()[col_b.codes[self.ib]]
            mask = mask & (fa == fb)
        return self.sim(feat, JaroWinkler.normalized_similarity, mask, feat_b)

    def one_slip(self, feat: Feature, mask: np.ndarray, width: int = 9) -> np.ndarray:
        """One substituted digit or two swapped neighbours (OSA distance <= 1), vectorised for
        values of ``width`` digits (phone keys) and by rapidfuzz for anything else."""
        col_a, col_b = self.A[feat], self.B[feat]
        ca, cb = col_a.codes[self.ia], col_b.codes[self.ib]
        sel = np.nonzero(mask & (ca >= 0) & (cb >= 0))[0]
        out = np.zeros(len(ca), dtype=bool)
        if sel.size == 0:
            return out
        mat_a, ok_a = col_a.digit_matrix(width)
        mat_b, ok_b = col_b.digit_matrix(width)
        fast = ok_a[ca[sel]] & ok_b[cb[sel]]
        rows = sel[fast]
        for start in range(0, rows.size, 1 << 20):
            part = rows[start : start + (1 << 20)]
            da, db = mat_a[ca[part]], mat_b[cb[part]]
            diff = da != db
            nd = diff.sum(axis=1)
            swap = (nd == 2) & (diff[:, :-1] & diff[:, 1:]).any(axis=1)
            swap &= ((da[:, :-1] == db[:, 1:]) & (da[:, 1:] == db[:, :-1]) & diff[:, :-1]).any(
                axis=1
            )
            out[part] = (nd == 1) | swap
        slow = sel[~fast]
        if slow.size:
            sa, sb = col_a.ext[ca[slow]], col_b.ext[cb[slow]]
            d = process.cpdist(sa, sb, scorer=OSA.distance, score_cutoff=1, workers=1)
            out[slow] = d <= 1
        return out

    def edits(self, feat: Feature, mask: np.ndarray, cutoff: int = 3) -> np.ndarray:
        """Optimal-string-alignment edits (typos and transpositions), capped at ``cutoff``."""
        out = np.full(len(self.ia), cutoff + 1, dtype=np.int32)
        ca, cb = self.codes(feat)
        sel = np.nonzero(mask & (ca >= 0) & (cb >= 0))[0]
        if sel.size:
            sa, sb = self.A[feat].ext[ca[sel]], self.B[feat].ext[cb[sel]]
            workers = -1 if sel.size >= _PARALLEL_MIN else 1
            out[sel] = process.cpdist(
                sa, sb, scorer=OSA.distance, score_cutoff=cutoff, workers=workers
            )
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
    # The levels a duplicate who changed employer lands on (None: a move leaves it unchanged);
    # NULL among them when a mover may lack the field, else a move must show in it.
    moved: tuple[int, ...] | None = None

    def features(self) -> tuple[Feature, ...]:
        raise NotImplementedError

    def levels(self, pairs: Pairs) -> np.ndarray:
        raise NotImplementedError

    def level(self, a: Features, b: Features) -> int:
        """The level of one pair, as ``levels`` gives it (a capture scores a handful of pairs,
        where numpy's fixed cost per operation is most of the time)."""
        raise NotImplementedError

    @staticmethod
    def _settled(feat: Feature, a: Features, b: Features) -> tuple[int | None, object, object]:
        """(level, a's value, b's value) of one feature: NULL when a side lacks it, 0 (exact)
        when both have the same value, None when they differ and the caller grades how."""
        x, y = a[feat.name], b[feat.name]
        if x is None or y is None:
            return NULL, x, y
        return (0 if x == y else None), x, y

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

    def __init__(
        self,
        first: str = "first_name",
        last: str = "last_name",
        name: str = "name",
        typo: float = 0.88,
    ) -> None:
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

    def level(self, a: Features, b: Features) -> int:
        first, last = self.f.name, self.l.name
        af, bf, al, bl = a[first], b[first], a[last], b[last]
        f_both = af is not None and bf is not None
        l_both = al is not None and bl is not None
        if not (f_both or l_both):  # (a swap needs both names too)
            return NULL
        f_eq, l_eq = f_both and af == bf, l_both and al == bl
        if f_eq and l_eq:
            return 0
        fc = a[self.fc.name]
        fc_eq = fc is not None and fc == b[self.fc.name]
        if (fc_eq and l_eq) or (f_both and l_both and af == bl and al == bf):
            return 1
        fi, f1 = self.fi.name, self.f1.name
        if l_eq and a[fi] is not None and a[fi] == b[fi] and (a[f1], b[f1]) != (None, None):
            return 2
        t = _f32(self.typo)
        jf = f_both and not f_eq and _jw32(af, bf) >= t
        jl = l_both and not l_eq and _jw32(al, bl) >= t
        if (l_eq and jf) or (fc_eq and jl) or (jf and jl):
            return 3
        if (l_eq and not f_both) or (fc_eq and not l_both):
            return 4
        if fc_eq and l_both and not jl:  # (not l_eq: fc_eq and l_eq was level 1)
            return 5
        if l_eq and f_both and not (f_eq or fc_eq or jf):
            return 6
        return 7


class EmailComparison(Comparison):
    labels = ("exact", "same user, other domain", "typo", "different")
    m_start = (0.6, 0.05, 0.05, 0.3)
    # A new employer means a new work address: often first.last@ at the new domain (or none).
    moved = (1, 3, NULL)

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
        typo = np.zeros(len(p), dtype=bool)
        rows = np.nonzero(~exact & same_domain)[0]
        if rows.size:
            sub = Pairs(p.A, p.ia[rows], p.B, p.ib[rows])
            near = sub.jw(self.local, np.ones(rows.size, dtype=bool)) >= self.typo
            cand = rows[near]
            if cand.size:
                sa = p.A[self.local].strings(p.ia[cand])
                sb = p.B[self.local].strings(p.ib[cand])
                typo[cand] = [_is_typo(x, y) for x, y in zip(sa, sb, strict=False)]
        return _select([exact, other_domain, typo], len(p), ~p.both(self.e))

    def level(self, a: Features, b: Features) -> int:
        settled, _ae, _be = self._settled(self.e, a, b)
        if settled is not None:
            return settled
        domain = a[self.domain.name]
        if domain is None or domain != b[self.domain.name]:
            user = a[self.user.name]
            return 1 if user is not None and user == b[self.user.name] else 3
        x, y = a[self.local.name], b[self.local.name]
        if x is not None and y is not None and _jw32(x, y) >= _f32(self.typo) and _is_typo(x, y):
            return 2
        return 3


def _is_typo(a: str, b: str) -> bool:
    """One slip (OSA distance 1) inside the string; an added first or last character (jsmith2,
    georgew, idavid) is how a second person's mailbox is told apart, not a typo."""
    if len(a) < 4 or len(b) < 4 or OSA.distance(a, b, score_cutoff=1) > 1:
        return False
    if len(a) != len(b):
        short, long_ = (a, b) if len(a) < len(b) else (b, a)
        if long_.startswith(short) or long_.endswith(short):
            return False
    return True


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
    m_start = (
        0.4,
        0.05,
        0.1,
        0.1,
        0.02,
        0.01,
        0.02,
        0.02,
        0.05,
        0.01,
        0.06,
        0.02,
        0.05,
        0.01,
        0.05,
        0.04,
    )
    # A new employer: company and number both differ (or one of them is missing). Both missing
    # is not among them: nothing then shows a move.
    moved = (10, 11, 14)

    def __init__(
        self,
        company: str = "company",
        phone: str = "phone",
        name: str = "organisation",
        similar: float = 0.92,
    ) -> None:
        self.name = name
        self.similar = similar
        self.c = Feature(company, names.company)
        self.p = Feature(phone, names.phone)
        # Only the number is term-frequency adjusted. Leads come in groups from one company (a
        # team, an account's contacts), so sharing a rare company is not the coincidence its
        # frequency says; adjusting it made colleagues with one surname look like one person
        # (1M benchmark: precision 0.981 -> 0.985 without it, recall 0.906 -> 0.905).
        self.tf = {0: (self.p,), 4: (self.p,), 8: (self.p,), 12: (self.p,)}

    def features(self) -> tuple[Feature, ...]:
        return (self.c, self.p)

    def levels(self, p: Pairs) -> np.ndarray:
        c_both, p_both = p.both(self.c), p.both(self.p)
        c_eq, p_eq = p.eq(self.c), p.eq(self.p)
        c_sim = c_eq | (p.jw(self.c, c_both & ~c_eq, same_first=True) >= self.similar)
        p_typo = p.one_slip(self.p, p_both & ~p_eq)
        c_lvl = np.where(c_eq, 0, np.where(c_sim, 1, np.where(c_both, 2, 3)))
        p_lvl = np.where(p_eq, 0, np.where(p_typo, 1, np.where(p_both, 2, 3)))
        out = (c_lvl * 4 + p_lvl).astype(np.int8)
        out[(c_lvl == 3) & (p_lvl == 3)] = NULL
        return out

    def level(self, a: Features, b: Features) -> int:
        ac, bc, ap, bp = a[self.c.name], b[self.c.name], a[self.p.name], b[self.p.name]
        if ac is None or bc is None:
            c_lvl = 3
        elif ac == bc:
            c_lvl = 0
        else:
            similar = ac[0] == bc[0] and _jw32(ac, bc) >= _f32(self.similar)
            c_lvl = 1 if similar else 2
        if ap is None or bp is None:
            if c_lvl == 3:
                return NULL
            p_lvl = 3
        elif ap == bp:
            p_lvl = 0
        else:
            # One substituted digit or two swapped neighbours, as ``Pairs.one_slip`` says.
            p_lvl = 1 if OSA.distance(ap, bp, score_cutoff=1) <= 1 else 2
        return c_lvl * 4 + p_lvl


class LocationComparison(Comparison):
    labels = (
        "city and postcode",
        "city or postcode",
        "city similar",
        "same country, other or unknown city",
        "other country",
    )
    m_start = (0.5, 0.25, 0.05, 0.15, 0.05)

    def __init__(
        self,
        city: str = "city",
        postcode: str = "postcode",
        country: str = "country",
        name: str = "location",
    ) -> None:
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
        similar = p.jw(self.city, city_both & ~city_eq, same_first=True) >= 0.9
        same_country = ~(co_both & ~co_eq)
        null = ~(city_both | pc_both | co_both)
        return _select([both, one, similar, same_country], len(p), null)

    def level(self, a: Features, b: Features) -> int:
        ac, bc = a[self.city.name], b[self.city.name]
        ap, bp = a[self.pc.name], b[self.pc.name]
        ao, bo = a[self.country.name], b[self.country.name]
        city_both, pc_both = ac is not None and bc is not None, ap is not None and bp is not None
        co_both = ao is not None and bo is not None
        if not (city_both or pc_both or co_both):
            return NULL
        city_eq, pc_eq, co_eq = city_both and ac == bc, pc_both and ap == bp, co_both and ao == bo
        if (city_eq and pc_eq) or (pc_eq and not city_both) or (city_eq and not pc_both and co_eq):
            return 0
        if city_eq or pc_eq:
            return 1
        if city_both and ac[0] == bc[0] and _jw32(ac, bc) >= _f32(0.9):
            return 2
        return 3 if not co_both or co_eq else 4


class StringComparison(Comparison):
    """Exact / Jaro-Winkler at thresholds / different, for any free-text field."""

    def __init__(
        self,
        source: str,
        fn: Callable = names.text,
        thresholds=(0.92, 0.8),
        name: str | None = None,
        tf: bool = False,
    ) -> None:
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

    def level(self, a: Features, b: Features) -> int:
        settled, x, y = self._settled(self.x, a, b)
        if settled is not None:
            return settled
        sim = _jw32(x, y)
        for k, t in enumerate(self.thresholds):
            if sim >= _f32(t):
                return k + 1
        return len(self.thresholds) + 1


class EditComparison(Comparison):
    """Exact / within k typos (OSA distance) / different: dates, identifiers, postcodes."""

    def __init__(
        self,
        source: str,
        fn: Callable = names.digits,
        max_edits=(1, 2),
        name: str | None = None,
        tf: bool = False,
    ) -> None:
        self.name = name or source
        self.max_edits = max_edits
        self.x = Feature(source, fn)
        self.labels = (
            "exact",
            *(f"{k} edit{'s' if k > 1 else ''}" for k in max_edits),
            "different",
        )
        self.m_start = (0.7, *([0.2 / len(max_edits)] * len(max_edits)), 0.1)
        self.tf = {0: (self.x,)} if tf else {}

    def features(self) -> tuple[Feature, ...]:
        return (self.x,)

    def levels(self, p: Pairs) -> np.ndarray:
        eq = p.eq(self.x)
        d = p.edits(self.x, ~eq, cutoff=max(self.max_edits))
        return _select([eq, *(d <= k for k in self.max_edits)], len(p), ~p.both(self.x))

    def level(self, a: Features, b: Features) -> int:
        settled, x, y = self._settled(self.x, a, b)
        if settled is not None:
            return settled
        d = OSA.distance(x, y, score_cutoff=max(self.max_edits))
        for k, most in enumerate(self.max_edits):
            if d <= most:
                return k + 1
        return len(self.max_edits) + 1


class ExactComparison(Comparison):
    labels = ("exact", "different")
    m_start = (0.9, 0.1)

    def __init__(
        self, source: str, fn: Callable = names.text, name: str | None = None, tf: bool = False
    ) -> None:
        self.name = name or source
        self.x = Feature(source, fn)
        self.tf = {0: (self.x,)} if tf else {}

    def features(self) -> tuple[Feature, ...]:
        return (self.x,)

    def levels(self, p: Pairs) -> np.ndarray:
        return _select([p.eq(self.x)], len(p), ~p.both(self.x))

    def level(self, a: Features, b: Features) -> int:
        settled, _x, _y = self._settled(self.x, a, b)
        return 1 if settled is None else settled


# Pairs.sim keeps similarities as float32, and a threshold is compared in float32 too.
_F32: dict[float, float] = {}


def _f32(x: float) -> float:
    got = _F32.get(x)
    if got is None:
        got = _F32[x] = float(np.float32(x))
    return got


def _jw32(a: str, b: str) -> float:
    """Jaro-Winkler similarity rounded to float32, as ``Pairs.jw`` holds it."""
    return float(np.float32(JaroWinkler.normalized_similarity(a, b)))


def _recode(col: Column, into: Column) -> np.ndarray:
    """``col``'s codes in ``into``'s vocabulary (-2 where the value is not there), cached."""
    key = ("recode", id(into))
    got = col.cache.get(key)
    if got is None:
        index = dict(zip(into.vocab.tolist(), range(len(into.vocab)), strict=False))
        remap = np.fromiter((index.get(v, -2) for v in col.vocab), np.int32, len(col.vocab))
        got = np.where(col.codes >= 0, np.append(remap, -2)[col.codes], -2)
        col.cache[key] = got
    return got
