"""A list import is not a hand-raiser: its leads get two business days for a first response,
not the five minutes a demo request gets (issue 6: "list import: 2 business days")."""

from django.db import migrations

POLICY = {
    "name": "List import: 2 business days",
    "order": 900,  # after the policies a team writes itself
    "conditions": [{"field": "channel", "op": "eq", "value": "import"}],
    "minutes": 2 * 8 * 60,  # two 9:00–17:00 business days
    "business_hours": True,
}


def add_policy(apps, schema_editor):
    SlaPolicy = apps.get_model("routing", "SlaPolicy")
    if not SlaPolicy.objects.filter(name=POLICY["name"]).exists():
        SlaPolicy.objects.create(**POLICY)


def remove_policy(apps, schema_editor):
    apps.get_model("routing", "SlaPolicy").objects.filter(name=POLICY["name"]).delete()


class Migration(migrations.Migration):
    dependencies = [("routing", "0004_rule_to_account_owner")]
    operations = [migrations.RunPython(add_policy, remove_policy)]
