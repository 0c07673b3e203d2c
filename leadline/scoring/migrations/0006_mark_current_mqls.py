"""Leads at or above their team's MQL line when this ships are marked as such, so the first sweep
does not treat every one of them as a new crossing (their crossing happened before)."""

from django.db import migrations
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

MQL_STATUSES = ("new", "working", "nurture")


def mark(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    MqlState = apps.get_model("scoring", "MqlState")
    now = timezone.now()
    line = Coalesce(F("team__mql_threshold"), Value(50))
    above = Lead.objects.filter(
        status__in=MQL_STATUSES, merged_into__isnull=True, score__gte=line
    ).values_list("pk", flat=True)
    batch = []
    for pk in above.iterator(chunk_size=5000):
        batch.append(MqlState(lead_id=pk, is_mql=True, crossings=0, changed_at=now))
        if len(batch) == 5000:
            MqlState.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    MqlState.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("scoring", "0005_rule_groups_and_mql")]
    operations = [migrations.RunPython(mark, migrations.RunPython.noop)]
