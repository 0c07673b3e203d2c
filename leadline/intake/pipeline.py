"""The capture pipeline: one implementation for every channel, one lead or a thousand.

    validate & normalise → idempotency → match → create or touch → enrich → score → route
      → start SLA clock → record events → (outbox) owner notification

Work that needs no database (normalising, enriching, scoring) happens before the transaction; the
transaction itself is short (SQLite allows one writer at a time) and holds only the lookups and
writes that must be atomic together. Side effects are written to the Job outbox in the same
transaction and done by the worker after commit, so a failing mail server never loses a lead.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction

from leadline.core.choices import Source
from leadline.core.clock import clock
from leadline.core.errors import DomainError
from leadline.core.models import Campaign, Job
from leadline.leads.models import Event, IdempotencyKey, Lead
from leadline.quality import enrich
from leadline.quality.normalize import (
    clean_text,
    company_domain,
    is_free_mail,
    normalize_country,
    normalize_email,
    normalize_name,
    normalize_phone,
    phone_country,
)
from leadline.routing.assign import Router
from leadline.scoring.rules import Rule, load_rules, score

TEXT_FIELDS = {
    "title": 150,
    "company": 200,
    "industry": 100,
    "region": 100,
    "city": 100,
    "timezone": 64,
    "source_detail": 200,
    "website": 300,
    "utm_source": 100,
    "utm_medium": 100,
    "utm_campaign": 100,
    "utm_term": 100,
    "utm_content": 100,
    "consent_text": 2000,
    "external_id": 120,
}
BOOL_FIELDS = ("consent_email", "do_not_contact", "do_not_email", "do_not_call")
# Fields a repeat capture may fill in on the existing lead when they are still blank there.
FILLABLE = (
    "first_name last_name phone phone_e164 title seniority department company company_domain "
    "website industry employees revenue country region city timezone"
).split()


@dataclass
class CaptureResult:
    lead: Lead
    outcome: str  # created | matched | replayed
    errors: dict = field(default_factory=dict)

    @property
    def created(self) -> bool:
        return self.outcome == "created"


def _bool(value, name: str, errors: dict):
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y", "on"):
        return True
    if text in ("0", "false", "no", "n", "off"):
        return False
    errors[name] = "must be true or false"
    return None


def _number(value, name: str, errors: dict, cast=int):
    if value is None or value == "":
        return None
    try:
        number = cast(str(value).replace(",", "").replace("_", "").strip())
    except (ValueError, InvalidOperation):
        errors[name] = "must be a number"
        return None
    if number < 0:
        errors[name] = "cannot be negative"
        return None
    return number


INPUT_FIELDS = frozenset(
    [
        *TEXT_FIELDS,
        *BOOL_FIELDS,
        "first_name",
        "last_name",
        "name",
        "email",
        "phone",
        "country",
        "employees",
        "revenue",
        "source",
        "custom",
        "external_ids",
        "campaign",
    ]
)


def normalise(data: dict) -> tuple[dict, dict]:
    """Validate and normalise raw capture data: (clean fields, errors by field)."""
    errors: dict[str, str] = {
        str(name): "unknown field" for name in data if name not in INPUT_FIELDS
    }
    clean: dict = {}
    first, last = data.get("first_name"), data.get("last_name")
    if not first and not last and data.get("name"):
        first, _, last = clean_text(data["name"], 200).partition(" ")
    clean["first_name"] = normalize_name(first)
    clean["last_name"] = normalize_name(last)
    email, problem = normalize_email(data.get("email"))
    if problem:
        errors["email"] = problem
    clean["email"] = clean["email_key"] = email
    for name, limit in TEXT_FIELDS.items():
        value = data.get(name)
        if value is not None and not isinstance(value, str | int | float):
            errors[name] = "must be text"
            continue
        clean[name] = clean_text(value, limit)
    country_raw = data.get("country")
    clean["country"] = normalize_country(country_raw)
    if country_raw and not clean["country"]:
        errors["country"] = "unknown country (use an ISO code such as US, GB, DE)"
    phone, e164, problem = normalize_phone(data.get("phone"), clean["country"])
    if problem:
        errors["phone"] = problem
    clean["phone"], clean["phone_e164"] = phone, e164
    if not clean["country"] and e164:
        clean["country"] = phone_country(e164)
    clean["employees"] = _number(data.get("employees"), "employees", errors)
    clean["revenue"] = _number(data.get("revenue"), "revenue", errors, Decimal)
    for name in BOOL_FIELDS:
        clean[name] = _bool(data.get(name), name, errors)
    for name in ("do_not_contact", "do_not_email", "do_not_call"):
        clean[name] = bool(clean[name])
    source = clean_text(data.get("source"), 40).lower() or Source.API
    if source not in Source.values:
        errors["source"] = f"unknown source; use one of {', '.join(Source.values)}"
    clean["source"] = source
    custom = data.get("custom") or {}
    if not isinstance(custom, dict):
        errors["custom"] = "must be an object of custom field values"
        custom = {}
    clean["custom"] = custom
    external_ids = data.get("external_ids") or {}
    clean["external_ids"] = external_ids if isinstance(external_ids, dict) else {}
    if not (email or e164 or clean["company"] or clean["last_name"]) and "email" not in errors:
        errors["email"] = "give at least an email, a phone, a company or a name"
    # Enrichment derived from the data itself.
    clean["company_domain"] = company_domain(email, clean["website"])
    clean["seniority"] = enrich.seniority(clean["title"])
    clean["department"] = enrich.department(clean["title"])
    return clean, errors


def score_record(fields: dict) -> dict:
    record = dict(fields)
    email = fields.get("email") or ""
    record["free_mail"] = is_free_mail(email) if email else None
    return record


def apply_score(lead: Lead, rules: list[Rule], now: datetime) -> None:
    fields = {f.attname: getattr(lead, f.attname) for f in Lead._meta.concrete_fields}
    fields["last_engaged_at"] = lead.last_activity_at or lead.captured_at
    result = score(score_record(fields), rules, now)
    lead.fit_score, lead.engagement_score = result.fit, result.engagement
    lead.score, lead.score_parts = result.total, result.parts


def rescore(lead: Lead, now: datetime) -> None:
    apply_score(lead, load_rules(), now)


def _campaign(data: dict, errors: dict) -> Campaign | None:
    ref = data.get("campaign")
    if ref in (None, ""):
        return None
    query = (
        Campaign.objects.filter(pk=ref)
        if str(ref).isdigit()
        else Campaign.objects.filter(name__iexact=str(ref).strip())
    )
    found = query.first()
    if found is None:
        errors["campaign"] = f"unknown campaign {ref!r}"
    return found


SNAPSHOT_FIELDS = (
    "title seniority department industry employees country region city source source_detail "
    "utm_source utm_medium utm_campaign consent_email do_not_contact do_not_email do_not_call"
).split()


def capture_snapshot(clean: dict, campaign) -> dict:
    """What was known when the lead arrived: the predictive model's input, never edited later."""
    snap = {name: clean.get(name) for name in SNAPSHOT_FIELDS}
    email = clean.get("email") or ""
    snap["free_mail"] = is_free_mail(email) if email else None
    snap["has_phone"] = bool(clean.get("phone_e164"))
    snap["has_company"] = bool(clean.get("company"))
    snap["revenue"] = float(clean["revenue"]) if clean.get("revenue") is not None else None
    snap["campaign"] = campaign.name if campaign else None
    snap["custom"] = clean.get("custom") or {}
    return snap


