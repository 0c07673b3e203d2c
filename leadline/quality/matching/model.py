"""The match model: Fellegi–Sunter weights, stratified by which blocking keys a pair shares.

For a candidate pair with comparison levels ``γ = (γ_1..γ_K)`` the match weight is

    w = log2(λ_s / (1 - λ_s)) + Σ_k log2(m_k[γ_k] / u_sk[γ_k]) + Σ tf adjustments

and the match probability is ``1 / (1 + 2^-w)``: ``m`` is how often a true duplicate lands on
a level, ``u`` how often a non-duplicate does, ``λ`` the share of duplicates.

*Stratum.* ``s`` says which families of blocking keys the two records share (same e-mail,
same phone, same name, same company + given name). Candidates are a union of blocks, and the
non-duplicates in each block are different people of different kinds: namesakes in name
blocks (names agree, nothing else does), colleagues in phone and company blocks (company,
switchboard and city agree, names do not). One set of ``u`` for all candidates would average
these and make a name disagreement look weak; a ``u`` and ``λ`` per stratum keeps them
apart, and a colleague's disagreeing name then counts against a match as it should. ``m``
is shared: duplicates look alike whichever key brought them together.

*Estimation, no labels.* ``m`` comes from expectation maximisation over the pairs of a few
training blocking rules, each leaving out the comparisons on the fields it blocks on (those
agree by construction), as Splink does; each comparison's ``m`` is the average over those
rules weighted by their expected duplicates. Then, with ``m`` fixed, ``u`` and ``λ`` of each
stratum are estimated by EM over its candidates, with a Dirichlet prior worth ``alpha`` pairs
centred on the non-duplicate ``u`` of one EM over all candidates, which keeps strata made
almost only of duplicates from calling them non-duplicates.

*Two kinds of duplicate.* A duplicate who changed employer changes company, phone and work
address together; as independent disagreements those are three strong signs of two people, and
``m`` (learnt mostly from pairs sharing an address, where moves are rare) calls such a pair
unlikely. So the duplicates are a mixture: those who stayed, with ``m``, and those who moved,
with ``m_moved``: ``m`` with the comparisons a move changes (``Comparison.moved``) confined to
the levels a move leads to, and on the other comparisons (name, place) their level shares
among pairs of the ``moves_seen_by`` rule whose company and phone differ (for leads, one
e-mail address: a personal address kept through a move). Each stratum has a share of each
kind (``prior`` and ``prior_moved``, estimated with ``u`` by EM), and the match weight is
``log2((λ P(γ|stayed) + λ' P(γ|moved)) / ((1 - λ - λ') P(γ|u)))``. A pair with neither company
nor phone is judged as a stayer: nothing shows a move.

*Term frequencies.* Agreement on a common value ("smith", a switchboard) weighs less and on a
rare one more: ``log2(Σ_v p_v² / p_value)`` bits per feature, the ratio between the chance
that two random records agree on that value and that they agree on any value.

*Reviewer decisions* refine ``m`` and ``u`` (``refine``), the current estimate counting as a
prior worth ``strength`` pairs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .blocking import BlockingRule
from .compare import NULL, Comparison, Feature, Features, Frame, Pairs

DEFAULT_THRESHOLD = 0.9
DEFAULT_REVIEW = 0.5
DEFAULT_AUTO_MERGE = 0.99


@dataclass(frozen=True)
class Settings:
    """What is compared (comparisons) and which pairs are compared (blocking rules)."""

    name: str
    comparisons: tuple[Comparison, ...]
    blocking: tuple[BlockingRule, ...]
    # Names of the blocking rules whose pairs train m (all rules when empty).
    training: tuple[str, ...] = ()
    # Groups of blocking rules; a pair's stratum has bit i set when the two records share the
    # key of a rule in group i (each rule is its own group when empty).
    families: tuple[tuple[str, ...], ...] = ()
    # A blocking rule whose pairs show how a duplicate who changed employer looks on the
    # comparisons a move does not change (see ``MatchModel.estimate``); none when empty.
    moves_seen_by: str = ""

    def rule_families(self) -> tuple[tuple[str, ...], ...]:
        return self.families or tuple((r.name,) for r in self.blocking)

    @property
    def n_strata(self) -> int:
        return 1 << len(self.rule_families())

    def strata(self, pairs: Pairs) -> np.ndarray:
        """Which families of blocking keys each pair shares, as a bit mask."""
        by_name = {r.name: r for r in self.blocking}
        out = np.zeros(len(pairs), dtype=np.int64)
        for bit, family in enumerate(self.rule_families()):
            shared = np.zeros(len(pairs), dtype=bool)
            for name in family:
                shared |= _shares_key(by_name[name], pairs)
            out |= shared.astype(np.int64) << bit
        return out

    def stratum(self, a: Features, b: Features) -> int:
        """``strata`` of one pair of records given as feature values."""
        out = 0
        for bit, rules in enumerate(self._family_rules):
            for rule in rules:
                if rule.shares(a, b):
                    out |= 1 << bit
                    break
        return out

    @cached_property
    def _family_rules(self) -> tuple[tuple[BlockingRule, ...], ...]:
        by_name = {r.name: r for r in self.blocking}
        return tuple(tuple(by_name[name] for name in f) for f in self.rule_families())

    def training_rules(self) -> tuple[BlockingRule, ...]:
        if not self.training:
            return self.blocking
        return tuple(r for r in self.blocking if r.name in self.training)

    def features(self) -> tuple[Feature, ...]:
        return self._features

    @cached_property
    def _features(self) -> tuple[Feature, ...]:
        # Worked out once: a capture-time lookup builds two small frames per call.
        feats: dict[str, Feature] = {}
        for comp in self.comparisons:
            for f in comp.features():
                feats.setdefault(f.name, f)
            for tf in comp.tf.values():
                for f in tf:
                    feats.setdefault(f.name, f)
        for rule in self.blocking:
            for f in rule.features():
                feats.setdefault(f.name, f)
        return tuple(feats.values())

    def tf_features(self) -> tuple[Feature, ...]:
        feats = {f.name: f for c in self.comparisons for tf in c.tf.values() for f in tf}
        return tuple(feats.values())

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.field for f in self.features()))

    def frame(self, raw: Mapping[str, Sequence[object]], n: int | None = None) -> Frame:
        return Frame.build(raw, self.features(), n)

    def levels(self, pairs: Pairs) -> np.ndarray:
        """Comparison vectors: one row per pair, one int8 level per comparison (-1 = null)."""
        out = np.empty((len(pairs), len(self.comparisons)), dtype=np.int8)
        for k, comp in enumerate(self.comparisons):
            out[:, k] = comp.levels(pairs)
        return out


def _shares_key(rule: BlockingRule, pairs: Pairs) -> np.ndarray:
    out = np.ones(len(pairs), dtype=bool)
    for f in rule.on:
        out &= pairs.eq(f)
    if rule.unordered and len(rule.on) == 2:
        rows = np.nonzero(~out)[0]
        if rows.size:
            f1, f2 = rule.on
            sub = Pairs(pairs.A, pairs.ia[rows], pairs.B, pairs.ib[rows])
            out[rows] = sub.eq(f1, f2) & sub.eq(f2, f1)
    return out


class TermFrequencies:
    """How often each value of the term-frequency features occurs."""

    def __init__(self, tables: dict[str, tuple[int, float, dict[str, int]]]) -> None:
        # feature name -> (records with a value, Σ p², counts of values seen more than once)
        self.tables = tables
        # (feature name, bound) -> {value: clipped bits}, for values looked up before
        self._clipped: dict[tuple[str, float], dict[str, float]] = {}

    @classmethod
    def from_frame(cls, frame: Frame, features: Iterable[Feature], keep: int = 50_000):
        tables = {}
        for feat in features:
            col = frame[feat]
            counts = col.counts()
            n = int(counts.sum())
            sumsq = float(((counts / max(n, 1)) ** 2).sum()) if n else 0.0
            top = np.nonzero(counts > 1)[0]
            if top.size > keep:
                top = top[np.argsort(-counts[top], kind="stable")[:keep]]
            tables[feat.name] = (
                n,
                sumsq,
                dict(zip(col.vocab[top].tolist(), counts[top].tolist(), strict=False)),
            )
        return cls(tables)

    def bits(self, feat: Feature, values: np.ndarray) -> np.ndarray:
        """The adjustment in bits for agreement on each of ``values``."""
        n, sumsq, counts = self.tables.get(feat.name, (0, 0.0, {}))
        if n == 0 or sumsq <= 0:
            return np.zeros(len(values))
        c = np.fromiter((counts.get(v, 1) for v in values), dtype=np.float64, count=len(values))
        return np.log2(sumsq * n / c)

    def clipped_bits(self, feat: Feature, values: Iterable[str], most: float) -> dict[str, float]:
        """``bits`` clipped to ±``most`` by value, for at least ``values`` (remembered: a
        capture meets the same names, domains and numbers again and again)."""
        memo = self._clipped.get((feat.name, most))
        if memo is None or len(memo) > CLIPPED_MEMO_SIZE:
            memo = self._clipped[(feat.name, most)] = {}
        new = [v for v in dict.fromkeys(values) if v not in memo]
        if new:
            bits = np.clip(self.bits(feat, np.array(new, dtype=object)), -most, most)
            memo.update(zip(new, bits.tolist(), strict=True))
        return memo

    def add(self, feat: Feature, value: str | None) -> None:
        """Count one more record, for callers that keep a saved model's frequencies current."""
        if not value or feat.name not in self.tables:
            return
        n, sumsq, counts = self.tables[feat.name]
        c = counts.get(value, 1 if n else 0)
        # Σ p² moves by ((c+1)² - c²) / n² and rescales for the new n.
        sq = sumsq * n * n + 2 * c + 1
        counts[value] = c + 1
        self.tables[feat.name] = (n + 1, sq / ((n + 1) ** 2), counts)
        self._clipped.clear()

    def to_dict(self) -> dict:
        return {k: {"n": n, "sumsq": s, "counts": c} for k, (n, s, c) in self.tables.items()}

    @classmethod
    def from_dict(cls, data: Mapping) -> TermFrequencies:
        return cls({k: (v["n"], v["sumsq"], dict(v["counts"])) for k, v in data.items()})


