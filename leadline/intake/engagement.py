"""Engagement feeds: a webinar attended, a whitepaper downloaded, an email clicked, a badge scanned.

    record_events(items) → one result per event

Each event is matched to its lead by email (an open lead first, else the latest one), then by the
lead's external id. When none matches and the event type is configured to, a lead is captured
through the pipeline. The event lands on the lead's timeline, moves its last activity, and counts
towards its engagement score: the lead keeps a per-kind count (custom field `<kind>_count`) that
engagement scoring rules test, e.g. `custom.webinar_attended_count gte 1 → +20`.

An event sent twice is recorded once: by its `id`, or without one by what it says (kind, lead,
time and properties) when it carries its own time. An event type can re-engage: a nurtured lead
that attends, replies or books is moved back to working with a follow-up for its owner.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime

from leadline.core.choices import Status
from leadline.core.clock import clock
from leadline.core.errors import DomainError
from leadline.core.rows import update_rows
from leadline.intake import columns
from leadline.intake.models import EngagementEvent, EventType
from leadline.intake.pipeline import SCORE_FIELDS, apply_score, capture_batch
from leadline.leads.models import Event, Lead
from leadline.quality.normalize import clean_text, normalize_email
from leadline.scoring import mql
from leadline.scoring.rules import load_rules

MAX_BATCH = 1000
REENGAGE_WITHIN = timedelta(days=14)
FUTURE_SLACK = timedelta(minutes=5)
LEAD_FIELDS = (
    "first_name",
    "last_name",
    "name",
    "phone",
    "title",
    "company",
    "website",
    "country",
    "region",
    "city",
    "industry",
    "employees",
)
DETAIL_KEYS = (
    "title",
    "name",
    "webinar",
    "asset",
    "content",
    "url",
    "page",
    "subject",
    "campaign",
    "event",
    "meeting",
)


def count_key(kind: str) -> str:
    return f"{kind}_count"


@dataclass
class EventResult:
    status: str  # attached | created_lead | unmatched | duplicate | invalid
    lead_id: int | None = None
    errors: dict = field(default_factory=dict)
    event_id: int | None = None


@dataclass
class _Item:
    index: int
    kind: str
    at: datetime
    email: str
    external_id: str
    properties: dict
    dedupe_key: str | None
    lead_fields: dict
    event_type: EventType | None = None
    lead: Lead | None = None
    created: bool = False


def _moment(value, now: datetime, errors: dict) -> datetime | None:
    if value in (None, ""):
        return now
    if isinstance(value, datetime):
        moment = value
    else:
        moment = parse_datetime(str(value)) or columns.parse_datetime(str(value))
    if moment is None:
        errors["at"] = "use an ISO date-time such as 2026-03-02T15:00:00Z"
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=now.tzinfo)
    if moment > now + FUTURE_SLACK:
        errors["at"] = "an event cannot be in the future"
        return None
    return moment


def clean_event(
    data, types: dict[str, EventType], now: datetime, default_kind: str = ""
) -> tuple[_Item | None, dict]:
    """Validate one event: (item, errors by field)."""
    if not isinstance(data, dict):
        return None, {"": "each event must be an object"}
    errors: dict[str, str] = {}
    kind = clean_text(data.get("kind") or data.get("type") or default_kind, 40).lower()
    kind = kind.replace(" ", "_").replace("-", "_")
    if not kind:
        errors["kind"] = "say what happened, e.g. webinar_attended"
    elif kind not in types:
        errors["kind"] = f"unknown event type {kind!r}; use one of {', '.join(sorted(types))}"
    when = data.get("at") or data.get("time") or data.get("timestamp")
    timed = when not in (None, "")
    at = _moment(when, now, errors)
    lead = data.get("lead") if isinstance(data.get("lead"), dict) else {}
    email, problem = normalize_email(data.get("email") or lead.get("email"))
    if problem:
        errors["email"] = problem
    external_id = clean_text(data.get("external_id") or lead.get("external_id"), 120)
    if not email and not external_id and "email" not in errors:
        errors["email"] = "give the lead's email (or its external_id) to attach the event to"
    properties = data.get("properties") or {}
    if not isinstance(properties, dict):
        errors["properties"] = "must be an object"
        properties = {}
    event_id = clean_text(data.get("id") or data.get("event_id"), 160)
    fields = {k: data.get(k, lead.get(k)) for k in LEAD_FIELDS}
    fields = {k: v for k, v in fields.items() if v not in (None, "")}
    if errors:
        return None, errors
    if event_id:
        dedupe_key = f"{kind}:{event_id}"
    elif timed:
        # No id, but a time of its own: the event is what it says (who, what, when, details),
        # so a retried POST or a feed sent twice is still recorded once.
        dedupe_key = content_key(kind, email, external_id, at, properties)
    else:
        dedupe_key = None  # "now": nothing tells a second send from a second event
    return _Item(
        index=0,
        kind=kind,
        at=at,
        email=email,
        external_id=external_id,
        properties=properties,
        dedupe_key=dedupe_key,
        lead_fields=fields,
    ), {}


def content_key(kind: str, email: str, external_id: str, at: datetime, properties: dict) -> str:
    what = [kind, email.lower(), external_id, at.astimezone(UTC).isoformat(), properties]
    digest = hashlib.sha1(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()
    return f"{kind}:~{digest[:32]}"


def active_types() -> dict[str, EventType]:
    return {t.kind: t for t in EventType.objects.filter(is_active=True)}


def record_events(
    items: list,
    *,
    channel: str = "api",
    actor=None,
    now: datetime | None = None,
    default_kind: str = "",
    dry_run: bool = False,
) -> list[EventResult]:
    """Record a batch of events; each gets its own result and a bad one never stops the others."""
    if len(items) > MAX_BATCH:
        raise DomainError({"events": f"at most {MAX_BATCH} events per batch (got {len(items)})"})
    now = now or clock.now()
    types = active_types()
    results: list[EventResult | None] = [None] * len(items)
    valid: list[_Item] = []
    for index, data in enumerate(items):
        item, errors = clean_event(data, types, now, default_kind)
        if errors:
            results[index] = EventResult("invalid", errors=errors)
        else:
            item.index, item.event_type = index, types[item.kind]
            valid.append(item)
    for attempt in range(3):
        try:
            with transaction.atomic():
                for item, result in _record(valid, channel, actor, now, dry_run):
                    results[item.index] = result
            break
        except IntegrityError:
            # The same event id arrived concurrently: the next attempt sees it as a duplicate.
            if attempt == 2:
                raise
    return results  # type: ignore[return-value]


def _record(items: list[_Item], channel, actor, now, dry_run):
    seen_keys = {i.dedupe_key for i in items if i.dedupe_key}
    known = (
        set(
            EngagementEvent.objects.filter(dedupe_key__in=seen_keys).values_list(
                "dedupe_key", flat=True
            )
        )
        if seen_keys
        else set()
    )
    fresh, out, batch_keys = [], [], set()
    for item in items:
        if item.dedupe_key and (item.dedupe_key in known or item.dedupe_key in batch_keys):
            out.append((item, EventResult("duplicate")))
            continue
        if item.dedupe_key:
            batch_keys.add(item.dedupe_key)
        fresh.append(item)
    _match(fresh)
    if not dry_run:
        _create_leads(
            [i for i in fresh if i.lead is None and i.event_type.creates_lead], channel, actor, now
        )
    else:
        for item in fresh:
            item.created = item.lead is None and item.event_type.creates_lead
    attached = [i for i in fresh if i.lead is not None]
    if not dry_run and attached:
        _apply(attached, channel, actor, now)
    records = []
    for item in fresh:
        status = (
            "created_lead" if item.created else "attached" if item.lead is not None else "unmatched"
        )
        records.append(
            EngagementEvent(
                kind=item.kind,
                at=item.at,
                received_at=now,
                email=item.email,
                external_id=item.external_id,
                properties=item.properties,
                dedupe_key=item.dedupe_key,
                channel=channel,
                status=status,
                lead_id=item.lead.pk if item.lead is not None else None,
            )
        )
    if not dry_run:
        EngagementEvent.objects.bulk_create(records)
    for item, record in zip(fresh, records, strict=True):
        out.append((item, EventResult(record.status, record.lead_id, event_id=record.pk)))
    return out


def _match(items: list[_Item]) -> None:
    """By email (an open lead first, else the most recent), then by the lead's external id."""
    emails = {i.email for i in items if i.email}
    by_email: dict[str, Lead] = {}
    if emails:
        for lead in Lead.objects.live().filter(email_key__in=emails).order_by("id"):
            current = by_email.get(lead.email_key)
            if current is None or lead.is_open or not current.is_open:
                by_email[lead.email_key] = lead
    ids = {i.external_id for i in items if i.external_id}
    by_id = (
        {lead.external_id: lead for lead in Lead.objects.live().filter(external_id__in=ids)}
        if ids
        else {}
    )
    for item in items:
        item.lead = by_email.get(item.email) or by_id.get(item.external_id)