def _new_lead(clean: dict, campaign, now: datetime) -> Lead:
    lead = Lead(**clean)
    lead.campaign = campaign
    lead.capture_snapshot = capture_snapshot(clean, campaign)
    lead.captured_at = lead.created_at = lead.updated_at = lead.status_changed_at = now
    lead.last_activity_at = now
    return lead


def _touch(lead: Lead, clean: dict, campaign, channel: str, now: datetime, rules) -> list[Event]:
    """A repeat capture of an open lead: fill its blanks, count the touch, re-score."""
    filled = [name for name in FILLABLE if clean.get(name) and not getattr(lead, name)]
    for name in filled:
        setattr(lead, name, clean[name])
    if clean.get("custom"):
        lead.custom = {**clean["custom"], **(lead.custom or {})}
    if clean.get("consent_email") is not None and lead.consent_email is not False:
        lead.consent_email = clean["consent_email"]
    lead.touch_count += 1
    lead.last_activity_at = lead.updated_at = now
    before = lead.score
    apply_score(lead, rules, now)
    detail = f"Captured again via {channel} ({clean['source']}"
    detail += f", campaign {campaign}" if campaign else ""
    return [
        Event(
            lead=lead,
            kind="recaptured",
            at=now,
            summary=detail + ")",
            data={
                "source": clean["source"],
                "channel": channel,
                "filled": filled,
                "campaign": campaign.pk if campaign else None,
            },
        ),
        Event(
            lead=lead,
            kind="scored",
            at=now,
            summary=f"Score {before} → {lead.score}",
            data={
                "fit": lead.fit_score,
                "engagement": lead.engagement_score,
                "parts": lead.score_parts,
            },
        ),
    ]