# Values per feature whose clipped term-frequency bits are remembered (then forgotten at once).
CLIPPED_MEMO_SIZE = 100_000


def _tf_pair(a: Features, b: Features, levels, adjusted, memo: dict) -> float | None:
    """One pair's term-frequency bits (before ``tf_weight``) as ``MatchModel.tf_bits`` adds
    them up, comparison by comparison; None when a value's bits are not in ``memo`` yet."""
    total = 0.0
    for k, by_level in adjusted:
        names = by_level.get(levels[k])
        if names:
            side_a = side_b = 0.0
            for name in names:
                got, x, y = memo[name], a[name], b[name]
                if x is not None:
                    if (v := got.get(x)) is None:
                        return None
                    side_a += v
                if y is not None:
                    if (v := got.get(y)) is None:
                        return None
                    side_b += v
            total += min(side_a, side_b)
    return total


@dataclass
class Evidence:
    """One comparison's contribution to a pair's match weight."""

    field: str
    level: str
    weight: float


@dataclass
class MatchModel:
    settings: Settings
    m: list[np.ndarray]  # per comparison: P(level | duplicate)
    u: list[list[np.ndarray]]  # per stratum, per comparison: P(level | non-duplicate, stratum)
    prior: np.ndarray  # per stratum: share of duplicates among its candidates
    # per stratum, per comparison: weight of each level's m there (below 1 for levels unseen)
    support: list[list[np.ndarray]] | None = None
    # The second kind of duplicate, one who changed employer (see the module docstring): its m
    # per comparison and its share per stratum; None for one kind (plain Fellegi–Sunter).
    m_moved: list[np.ndarray] | None = None
    prior_moved: np.ndarray | None = None
    tf: TermFrequencies = field(default_factory=lambda: TermFrequencies({}))
    threshold: float = DEFAULT_THRESHOLD
    review_threshold: float = DEFAULT_REVIEW
    auto_merge_threshold: float = DEFAULT_AUTO_MERGE
    tf_weight: float = 1.0
    tf_max_bits: float = 10.0
    iterations: int = 0
    _m_cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    # --- estimation ---------------------------------------------------------------------

    @classmethod
    def estimate(
        cls,
        settings: Settings,
        levels: np.ndarray,
        strata: np.ndarray,
        rule_mask: np.ndarray | None = None,
        tf: TermFrequencies | None = None,
        alpha: float = 1000.0,
        support_min: float = 200.0,
        max_iter: int = 300,
        tol: float = 1e-6,
        **options: float,
    ) -> MatchModel:
        """Unsupervised estimate from candidate pairs' comparison vectors and strata.

        Within a stratum, ``m`` of levels that never occur there is scaled down by
        ``support_min / (support_min + pairs in the stratum)``: pairs that share no e-mail key
        never have equal addresses, so a duplicate there is judged against the duplicates that
        can be there, and the more pairs show a level to be absent, the surer that is.
        ``support_min`` is small because leaving weight on impossible levels is not harmless:
        every duplicate in the stratum then looks less like a duplicate, and in a small stratum
        EM explains all of it as non-duplicates (at 2,000, the 5,000 pairs at 1M that share a
        name and company + given name but no e-mail or phone got a prior of 6e-6; a quarter of
        them are duplicates).

        ``rule_mask`` (bit r: blocking rule r proposed the pair) selects each training rule's
        pairs for the ``m`` estimate; without it ``m`` keeps the comparisons' starting values.
        """
        comps = settings.comparisons
        sizes = [len(c.labels) for c in comps]
        pats, counts = _patterns(levels, sizes)
        shares = [_level_share(pats[:, k], counts, sizes[k]) for k in range(len(comps))]
        m = _estimate_m(settings, levels, rule_mask, shares, max_iter, tol)
        m_moved = _moved_m(comps, m, _seen_moving(settings, m, levels, rule_mask))
        # The strata's prior for u: the non-duplicate side of one EM over all candidates.
        _, template, _, _ = _em(pats, counts, m, shares, 0.1, False, max_iter, tol)
        u = [template] * settings.n_strata
        prior = np.full(settings.n_strata, 1e-3)
        prior_moved = np.full(settings.n_strata, 1e-3) if m_moved else None
        support = [[np.ones(n) for n in sizes] for _ in range(settings.n_strata)]
        iters = 0
        # One pass over the pairs for every stratum's patterns (not a mask per stratum).
        for s, (s_pats, s_counts) in enumerate(_patterns(levels, sizes, strata, settings.n_strata)):
            if not s_counts.size:
                continue
            # Levels never seen in a stratum are (nearly) impossible there: the more pairs the
            # stratum has, the more surely so.
            unseen = support_min / (support_min + float(s_counts.sum()))
            support[s] = [
                np.where(
                    np.bincount(s_pats[s_pats[:, k] >= 0, k], minlength=sizes[k]) > 0, 1.0, unseen
                )
                for k in range(len(comps))
            ]
            kinds = [_truncate(m, support[s]) + [np.zeros(len(comps))]]
            if m_moved:
                kinds.append(_truncate(m_moved, support[s]) + [_moved_null_bits(comps)])
            u[s], shares_s, it = _em_stratum(
                s_pats, s_counts, kinds, template, alpha, max_iter, tol
            )
            prior[s] = shares_s[0]
            if prior_moved is not None:
                prior_moved[s] = shares_s[1]
            iters = max(iters, it)
        # Strata never seen get the overall share of expected duplicates.
        seen = np.bincount(strata, minlength=settings.n_strata) > 0
        if seen.any():
            counts_s = np.bincount(strata, minlength=settings.n_strata)
            for share in (prior, prior_moved) if prior_moved is not None else (prior,):
                share[~seen] = float((share * counts_s).sum() / counts_s.sum())
        return cls(
            settings,
            m,
            u,
            prior,
            support,
            m_moved,
            prior_moved,
            tf or TermFrequencies({}),
            iterations=iters,
            **options,
        )

    def refine(
        self,
        levels: np.ndarray,
        strata: np.ndarray,
        is_match: Sequence[bool],
        strength: float = 200.0,
    ) -> MatchModel:
        """A new model with m/u updated by reviewer decisions on pairs (Dirichlet update).

        The current estimate counts as ``strength`` pseudo-pairs per comparison (and per
        stratum for ``u``), so a few decisions nudge it and many decisions dominate it.
        """
        y = np.asarray(is_match, dtype=bool)
        m = [_dirichlet(mk, levels[y, k], strength) for k, mk in enumerate(self.m)]
        u = [list(us) for us in self.u]
        for s in np.unique(strata[~y]).tolist():
            rows = ~y & (strata == s)
            u[s] = [_dirichlet(uk, levels[rows, k], strength) for k, uk in enumerate(u[s])]
        m_moved = None
        if self.m_moved is not None:
            m_moved = _moved_m(self.settings.comparisons, m, self.m_moved)
        return dataclasses.replace(self, m=m, u=u, prior=self.prior.copy(), m_moved=m_moved)

    def refine_from_records(
        self,
        decisions: Iterable[tuple[Mapping[str, object], Mapping[str, object], bool]],
        strength: float = 200.0,
    ) -> MatchModel:
        """``refine`` from reviewer decisions given as (record, record, is_same_lead)."""
        from .dedupe import columns_from_records  # the header aliases live with the CSV code

        decisions = list(decisions)
        if not decisions:
            return self
        n = len(decisions)
        left = self.settings.frame(columns_from_records([d[0] for d in decisions]), n)
        right = self.settings.frame(columns_from_records([d[1] for d in decisions]), n)
        pairs = Pairs(left, np.arange(n), right, np.arange(n))
        levels, strata = self.compare(pairs)
        return self.refine(levels, strata, [bool(d[2]) for d in decisions], strength)

    # --- scoring ------------------------------------------------------------------------

    def m_for(self, stratum: int, moved: bool = False) -> list[np.ndarray]:
        """m within a stratum: levels never seen there are weighted down (see ``estimate``)."""
        m = self.m_moved if moved and self.m_moved is not None else self.m
        if self.support is None:
            return m
        key = (id(m), stratum)
        got = self._m_cache.get(key)
        if got is None:
            got = self._m_cache[key] = _truncate(m, self.support[stratum])
        return got

    def kinds(self, stratum: int) -> list[tuple[float, list[np.ndarray]]]:
        """Each kind of duplicate in a stratum: (log2 of its share, its m there)."""
        out = [(math.log2(_clip(self.prior[stratum])), self.m_for(stratum))]
        if self.m_moved is not None and self.prior_moved is not None:
            out.append((math.log2(_clip(self.prior_moved[stratum])), self.m_for(stratum, True)))
        return out

    def _log2_unmatched(self, stratum: int) -> float:
        share = float(self.prior[stratum])
        if self.prior_moved is not None:
            share += float(self.prior_moved[stratum])
        return math.log2(_clip(1 - share))

    def compare(self, pairs: Pairs) -> tuple[np.ndarray, np.ndarray]:
        """Comparison vectors and strata of some pairs."""
        return self.settings.levels(pairs), self.settings.strata(pairs)

    def match_weight(
        self, pairs: Pairs, levels: np.ndarray | None = None, strata: np.ndarray | None = None
    ) -> np.ndarray:
        if levels is None or strata is None:
            levels, strata = self.compare(pairs)
        w = None
        for bias, tables in self._odds_tables():
            # This kind of duplicate's log2 odds against a non-duplicate; two kinds add up.
            x = bias[strata]
            for k, table in enumerate(tables):
                x += table[strata, levels[:, k]]
            w = x if w is None else np.logaddexp2(w, x)
        return w + self.tf_bits(pairs, levels)

    def _odds_tables(self) -> list[tuple[np.ndarray, list[np.ndarray]]]:
        """Per kind of duplicate: log2 of its share over the non-duplicates' per stratum, and
        per comparison log2(m / u) by stratum and level, then the bits for missing (cached)."""
        key = ("odds", id(self.m), id(self.u), id(self.m_moved))
        got = self._m_cache.get(key)
        if got is None:
            n = len(self.u)
            got = []
            comps = self.settings.comparisons
            for kind in range(2 if self.m_moved is not None else 1):
                per = [self.kinds(s)[kind] for s in range(n)]
                null = _moved_null_bits(comps) if kind else np.zeros(len(comps))
                bias = np.array(
                    [share - self._log2_unmatched(s) for s, (share, _) in enumerate(per)]
                )
                tables = [
                    np.array(
                        [
                            np.append(np.log2(m[k] / self.u[s][k]), null[k])
                            for s, (_, m) in enumerate(per)
                        ]
                    )
                    for k in range(len(self.m))
                ]
                got.append((bias, tables))
            self._m_cache[key] = got
        return got

    def score_records(
        self, pairs: Sequence[tuple[Features, Features]]
    ) -> tuple[list[tuple[int, ...]], list[int], np.ndarray]:
        """Levels, strata and match weights of pairs of records given as feature values: what
        ``compare`` and ``match_weight`` give for them in a frame, the same numbers, without
        the fixed costs of arrays (a capture scores a handful of pairs)."""
        comps = self.settings.comparisons
        stratum = self.settings.stratum
        levels = [tuple([c.level(a, b) for c in comps]) for a, b in pairs]
        strata = [stratum(a, b) for a, b in pairs]
        w = None
        for bias, tables in self._odds_lists():
            # The sums in ``match_weight``'s order, so every weight is the same float.
            odds = []
            for lv, s in zip(levels, strata, strict=True):
                x = bias[s]
                for table, level in zip(tables, lv, strict=True):
                    x += table[s][level]
                odds.append(x)
            x = np.array(odds, dtype=np.float64)
            w = x if w is None else np.logaddexp2(w, x)
        if w is None:
            w = np.zeros(len(pairs))
        return levels, strata, w + self._tf_records(pairs, levels)

    def _odds_lists(self) -> list[tuple[list[float], list[list[list[float]]]]]:
        key = ("odds lists", id(self.m), id(self.u), id(self.m_moved))
        got = self._m_cache.get(key)
        if got is None:
            got = self._m_cache[key] = [
                (bias.tolist(), [t.tolist() for t in tables])
                for bias, tables in self._odds_tables()
            ]
        return got

    def _tf_records(self, pairs: Sequence[tuple[Features, Features]], levels) -> np.ndarray:
        """``tf_bits`` of pairs of records given as feature values."""
        if self.tf_weight == 0 or not self.tf.tables:
            return np.zeros(len(pairs))
        plan = self._tf_plan()
        memo = {f.name: self.tf.clipped_bits(f, (), self.tf_max_bits) for f in plan[1]}
        out, later = [], []
        for n, ((a, b), lv) in enumerate(zip(pairs, levels, strict=True)):
            total = _tf_pair(a, b, lv, plan[0], memo)
            if total is None:  # a value not looked up before: all of those at once, below
                later.append(n)
                total = 0.0
            out.append(total)
        if later:
            wanted: dict[str, list[str]] = {}
            for n in later:
                (a, b), lv = pairs[n], levels[n]
                for k, by_level in plan[0]:
                    for name in by_level.get(lv[k], ()):
                        wanted.setdefault(name, []).extend((a[name], b[name]))
            for f in plan[1]:
                values = [v for v in wanted.get(f.name, ()) if v is not None]
                memo[f.name] = self.tf.clipped_bits(f, values, self.tf_max_bits)
            for n in later:
                (a, b), lv = pairs[n], levels[n]
                out[n] = _tf_pair(a, b, lv, plan[0], memo)
        return np.array(out, dtype=np.float64) * self.tf_weight

    def _tf_plan(self) -> tuple[list[tuple[int, dict[int, tuple[str, ...]]]], list[Feature]]:
        """(comparison index, {level: its term-frequency features' names}) of the comparisons
        with any, and those features."""
        got = self._m_cache.get("tf plan")
        if got is None:
            adjusted = [
                (k, {lv: tuple(f.name for f in feats) for lv, feats in c.tf.items()})
                for k, c in enumerate(self.settings.comparisons)
                if c.tf
            ]
            feats = {f.name: f for c in self.settings.comparisons for t in c.tf.values() for f in t}
            got = self._m_cache["tf plan"] = (adjusted, list(feats.values()))
        return got

    def record_evidence(
        self, a: Features, b: Features, levels: Sequence[int], s: int
    ) -> list[dict]:
        """``evidence`` (as dicts) of one pair of records given as feature values, with their
        levels and stratum from ``score_records``."""
        odds = [
            bias[s] + sum(t[s][levels[k]] for k, t in enumerate(tables))
            for bias, tables in self._odds_lists()
        ]
        best = max(range(len(odds)), key=odds.__getitem__)
        label, shared, bits_by_level = self._evidence_tables(s, best)
        out = [{"field": "shared keys", "level": label, "weight": shared}]
        tf = bool(self.tf.tables and self.tf_weight)
        for k, comp in enumerate(self.settings.comparisons):
            level = levels[k]
            if level == NULL:
                out.append({"field": comp.name, "level": "missing", "weight": 0.0})
                continue
            bits = bits_by_level[k][level]
            feats = comp.tf.get(level, ())
            if feats and tf:
                side_a = sum(self._value_bits(f, a[f.name]) for f in feats)
                side_b = sum(self._value_bits(f, b[f.name]) for f in feats)
                bits += float(min(side_a, side_b)) * self.tf_weight
            out.append({"field": comp.name, "level": comp.labels[level], "weight": round(bits, 2)})
        out[1:] = sorted(out[1:], key=lambda e: -abs(e["weight"]))
        return out

    def _evidence_tables(self, s: int, kind: int) -> tuple[str, float, list[list[float]]]:
        """A stratum's label and weight as evidence for one kind of duplicate, and the bits of
        each comparison level there (before term frequencies), as ``evidence`` works them out."""
        key = ("evidence", s, kind, id(self.m), id(self.u), id(self.m_moved))
        got = self._m_cache.get(key)
        if got is None:
            share, m = self.kinds(s)[kind]
            label = self.stratum_label(s) + (", changed employer" if kind else "")
            bits = [
                [math.log2(m[k][level] / self.u[s][k][level]) for level in range(len(m[k]))]
                for k in range(len(self.settings.comparisons))
            ]
            got = (label, round(share - self._log2_unmatched(s), 2), bits)
            self._m_cache[key] = got
        return got

    def _value_bits(self, feat: Feature, value: str | None) -> float:
        if value is None:
            return 0.0
        memo = self.tf._clipped.get((feat.name, self.tf_max_bits))
        got = memo.get(value) if memo is not None else None
        if got is None:
            got = self.tf.clipped_bits(feat, (value,), self.tf_max_bits)[value]
        return got

    def tf_bits(self, pairs: Pairs, levels: np.ndarray) -> np.ndarray:
        """Term-frequency adjustments (bits) per pair, summed over comparisons.

        Each side's value is looked up and the smaller adjustment kept: the two agree on exact
        levels, and on swapped or nickname levels the conservative one is right.
        """
        out = np.zeros(len(pairs))
        if self.tf_weight == 0 or not self.tf.tables:
            return out
        for k, comp in enumerate(self.settings.comparisons):
            for level, feats in comp.tf.items():
                rows = np.nonzero(levels[:, k] == level)[0]
                if rows.size == 0:
                    continue
                bits_a = np.zeros(rows.size)
                bits_b = np.zeros(rows.size)
                for feat in feats:
                    bits_a += self._side_bits(feat, pairs.A, pairs.ia[rows])
                    bits_b += self._side_bits(feat, pairs.B, pairs.ib[rows])
                out[rows] += np.minimum(bits_a, bits_b)
        return out * self.tf_weight

    def _side_bits(self, feat: Feature, frame: Frame, rows: np.ndarray) -> np.ndarray:
        col = frame[feat]
        codes = col.codes[rows]
        ok = codes >= 0
        bits = np.zeros(rows.size)
        bits[ok] = self._tf_code_bits(feat, col)[codes[ok]]
        return bits

    def _tf_code_bits(self, feat: Feature, col) -> np.ndarray:
        key = ("tf", feat.name, id(self.tf), self.tf_max_bits)
        bits = col.cache.get(key)
        if bits is None:
            bits = np.clip(self.tf.bits(feat, col.vocab), -self.tf_max_bits, self.tf_max_bits)
            col.cache[key] = bits
        return bits

    def evidence(
        self, pairs: Pairs, levels: np.ndarray, strata: np.ndarray, row: int
    ) -> list[Evidence]:
        """Per-comparison evidence for one scored pair, strongest first.

        The first item, ``shared keys``, is the stratum's prior: how often pairs sharing these
        blocking keys are duplicates at all.
        """
        sub = Pairs(pairs.A, pairs.ia[row : row + 1], pairs.B, pairs.ib[row : row + 1])
        s = int(strata[row])
        # The kind of duplicate (stayed or changed employer) the pair looks most like.
        lv = levels[row : row + 1]
        kinds = self.kinds(s)
        odds = [
            bias[s] + sum(t[s, lv[0, k]] for k, t in enumerate(tables))
            for bias, tables in self._odds_tables()
        ]
        best = int(np.argmax(odds))
        share, m = kinds[best]
        label = self.stratum_label(s) + (", changed employer" if best else "")
        out = [Evidence("shared keys", label, round(share - self._log2_unmatched(s), 2))]
        for k, comp in enumerate(self.settings.comparisons):
            level = int(levels[row, k])
            if level == NULL:
                out.append(Evidence(comp.name, "missing", 0.0))
                continue
            bits = math.log2(m[k][level] / self.u[s][k][level])
            feats = comp.tf.get(level, ())
            if feats and self.tf.tables and self.tf_weight:
                side_a = sum(self._side_bits(f, sub.A, sub.ia)[0] for f in feats)
                side_b = sum(self._side_bits(f, sub.B, sub.ib)[0] for f in feats)
                bits += float(min(side_a, side_b)) * self.tf_weight
            out.append(Evidence(comp.name, comp.labels[level], round(bits, 2)))
        out[1:] = sorted(out[1:], key=lambda e: -abs(e.weight))
        return out

    def stratum_label(self, s: int) -> str:
        fams = self.settings.rule_families()
        shared = ["+".join(f) for i, f in enumerate(fams) if s >> i & 1]
        return ", ".join(shared) or "none"

    # --- persistence --------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {
            "settings": self.settings.name,
            "prior": self.prior.tolist(),
            "threshold": self.threshold,
            "review_threshold": self.review_threshold,
            "auto_merge_threshold": self.auto_merge_threshold,
            "tf_weight": self.tf_weight,
            "tf_max_bits": self.tf_max_bits,
            "comparisons": [
                {
                    "name": c.name,
                    "levels": list(c.labels),
                    "m": self.m[k].tolist(),
                    "u": [self.u[s][k].tolist() for s in range(len(self.u))],
                    "support": [self.support[s][k].tolist() for s in range(len(self.u))]
                    if self.support is not None
                    else None,
                    "m_moved": self.m_moved[k].tolist() if self.m_moved is not None else None,
                }
                for k, c in enumerate(self.settings.comparisons)
            ],
            "tf": self.tf.to_dict(),
            "support": self.support is not None,
            "prior_moved": self.prior_moved.tolist() if self.prior_moved is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping, settings: Settings) -> MatchModel:
        if data.get("settings") != settings.name:
            raise ValueError(f"model is for {data.get('settings')!r}, not {settings.name!r}")
        comps = {c["name"]: c for c in data["comparisons"]}
        m = [np.asarray(comps[c.name]["m"], dtype=np.float64) for c in settings.comparisons]
        n_strata = len(data["prior"])
        u = [
            [np.asarray(comps[c.name]["u"][s], dtype=np.float64) for c in settings.comparisons]
            for s in range(n_strata)
        ]
        support = None
        if data.get("support"):
            support = [
                [
                    np.asarray(comps[c.name]["support"][s], dtype=np.float64)
                    for c in settings.comparisons
                ]
                for s in range(n_strata)
            ]
        m_moved = prior_moved = None
        if data.get("prior_moved") is not None:
            prior_moved = np.asarray(data["prior_moved"], dtype=np.float64)
            m_moved = [
                np.asarray(comps[c.name]["m_moved"], dtype=np.float64) for c in settings.comparisons
            ]
        return cls(
            settings,
            m,
            u,
            np.asarray(data["prior"], dtype=np.float64),
            support=support,
            m_moved=m_moved,
            prior_moved=prior_moved,
            tf=TermFrequencies.from_dict(data.get("tf", {})),
            threshold=float(data.get("threshold", DEFAULT_THRESHOLD)),
            review_threshold=float(data.get("review_threshold", DEFAULT_REVIEW)),
            auto_merge_threshold=float(data.get("auto_merge_threshold", DEFAULT_AUTO_MERGE)),
            tf_weight=float(data.get("tf_weight", 1.0)),
            tf_max_bits=float(data.get("tf_max_bits", 10.0)),
        )


