"""The scoring rule editor: rules by kind and group, groups with caps, each team's MQL line and
what crossing it does. Each view parses a form, authorises, calls one function of
`leadline.scoring.ruleset` and renders or redirects; a preview shows how many open leads a change
would move across the MQL line before it is saved."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from leadline.core.choices import JobStatus
from leadline.core.errors import DomainError
from leadline.core.models import Job, Team
from leadline.core.permissions import is_admin, managed_teams
from leadline.scoring import ruleset
from leadline.scoring.models import Kind, RuleGroup, RuleSetVersion, ScoringRule


def _editor(user) -> None:
    if not ruleset.can_edit_rules(user):
        raise PermissionDenied("Only admins, managers and marketers edit the scoring rules.")


def _apply_errors(form, exc: DomainError) -> None:
    for field, message in exc.errors.items():
        key = field if field in form.fields else None
        form.add_error(key, message if key or not field else f"{field}: {message}")


def _saved(request, version: RuleSetVersion, what: str) -> None:
    messages.success(
        request,
        f"{what} Saved as rule set v{version.number}; open leads are re-scored in the background.",
    )


# --- forms ------------------------------------------------------------------------------------


class RuleForm(forms.Form):
    kind = forms.ChoiceField(choices=Kind.choices)
    group = forms.ChoiceField(required=False, help_text="Its points count toward the group's cap")
    label = forms.CharField(max_length=120)
    field = forms.CharField(
        max_length=60,
        help_text="A lead field, or custom.<name>",
        widget=forms.TextInput(
            attrs={
                "list": "lead-fields",
                "autocomplete": "off",
                "placeholder": "industry, employees, title, source, custom.order_volume…",
            }
        ),
    )
    op = forms.ChoiceField(label="Test", choices=list(ruleset.OP_LABELS.items()))
    value = forms.CharField(
        required=False,
        max_length=2000,
        help_text="A number, a text, or a comma-separated list (between: low, high)",
        widget=forms.TextInput(attrs={"placeholder": "500 · software, saas · between: 50, 5000"}),
    )
    points = forms.IntegerField(help_text="Negative to subtract")
    order = forms.IntegerField(min_value=0, initial=100)
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].choices = [("", "(no group)")] + [
            (str(g.pk), f"{g} — {g.get_kind_display().lower()}") for g in RuleGroup.objects.all()
        ]

    @classmethod
    def of(cls, rule: ScoringRule) -> "RuleForm":
        return cls(
            initial={
                "kind": rule.kind,
                "group": str(rule.group_id or ""),
                "label": rule.label,
                "field": rule.field,
                "op": rule.op,
                "value": ruleset.format_value(rule.value),
                "points": rule.points,
                "order": rule.order,
                "is_active": rule.is_active,
            }
        )


class GroupForm(forms.Form):
    name = forms.CharField(max_length=80)
    kind = forms.ChoiceField(choices=Kind.choices)
    cap = forms.IntegerField(
        required=False, min_value=0, help_text="Most points together; blank: no cap"
    )
    order = forms.IntegerField(min_value=0, initial=100)


class TeamMqlForm(forms.Form):
    mql_threshold = forms.IntegerField(label="MQL at score", help_text="0–100")
    prospect_threshold = forms.IntegerField(
        label="Prospect at fit score", help_text="Fits the ideal customer profile"
    )
    create_task = forms.BooleanField(required=False, label="Create a task for the owner")
    task_title = forms.CharField(max_length=200, required=False)
    task_due_hours = forms.IntegerField(min_value=0, label="Task due in (business hours)")
    reroute = forms.BooleanField(required=False, label="Route the lead again")


# --- the rule list ----------------------------------------------------------------------------


def _sections(rules, groups):
    """Rules by kind, then by group (ungrouped last), for the list."""
    sections = []
    for kind, label in Kind.choices:
        kind_groups = [g for g in groups if g.kind == kind]
        blocks = [(g, [r for r in rules if r.group_id == g.pk]) for g in kind_groups]
        blocks.append((None, [r for r in rules if r.kind == kind and r.group_id is None]))
        sections.append({"kind": kind, "label": label, "blocks": blocks})
    return sections


@login_required
def rules(request):
    _editor(request.user)
    groups = list(RuleGroup.objects.all())
    all_rules = list(ScoringRule.objects.select_related("group"))
    for rule in all_rules:
        rule.value_text = ruleset.format_value(rule.value)
        rule.op_text = ruleset.OP_LABELS.get(rule.op, rule.op)
    teams = (
        Team.objects.all()
        if is_admin(request.user)
        else Team.objects.filter(pk__in=managed_teams(request.user))
    )
    context = {
        "sections": _sections(all_rules, groups),
        "teams": [(team, ruleset.policy_for(team)) for team in teams],
        "versions": RuleSetVersion.objects.all()[:10],
        "rescoring": Job.objects.filter(
            kind="rescore_open", status__in=[JobStatus.PENDING, JobStatus.RUNNING]
        ).exists(),
    }
    return render(request, "scoring/rules.html", context)


# --- one rule ---------------------------------------------------------------------------------


@login_required
def rule_edit(request, rule_id: int | None = None):
    _editor(request.user)
    rule = get_object_or_404(ScoringRule, pk=rule_id) if rule_id else None
    preview = None
    if request.method != "POST":
        form = RuleForm.of(rule) if rule else RuleForm()
        return _rule_page(request, form, rule, preview)
    form = RuleForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        try:
            if "preview" in request.POST:
                draft = ruleset.build_rule(data, _fresh(rule))
                preview = ruleset.preview(ruleset.rules_with(draft))
            else:
                version = ruleset.save_rule(data, rule, request.user)
                _saved(request, version, f"Rule “{data['label']}” saved.")
                return redirect("scoring_rules")
        except DomainError as exc:
            _apply_errors(form, exc)
    status = 200 if form.is_valid() else 422
    return _rule_page(request, form, rule, preview, status)


def _fresh(rule: ScoringRule | None) -> ScoringRule | None:
    """A copy to change for a preview (the draft is never saved)."""
    return ScoringRule.objects.select_related("group").get(pk=rule.pk) if rule else None


def _rule_page(request, form, rule, preview, status: int = 200):
    context = {
        "form": form,
        "rule": rule,
        "preview": preview,
        "lead_fields": ruleset.known_fields(),
    }
    return render(request, "scoring/rule_form.html", context, status=status)


@login_required
@require_POST
def rule_toggle(request, rule_id: int):
    _editor(request.user)
    rule = get_object_or_404(ScoringRule, pk=rule_id)
    version = ruleset.set_active(rule, not rule.is_active, request.user)
    _saved(request, version, f"Rule “{rule.label}” {'enabled' if rule.is_active else 'disabled'}.")
    return redirect("scoring_rules")


@login_required
def rule_delete(request, rule_id: int):
    _editor(request.user)
    rule = get_object_or_404(ScoringRule, pk=rule_id)
    if request.method == "POST":
        version = ruleset.delete_rule(rule, request.user)
        _saved(request, version, f"Rule “{rule.label}” deleted.")
        return redirect("scoring_rules")
    preview = ruleset.preview(ruleset.rules_without(rule))
    return render(
        request,
        "scoring/confirm_delete.html",
        {"thing": f"the rule “{rule.label}”", "preview": preview},
    )


# --- groups -----------------------------------------------------------------------------------


@login_required
def group_edit(request, group_id: int | None = None):
    _editor(request.user)
    group = get_object_or_404(RuleGroup, pk=group_id) if group_id else None
    preview = None
    if request.method != "POST":
        initial = (
            {"name": group.name, "kind": group.kind, "cap": group.cap, "order": group.order}
            if group
            else {}
        )
        form = GroupForm(initial=initial)
    else:
        form = GroupForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                if "preview" in request.POST:
                    draft = ruleset.build_group(
                        data, RuleGroup.objects.get(pk=group.pk) if group else None
                    )
                    preview = ruleset.preview(ruleset.rules_with_group(draft))
                else:
                    version = ruleset.save_group(data, group, request.user)
                    _saved(request, version, f"Group “{data['name']}” saved.")
                    return redirect("scoring_rules")
            except DomainError as exc:
                _apply_errors(form, exc)
    status = 422 if form.is_bound and not form.is_valid() else 200
    context = {"form": form, "group": group, "preview": preview}
    return render(request, "scoring/group_form.html", context, status=status)


@login_required
def group_delete(request, group_id: int):
    _editor(request.user)
    group = get_object_or_404(RuleGroup, pk=group_id)
    if request.method == "POST":
        version = ruleset.delete_group(group, request.user)
        _saved(request, version, f"Group “{group.name}” deleted; its rules stay, uncapped.")
        return redirect("scoring_rules")
    preview = ruleset.preview(ruleset.rules_without_group(group))
    thing = f"the group “{group.name}” (its rules stay, without the cap)"
    return render(request, "scoring/confirm_delete.html", {"thing": thing, "preview": preview})


# --- a team's MQL line ------------------------------------------------------------------------


@login_required
def team_mql(request, team_id: int):
    team = get_object_or_404(Team, pk=team_id)
    if not ruleset.can_edit_team(request.user, team):
        raise PermissionDenied("Only the team's managers and admins set its MQL line.")
    policy = ruleset.policy_for(team)
    preview = None
    if request.method != "POST":
        form = TeamMqlForm(
            initial={
                "mql_threshold": team.mql_threshold,
                "prospect_threshold": team.prospect_threshold,
                "create_task": policy.create_task,
                "task_title": policy.task_title or "Follow up: reached MQL",
                "task_due_hours": policy.task_due_hours,
                "reroute": policy.reroute,
            }
        )
    else:
        form = TeamMqlForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                if "preview" in request.POST:
                    preview = ruleset.threshold_preview(team, data["mql_threshold"])
                else:
                    ruleset.save_team_mql(team, data, request.user)
                    messages.success(request, f"MQL settings of {team} saved.")
                    return redirect("scoring_rules")
            except DomainError as exc:
                _apply_errors(form, exc)
    status = 422 if form.is_bound and not form.is_valid() else 200
    context = {"form": form, "team": team, "preview": preview}
    return render(request, "scoring/team_mql.html", context, status=status)
