"""Seed the engagement event types and the scoring rules that count them.

Each event a lead has is counted on the lead (custom field `<kind>_count`); these engagement
rules give points for those counts. They are ordinary scoring rules: edit them in Settings.
"""

from django.db import migrations

EVENT_TYPES = [
    # kind, label, creates a lead when none matches, source of that lead
    ("webinar_registered", "Registered for a webinar", True, "webinar"),
    ("webinar_attended", "Attended a webinar", True, "webinar"),
    ("content_downloaded", "Downloaded content", True, "content"),
    ("page_visited", "Visited a page", False, "other"),
    ("email_opened", "Opened an email", False, "other"),
    ("email_clicked", "Clicked a link in an email", False, "other"),
    ("email_replied", "Replied to an email", False, "other"),
    ("meeting_booked", "Booked a meeting", True, "demo_request"),
    ("badge_scanned", "Badge scanned at an event", True, "event"),
]

RULES = [
    # label, counted kind, at least, points
    ("Webinar registration on record", "webinar_registered", 1, 5),
    ("Attended a webinar", "webinar_attended", 1, 20),
    ("Downloaded an asset", "content_downloaded", 1, 8),
    ("Visited 3+ pages", "page_visited", 3, 5),
    ("Opened 3+ emails", "email_opened", 3, 3),
    ("Clicked a link in an email", "email_clicked", 1, 8),
    ("Replied to an email", "email_replied", 1, 20),
    ("Booked a meeting", "meeting_booked", 1, 30),
    ("Badge scanned at an event", "badge_scanned", 1, 10),
]


def seed(apps, schema_editor):
    EventType = apps.get_model("intake", "EventType")
    ScoringRule = apps.get_model("scoring", "ScoringRule")
    RuleSetVersion = apps.get_model("scoring", "RuleSetVersion")
    for kind, label, creates, source in EVENT_TYPES:
        EventType.objects.get_or_create(
            kind=kind, defaults={"label": label, "creates_lead": creates, "lead_source": source}
        )
    added = False
    for order, (label, kind, least, points) in enumerate(RULES):
        field = f"custom.{kind}_count"
        if ScoringRule.objects.filter(field=field, op="gte").exists():
            continue
        ScoringRule.objects.create(
            kind="engagement", label=label, field=field, op="gte", value=least, points=points,
            order=500 + order * 10,
        )
        added = True
    last = RuleSetVersion.objects.order_by("-number").first()
    if added and last is not None:
        from django.utils import timezone

        rules = list(
            ScoringRule.objects.filter(is_active=True)
            .order_by("kind", "order", "id")
            .values("id", "kind", "label", "field", "op", "value", "points")
        )
        RuleSetVersion.objects.create(
            number=last.number + 1, rules=rules, created_at=timezone.now(),
            note="Engagement event rules added",
        )


def unseed(apps, schema_editor):
    ScoringRule = apps.get_model("scoring", "ScoringRule")
    fields = [f"custom.{kind}_count" for _label, kind, _least, _points in RULES]
    ScoringRule.objects.filter(field__in=fields, op="gte").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0001_imports_forms_and_engagement_events"),
        ("scoring", "0003_rule_set_versions"),
    ]
    operations = [migrations.RunPython(seed, unseed)]