def probability(weight: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(-np.asarray(weight, dtype=np.float64)))


def _clip(share: float) -> float:
    return min(max(share, 1e-12), 1 - 1e-12)


def _log2_lik(levels: np.ndarray, probs: list[np.ndarray]) -> np.ndarray:
    """Σ_k log2 probs_k[γ_k] per row; a missing level counts 0 bits, or ``probs[-1][k]`` bits
    when ``probs`` has one array more than there are comparisons."""
    k = levels.shape[1]
    null = probs[k] if len(probs) > k else np.zeros(k)
    return _sum_levels(
        levels, [np.append(np.log2(pk), b) for pk, b in zip(probs[:k], null, strict=True)]
    )


# A duplicate who changed employer is told by company and phone; with both unknown nothing shows
# a move, and such a pair is judged as one who stayed (bits for the moved kind when missing).
_NOT_SHOWN = -60.0


def _moved_null_bits(comps: Sequence[Comparison]) -> np.ndarray:
    """Per comparison, the moved kind's bits when it is missing: 0 unless the comparison's
    ``moved`` levels leave missing out (a move must be seen there)."""
    return np.array([0.0 if c.moved is None or NULL in c.moved else _NOT_SHOWN for c in comps])


def _sum_levels(levels: np.ndarray, tables: list[np.ndarray]) -> np.ndarray:
    """Σ_k tables_k[γ_k] per row; each table has its value for missing (-1) last."""
    out = np.zeros(len(levels))
    for k, table in enumerate(tables):
        out += table[levels[:, k]]
    return out


