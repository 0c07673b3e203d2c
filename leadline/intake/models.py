"""Intake channels: file imports, web-to-lead forms and engagement feeds.

Every channel hands its leads to the one capture pipeline (`leadline.intake.pipeline`); the models
here keep what each channel needs besides the lead: an import's progress and per-row report, a
form's definition and every submission it received, and the raw engagement events.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone as dj_timezone

from leadline.core.choices import Source

User = settings.AUTH_USER_MODEL


class ImportKind(models.TextChoices):
    LEADS = "leads", "Leads"
    EVENTS = "events", "Engagement events"


class ImportMapping(models.Model):
    """A saved column mapping: normalised header → target, reused for files of the same shape."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=ImportKind.choices, default=ImportKind.LEADS)
    columns = models.JSONField(default=dict, help_text="header key → target")
    source = models.CharField(max_length=40, blank=True)
    created_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=dj_timezone.now)
    updated_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Import(models.Model):
    """One file on its way in: its shape, mapping, options, progress and counts.

    The commit is resumable: `rows_done` is written in the same transaction as each batch of
    leads, so a killed import resumes at the first row not yet stored.
    """

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        CHECKING = "checking", "Dry run in progress"
        CHECKED = "checked", "Dry run done"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        UNDOING = "undoing", "Undo in progress"
        UNDONE = "undone", "Undone"

    kind = models.CharField(max_length=10, choices=ImportKind.choices, default=ImportKind.LEADS)
    filename = models.CharField(max_length=255)
    path = models.CharField(max_length=1000, help_text="where the file is read from")
    stored = models.BooleanField(default=False, help_text="an upload kept in the data directory")
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, db_index=True)
    format = models.CharField(max_length=8, default="csv")
    encoding = models.CharField(max_length=20, blank=True)
    delimiter = models.CharField(max_length=2, blank=True)
    headers = models.JSONField(default=list)
    samples = models.JSONField(default=list, help_text="the first rows, for the mapping page")
    mapping = models.JSONField(default=list, help_text="a target per column ('' = ignored)")
    # Options
    source = models.CharField(max_length=40, choices=Source.choices, default=Source.IMPORT)
    campaign = models.ForeignKey(
        "core.Campaign", models.SET_NULL, null=True, blank=True, related_name="imports"
    )
    campaign_name = models.CharField(max_length=150, blank=True, help_text="created on commit")
    cost = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    cost_recorded = models.BooleanField(default=False)
    event_kind = models.CharField(max_length=40, blank=True, help_text="for rows without one")
    id_namespace = models.CharField(max_length=20, blank=True)
    # Progress
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    phase = models.CharField(max_length=10, blank=True)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    dry_counts = models.JSONField(default=dict, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=dj_timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    undo_counts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Import #{self.pk} {self.filename}"

    @property
    def is_running(self) -> bool:
        return self.status in (self.Status.CHECKING, self.Status.IMPORTING, self.Status.UNDOING)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if self.rows_total:
            return min(99, int(100 * self.rows_done / self.rows_total))
        if self.size:
            return min(99, int(100 * self.bytes_done / self.size))
        return 0


class ImportIssue(models.Model):
    """One line of an import's per-row report: a row refused, imported with a warning, or a
    duplicate (of a lead already stored, or of an earlier row of the same file)."""

    class Kind(models.TextChoices):
        INVALID = "invalid", "Invalid"
        WARNING = "warning", "Imported with a warning"
        DUPLICATE_EXISTING = "duplicate_existing", "Duplicate of an existing lead"
        DUPLICATE_IN_FILE = "duplicate_in_file", "Duplicate within the file"

    upload = models.ForeignKey(Import, models.CASCADE, related_name="issues")
    phase = models.CharField(max_length=10)  # dry_run | commit
    row = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    column = models.CharField(max_length=200, blank=True)
    value = models.CharField(max_length=500, blank=True)
    reason = models.CharField(max_length=500)
    lead_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["upload", "phase", "row"], name="import_issue_row")]


class ImportBatch(models.Model):
    """The leads one committed batch of an import created, so the import can be undone.

    Written in the batch's own transaction; the ids are kept as ranges ([[first, last], …]),
    which a batch's bulk insert makes nearly always a single one.
    """

    upload = models.ForeignKey(Import, models.CASCADE, related_name="batches")
    first_row = models.PositiveIntegerField()
    created = models.JSONField(default=list)
    created_count = models.PositiveIntegerField(default=0)
    at = models.DateTimeField()

    class Meta:
        ordering = ["first_row"]
        indexes = [models.Index(fields=["upload", "first_row"], name="import_batch_row")]


class FormFieldType(models.TextChoices):
    TEXT = "text", "Text"
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    NUMBER = "number", "Number"
    TEXTAREA = "textarea", "Long text"
    CHOICE = "choice", "Choice"
    MULTI_CHOICE = "multi_choice", "Multiple choice"
    CHECKBOX = "checkbox", "Checkbox"


def default_form_fields() -> list[dict]:
    return [
        {"key": "first_name", "label": "First name", "type": "text", "required": False},
        {"key": "last_name", "label": "Last name", "type": "text", "required": False},
        {"key": "email", "label": "Work email", "type": "email", "required": True},
        {"key": "company", "label": "Company", "type": "text", "required": False},
    ]


