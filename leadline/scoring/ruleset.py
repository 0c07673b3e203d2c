"""Editing the scoring rules: validate, preview what a change does to the MQL line, save as a new
rule-set version (which re-scores open leads in the background). The web editor, the Django admin
and any script call these functions; nothing else writes rules."""

import json
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from leadline.core.clock import clock
from leadline.core.conditions import OPERATORS
from leadline.core.errors import DomainError
from leadline.core.permissions import is_admin, is_manager_of, is_marketer, managed_teams
from leadline.scoring import mql
from leadline.scoring.models import MqlPolicy, RuleGroup, RuleSetVersion, ScoringRule
from leadline.scoring.rules import MAX_SCORE, Rule, load_rules, rule_of
from leadline.scoring.versions import snapshot

OP_LABELS = {
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "gte": "is at least",
    "lte": "is at most",
    "gt": "is more than",
    "lt": "is less than",
    "between": "is between",
    "present": "is filled in",
    "absent": "is empty",
    "is_true": "is true",
}
NO_VALUE = ("present", "absent", "is_true")
NUMBER_OPS = ("gte", "lte", "gt", "lt")
LIST_OPS = ("in", "not_in", "contains")
# Computed from the rules themselves: a rule on them would feed on its own output.
SCORE_FIELDS = ("fit_score", "engagement_score", "score", "score_parts")
MAX_POINTS = 100


def known_fields() -> list[str]:
    """The fields a rule may test: the lead's own (by column name) and those derived for scoring;
    custom fields are `custom.<name>`."""
    from leadline.leads.models import Lead

    own = [f.attname for f in Lead._meta.concrete_fields if f.attname not in SCORE_FIELDS]
    return sorted([*own, "free_mail"])


def can_edit_rules(user) -> bool:
    """Admins, staff, managers and marketers (who set scoring) edit the rules; reps do not."""
    return user.is_authenticated and (
        user.is_staff or is_admin(user) or bool(managed_teams(user)) or is_marketer(user)
    )


def can_edit_team(user, team) -> bool:
    return user.is_authenticated and is_manager_of(user, team.pk)


# --- validation -------------------------------------------------------------------------------


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def value_problem(op: str, value) -> str:
    """What is wrong with a condition's value for its operator ("" when nothing)."""
    if op in NO_VALUE:
        return "" if value in (None, "", []) else f"“{OP_LABELS[op]}” takes no value"
    if op in NUMBER_OPS:
        return "" if _is_number(value) else "a number is needed"
    if op == "between":
        if not (isinstance(value, list) and len(value) == 2):
            return "two numbers are needed: low, high (leave one blank for no bound)"
        low, high = value
        if any(v is not None and not _is_number(v) for v in value) or low == high is None:
            return "two numbers are needed: low, high (leave one blank for no bound)"
        if low is not None and high is not None and low > high:
            return "the low bound is above the high bound"
        return ""
    if op in LIST_OPS:
        items = value if isinstance(value, list) else [value]
        if not items or any(v in (None, "") or isinstance(v, dict | list) for v in items):
            return "give one or more values, separated by commas"
        return ""
    if value in (None, "") or isinstance(value, dict | list):
        return "give one value (to test for a blank field, use “is empty”)"
    return ""


def rule_problems(rule: ScoringRule) -> dict[str, str]:
    """A rule's problems keyed by field (the model's `clean`, so the admin checks the same)."""
    problems = {}
    field = (rule.field or "").strip()
    if field.startswith("custom."):
        if not field[7:]:
            problems["field"] = "name the custom field: custom.<name>"
    elif field not in known_fields():
        problems["field"] = (
            f"unknown field {field!r}: use a lead field (industry, employees, title, source…) "
            "or custom.<name>"
        )
    if rule.op not in OPERATORS:
        problems["op"] = f"unknown operator {rule.op!r}; use one of {', '.join(OPERATORS)}"
    else:
        problem = value_problem(rule.op, rule.value)
        if problem:
            problems["value"] = problem
    if rule.points is not None:
        if rule.points == 0:
            problems["points"] = "give points: positive to add, negative to subtract"
        elif abs(rule.points) > MAX_POINTS:
            problems["points"] = f"between -{MAX_POINTS} and {MAX_POINTS}"
    if rule.group_id and rule.group.kind != rule.kind:
        problems["group"] = f"“{rule.group.name}” groups {rule.group.kind} rules"
    return problems


def parse_value(op: str, text: str):
    """A value as typed in the editor: a number, a text, a comma-separated list, or JSON."""
    text = (text or "").strip()
    if op in NO_VALUE:
        return None
    if text.startswith("["):
        try:
            return json.loads(text)
        except ValueError:
            raise DomainError({"value": "not a valid JSON list"}) from None
    if op == "between":
        bounds = [part.strip() for part in text.split(",")]
        if len(bounds) != 2:
            raise DomainError({"value": "two numbers are needed: low, high"})
        return [_number(b) if b else None for b in bounds]
    if op in NUMBER_OPS:
        return _number(text)
    if op in LIST_OPS:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def _number(text: str):
    try:
        number = float(text.replace("_", ""))
    except ValueError:
        raise DomainError({"value": f"{text!r} is not a number"}) from None
    return int(number) if number.is_integer() else number