def _moved_m(
    comps: Sequence[Comparison], m: list[np.ndarray], other: list[np.ndarray]
) -> list[np.ndarray] | None:
    """m of a duplicate who changed employer: ``m`` confined to each comparison's moved levels,
    and ``other`` on the comparisons a move does not change."""
    if all(c.moved is None for c in comps):
        return None
    out = []
    for comp, mk, ok in zip(comps, m, other, strict=True):
        if comp.moved is None:
            out.append(ok)
            continue
        keep = np.zeros(len(mk))
        keep[[lv for lv in comp.moved if lv != NULL]] = 1.0
        x = mk * keep + 1e-9
        out.append(x / x.sum())
    return out


# --- EM helpers -----------------------------------------------------------------------------


def _patterns(levels: np.ndarray, sizes: list[int], groups=None, n_groups: int = 0):
    """Distinct comparison vectors with their counts; with ``groups`` (an int per row below
    ``n_groups``), a list of them per group, counted in one pass."""
    key = np.zeros(len(levels), dtype=np.int64)
    stride = 1
    for k, s in enumerate(sizes):  # column by column: no (pairs x comparisons) int64 copy
        key += (levels[:, k].astype(np.int64) + 1) * stride
        stride *= s + 1
    if groups is not None:
        key += groups.astype(np.int64) * stride
    size = stride * max(n_groups, 1)
    if size <= 10_000_000:
        counts = np.bincount(key, minlength=size)
        uniq = np.nonzero(counts)[0]
        counts = counts[uniq]
    else:
        uniq, counts = np.unique(key, return_counts=True)
    group, rest = np.divmod(uniq, stride)
    pats = np.empty((len(uniq), len(sizes)), dtype=np.int64)
    for k, s in enumerate(sizes):
        pats[:, k] = rest % (s + 1) - 1
        rest = rest // (s + 1)
    counts = counts.astype(np.float64)
    if groups is None:
        return pats, counts
    bounds = np.searchsorted(group, np.arange(n_groups + 1))
    return [(pats[i:j], counts[i:j]) for i, j in zip(bounds[:-1], bounds[1:], strict=True)]


