from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone as dj_timezone

from leadline.core.choices import OPEN_STATUSES, ActivityKind, Role, Source, Stage, Status

User = settings.AUTH_USER_MODEL
DEFAULT_MQL_THRESHOLD = 50


class LeadQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=OPEN_STATUSES, merged_into__isnull=True)

    def live(self):
        return self.filter(merged_into__isnull=True)

    def visible_to(self, user):
        """Per-object permissions: admins see all, managers and marketers their teams' leads,
        reps their own leads and their teams' unassigned ones."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self.live()
        roles = {}
        for team_id, role in user.memberships.values_list("team_id", "role"):
            roles.setdefault(role, []).append(team_id)
        if Role.ADMIN in roles:
            return self.live()
        teams = roles.get(Role.MANAGER, []) + roles.get(Role.MARKETER, [])
        rep_teams = roles.get(Role.REP, [])
        return self.live().filter(
            Q(team_id__in=teams) | Q(owner=user) | Q(team_id__in=rep_teams, owner__isnull=True)
        )

    def with_stage(self):
        threshold = Coalesce(F("team__mql_threshold"), Value(DEFAULT_MQL_THRESHOLD))
        return self.annotate(
            stage_value=Case(
                When(
                    status=Status.CONVERTED,
                    converted_opportunity__stage="won",
                    then=Value(Stage.CUSTOMER),
                ),
                When(status=Status.CONVERTED, then=Value(Stage.OPPORTUNITY)),
                When(status=Status.QUALIFIED, then=Value(Stage.SQL)),
                When(
                    ~Q(status=Status.DISQUALIFIED) & Q(score__gte=threshold), then=Value(Stage.MQL)
                ),
                default=Value(Stage.SUSPECT),
                output_field=models.CharField(),
            )
        )

    def queue_order(self):
        """SLA urgency first (leads still on the clock, soonest due), then score."""
        waiting = Q(first_response_at__isnull=True, sla_due_at__isnull=False)
        return self.annotate(
            on_clock=Case(
                When(waiting, then=Value(0)), default=Value(1), output_field=models.IntegerField()
            )
        ).order_by("on_clock", F("sla_due_at").asc(nulls_last=True), "-score", "id")


class Lead(models.Model):
    # Person
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.CharField(max_length=254, blank=True)
    email_key = models.CharField(max_length=254, blank=True, db_index=True)
    phone = models.CharField(max_length=40, blank=True)
    phone_e164 = models.CharField(max_length=20, blank=True, db_index=True)
    title = models.CharField(max_length=150, blank=True)
    seniority = models.CharField(max_length=20, blank=True)
    department = models.CharField(max_length=40, blank=True)
    # Company
    company = models.CharField(max_length=200, blank=True)
    company_domain = models.CharField(max_length=200, blank=True, db_index=True)
    website = models.CharField(max_length=300, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    revenue = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    country = models.CharField(max_length=2, blank=True)
    region = models.CharField(max_length=100, blank=True)
    city = models.CharField(max_length=100, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    account = models.ForeignKey(
        "deals.Account",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
        db_index=False,  # partial index below: most leads have none
    )
    # Where it came from
    source = models.CharField(max_length=40, choices=Source.choices, default=Source.OTHER)
    source_detail = models.CharField(max_length=200, blank=True)
    campaign = models.ForeignKey(
        "core.Campaign",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
        db_index=False,  # partial index below
    )
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)
    utm_term = models.CharField(max_length=100, blank=True)
    utm_content = models.CharField(max_length=100, blank=True)
    # Consent
    consent_email = models.BooleanField(null=True, blank=True)
    consent_text = models.TextField(blank=True)
    consent_at = models.DateTimeField(null=True, blank=True)
    do_not_contact = models.BooleanField(default=False)
    do_not_email = models.BooleanField(default=False)
    do_not_call = models.BooleanField(default=False)
    # Ownership and routing
    # Indexed by (owner, status) and (team, status) below, which serve lookups by either alone.
    owner = models.ForeignKey(
        User, models.SET_NULL, null=True, blank=True, related_name="owned_leads", db_index=False
    )
    team = models.ForeignKey("core.Team", models.SET_NULL, null=True, blank=True, db_index=False)
    routing_reason = models.JSONField(default=dict, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    # Lifecycle
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    status_changed_at = models.DateTimeField(default=dj_timezone.now)
    qualification = models.JSONField(default=dict, blank=True)
    disqualify_reason = models.CharField(max_length=40, blank=True)
    recycle_count = models.PositiveIntegerField(default=0)
    recycle_at = models.DateTimeField(null=True, blank=True)
    converted_opportunity = models.ForeignKey(
        "deals.Opportunity",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
        db_index=False,  # partial index below
    )
    converted_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", models.SET_NULL, null=True, blank=True, related_name="merged_leads", db_index=False
    )
    # Score
    fit_score = models.IntegerField(default=0)
    engagement_score = models.IntegerField(default=0)
    score = models.IntegerField(default=0)
    score_parts = models.JSONField(default=list, blank=True)
    conversion_probability = models.FloatField(null=True, blank=True)
    probability_model = models.PositiveIntegerField(null=True, blank=True)
    capture_snapshot = models.JSONField(
        default=dict, blank=True, help_text="The lead as captured: the predictive model's input"
    )
    # Speed to lead and work
    captured_at = models.DateTimeField(default=dj_timezone.now)
    touch_count = models.PositiveIntegerField(default=1)
    first_response_at = models.DateTimeField(null=True, blank=True)
    response_minutes = models.FloatField(null=True, blank=True)
    sla_due_at = models.DateTimeField(null=True, blank=True)
    sla_breached_at = models.DateTimeField(null=True, blank=True)
    sla_policy = models.CharField(max_length=100, blank=True)
    reassign_count = models.PositiveIntegerField(default=0)
    cold_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    next_step = models.CharField(max_length=200, blank=True)
    next_step_due_at = models.DateTimeField(null=True, blank=True)
    # Extras
    custom = models.JSONField(default=dict, blank=True)
    external_id = models.CharField(max_length=120, blank=True)
    external_ids = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    updated_at = models.DateTimeField(default=dj_timezone.now)

    objects = LeadQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["owner", "status"], name="lead_owner_status"),
            models.Index(fields=["team", "status"], name="lead_team_status"),
            models.Index(
                fields=["sla_due_at"],
                name="lead_sla_due",
                condition=Q(first_response_at__isnull=True, sla_breached_at__isnull=True),
            ),
            models.Index(fields=["-score"], name="lead_score"),
            models.Index(fields=["created_at"], name="lead_created"),
            models.Index(fields=["source"], name="lead_source"),
            models.Index(
                fields=["recycle_at"], name="lead_recycle", condition=Q(recycle_at__isnull=False)
            ),
            # Every capture writes a lead row, and each index is written with it: a reference
            # most leads leave empty is indexed only where it is set.
            *(
                models.Index(
                    fields=[name], name=f"lead_{name}", condition=Q(**{f"{name}__isnull": False})
                )
                for name in ("account", "campaign", "converted_opportunity", "merged_into")
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"], condition=~Q(external_id=""), name="lead_external_id"
            ),
            # Exact duplicates cannot exist among open leads, even under concurrent captures.
            models.UniqueConstraint(
                fields=["email_key"],
                condition=Q(status__in=[s.value for s in OPEN_STATUSES], merged_into__isnull=True)
                & ~Q(email_key=""),
                name="lead_open_email",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or self.company or f"Lead {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES and self.merged_into_id is None

    @property
    def mql_threshold(self) -> int:
        return self.team.mql_threshold if self.team_id else DEFAULT_MQL_THRESHOLD

    @property
    def stage(self) -> str:
        if self.status == Status.CONVERTED:
            opp = self.converted_opportunity
            return Stage.CUSTOMER if opp and opp.stage == "won" else Stage.OPPORTUNITY
        if self.status == Status.QUALIFIED:
            return Stage.SQL
        if self.status != Status.DISQUALIFIED and self.score >= self.mql_threshold:
            return Stage.MQL
        return Stage.SUSPECT

    @property
    def is_prospect(self) -> bool:
        bar = self.team.prospect_threshold if self.team_id else 30
        return self.fit_score >= bar


class IdempotencyKey(models.Model):
    """A client's Idempotency-Key: a replay returns the first result instead of capturing again."""

    key = models.CharField(max_length=200, unique=True)
    lead = models.ForeignKey(Lead, models.CASCADE, null=True, blank=True, related_name="+")
    response = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)