def format_value(value) -> str:
    """The editor's text for a stored value (the inverse of `parse_value`)."""
    if value is None:
        return ""
    if isinstance(value, list):
        if any(isinstance(v, str) and "," in v for v in value):
            return json.dumps(value, ensure_ascii=False)
        return ", ".join("" if v is None else str(v) for v in value)
    return str(value)


def _checked(obj, only: tuple[str, ...] = ()) -> None:
    """Model validation as a DomainError keyed by field (of `only` these fields, when given)."""
    exclude = [f.name for f in obj._meta.fields if f.name not in only] if only else None
    try:
        obj.full_clean(exclude=exclude, validate_unique=not only)
    except ValidationError as exc:
        raise DomainError(
            {"" if k == "__all__" else k: " ".join(v) for k, v in exc.message_dict.items()}
        ) from None


# --- rules ------------------------------------------------------------------------------------

RULE_INPUT = ("kind", "group", "label", "field", "op", "value", "points", "order", "is_active")


def build_rule(data: dict, rule: ScoringRule | None = None) -> ScoringRule:
    """An unsaved, validated rule from editor input (`value` as typed); DomainError by field."""
    rule = rule or ScoringRule()
    unknown = set(data) - set(RULE_INPUT)
    if unknown:
        raise DomainError({name: "not a rule field" for name in sorted(unknown)})
    for name in ("kind", "label", "field", "op", "points", "order", "is_active"):
        if name in data:
            setattr(rule, name, data[name].strip() if isinstance(data[name], str) else data[name])
    if "group" in data:
        rule.group = _group(data["group"])
    problems = {}
    if "value" in data:
        value = data["value"]
        try:
            rule.value = parse_value(rule.op, value) if isinstance(value, str) else value
        except DomainError as exc:
            problems, rule.value = exc.errors, None
    try:
        _checked(rule)
    except DomainError as exc:
        problems = {**exc.errors, **problems}  # every field's problem at once
    if problems:
        raise DomainError(problems)
    return rule


def _group(ref) -> RuleGroup | None:
    if ref in (None, ""):
        return None
    if isinstance(ref, RuleGroup):
        return ref
    found = RuleGroup.objects.filter(pk=ref).first() if str(ref).isdigit() else None
    if found is None:
        raise DomainError({"group": f"unknown group {ref!r}"})
    return found


def save_rule(
    data: dict, rule: ScoringRule | None = None, actor=None, now: datetime | None = None
) -> RuleSetVersion:
    """Add or change a rule; the rule set gets a new version and open leads are re-scored."""
    now = now or clock.now()
    adding = rule is None or rule.pk is None
    rule = build_rule(data, rule)
    with transaction.atomic():
        rule.revision += 1
        rule.save()
        return snapshot(_note("Added" if adding else "Changed", rule.label, actor), now)


def set_active(rule: ScoringRule, active: bool, actor=None, now: datetime | None = None):
    now = now or clock.now()
    with transaction.atomic():
        ScoringRule.objects.filter(pk=rule.pk).update(is_active=active, revision=F("revision") + 1)
        rule.is_active = active
        return snapshot(_note("Enabled" if active else "Disabled", rule.label, actor), now)


def delete_rule(rule: ScoringRule, actor=None, now: datetime | None = None) -> RuleSetVersion:
    now = now or clock.now()
    with transaction.atomic():
        rule.delete()
        return snapshot(_note("Deleted", rule.label, actor), now)


def _note(verb: str, label: str, actor) -> str:
    return f"{verb} “{label}”" + (f" ({actor})" if actor else "")


# --- groups -----------------------------------------------------------------------------------

GROUP_INPUT = ("name", "kind", "cap", "order")


def build_group(data: dict, group: RuleGroup | None = None) -> RuleGroup:
    group = group or RuleGroup()
    unknown = set(data) - set(GROUP_INPUT)
    if unknown:
        raise DomainError({name: "not a group field" for name in sorted(unknown)})
    for name in GROUP_INPUT:
        if name in data:
            value = data[name]
            setattr(group, name, value.strip() if isinstance(value, str) else value)
    if group.cap == "":
        group.cap = None
    _checked(group)
    if group.pk and group.rules.exclude(kind=group.kind).exists():
        raise DomainError({"kind": "the group holds rules of the other kind; move them first"})
    return group


def save_group(
    data: dict, group: RuleGroup | None = None, actor=None, now: datetime | None = None
) -> RuleSetVersion:
    now = now or clock.now()
    adding = group is None or group.pk is None
    group = build_group(data, group)
    with transaction.atomic():
        group.save()
        group.rules.update(revision=F("revision") + 1)
        return snapshot(_note("Added group" if adding else "Changed group", group.name, actor), now)