def _em(pats, counts, m, u, lam, update_m: bool, max_iter: int, tol: float):
    """Two-class EM over pattern counts; returns (m, u, prior, iterations)."""
    sizes = [len(x) for x in m]
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        post = _posterior(pats, m, u, lam)
        wm, wu = counts * post, counts * (1 - post)
        new_m = (
            [_level_share(pats[:, k], wm, sizes[k]) for k in range(len(sizes))] if update_m else m
        )
        new_u = [_level_share(pats[:, k], wu, sizes[k]) for k in range(len(sizes))]
        new_lam = float(np.clip(wm.sum() / counts.sum(), 1e-9, 1 - 1e-9))
        delta = max(
            max(np.abs(a - b).max() for a, b in zip(new_u, u, strict=False)), abs(new_lam - lam)
        )
        if update_m:
            delta = max(delta, max(np.abs(a - b).max() for a, b in zip(new_m, m, strict=False)))
        m, u, lam = new_m, new_u, new_lam
        if delta < tol:
            break
    return m, u, lam, it


def _estimate_m(settings, levels, rule_mask, template, max_iter, tol) -> list[np.ndarray]:
    comps = settings.comparisons
    sizes = [len(c.labels) for c in comps]
    start = [np.asarray(c.m_start, dtype=np.float64) / sum(c.m_start) for c in comps]
    m_sum = [np.zeros(s) for s in sizes]
    m_weight = np.zeros(len(comps))
    rule_index = {r.name: i for i, r in enumerate(settings.blocking)}
    for rule in settings.training_rules() if rule_mask is not None else ():
        rows = (rule_mask & np.int32(1 << rule_index[rule.name])) != 0
        blocked = {f.field for f in rule.on}
        keep = [k for k, c in enumerate(comps) if not blocked & set(c.fields)]
        if rows.sum() < 50 or not keep:
            continue
        pats, counts = _patterns(levels[rows][:, keep], [sizes[k] for k in keep])
        # Start u at the level shares of all candidates (nearly all non-duplicates).
        m_s, _, lam, _ = _em(
            pats,
            counts,
            [start[k] for k in keep],
            [template[k] for k in keep],
            0.5,
            True,
            max_iter,
            tol,
        )
        matches = lam * counts.sum()
        for j, k in enumerate(keep):
            m_sum[k] += m_s[j] * matches
            m_weight[k] += matches
    return [m_sum[k] / m_weight[k] if m_weight[k] > 0 else start[k] for k in range(len(comps))]


