from django.core.exceptions import ValidationError
from django.db import models


class Kind(models.TextChoices):
    FIT = "fit", "Fit"
    ENGAGEMENT = "engagement", "Engagement"


class RuleGroup(models.Model):
    """Rules whose points add up to at most a cap, e.g. "Web engagement" gives 30 at most."""

    name = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    cap = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Most points the group's rules give together; blank: no cap",
    )
    order = models.PositiveIntegerField(default=100)

    class Meta:
        ordering = ["kind", "order", "name"]

    def __str__(self) -> str:
        return self.name if self.cap is None else f"{self.name} (at most {self.cap})"


class ScoringRule(models.Model):
    Kind = Kind

    kind = models.CharField(max_length=12, choices=Kind.choices)
    group = models.ForeignKey(
        RuleGroup, models.SET_NULL, null=True, blank=True, related_name="rules"
    )
    label = models.CharField(max_length=120)
    field = models.CharField(max_length=60)
    op = models.CharField(max_length=20)
    value = models.JSONField(default=None, null=True, blank=True)
    points = models.IntegerField()
    is_active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=100)
    # Counts changes to the rule and to its group: the capture pipeline notices that the rules it
    # caches changed by a fingerprint of this table's rows, and a group lives in another table.
    revision = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["kind", "order", "id"]

    def __str__(self) -> str:
        return f"{self.label} ({self.points:+d})"

    def clean(self):
        from leadline.scoring.ruleset import rule_problems

        problems = rule_problems(self)
        if problems:
            raise ValidationError(problems)


class RuleSetVersion(models.Model):
    """A snapshot of the scoring rules each time they change; leads record which one scored them."""

    number = models.PositiveIntegerField(unique=True)
    rules = models.JSONField()
    created_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"v{self.number}"


class PredictiveModel(models.Model):
    """One trained version of the conversion model, with the evaluation that admitted it."""

    version = models.PositiveIntegerField(unique=True)
    created_at = models.DateTimeField()
    trained_on = models.PositiveIntegerField(help_text="Leads with a known outcome")
    positives = models.PositiveIntegerField()
    metrics = models.JSONField(default=dict)
    leakage = models.JSONField(default=list, blank=True)
    is_current = models.BooleanField(default=False)
    note = models.CharField(max_length=300, blank=True)
    blob = models.BinaryField()

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"model v{self.version}"


class MqlPolicy(models.Model):
    """What happens, once per crossing, when one of a team's leads reaches its MQL threshold."""

    team = models.OneToOneField("core.Team", models.CASCADE, related_name="mql_policy")
    create_task = models.BooleanField(default=True, help_text="A follow-up task for the owner")
    task_title = models.CharField(max_length=200, default="Follow up: reached MQL")
    task_due_hours = models.PositiveIntegerField(
        default=4, help_text="Business hours after the crossing"
    )
    reroute = models.BooleanField(
        default=False, help_text="Run the routing rules again with the lead's new score"
    )

    def __str__(self) -> str:
        return f"MQL actions of {self.team}"


class MqlState(models.Model):
    """Whether a lead was above its team's MQL line when last checked: a crossing is a change of
    this row, claimed by a guarded update, so it is acted on once however often leads re-score."""

    lead = models.OneToOneField(
        "leads.Lead", models.CASCADE, primary_key=True, related_name="mql_state"
    )
    is_mql = models.BooleanField(default=False)
    crossings = models.PositiveIntegerField(default=0)
    changed_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["lead"], name="mql_state_up", condition=models.Q(is_mql=True))
        ]
