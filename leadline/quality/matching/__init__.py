"""Duplicate matching for leads: Fellegi–Sunter weights stratified by shared blocking keys.

Batch: ``find_duplicates(records)`` -> clusters with each record's match probability, and the
``leadline dedupe`` command (``dedupe.main``). Capture time: ``MatchIndex`` (in memory,
incremental) or ``blocking_keys`` + ``score_candidates`` (keys stored in the database).
Models are estimated without labels (``estimate_model``), refined with reviewer decisions
(``MatchModel.refine_from_records``) and saved as JSON (``to_dict`` / ``from_dict``).

Names are imported on first use, so ``python -m leadline.quality.matching.dedupe`` runs the
module once.
"""

from importlib import import_module

_WHERE = {
    "Duplicates": "dedupe",
    "estimate_model": "dedupe",
    "find_duplicates": "dedupe",
    "Candidate": "index",
    "MatchIndex": "index",
    "blocking_keys": "index",
    "score_candidates": "index",
    "lead_settings": "leads",
    "DEFAULT_AUTO_MERGE": "model",
    "DEFAULT_REVIEW": "model",
    "DEFAULT_THRESHOLD": "model",
    "Evidence": "model",
    "MatchModel": "model",
    "Settings": "model",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