def _seen_moving(settings, m, levels, rule_mask, min_pairs: int = 50) -> list[np.ndarray]:
    """m of movers on the comparisons a move does not change: their level shares among the
    ``moves_seen_by`` rule's pairs whose other move-affected comparisons are all at moved levels
    (for leads: two records with one e-mail address and different company and phone — a
    personal address kept through a change of job, which says how often the city changes too).
    Comparisons the rule blocks on, or with too few such pairs, keep ``m``."""
    out = list(m)
    rules = [r for r in settings.blocking if r.name == settings.moves_seen_by]
    if not rules or rule_mask is None:
        return out
    comps = settings.comparisons
    bit = np.int32(1 << settings.blocking.index(rules[0]))
    blocked = {f.field for f in rules[0].on}
    free = [k for k, c in enumerate(comps) if not blocked & set(c.fields)]
    rows = (rule_mask & bit) != 0
    for k in free:
        if comps[k].moved is not None:
            rows &= np.isin(levels[:, k], comps[k].moved)
    if rows.sum() < min_pairs:
        return out
    for k in free:
        if comps[k].moved is None:
            # m as a prior worth a few pairs keeps levels no mover showed possible.
            out[k] = _dirichlet(m[k], levels[rows, k], 20.0)
    return out


def _truncate(m: list[np.ndarray], support: list[np.ndarray]) -> list[np.ndarray]:
    out = []
    for mk, sk in zip(m, support, strict=False):
        x = mk * sk + 1e-9
        out.append(x / x.sum())
    return out


