from django.conf import settings
from django.db import models


class RoutingRule(models.Model):
    """Ordered rule: when every condition holds, the lead goes to the team (or the person)."""

    name = models.CharField(max_length=100)
    order = models.PositiveIntegerField(default=100)
    conditions = models.JSONField(
        default=list, help_text='All must hold: [{"field": "country", "op": "in", "value": [...]}]'
    )
    team = models.ForeignKey("core.Team", models.CASCADE, related_name="routing_rules")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    to_account_owner = models.BooleanField(
        default=False,
        help_text="A lead that matches an existing account with an owner goes to that owner "
        "(the team's rotation when the account has none or the owner is away).",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class SlaPolicy(models.Model):
    """First-response target for leads matching its conditions (first match wins)."""

    name = models.CharField(max_length=100)
    order = models.PositiveIntegerField(default=100)
    conditions = models.JSONField(default=list, blank=True)
    minutes = models.PositiveIntegerField(help_text="Target for the first response")
    business_hours = models.BooleanField(
        default=True, help_text="Count only the owning team's business hours"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.minutes} min)"


class Absence(models.Model):
    """Out of office: routing skips the rep while it lasts."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="absences")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=100, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "ends_at"], name="absence_user_end")]


class TimeRule(models.Model):
    """When a lead has been in a state for N (business) days, do something about it."""

    class Trigger(models.TextChoices):
        IN_STATUS = "in_status", "In the status for"
        NO_ACTIVITY = "no_activity", "Without activity for"
        NO_NEXT_STEP = "no_next_step", "Without a next step for"
        UNANSWERED = "unanswered", "Unanswered follow-ups over"

    class Action(models.TextChoices):
        NURTURE = "nurture", "Move to nurture"
        COLD = "cold", "Mark cold (and nurture)"
        TASK = "task", "Create a task"
        NOTIFY = "notify", "Notify the owner"
        REASSIGN = "reassign", "Reassign to the next rep"
        RECYCLE = "recycle", "Recycle to the queue"

    name = models.CharField(max_length=100)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    statuses = models.JSONField(default=list, help_text='e.g. ["working"]')
    days = models.PositiveIntegerField()
    business_days = models.BooleanField(default=True)
    followups = models.PositiveIntegerField(
        default=0, help_text="For unanswered: how many follow-ups without an answer"
    )
    conditions = models.JSONField(default=list, blank=True)
    action = models.CharField(max_length=12, choices=Action.choices)
    task_title = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class RuleFiring(models.Model):
    """A time rule acted on a lead for one episode (claimed first, so it acts once)."""

    rule = models.ForeignKey(TimeRule, models.CASCADE, related_name="firings")
    lead = models.ForeignKey("leads.Lead", models.CASCADE, related_name="+")
    anchor = models.DateTimeField()
    fired_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "lead", "anchor"], name="one_firing")
        ]
