"""Rule-based fit and engagement scoring: every point is a stored, shown part."""

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime

from leadline.core.conditions import OPERATORS, _number, _text, all_match, field_value, matches

ENGAGEMENT_HALF_LIFE_DAYS = 30.0
MAX_SCORE = 100

# The rules a new workspace starts with (seeded by a migration, editable afterwards).
DEFAULT_RULES = [
    # kind, label, field, op, value, points
    ("fit", "Business email domain", "free_mail", "eq", "false", 10),
    ("fit", "Free-mail address", "free_mail", "eq", "true", -5),
    ("fit", "C-level or founder", "seniority", "eq", "c_level", 25),
    ("fit", "Vice president", "seniority", "eq", "vp", 20),
    ("fit", "Director or head of", "seniority", "eq", "director", 15),
    ("fit", "Manager", "seniority", "eq", "manager", 8),
    ("fit", "Company of 50–5,000 people", "employees", "between", [50, 5000], 15),
    ("fit", "Company over 5,000 people", "employees", "gt", 5000, 10),
    (
        "fit",
        "Target industry",
        "industry",
        "in",
        [
            "software",
            "saas",
            "financial services",
            "insurance",
            "retail",
            "e-commerce",
            "manufacturing",
            "healthcare",
            "logistics",
        ],
        10,
    ),
    ("fit", "Student or academic title", "title", "contains", ["student", "intern"], -20),
    ("engagement", "Requested a demo", "source", "eq", "demo_request", 35),
    ("engagement", "Inbound call", "source", "eq", "inbound_call", 30),
    ("engagement", "Referral", "source", "in", ["referral", "partner"], 25),
    ("engagement", "Registered for a webinar", "source", "eq", "webinar", 15),
    ("engagement", "Filled a web form", "source", "eq", "web_form", 15),
    ("engagement", "Downloaded content", "source", "eq", "content", 10),
    ("engagement", "Met at an event", "source", "eq", "event", 10),
    ("engagement", "Came back more than once", "touch_count", "gte", 2, 10),
]


@dataclass(frozen=True)
class Rule:
    id: int | None
    kind: str
    label: str
    field: str
    op: str
    value: object
    points: int
    group: str = ""  # the rule group's name, when it has one
    cap: int | None = None  # the most points the group's rules give together
    test: Callable[[dict], bool] = dataclass_field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "test", compile_condition(self.field, self.op, self.value))


def compile_condition(name: str, op: str, expected) -> Callable[[dict], bool]:
    """`conditions.matches` for one condition, with the condition's side worked out once.

    Scoring and routing test every captured lead (a batch of 1,000 tests ~20,000 conditions),
    so the expected value is normalised when the rules are loaded instead of on every test.
    Operators without a precomputed form use the shared implementation unchanged.
    """
    if name.startswith("custom."):
        key = name[7:]

        def get(record):
            return (record.get("custom") or {}).get(key)
    else:

        def get(record):
            return record.get(name)

    if op in ("eq", "ne"):
        text = _text(expected)
        if op == "eq":
            return lambda record: _text(get(record)) == text
        return lambda record: _text(get(record)) != text
    if op in ("in", "not_in"):
        options = frozenset(
            _text(o) for o in (expected if isinstance(expected, list | tuple) else [expected])
        )
        if op == "in":
            return lambda record: _text(get(record)) in options
        return lambda record: _text(get(record)) not in options
    if op in ("gte", "lte", "gt", "lt"):
        bound = _number(expected)
        compare = {"gte": float.__ge__, "lte": float.__le__, "gt": float.__gt__}.get(
            op, float.__lt__
        )
        if bound is None:
            return lambda record: False

        def test(record):
            actual = _number(get(record))
            return actual is not None and compare(actual, bound)

        return test
    return lambda record: OPERATORS[op](field_value(record, name), expected)


def compile_conditions(conditions) -> Callable[[dict], bool]:
    """`conditions.all_match` for a list of conditions, compiled once (a malformed condition
    is left to the shared implementation, so it fails exactly where and when it did)."""
    if not isinstance(conditions, list | tuple):
        return lambda record: all_match(conditions, record)
    tests = [
        compile_condition(c["field"], c["op"], c.get("value"))
        if isinstance(c, dict) and "field" in c and "op" in c
        else (lambda record, c=c: matches(c, record))
        for c in conditions
    ]
    return lambda record: all(test(record) for test in tests)


def load_rules() -> list[Rule]:
    from leadline.scoring.models import ScoringRule

    rows = (
        ScoringRule.objects.filter(is_active=True)
        .select_related("group")
        .order_by("kind", "order", "id")
    )
    return [rule_of(r) for r in rows]


def rule_of(row) -> Rule:
    """The scoring form of a ScoringRule row (saved or not)."""
    group = row.group if row.group_id else None
    return Rule(
        row.id,
        row.kind,
        row.label,
        row.field,
        row.op,
        row.value,
        row.points,
        group.name if group else "",
        group.cap if group else None,
    )


@dataclass
class Score:
    fit: int
    engagement: int
    total: int
    parts: list[dict]


def decay_factor(
    since: datetime | None, now: datetime, half_life_days: float = ENGAGEMENT_HALF_LIFE_DAYS
) -> float:
    if since is None or now <= since:
        return 1.0
    age_days = (now - since).total_seconds() / 86400
    return 0.5 ** (age_days / half_life_days)


def score(record: dict, rules: list[Rule], now: datetime) -> Score:
    """Score a lead's fields (a dict with derived keys such as free_mail, seniority).

    A capped group's positive points add up to at most its cap (a part shows what was cut);
    negative points always count. Engagement then decays with its half-life."""
    parts, fit, raw_engagement = [], 0, 0
    capped: dict[str, list] = {}  # group → [kind, cap, positive points given]
    for rule in rules:
        if not rule.test(record):
            continue
        part = {"kind": rule.kind, "label": rule.label, "points": rule.points, "rule": rule.id}
        if rule.group:
            part["group"] = rule.group
        parts.append(part)
        if rule.kind == "fit":
            fit += rule.points
        else:
            raw_engagement += rule.points
        if rule.cap is not None and rule.points > 0:
            capped.setdefault(rule.group, [rule.kind, rule.cap, 0])[2] += rule.points
    for group, (kind, cap, given) in capped.items():
        if given <= cap:
            continue
        parts.append(
            {
                "kind": kind,
                "label": f"{group}: capped at {cap}",
                "points": cap - given,
                "rule": None,
                "group": group,
            }
        )
        if kind == "fit":
            fit += cap - given
        else:
            raw_engagement += cap - given
    factor = decay_factor(record.get("last_engaged_at"), now)
    engagement = round(raw_engagement * factor)
    if engagement != raw_engagement:
        parts.append(
            {
                "kind": "engagement",
                "label": f"Decay ({factor:.0%} left, half-life {ENGAGEMENT_HALF_LIFE_DAYS:g} days)",
                "points": engagement - raw_engagement,
                "rule": None,
            }
        )
    total = max(0, min(MAX_SCORE, fit + engagement))
    return Score(fit=fit, engagement=engagement, total=total, parts=parts)
