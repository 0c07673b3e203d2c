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
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name