def _em_stratum(pats, counts, kinds, template, alpha, max_iter, tol):
    """u and each kind of duplicate's share in one stratum by MAP-EM with the kinds' m fixed;
    u's prior is the template. Returns (u, shares, iterations)."""
    if len(kinds) == 1:
        m = kinds[0][: len(template)]
        u, lam, it = _em_stratum_from(pats, counts, m, template, alpha, max_iter, tol, 0.1)
        return u, [lam], it
    sizes = [len(x) for x in template]
    u = [t.copy() for t in template]
    lik = np.stack([np.log(2.0) * _log2_lik(pats, m) for m in kinds])
    shares = np.full(len(kinds), 0.05)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        joint = np.vstack(
            [np.log(shares)[:, None] + lik, np.log1p(-shares.sum()) + _ln_lik(pats, u)]
        )
        joint -= joint.max(axis=0)
        post = np.exp(joint)
        post /= post.sum(axis=0)
        w = counts * post
        new_u = []
        for k in range(len(sizes)):
            ok = pats[:, k] >= 0
            c = (
                np.bincount(pats[ok, k], weights=w[-1][ok], minlength=sizes[k])
                + alpha * template[k]
            )
            new_u.append(c / c.sum())
        new_shares = np.maximum(w[:-1].sum(axis=1) / counts.sum(), 1e-9)
        new_shares /= max(new_shares.sum() + 1e-9, 1.0)
        delta = max(
            max(np.abs(a - b).max() for a, b in zip(new_u, u, strict=False)),
            float(np.abs(new_shares - shares).max()),
        )
        u, shares = new_u, new_shares
        if delta < tol:
            break
    return u, shares.tolist(), it


