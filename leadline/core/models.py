import hashlib
import secrets
from datetime import date, time

from django.conf import settings
from django.db import models
from django.utils import timezone as dj_timezone

from leadline.core.calendar import BusinessCalendar
from leadline.core.choices import JobStatus, Role
from leadline.core.prepared import Prepared

BANT = [
    {"key": "budget", "label": "Budget confirmed", "type": "bool", "required": True},
    {
        "key": "authority",
        "label": "Talking to the decision maker",
        "type": "bool",
        "required": True,
    },
    {"key": "need", "label": "Need identified", "type": "bool", "required": True},
    {"key": "timeline", "label": "Buying within the timeline", "type": "bool", "required": True},
]

DEFAULT_GUARDS = {
    "working": ["next_step"],
    "qualified": ["criteria", "next_step"],
    "disqualified": ["reason_code"],
}


def default_criteria() -> list[dict]:
    return [dict(item) for item in BANT]


def default_guards() -> dict:
    return {key: list(value) for key, value in DEFAULT_GUARDS.items()}


def default_work_days() -> list[int]:
    return [0, 1, 2, 3, 4]


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    is_default = models.BooleanField(default=False, help_text="Gets leads no routing rule matches.")
    timezone = models.CharField(max_length=64, default="UTC")
    work_days = models.JSONField(default=default_work_days)
    day_start = models.TimeField(default=time(9, 0))
    day_end = models.TimeField(default=time(17, 0))
    holidays = models.JSONField(default=list, blank=True)
    sla_minutes = models.PositiveIntegerField(default=5)
    mql_threshold = models.PositiveIntegerField(default=50)
    prospect_threshold = models.PositiveIntegerField(default=30)
    qualification_criteria = models.JSONField(default=default_criteria)
    guards = models.JSONField(default=default_guards)
    rotation = models.CharField(
        max_length=16,
        choices=[
            ("round_robin", "Round-robin"),
            ("weighted", "Weighted round-robin"),
            ("load_balanced", "Fewest open leads"),
        ],
        default="round_robin",
    )
    reassign_on_breach = models.BooleanField(
        default=False, help_text="Give a lead to the next rep when its first response is late."
    )
    max_reassignments = models.PositiveIntegerField(default=2)
    rr_counter = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar(
            tz=self.timezone,
            work_days=tuple(self.work_days),
            day_start=self.day_start,
            day_end=self.day_end,
            holidays=frozenset(date.fromisoformat(d) for d in self.holidays),
        )


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.REP)
    is_active = models.BooleanField(default=True, help_text="Takes new leads from routing.")
    weight = models.PositiveIntegerField(default=1)
    rr_position = models.BigIntegerField(default=0)
    assigned_count = models.PositiveIntegerField(default=0)
    daily_cap = models.PositiveIntegerField(null=True, blank=True, help_text="New leads a day")
    open_cap = models.PositiveIntegerField(null=True, blank=True, help_text="Open leads at once")
    timezone = models.CharField(max_length=64, blank=True, help_text="Blank: the team's")
    day_start = models.TimeField(null=True, blank=True)
    day_end = models.TimeField(null=True, blank=True)
    work_days = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="one_membership")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} as {self.role}"


class ReasonCode(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=100)
    recycle_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Return the lead to new after this many days."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Campaign(models.Model):
    name = models.CharField(max_length=150, unique=True)
    channel = models.CharField(max_length=40, blank=True)
    cost = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="USD")
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    team = models.ForeignKey(Team, models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenManager(models.Manager):
    def for_raw(self, raw: str):
        """The live token matching a presented secret, or None (only the hash is stored)."""
        if not raw.startswith("ll_"):
            return None
        found = _live_token(hash_token(raw))
        return found[0] if found else None


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenManager()

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, user, name: str) -> tuple["ApiToken", str]:
        """Create a token; the raw secret is returned once and never stored."""
        raw = "ll_" + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, prefix=raw[:10], digest=hash_token(raw))
        return token, raw


# Every API request looks its token up: compiled once (see core.prepared).
_live_token = Prepared(
    lambda digest: ApiToken.objects.select_related("user").filter(
        digest=digest, revoked_at__isnull=True, user__is_active=True
    )[:1],
    ApiToken._meta.get_field("digest"),
)


class Job(models.Model):
    """Due work: an outbox of side effects and deadlines, claimed by any worker process."""

    kind = models.CharField(max_length=40)
    lead_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    payload = models.JSONField(default=dict, blank=True)
    run_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=8)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "run_at"], name="job_due")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"


class Webhook(models.Model):
    """POSTs lead events as signed JSON to another system (chat tools, CRMs)."""

    EVENTS = ["lead.created", "lead.assigned", "sla.breached"]

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text=f"Any of {', '.join(EVENTS)}")
    secret = models.CharField(
        max_length=100, blank=True, help_text="Signs each body: X-Leadline-Signature (HMAC-SHA256)"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=dj_timezone.now)

    def __str__(self) -> str:
        return self.name


class AutoResponse(models.Model):
    """An instant email to a new lead, per source (blank: any source)."""

    name = models.CharField(max_length=100)
    source = models.CharField(max_length=40, blank=True)
    subject = models.CharField(max_length=200)
    body = models.TextField(
        help_text="Placeholders: {first_name}, {company}, {owner_name}, {owner_email}"
    )
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name