def _created_events(lead: Lead, channel: str, now: datetime, actor) -> list[Event]:
    reason = lead.routing_reason
    events = [
        Event(
            lead=lead,
            kind="captured",
            at=now,
            actor=actor,
            summary=f"Captured via {channel} ({lead.source})",
            data={"channel": channel, "source": lead.source, "campaign": lead.campaign_id},
        ),
        Event(
            lead=lead,
            kind="scored",
            at=now,
            summary=f"Scored {lead.score} (fit {lead.fit_score}, engagement "
            f"{lead.engagement_score})",
            data={
                "fit": lead.fit_score,
                "engagement": lead.engagement_score,
                "parts": lead.score_parts,
            },
        ),
        Event(
            lead=lead,
            kind="assigned",
            at=now,
            summary=reason.get("explanation", "Assigned"),
            data=reason,
        ),
    ]
    if lead.sla_due_at:
        events.append(
            Event(
                lead=lead,
                kind="sla_started",
                at=now,
                summary=f"Speed-to-lead clock started: respond by "
                f"{lead.sla_due_at:%Y-%m-%d %H:%M} UTC",
                data={"due_at": lead.sla_due_at.isoformat()},
            )
        )
    return events


def _route(lead: Lead, router: Router) -> None:
    assignment = router.route(
        score_record(
            {f.attname: getattr(lead, f.attname) for f in Lead._meta.concrete_fields}
            | {"custom": lead.custom}
        )
    )
    lead.team = assignment.team
    lead.owner_id = assignment.owner_id
    lead.routing_reason = assignment.reason
    lead.sla_due_at = assignment.sla_due_at
    lead.sla_policy = assignment.reason.get("sla_policy", "")
    lead.assigned_at = lead.captured_at if assignment.owner_id else None


def _notify_jobs(leads: list[Lead], now: datetime) -> list[Job]:
    # One outbox row per new lead; the worker fans it out (owner email, auto-response, webhooks)
    # after commit, each as its own retried job, so the capture transaction stays short.
    return [
        Job(
            kind="lead_captured",
            lead_id=lead.pk,
            run_at=now,
            created_at=now,
            payload={"owner": lead.owner_id},
        )
        for lead in leads
    ]


def capture(
    data: dict,
    *,
    channel: str = "api",
    actor=None,
    idempotency_key: str = "",
    now: datetime | None = None,
) -> CaptureResult:
    """Capture one lead. Raises DomainError (field → problem) and stores nothing on bad input."""
    now = now or clock.now()
    clean, errors = normalise(data)
    campaign = _campaign(data, errors)
    if errors:
        raise DomainError(errors)
    rules = load_rules()
    for attempt in range(3):
        try:
            return _capture_one(clean, campaign, channel, actor, idempotency_key, rules, now)
        except IntegrityError:
            # A concurrent capture of the same email, external id or key won the race:
            # the next attempt finds its lead and touches or replays it.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _capture_one(clean, campaign, channel, actor, key, rules, now) -> CaptureResult:
    with transaction.atomic():
        if key:
            seen = IdempotencyKey.objects.select_related("lead").filter(key=key).first()
            if seen and seen.lead:
                return CaptureResult(seen.lead, "replayed")
        if clean["external_id"]:
            existing = Lead.objects.filter(external_id=clean["external_id"]).first()
            if existing:
                return CaptureResult(existing, "replayed")
        match = None
        if clean["email_key"]:
            match = (
                Lead.objects.open().select_for_update().filter(email_key=clean["email_key"]).first()
            )
        if match:
            events = _touch(match, clean, campaign, channel, now, rules)
            match.save()
            Event.objects.bulk_create(events)
            result = CaptureResult(match, "matched")
        else:
            lead = _new_lead(clean, campaign, now)
            apply_score(lead, rules, now)
            router = Router(now)
            _route(lead, router)
            lead.save(force_insert=True)
            router.flush()
            Event.objects.bulk_create(_created_events(lead, channel, now, actor))
            Job.objects.bulk_create(_notify_jobs([lead], now))
            result = CaptureResult(lead, "created")
        if key:
            IdempotencyKey.objects.create(key=key, lead=result.lead, created_at=now)
        return result