def _ln_lik(pats: np.ndarray, probs: list[np.ndarray]) -> np.ndarray:
    return np.log(2.0) * _log2_lik(pats, probs)


def _em_stratum_from(pats, counts, m, template, alpha, max_iter, tol, lam):
    sizes = [len(x) for x in m]
    u = [t.copy() for t in template]
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        post = _posterior(pats, m, u, lam)
        wm, wu = counts * post, counts * (1 - post)
        new_u = []
        for k in range(len(sizes)):
            ok = pats[:, k] >= 0
            c = np.bincount(pats[ok, k], weights=wu[ok], minlength=sizes[k]) + alpha * template[k]
            new_u.append(c / c.sum())
        new_lam = float(np.clip(wm.sum() / counts.sum(), 1e-9, 1 - 1e-9))
        delta = max(
            max(np.abs(a - b).max() for a, b in zip(new_u, u, strict=False)), abs(new_lam - lam)
        )
        u, lam = new_u, new_lam
        if delta < tol:
            break
    return u, lam, it


def _log_posterior(pats, counts, m, u, lam, template, alpha) -> float:
    """Log-likelihood of the patterns plus the log Dirichlet prior density of u."""
    lm = np.zeros(len(pats))
    lu = np.zeros(len(pats))
    for k in range(pats.shape[1]):
        lv = pats[:, k]
        ok = lv >= 0
        lm[ok] += np.log(m[k][lv[ok]])
        lu[ok] += np.log(u[k][lv[ok]])
    ll = np.logaddexp(math.log(lam) + lm, math.log1p(-lam) + lu)
    prior = sum(float((alpha * t * np.log(x)).sum()) for t, x in zip(template, u, strict=True))
    return float((counts * ll).sum()) + prior


def _level_share(lv: np.ndarray, weights: np.ndarray, size: int, alpha: float = 1e-3):
    ok = lv >= 0
    tot = np.bincount(lv[ok], weights=weights[ok], minlength=size) + alpha
    return tot / tot.sum()


def _posterior(pats: np.ndarray, m: list[np.ndarray], u: list[np.ndarray], lam: float):
    logit = np.full(len(pats), math.log(lam / (1 - lam)))
    for k in range(pats.shape[1]):
        lv = pats[:, k]
        ok = lv >= 0
        logit[ok] += np.log(m[k][lv[ok]]) - np.log(u[k][lv[ok]])
    return 1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700)))


def _dirichlet(prior: np.ndarray, observed: np.ndarray, strength: float) -> np.ndarray:
    obs = observed[observed >= 0]
    counts = np.bincount(obs, minlength=len(prior)).astype(np.float64)
    post = prior * strength + counts + 1e-6
    return post / post.sum()