class Event(models.Model):
    """The append-only timeline: every capture, score, assignment, touch and transition."""

    # Indexed by (lead, at) below, which also serves lookups by lead alone; the actor only
    # where there is one (most events are the system's). Every capture writes four events.
    lead = models.ForeignKey(Lead, models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(max_length=40)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        User, models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    summary = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["lead", "at"], name="event_lead_at"),
            models.Index(
                fields=["actor"], name="event_actor", condition=models.Q(actor__isnull=False)
            ),
        ]
        ordering = ["-at", "-id"]


class Transition(models.Model):
    lead = models.ForeignKey(Lead, models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=Status.choices)
    to_status = models.CharField(max_length=16, choices=Status.choices)
    actor = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField()
    reason = models.TextField(blank=True)
    reason_code = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["at", "id"]


class Activity(models.Model):
    lead = models.ForeignKey(Lead, models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=16, choices=ActivityKind.choices)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    outcome = models.CharField(max_length=60, blank=True)
    actor = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]


class Task(models.Model):
    """A next step with a due time; the open one is mirrored on the lead for the queue."""

    lead = models.ForeignKey(Lead, models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=200)
    due_at = models.DateTimeField()
    assignee = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=dj_timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at"]
        indexes = [models.Index(fields=["assignee", "done_at", "due_at"], name="task_due")]


def is_stalled(lead: Lead, now) -> bool:
    """Needs attention: its next step is overdue, or it is being worked without one."""
    if lead.status not in OPEN_STATUSES or lead.status == Status.NURTURE:
        return False
    if lead.next_step_due_at and lead.next_step_due_at < now:
        return True
    return lead.status == Status.WORKING and not lead.next_step
