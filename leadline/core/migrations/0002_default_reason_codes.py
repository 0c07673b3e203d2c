from django.db import migrations

CODES = [
    ("too_small", "Too small (below minimum order or size)", None),
    ("no_budget", "No budget", 90),
    ("competitor", "Went with / is a competitor", None),
    ("spam", "Spam or fake", None),
    ("no_response", "Never responded", 60),
    ("bad_timing", "Bad timing", 90),
    ("student", "Student or job seeker", None),
    ("duplicate", "Duplicate", None),
]


def add_codes(apps, schema_editor):
    ReasonCode = apps.get_model("core", "ReasonCode")
    for code, label, recycle_days in CODES:
        ReasonCode.objects.get_or_create(
            code=code, defaults={"label": label, "recycle_days": recycle_days}
        )


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(add_codes, migrations.RunPython.noop)]
