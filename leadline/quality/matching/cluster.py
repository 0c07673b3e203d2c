"""From scored pairs to clusters of records that are the same lead.

Pairs at or above the match threshold are linked. A component of two records is a cluster.
A bigger component is re-checked: every pair inside it is scored (including pairs blocking
never proposed) and it is rebuilt by average-linkage agglomeration, strongest links first,
joining two groups through a link at or above the threshold only while their mean pairwise
probability stays at or above ``link_threshold``. A single wrong link therefore cannot chain
two people's records together when the other pairs say they differ.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

ScoreFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component label (smallest member index) per node, vectorised."""
    label = np.arange(n, dtype=np.int64)
    if a.size == 0:
        return label
    while True:
        low = np.minimum(label[a], label[b])
        before = label.copy()
        np.minimum.at(label, a, low)
        np.minimum.at(label, b, low)
        while True:  # pointer jumping: follow labels to their roots
            nxt = label[label]
            if np.array_equal(nxt, label):
                break
            label = nxt
        if np.array_equal(label, before):
            return label


def cluster(
    n: int,
    a: np.ndarray,
    b: np.ndarray,
    prob: np.ndarray,
    threshold: float,
    link_threshold: float = 0.5,
    score: ScoreFn | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster id (smallest member row) and match probability to the cluster, per record.

    The probability of a record in a cluster is its strongest link to another member; records
    alone in their cluster get NaN. ``score(i, j)`` scores extra pairs inside big components.
    """
    keep = prob >= threshold
    a, b, p = a[keep], b[keep], prob[keep]
    label = components(n, a, b)
    size = np.bincount(label, minlength=n)
    big = np.nonzero(size[label] > 2)[0]
    if big.size and score is not None:
        label, ia, ib, pp = _recluster(label, big, a, b, p, threshold, link_threshold, score)
        a, b, p = np.concatenate([a, ia]), np.concatenate([b, ib]), np.concatenate([p, pp])
    return label, _record_probability(n, label, a, b, p)


def _recluster(label, big, a, b, p, threshold, link_threshold, score):
    label = label.copy()
    order = np.argsort(label[big], kind="stable")
    members = big[order]
    bounds = np.flatnonzero(np.diff(label[members])) + 1
    groups = np.split(members, bounds)
    # Score every pair inside every big component in one vectorised call.
    ii, jj = [], []
    for g in groups:
        iu, ju = np.triu_indices(len(g), 1)
        ii.append(g[iu])
        jj.append(g[ju])
    ia, ib = np.concatenate(ii), np.concatenate(jj)
    pp = score(ia, ib)
    known = dict(zip((a * (1 << 32) + b).tolist(), p.tolist(), strict=False))
    probs = dict(zip((ia * (1 << 32) + ib).tolist(), pp.tolist(), strict=False))
    probs.update(known)
    for g in groups:
        for root, part in _average_linkage(g, probs, threshold, link_threshold).items():
            label[part] = root
    return label, ia, ib, pp


def _average_linkage(nodes: np.ndarray, probs: dict, threshold: float, link_threshold: float):
    nodes = sorted(nodes.tolist())

    def pr(i: int, j: int) -> float:
        return probs.get((min(i, j) << 32) + max(i, j), 0.0)

    groups = {i: [i] for i in nodes}
    owner = {i: i for i in nodes}
    edges = sorted(
        ((pr(i, j), i, j) for x, i in enumerate(nodes) for j in nodes[x + 1 :]), reverse=True
    )
    for pij, i, j in edges:
        if pij < threshold:
            break
        gi, gj = owner[i], owner[j]
        if gi == gj:
            continue
        cross = [pr(x, y) for x in groups[gi] for y in groups[gj]]
        if sum(cross) / len(cross) < link_threshold:
            continue
        keep, drop = min(gi, gj), max(gi, gj)
        for x in groups[drop]:
            owner[x] = keep
        groups[keep] += groups.pop(drop)
    return {root: np.asarray(part) for root, part in groups.items()}


def _record_probability(n, label, a, b, p):
    best = np.full(n, -np.inf)
    same = label[a] == label[b]
    np.maximum.at(best, a[same], p[same])
    np.maximum.at(best, b[same], p[same])
    best[np.isinf(best)] = np.nan
    return best
