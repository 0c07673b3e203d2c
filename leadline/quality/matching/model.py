"""The Fellegi–Sunter match model: m/u probabilities per comparison level, EM, scoring.

For a candidate pair with comparison levels ``γ = (γ_1..γ_K)`` the match weight is

    w = log2(λ / (1 - λ)) + Σ_k log2(m_k[γ_k] / u_k[γ_k]) + Σ tf adjustments

and the match probability is ``1 / (1 + 2^-w)``. ``m`` (how often a true duplicate lands on a
level), ``u`` (how often a non-duplicate does) and the prior ``λ`` are estimated together by
expectation maximisation over the blocked candidate pairs, so they describe candidates — the
only pairs ever scored — and need no labels. Term-frequency adjustments make agreement on a
common value ("smith", a switchboard number) weaker and on a rare value stronger:
``log2(Σ_v p_v² / p_value)`` bits per feature, the ratio between the chance that two random
records agree on that value and the chance that they agree on some value. Reviewer decisions
refine ``m`` and ``u`` (``refine``), treating the current estimate as a prior worth
``strength`` pairs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .blocking import BlockingRule
from .compare import NULL, Comparison, Feature, Frame, Pairs

DEFAULT_THRESHOLD = 0.9
DEFAULT_REVIEW = 0.5
DEFAULT_AUTO_MERGE = 0.99


@dataclass(frozen=True)
class Settings:
    """What is compared (comparisons) and which pairs are compared (blocking rules)."""

    name: str
    comparisons: tuple[Comparison, ...]
    blocking: tuple[BlockingRule, ...]

    def features(self) -> tuple[Feature, ...]:
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


class TermFrequencies:
    """How often each value of the term-frequency features occurs."""

    def __init__(self, tables: dict[str, tuple[int, float, dict[str, int]]]) -> None:
        # feature name -> (records with a value, Σ p², counts of values seen more than once)
        self.tables = tables

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
            tables[feat.name] = (n, sumsq, dict(zip(col.vocab[top].tolist(), counts[top].tolist())))
        return cls(tables)

    def bits(self, feat: Feature, values: np.ndarray) -> np.ndarray:
        """The adjustment in bits for agreement on each of ``values``."""
        n, sumsq, counts = self.tables.get(feat.name, (0, 0.0, {}))
        if n == 0 or sumsq <= 0:
            return np.zeros(len(values))
        c = np.fromiter((counts.get(v, 1) for v in values), dtype=np.float64, count=len(values))
        return np.log2(sumsq * n / c)

    def add(self, feat: Feature, value: str | None) -> None:
        """Count one more record (the capture-time index keeps frequencies current)."""
        if not value or feat.name not in self.tables:
            return
        n, sumsq, counts = self.tables[feat.name]
        c = counts.get(value, 1 if n else 0)
        # Σ p² moves by ((c+1)² - c²) / n² and rescales for the new n.
        sq = sumsq * n * n + 2 * c + 1
        counts[value] = c + 1
        self.tables[feat.name] = (n + 1, sq / ((n + 1) ** 2), counts)

    def to_dict(self) -> dict:
        return {k: {"n": n, "sumsq": s, "counts": c} for k, (n, s, c) in self.tables.items()}

    @classmethod
    def from_dict(cls, data: Mapping) -> TermFrequencies:
        return cls({k: (v["n"], v["sumsq"], dict(v["counts"])) for k, v in data.items()})


@dataclass
class Evidence:
    """One comparison's contribution to a pair's match weight."""

    field: str
    level: str
    weight: float


@dataclass
class MatchModel:
    settings: Settings
    m: list[np.ndarray]
    u: list[np.ndarray]
    prior: float
    tf: TermFrequencies = field(default_factory=lambda: TermFrequencies({}))
    threshold: float = DEFAULT_THRESHOLD
    review_threshold: float = DEFAULT_REVIEW
    auto_merge_threshold: float = DEFAULT_AUTO_MERGE
    tf_weight: float = 1.0
    tf_max_bits: float = 10.0
    iterations: int = 0

    # --- estimation ---------------------------------------------------------------------

    @classmethod
    def estimate(
        cls,
        settings: Settings,
        levels: np.ndarray,
        tf: TermFrequencies | None = None,
        labels: np.ndarray | None = None,
        max_iter: int = 200,
        tol: float = 1e-6,
        **thresholds: float,
    ) -> MatchModel:
        """Unsupervised EM over candidate pairs' comparison vectors.

        ``labels`` (optional, one per row: 1 match, 0 non-match, -1 unknown) pins the posterior
        of reviewed pairs, which makes this semi-supervised EM.
        """
        sizes = [len(c.labels) for c in settings.comparisons]
        pats, counts, pinned = _patterns(levels, sizes, labels)
        m = [np.asarray(c.m_start, dtype=np.float64) for c in settings.comparisons]
        m = [x / x.sum() for x in m]
        u = [_level_share(pats[:, k], counts, sizes[k]) for k in range(len(sizes))]
        lam = 0.01
        it = 0
        for it in range(1, max_iter + 1):  # noqa: B007
            post = _posterior(pats, m, u, lam)
            if pinned is not None:
                post = np.where(np.isnan(pinned), post, pinned)
            wm, wu = counts * post, counts * (1 - post)
            new_m = [_level_share(pats[:, k], wm, sizes[k]) for k in range(len(sizes))]
            new_u = [_level_share(pats[:, k], wu, sizes[k]) for k in range(len(sizes))]
            new_lam = float(np.clip(wm.sum() / counts.sum(), 1e-9, 1 - 1e-9))
            delta = max(max(np.abs(a - b).max() for a, b in zip(new_m, m)), abs(new_lam - lam))
            m, u, lam = new_m, new_u, new_lam
            if delta < tol:
                break
        model = cls(settings, m, u, lam, tf or TermFrequencies({}), iterations=it, **thresholds)
        return model

    def refine(self, levels: np.ndarray, is_match: Sequence[bool], strength: float = 200.0):
        """A new model with m/u updated by reviewer decisions on pairs (Dirichlet update).

        The current estimate counts as ``strength`` pseudo-pairs per comparison, so a few
        decisions nudge the parameters and many decisions dominate them.
        """
        y = np.asarray(is_match, dtype=bool)
        m, u = [], []
        for k, (mk, uk) in enumerate(zip(self.m, self.u)):
            lv = levels[:, k]
            m.append(_dirichlet(mk, lv[y], strength))
            u.append(_dirichlet(uk, lv[~y], strength))
        return MatchModel(
            self.settings, m, u, self.prior, self.tf, self.threshold, self.review_threshold,
            self.auto_merge_threshold, self.tf_weight, self.tf_max_bits, self.iterations,
        )

    # --- scoring ------------------------------------------------------------------------

    def level_weights(self) -> list[np.ndarray]:
        """log2(m/u) per comparison level, with a trailing 0 for the null level (-1)."""
        return [np.append(np.log2(m / u), 0.0) for m, u in zip(self.m, self.u)]

    def tf_bits(self, pairs: Pairs, levels: np.ndarray) -> np.ndarray:
        """Term-frequency adjustments (bits) per pair, summed over comparisons."""
        out = np.zeros(len(pairs))
        if self.tf_weight == 0 or not self.tf.tables:
            return out
        for k, comp in enumerate(self.settings.comparisons):
            for level, feats in comp.tf.items():
                rows = np.nonzero(levels[:, k] == level)[0]
                if rows.size == 0:
                    continue
                for feat in feats:
                    col = pairs.A[feat]
                    codes = col.codes[pairs.ia[rows]]
                    ok = codes >= 0
                    bits = np.zeros(rows.size)
                    bits[ok] = self._tf_code_bits(feat, col)[codes[ok]]
                    out[rows] += bits
        return out * self.tf_weight

    def _tf_code_bits(self, feat: Feature, col) -> np.ndarray:
        key = ("tf", feat.name, id(self.tf), self.tf_max_bits)
        bits = col.cache.get(key)
        if bits is None:
            bits = np.clip(self.tf.bits(feat, col.vocab), -self.tf_max_bits, self.tf_max_bits)
            col.cache[key] = bits
        return bits

    def match_weight(self, pairs: Pairs, levels: np.ndarray | None = None) -> np.ndarray:
        if levels is None:
            levels = self.settings.levels(pairs)
        w = np.full(len(pairs), math.log2(self.prior / (1 - self.prior)))
        for k, lw in enumerate(self.level_weights()):
            w += lw[levels[:, k]]
        return w + self.tf_bits(pairs, levels)

    def evidence(self, pairs: Pairs, levels: np.ndarray, row: int) -> list[Evidence]:
        """Per-comparison evidence for one scored pair, strongest first."""
        sub = Pairs(pairs.A, pairs.ia[row : row + 1], pairs.B, pairs.ib[row : row + 1])
        lv = levels[row : row + 1]
        out = []
        for k, (comp, lw) in enumerate(zip(self.settings.comparisons, self.level_weights())):
            level = int(lv[0, k])
            if level == NULL:
                out.append(Evidence(comp.name, "missing", 0.0))
                continue
            bits = float(lw[level])
            for feat in comp.tf.get(level, ()):
                col = sub.A[feat]
                code = int(col.codes[sub.ia[0]])
                if code >= 0 and self.tf.tables and self.tf_weight:
                    b = self.tf.bits(feat, col.vocab[code : code + 1])[0]
                    bits += float(np.clip(b, -self.tf_max_bits, self.tf_max_bits)) * self.tf_weight
            out.append(Evidence(comp.name, comp.labels[level], round(bits, 2)))
        out.sort(key=lambda e: -abs(e.weight))
        return out

    # --- persistence --------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {
            "settings": self.settings.name,
            "prior": self.prior,
            "threshold": self.threshold,
            "review_threshold": self.review_threshold,
            "auto_merge_threshold": self.auto_merge_threshold,
            "tf_weight": self.tf_weight,
            "tf_max_bits": self.tf_max_bits,
            "comparisons": [
                {"name": c.name, "levels": list(c.labels), "m": m.tolist(), "u": u.tolist()}
                for c, m, u in zip(self.settings.comparisons, self.m, self.u)
            ],
            "tf": self.tf.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping, settings: Settings) -> MatchModel:
        comps = {c["name"]: c for c in data["comparisons"]}
        m = [np.asarray(comps[c.name]["m"], dtype=np.float64) for c in settings.comparisons]
        u = [np.asarray(comps[c.name]["u"], dtype=np.float64) for c in settings.comparisons]
        return cls(
            settings, m, u, float(data["prior"]), TermFrequencies.from_dict(data.get("tf", {})),
            float(data.get("threshold", DEFAULT_THRESHOLD)),
            float(data.get("review_threshold", DEFAULT_REVIEW)),
            float(data.get("auto_merge_threshold", DEFAULT_AUTO_MERGE)),
            float(data.get("tf_weight", 1.0)), float(data.get("tf_max_bits", 10.0)),
        )


def probability(weight: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(-np.asarray(weight, dtype=np.float64)))


# --- EM helpers -----------------------------------------------------------------------------


def _patterns(levels: np.ndarray, sizes: list[int], labels: np.ndarray | None):
    """Distinct comparison vectors with their counts (and pinned posteriors if labelled)."""
    strides = np.cumprod([1] + [s + 1 for s in sizes[:-1]]).astype(np.int64)
    key = ((levels.astype(np.int64) + 1) * strides).sum(axis=1)
    if labels is not None:
        labels = np.asarray(labels)
        key = key * 3 + (labels.astype(np.int64) + 1)
    uniq, counts = np.unique(key, return_counts=True)
    pinned = None
    if labels is not None:
        lab = uniq % 3 - 1
        uniq = uniq // 3
        pinned = np.where(lab < 0, np.nan, lab.astype(np.float64))
    pats = np.empty((len(uniq), len(sizes)), dtype=np.int64)
    rest = uniq
    for k, s in enumerate(sizes):
        pats[:, k] = rest % (s + 1) - 1
        rest = rest // (s + 1)
    return pats, counts.astype(np.float64), pinned


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