def capture_batch(
    items: list[dict], *, channel: str = "api", actor=None, now: datetime | None = None
) -> list[CaptureResult | DomainError]:
    """Capture many leads in one short transaction; each item gets its own result or error.

    Set-based: one lookup for known external ids, one for open leads with the same emails,
    one bulk insert each for leads, events and notification jobs.
    """
    now = now or clock.now()
    rules = load_rules()
    campaigns: dict[str, Campaign | None] = {}
    prepared: list[tuple[int, dict, Campaign | None]] = []
    results: list[CaptureResult | DomainError | None] = [None] * len(items)
    for index, data in enumerate(items):
        if not isinstance(data, dict):
            results[index] = DomainError({"": "each item must be an object of lead fields"})
            continue
        clean, errors = normalise(data)
        ref = str(data.get("campaign") or "")
        if ref and ref not in campaigns:
            campaigns[ref] = _campaign(data, errors)
        elif ref and campaigns[ref] is None:
            errors["campaign"] = f"unknown campaign {ref!r}"
        if errors:
            results[index] = DomainError(errors)
        else:
            prepared.append((index, clean, campaigns.get(ref)))
    for attempt in range(3):
        try:
            with transaction.atomic():
                for index, result in _capture_many(prepared, channel, actor, rules, now):
                    results[index] = result
            break
        except IntegrityError:
            if attempt == 2:
                raise
    return results


def _capture_many(prepared, channel, actor, rules, now):
    external = [c["external_id"] for _, c, _ in prepared if c["external_id"]]
    known_external = (
        {lead.external_id: lead for lead in Lead.objects.filter(external_id__in=external)}
        if external
        else {}
    )
    emails = {c["email_key"] for _, c, _ in prepared if c["email_key"]}
    open_by_email = (
        {
            lead.email_key: lead
            for lead in Lead.objects.open().select_for_update().filter(email_key__in=emails)
        }
        if emails
        else {}
    )
    router = Router(now)
    new_leads: list[Lead] = []
    touched: dict[int, Lead] = {}
    events: list[Event] = []
    pending_events: list[tuple[Lead, list[Event]]] = []
    out = []
    for index, clean, campaign in prepared:
        if clean["external_id"] in known_external:
            out.append((index, CaptureResult(known_external[clean["external_id"]], "replayed")))
            continue
        match = open_by_email.get(clean["email_key"]) if clean["email_key"] else None
        if match is not None:
            batch_events = _touch(match, clean, campaign, channel, now, rules)
            if match.pk:
                touched[match.pk] = match
                events.extend(batch_events)
            else:
                pending_events.append((match, batch_events))
            out.append((index, CaptureResult(match, "matched")))
            continue
        lead = _new_lead(clean, campaign, now)
        apply_score(lead, rules, now)
        _route(lead, router)
        new_leads.append(lead)
        if clean["external_id"]:
            known_external[clean["external_id"]] = lead
        if clean["email_key"]:
            open_by_email[clean["email_key"]] = lead
        out.append((index, CaptureResult(lead, "created")))
    Lead.objects.bulk_create(new_leads)
    router.flush()
    if touched:
        Lead.objects.bulk_update(
            list(touched.values()),
            [
                *FILLABLE,
                "custom",
                "consent_email",
                "touch_count",
                "last_activity_at",
                "updated_at",
                "fit_score",
                "engagement_score",
                "score",
                "score_parts",
            ],
        )
    for lead in new_leads:
        events.extend(_created_events(lead, channel, now, actor))
    for _lead, lead_events in pending_events:
        events.extend(lead_events)
    for event in events:
        event.lead_id = event.lead.pk
    Event.objects.bulk_create(events)
    Job.objects.bulk_create(_notify_jobs(new_leads, now))
    return out