def _create_leads(items: list[_Item], channel, actor, now) -> None:
    """Capture a lead for unmatched events whose type says so (one per email)."""
    firsts: dict[str, _Item] = {}
    for item in items:
        firsts.setdefault(item.email or item.external_id, item)
    payloads = []
    for item in firsts.values():
        data = {
            **item.lead_fields,
            "source": item.event_type.lead_source,
            "source_detail": _detail(item)[:200],
        }
        if item.email:
            data["email"] = item.email
        if item.external_id:
            data["external_id"] = item.external_id
        payloads.append(data)
    results = capture_batch(payloads, channel=channel, actor=actor, now=now)
    leads = {}
    for (key, item), result in zip(firsts.items(), results, strict=True):
        if isinstance(result, DomainError):
            # The event's lead fields were unusable: try with the email alone.
            retry = (
                capture_batch(
                    [{"email": item.email, "source": item.event_type.lead_source}],
                    channel=channel,
                    actor=actor,
                    now=now,
                )[0]
                if item.email
                else None
            )
            if retry is None or isinstance(retry, DomainError):
                continue
            result = retry
        leads[key] = result.lead
        item.created = result.created
    for item in items:
        item.lead = leads.get(item.email or item.external_id)


def _detail(item: _Item) -> str:
    label = item.event_type.label
    for key in DETAIL_KEYS:
        value = item.properties.get(key)
        if value not in (None, "") and not isinstance(value, dict | list):
            return f"{label}: {clean_text(value, 150)}"
    return label


