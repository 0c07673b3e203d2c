"""Lead list filters shared by the API, the web list and `leadline leads`."""

from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.dateparse import parse_date, parse_datetime

from leadline.core.choices import Stage, Status
from leadline.core.errors import DomainError
from leadline.leads.models import Lead

FILTERS = (
    "owner",
    "team",
    "status",
    "stage",
    "source",
    "campaign",
    "score_min",
    "score_max",
    "created_after",
    "created_before",
    "q",
)


def _moment(value: str, name: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise DomainError({name: "use a date (2026-01-31) or ISO date-time"})
        moment = datetime(day.year, day.month, day.day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def filter_leads(qs, params: dict, user=None):
    """Apply the shared filters; bad values raise DomainError naming the filter."""
    p = {k: v for k, v in params.items() if k in FILTERS and v not in (None, "")}
    if "owner" in p:
        owner = str(p["owner"])
        if owner == "me" and user is not None:
            qs = qs.filter(owner=user)
        elif owner == "none":
            qs = qs.filter(owner__isnull=True)
        elif owner.isdigit():
            qs = qs.filter(owner_id=int(owner))
        else:
            found = get_user_model().objects.filter(username=owner).first()
            qs = qs.filter(owner=found) if found else qs.none()
    if "team" in p:
        team = str(p["team"])
        qs = qs.filter(team_id=int(team)) if team.isdigit() else qs.filter(team__slug=team)
    if "status" in p:
        statuses = str(p["status"]).split(",")
        bad = [s for s in statuses if s not in Status.values]
        if bad:
            raise DomainError({"status": f"unknown status {bad[0]!r}"})
        qs = qs.filter(status__in=statuses)
    if "stage" in p:
        if p["stage"] not in Stage.values:
            raise DomainError({"stage": f"unknown stage; use one of {', '.join(Stage.values)}"})
        qs = qs.with_stage().filter(stage_value=p["stage"])
    if "source" in p:
        qs = qs.filter(source__in=str(p["source"]).split(","))
    if "campaign" in p:
        campaign = str(p["campaign"])
        qs = (
            qs.filter(campaign_id=int(campaign))
            if campaign.isdigit()
            else qs.filter(campaign__name__iexact=campaign)
        )
    for name, lookup in (("score_min", "score__gte"), ("score_max", "score__lte")):
        if name in p:
            try:
                qs = qs.filter(**{lookup: int(p[name])})
            except (TypeError, ValueError):
                raise DomainError({name: "must be a whole number"}) from None
    if "created_after" in p:
        qs = qs.filter(created_at__gte=_moment(str(p["created_after"]), "created_after"))
    if "created_before" in p:
        qs = qs.filter(created_at__lt=_moment(str(p["created_before"]), "created_before"))
    if "q" in p:
        text = str(p["q"]).strip()
        words = Q()
        for word in text.split()[:5]:
            words &= (
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(email__icontains=word)
                | Q(company__icontains=word)
                | Q(phone_e164__icontains=word)
            )
        qs = qs.filter(words)
    return qs


def visible_leads(user, params: dict):
    return filter_leads(Lead.objects.visible_to(user), params, user)
