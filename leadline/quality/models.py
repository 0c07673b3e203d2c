"""Data-quality records: blocking keys of stored leads, duplicate candidates for review, merges
(with everything needed to undo them), the match model in use and per-team thresholds."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone as dj_timezone

User = settings.AUTH_USER_MODEL


class LeadKey(models.Model):
    """One blocking key of a live lead ("e:jsmith@acme.com", "n:john|smith", ...).

    Capture-time matching finds candidates with ``key IN (...)`` on the (key, lead) index; the
    rows are kept current by ``duplicates.record_keys`` and rebuilt by ``leadline dedupe --db``.
    """

    lead = models.ForeignKey("leads.Lead", models.CASCADE, related_name="match_keys")
    kind = models.CharField(max_length=4, help_text="the blocking rule that made the key")
    key = models.CharField(max_length=200)

    class Meta:
        indexes = [models.Index(fields=["key", "lead"], name="leadkey_key_lead")]

    def __str__(self) -> str:
        return self.key


class CandidateStatus(models.TextChoices):
    OPEN = "open", "Open"
    MERGED = "merged", "Merged"
    DISMISSED = "dismissed", "Not a duplicate"


class CandidateQuerySet(models.QuerySet):
    def live(self):
        """Pairs whose two leads both still exist as leads (neither merged away)."""
        return self.filter(lead_a__merged_into__isnull=True, lead_b__merged_into__isnull=True)

    def visible_to(self, user):
        """Admins see every pair; managers the pairs whose two leads are in teams they manage."""
        from leadline.core.permissions import is_admin, managed_teams

        if not user.is_authenticated:
            return self.none()
        if is_admin(user):
            return self
        teams = managed_teams(user)
        return self.filter(lead_a__team_id__in=teams, lead_b__team_id__in=teams)


class DuplicateCandidate(models.Model):
    """A pair of leads that may be the same person, waiting for (or given) a reviewer's verdict.

    The pair is stored once, lower id first; a dismissed pair is never proposed again.
    """

    # Indexes: lead_a by the unique pair (lead_a first), lead_b by its own below; the verdict's
    # user and merge only where set (a capture can queue a pair or two for every lead).
    lead_a = models.ForeignKey("leads.Lead", models.CASCADE, related_name="+", db_index=False)
    lead_b = models.ForeignKey("leads.Lead", models.CASCADE, related_name="+", db_index=False)
    probability = models.FloatField()
    match_weight = models.FloatField(default=0)
    evidence = models.JSONField(default=list, blank=True, help_text="[{field, level, weight}]")
    status = models.CharField(
        max_length=10, choices=CandidateStatus.choices, default=CandidateStatus.OPEN
    )
    found_by = models.CharField(max_length=20, default="capture", help_text="capture or scan")
    created_at = models.DateTimeField(default=dj_timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        User, models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    merge = models.ForeignKey(
        "MergeRecord",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="candidates",
        db_index=False,
    )

    objects = CandidateQuerySet.as_manager()

    class Meta:
        ordering = ["-probability", "id"]
        indexes = [
            models.Index(fields=["status", "-probability"], name="candidate_queue"),
            models.Index(fields=["lead_b"], name="candidate_lead_b"),
            models.Index(
                fields=["decided_by"],
                name="candidate_decided_by",
                condition=Q(decided_by__isnull=False),
            ),
            models.Index(
                fields=["merge"], name="candidate_merge", condition=Q(merge__isnull=False)
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["lead_a", "lead_b"], name="candidate_pair"),
            models.CheckConstraint(
                condition=Q(lead_a__lt=models.F("lead_b")), name="candidate_pair_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"leads {self.lead_a_id} and {self.lead_b_id} ({self.probability:.2f})"


class MergeRecord(models.Model):
    """A merge, with a full snapshot of every lead before it and the rows moved to the survivor,
    so that ``merge.unmerge`` puts everything back."""

    survivor = models.ForeignKey("leads.Lead", models.CASCADE, related_name="merge_records")
    merged_ids = models.JSONField(default=list, help_text="ids of the leads merged away")
    by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    reason = models.TextField(blank=True)
    automatic = models.BooleanField(default=False)
    at = models.DateTimeField()
    # lead id -> the lead as serialised before the merge (Django's JSON serialisation).
    snapshots = models.JSONField(default=dict)
    # field -> [before, after] on the survivor; the rule or the override that chose it.
    changes = models.JSONField(default=dict, blank=True)
    choices = models.JSONField(default=dict, blank=True)
    # "app.model" -> {merged lead id -> [row ids moved to the survivor]}.
    moved = models.JSONField(default=dict, blank=True)
    unmerged_at = models.DateTimeField(null=True, blank=True)
    unmerged_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"merge #{self.pk} into lead {self.survivor_id}"

    @property
    def is_undone(self) -> bool:
        return self.unmerged_at is not None


class MatchModelVersion(models.Model):
    """A match model estimated from the stored leads (and refined by reviewers' decisions)."""

    model = models.JSONField(help_text="MatchModel.to_dict()")
    leads = models.PositiveIntegerField(default=0, help_text="leads it was estimated from")
    decisions = models.PositiveIntegerField(default=0, help_text="reviewer decisions used")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"match model #{self.pk}"


class MatchSettings(models.Model):
    """Match thresholds and survivorship rules: one row per team, plus a default row (no team)."""

    team = models.OneToOneField(
        "core.Team", models.CASCADE, null=True, blank=True, related_name="match_settings"
    )
    review_threshold = models.FloatField(
        default=0.5, help_text="match probability from which a pair goes to the review queue"
    )
    auto_merge_threshold = models.FloatField(
        default=0.99,
        help_text=(
            "match probability from which a capture counts as the same lead "
            "(1: never by itself, every match goes to review)"
        ),
    )
    survivorship = models.JSONField(
        default=dict, blank=True, help_text="field -> rule, over the built-in rules"
    )
    updated_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        verbose_name_plural = "match settings"
        constraints = [
            models.UniqueConstraint(
                fields=["team"], condition=Q(team__isnull=True), name="one_default_match_settings"
            ),
            models.CheckConstraint(
                condition=Q(review_threshold__gte=0)
                & Q(review_threshold__lte=models.F("auto_merge_threshold"))
                & Q(auto_merge_threshold__lte=1),
                name="match_thresholds_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"match settings for {self.team or 'every team'}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from leadline.quality.merge import RULES, SURVIVORSHIP

        if not 0 <= self.review_threshold <= self.auto_merge_threshold <= 1:
            raise ValidationError(
                {"review_threshold": "0 ≤ review threshold ≤ auto-merge threshold ≤ 1"}
            )
        for name, rule in (self.survivorship or {}).items():
            if name not in SURVIVORSHIP:
                raise ValidationError({"survivorship": f"{name!r} is not a mergeable field"})
            if rule not in RULES:
                raise ValidationError(
                    {"survivorship": f"{name}: unknown rule {rule!r}; use {', '.join(RULES)}"}
                )


class AccountKey(models.Model):
    """Normalised name keys of an account, for fuzzy lead-to-account matching."""

    account = models.ForeignKey("deals.Account", models.CASCADE, related_name="match_keys")
    key = models.CharField(max_length=200)

    class Meta:
        indexes = [models.Index(fields=["key", "account"], name="accountkey_key")]


class EnrichedValue(models.Model):
    """Provenance of an enriched field: which provider gave which value, and when."""

    lead = models.ForeignKey("leads.Lead", models.CASCADE, related_name="enrichment")
    field = models.CharField(max_length=40)
    value = models.JSONField(null=True)
    provider = models.CharField(max_length=60)
    at = models.DateTimeField()
    applied = models.BooleanField(default=False, help_text="written to the lead")

    class Meta:
        ordering = ["field", "-at"]
        indexes = [models.Index(fields=["lead", "field"], name="enriched_lead_field")]