class FreeMail(models.TextChoices):
    ALLOW = "allow", "Allow"
    QUARANTINE = "quarantine", "Quarantine for review"
    REJECT = "reject", "Ask for a work address"


class Form(models.Model):
    """A web-to-lead form: its fields (each mapped to a lead field or a custom field), consent
    wording, where its leads are attributed, what the visitor sees after, and its spam rules."""

    name = models.CharField(max_length=150)
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200, blank=True, help_text="Heading on the hosted page")
    intro = models.TextField(blank=True)
    fields = models.JSONField(default=default_form_fields)
    submit_label = models.CharField(max_length=60, default="Send")
    consent_enabled = models.BooleanField(default=False, verbose_name="Ask for consent")
    consent_text = models.TextField(
        blank=True,
        default="I agree to receive emails about products and offers. I can unsubscribe at any "
        "time.",
    )
    consent_required = models.BooleanField(default=False)
    source = models.CharField(max_length=40, choices=Source.choices, default=Source.WEB_FORM)
    campaign = models.ForeignKey(
        "core.Campaign", models.SET_NULL, null=True, blank=True, related_name="forms"
    )
    thank_you_message = models.TextField(default="Thank you! We will be in touch shortly.")
    redirect_url = models.URLField(blank=True, help_text="Send visitors here instead")
    allowed_domains = models.JSONField(
        default=list, blank=True, help_text="Sites allowed to embed the form (host[:port])"
    )
    # Spam rules
    min_fill_seconds = models.PositiveIntegerField(default=3)
    require_timing_token = models.BooleanField(
        default=False, help_text="Quarantine posts without the timing token (JavaScript off)"
    )
    per_ip_per_hour = models.PositiveIntegerField(default=20)
    per_form_per_hour = models.PositiveIntegerField(default=1000)
    free_mail = models.CharField(max_length=12, choices=FreeMail.choices, default=FreeMail.ALLOW)
    blocked_domains = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=dj_timezone.now)
    updated_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Submission(models.Model):
    """Every POST to a form, stored before the response: accepted (with its lead), quarantined
    as suspected spam (an admin releases or deletes it) or rejected."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        QUARANTINED = "quarantined", "Quarantined"
        REJECTED = "rejected", "Rejected"

    form = models.ForeignKey(Form, models.CASCADE, related_name="submissions")
    received_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices)
    reasons = models.JSONField(default=list, blank=True)
    data = models.JSONField(default=dict, blank=True, help_text="the values as posted")
    lead_data = models.JSONField(default=dict, blank=True, help_text="what goes to the pipeline")
    ip = models.GenericIPAddressField(null=True, blank=True)
    ip_block = models.CharField(
        max_length=50, blank=True, help_text="what the per-IP limit counts: an IPv6 /64 or the IPv4"
    )
    user_agent = models.CharField(max_length=300, blank=True)
    origin = models.CharField(max_length=300, blank=True)
    page_url = models.CharField(max_length=1000, blank=True)
    email_key = models.CharField(max_length=254, blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    lead = models.ForeignKey(
        "leads.Lead", models.SET_NULL, null=True, blank=True, related_name="form_submissions"
    )
    outcome = models.CharField(max_length=12, blank=True)
    reviewed_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["form", "status", "received_at"], name="submission_form_status"),
            models.Index(fields=["ip", "received_at"], name="submission_ip"),
            models.Index(fields=["ip_block", "received_at"], name="submission_ip_block"),
            models.Index(fields=["form", "received_at"], name="submission_form_at"),
        ]

    def __str__(self) -> str:
        return f"{self.form} submission #{self.pk} ({self.status})"


class EventType(models.Model):
    """A kind of engagement event and what it does: create a lead when none matches?"""

    kind = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=100)
    creates_lead = models.BooleanField(default=False)
    reengages = models.BooleanField(
        default=False,
        help_text="Brings a nurtured lead back to working, with a follow-up for its owner",
    )
    lead_source = models.CharField(max_length=40, choices=Source.choices, default=Source.OTHER)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.label


class EngagementEvent(models.Model):
    """One engagement event as received from a feed, and where it went."""

    class Status(models.TextChoices):
        ATTACHED = "attached", "Attached to a lead"
        CREATED_LEAD = "created_lead", "Created a lead"
        UNMATCHED = "unmatched", "No matching lead"
        DUPLICATE = "duplicate", "Already received"

    kind = models.CharField(max_length=40)
    at = models.DateTimeField()
    received_at = models.DateTimeField()
    email = models.CharField(max_length=254, blank=True)
    external_id = models.CharField(max_length=120, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=200, null=True, blank=True)
    channel = models.CharField(max_length=20, default="api")
    status = models.CharField(max_length=14, choices=Status.choices)
    lead = models.ForeignKey(
        "leads.Lead", models.SET_NULL, null=True, blank=True, related_name="engagement_events"
    )

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["lead", "at"], name="engagement_lead_at")]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"], condition=Q(dedupe_key__isnull=False), name="engagement_once"
            )
        ]


class ConfigVersion(models.Model):
    """One row whose token changes, by database triggers, whenever a table the capture
    pipeline caches per process changes (scoring rules and groups, routing rules, teams and
    their memberships but not the turn state, SLA policies, match settings and models, users):
    each capture reads it in one primary-key lookup instead of the configuration itself. See
    `leadline.intake.watch`."""

    token = models.CharField(max_length=40)

    def __str__(self):
        return self.token
