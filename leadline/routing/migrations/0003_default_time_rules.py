from django.db import migrations

RULES = [
    dict(name="Working lead without a next step → task", trigger="no_next_step", days=1,
         business_days=True, action="task", task_title="Plan the next step",
         statuses=["working"], conditions=[]),
    dict(name="Purchased-list lead silent for 14 days → long-cycle nurture",
         trigger="no_activity", days=14, business_days=False, action="nurture",
         statuses=["new", "working"],
         conditions=[{"field": "source", "op": "eq", "value": "list_purchase"}]),
    dict(name="Three unanswered follow-ups over 60 days → cold", trigger="unanswered",
         followups=3, days=60, business_days=False, action="cold", statuses=["working"],
         conditions=[]),
]


def add_rules(apps, schema_editor):
    TimeRule = apps.get_model("routing", "TimeRule")
    if not TimeRule.objects.exists():
        for rule in RULES:
            TimeRule.objects.create(**rule)


class Migration(migrations.Migration):
    dependencies = [("routing", "0002_routing_and_sla")]
    operations = [migrations.RunPython(add_rules, migrations.RunPython.noop)]