def _apply(items: list[_Item], channel, actor, now) -> None:
    """Count the events on their leads, move last activity, re-score, write the timeline."""
    ids = sorted({i.lead.pk for i in items})
    leads = {
        lead.pk: lead
        for lead in Lead.objects.select_for_update(of=("self",))
        .select_related("team")
        .filter(pk__in=ids)
        .order_by("pk")
    }
    rules = load_rules()
    befores = {pk: lead.score for pk, lead in leads.items()}
    timeline = []
    for item in sorted(items, key=lambda i: i.at):
        lead = leads[item.lead.pk]
        custom = dict(lead.custom or {})
        key = count_key(item.kind)
        custom[key] = int(custom.get(key) or 0) + 1
        lead.custom = custom
        if lead.last_activity_at is None or item.at > lead.last_activity_at:
            lead.last_activity_at = item.at
        item.lead = lead
        timeline.append(
            Event(
                lead=lead,
                kind="engagement",
                at=item.at,
                actor=actor,
                summary=_detail(item)[:300],
                data={"kind": item.kind, "properties": item.properties, "channel": channel},
            )
        )
    for pk, lead in leads.items():
        lead.updated_at = now
        apply_score(lead, rules, now)
        if lead.score != befores[pk]:
            timeline.append(
                Event(
                    lead=lead,
                    kind="scored",
                    at=now,
                    summary=f"Score {befores[pk]} → {lead.score} after engagement",
                    data={
                        "fit": lead.fit_score,
                        "engagement": lead.engagement_score,
                        "parts": lead.score_parts,
                    },
                )
            )
    update_rows(
        Lead, list(leads.values()), ("custom", "last_activity_at", "updated_at", *SCORE_FIELDS)
    )
    Event.objects.bulk_create(timeline)
    # A lead the events lifted over its team's MQL line crosses it now (the team's MQL actions,
    # such as routing again or a task, run as a job), not at the next sweep.
    mql.sync(leads.values(), now, cause="engagement")
    back: dict[int, _Item] = {}
    for item in sorted(items, key=lambda i: i.at):
        if _brings_back(item, now):
            back.setdefault(item.lead.pk, item)
    for item in back.values():
        _reengage(item.lead, item, now)


