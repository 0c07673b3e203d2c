from django.db import models


class ScoringRule(models.Model):
    class Kind(models.TextChoices):
        FIT = "fit", "Fit"
        ENGAGEMENT = "engagement", "Engagement"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    label = models.CharField(max_length=120)
    field = models.CharField(max_length=60)
    op = models.CharField(max_length=20)
    value = models.JSONField(default=None, null=True, blank=True)
    points = models.IntegerField()
    is_active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=100)

    class Meta:
        ordering = ["kind", "order", "id"]

    def __str__(self) -> str:
        return f"{self.label} ({self.points:+d})"


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
