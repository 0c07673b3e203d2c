"""Field conditions shared by routing and scoring rules: {"field": ..., "op": ..., "value": ...}.

Conditions are data a manager edits, so an unknown operator is an error raised when the rule is
saved (`validate`), never a crash at capture time.
"""

from collections.abc import Mapping
from typing import Any


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip().lower()


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _in(actual, expected) -> bool:
    options = expected if isinstance(expected, list | tuple) else [expected]
    return _text(actual) in {_text(option) for option in options}


def _contains(actual, expected) -> bool:
    options = expected if isinstance(expected, list | tuple) else [expected]
    text = _text(actual)
    return any(_text(option) in text for option in options if _text(option))


def _compare(actual, expected, test) -> bool:
    a, b = _number(actual), _number(expected)
    return a is not None and b is not None and test(a, b)


def _between(actual, expected) -> bool:
    a = _number(actual)
    low, high = (expected or [None, None])[:2]
    if a is None:
        return False
    return (low is None or a >= float(low)) and (high is None or a <= float(high))


OPERATORS = {
    "eq": lambda a, b: _text(a) == _text(b),
    "ne": lambda a, b: _text(a) != _text(b),
    "in": _in,
    "not_in": lambda a, b: not _in(a, b),
    "contains": _contains,
    "gte": lambda a, b: _compare(a, b, float.__ge__),
    "lte": lambda a, b: _compare(a, b, float.__le__),
    "gt": lambda a, b: _compare(a, b, float.__gt__),
    "lt": lambda a, b: _compare(a, b, float.__lt__),
    "between": _between,
    "present": lambda a, b: _text(a) != "",
    "absent": lambda a, b: _text(a) == "",
    "is_true": lambda a, b: a is True or _text(a) in ("1", "true", "yes"),
}


def field_value(record: Mapping[str, Any], name: str) -> Any:
    if name.startswith("custom."):
        return (record.get("custom") or {}).get(name[7:])
    return record.get(name)


def matches(condition: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    test = OPERATORS[condition["op"]]
    return test(field_value(record, condition["field"]), condition.get("value"))


def all_match(conditions, record: Mapping[str, Any]) -> bool:
    return all(matches(condition, record) for condition in conditions)


def validate(conditions) -> list[str]:
    """Problems with a list of conditions, for forms and the API."""
    problems = []
    if not isinstance(conditions, list):
        return ["conditions must be a list"]
    for i, condition in enumerate(conditions):
        if not isinstance(condition, dict) or "field" not in condition or "op" not in condition:
            problems.append(f"condition {i + 1} needs a field and an op")
        elif condition["op"] not in OPERATORS:
            problems.append(f"condition {i + 1}: unknown op {condition['op']!r}")
    return problems