def _brings_back(item: _Item, now: datetime) -> bool:
    """A re-engaging event of a nurtured lead, recent and after it was nurtured: last year's
    webinar attendance, imported today, does not pull a lead back into the queue."""
    lead = item.lead
    return (
        item.event_type.reengages
        and lead.status == Status.NURTURE
        and lead.merged_into_id is None
        and item.at >= now - REENGAGE_WITHIN
        and (lead.status_changed_at is None or item.at > lead.status_changed_at)
    )


def _reengage(lead: Lead, item: _Item, now: datetime) -> None:
    """A nurtured lead who acted (attended, replied, booked, downloaded) is back in the
    queue: nurture → working, a follow-up for its owner (routed now when it has none)."""
    from leadline.core.models import Job
    from leadline.leads import actions
    from leadline.routing.assign import Router, team_calendar

    detail = _detail(item)
    if lead.team_id and (lead.owner_id is None or not lead.owner.is_active):
        router = Router(now)
        owner_id, _reason = router.pick(lead.team)
        if owner_id is not None:
            router.flush()
            owner = get_user_model().objects.get(pk=owner_id)
            lead = actions.reassign(lead, owner, None, reason=f"re-engaged ({detail})", now=now)
    due = team_calendar(lead.team).add_days(now, 1)
    actions.transition(
        lead,
        Status.WORKING,
        None,
        reason=f"Re-engaged: {detail}",
        next_step=f"Follow up: {detail}"[:200],
        next_step_due_at=due,
        now=now,
    )
    if lead.owner_id:
        Job.objects.create(
            kind="notify_rule",
            lead_id=lead.pk,
            run_at=now,
            created_at=now,
            payload={"rule": f"Re-engaged ({detail})"},
        )


# --- event types ---------------------------------------------------------------------------------

EVENT_TYPE_SETTINGS = ("kind", "label", "creates_lead", "reengages", "lead_source", "is_active")


def save_event_type(event_type: EventType | None, data: dict) -> EventType:
    """Create (None) or change an event type from plain data: the settings page and the API."""
    from django.utils.text import slugify

    from leadline.core.choices import Source

    event_type = event_type or EventType()
    errors = {name: "unknown setting" for name in sorted(set(data) - set(EVENT_TYPE_SETTINGS))}
    if "kind" in data:
        kind = slugify(str(data["kind"] or "")).replace("-", "_")[:40]
        if event_type.pk and kind != event_type.kind:
            errors["kind"] = "an event type's kind cannot change (events already carry it)"
        elif not kind:
            errors["kind"] = "name the kind, e.g. trial_started"
        elif EventType.objects.filter(kind=kind).exclude(pk=event_type.pk).exists():
            errors["kind"] = f"{kind!r} exists already"
        event_type.kind = kind
    elif not event_type.pk:
        errors["kind"] = "name the kind, e.g. trial_started"
    if "label" in data:
        event_type.label = clean_text(data["label"], 100)
    if not event_type.label:
        event_type.label = event_type.kind.replace("_", " ").capitalize()
    if "lead_source" in data:
        if data["lead_source"] not in Source.values:
            errors["lead_source"] = f"unknown source; use one of {', '.join(Source.values)}"
        event_type.lead_source = data["lead_source"]
    for flag in ("creates_lead", "reengages", "is_active"):
        if flag in data:
            if not isinstance(data[flag], bool):
                errors[flag] = "true or false"
            setattr(event_type, flag, data[flag] is True)
    if errors:
        raise DomainError(errors)
    event_type.save()
    return event_type