def delete_group(group: RuleGroup, actor=None, now: datetime | None = None) -> RuleSetVersion:
    """Delete a group; its rules stay, without a group (and without its cap)."""
    now = now or clock.now()
    with transaction.atomic():
        group.rules.update(revision=F("revision") + 1)
        group.delete()
        return snapshot(_note("Deleted group", group.name, actor), now)


# --- preview ----------------------------------------------------------------------------------


@dataclass
class Preview:
    leads: int  # open leads checked
    up: int  # would reach the MQL line
    down: int  # would fall below it

    @property
    def moved(self) -> int:
        return self.up + self.down


def preview(rules: list[Rule], now: datetime | None = None) -> Preview:
    """How many open leads a rule set would move across their team's MQL line, compared with the
    current rules, both scored now (so decay since the last re-score counts for neither)."""
    from leadline.intake.pipeline import apply_score
    from leadline.leads.models import Lead

    now = now or clock.now()
    current = load_rules()
    leads = (
        Lead.objects.filter(status__in=mql.MQL_STATUSES, merged_into__isnull=True)
        .select_related("team")
        .order_by("pk")
    )
    checked = up = down = 0
    for lead in leads.iterator(chunk_size=2000):
        apply_score(lead, current, now)
        before = mql.is_above(lead)
        apply_score(lead, rules, now)
        after = mql.is_above(lead)
        checked += 1
        up += after and not before
        down += before and not after
    return Preview(checked, up, down)


def rules_with(rule: ScoringRule) -> list[Rule]:
    """The current rules with this (unsaved) rule added or changed (or taken out if inactive)."""
    rules = [r for r in load_rules() if rule.pk is None or r.id != rule.pk]
    return [*rules, rule_of(rule)] if rule.is_active else rules


def rules_without(rule: ScoringRule) -> list[Rule]:
    return [r for r in load_rules() if r.id != rule.pk]


def rules_with_group(group: RuleGroup) -> list[Rule]:
    """The current rules with this (unsaved) group's name and cap."""
    from dataclasses import replace

    if not group.pk:
        return load_rules()
    members = set(group.rules.values_list("pk", flat=True))
    return [
        replace(r, group=group.name, cap=group.cap) if r.id in members else r for r in load_rules()
    ]


def rules_without_group(group: RuleGroup) -> list[Rule]:
    from dataclasses import replace

    return [replace(r, group="", cap=None) if r.group == group.name else r for r in load_rules()]


# --- the MQL line and its actions, per team ---------------------------------------------------

TEAM_INPUT = ("mql_threshold", "prospect_threshold")
POLICY_INPUT = ("create_task", "task_title", "task_due_hours", "reroute")


def policy_for(team) -> MqlPolicy:
    """The team's MQL actions (an unsaved one that does nothing when none is set)."""
    found = MqlPolicy.objects.filter(team=team).first()
    return found or MqlPolicy(team=team, create_task=False, reroute=False)


def threshold_preview(team, threshold: int) -> Preview:
    """How many of the team's open leads a new MQL threshold would move across the line."""
    from leadline.leads.models import Lead

    leads = Lead.objects.filter(team=team, status__in=mql.MQL_STATUSES, merged_into__isnull=True)
    old = team.mql_threshold
    low, high = sorted((old, threshold))
    between = leads.filter(score__gte=low, score__lt=high).count()
    return Preview(
        leads.count(), between if threshold < old else 0, between if threshold > old else 0
    )


def save_team_mql(team, data: dict, actor=None, now: datetime | None = None) -> MqlPolicy:
    """Set a team's MQL threshold, prospect bar and MQL actions; leads the new line moves are
    checked by a background sweep (and their crossings acted on once)."""
    now = now or clock.now()
    unknown = set(data) - set(TEAM_INPUT) - set(POLICY_INPUT)
    if unknown:
        raise DomainError({name: "not an MQL setting" for name in sorted(unknown)})
    for name in TEAM_INPUT:
        if name in data:
            setattr(team, name, data[name])
    policy = policy_for(team)
    for name in POLICY_INPUT:
        if name in data:
            setattr(policy, name, data[name])
    if not (policy.task_title or "").strip() and not policy.create_task:
        policy.task_title = MqlPolicy._meta.get_field("task_title").default  # unused, kept valid
    problems = {
        name: f"between 0 and {MAX_SCORE} (scores run from 0 to {MAX_SCORE})"
        for name in TEAM_INPUT
        if isinstance(getattr(team, name), int) and not 0 <= getattr(team, name) <= MAX_SCORE
    }
    if policy.create_task and not (policy.task_title or "").strip():
        problems["task_title"] = "name the follow-up task"
    if problems:
        raise DomainError(problems)
    _checked(team, only=TEAM_INPUT)
    _checked(policy, only=POLICY_INPUT)
    with transaction.atomic():
        team.save(update_fields=list(TEAM_INPUT))
        policy.save()
        mql.request_sweep(now)
    return policy
