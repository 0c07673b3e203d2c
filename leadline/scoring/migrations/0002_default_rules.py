from django.db import migrations


def add_rules(apps, schema_editor):
    from leadline.scoring.rules import DEFAULT_RULES

    ScoringRule = apps.get_model("scoring", "ScoringRule")
    if ScoringRule.objects.exists():
        return
    ScoringRule.objects.bulk_create(
        ScoringRule(kind=kind, label=label, field=field, op=op, value=value, points=points,
                    order=i * 10)
        for i, (kind, label, field, op, value, points) in enumerate(DEFAULT_RULES)
    )


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_initial")]
    operations = [migrations.RunPython(add_rules, migrations.RunPython.noop)]
