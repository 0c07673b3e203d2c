"""The capture pipeline: one implementation for every channel, one lead or a thousand.

    validate & normalise → idempotency → match → create or touch → enrich → score → route
      → start SLA clock → record events → (outbox) owner notification

Work that needs no database (normalising, enriching, scoring) happens before the transaction; the
transaction itself is short (SQLite allows one writer at a time) and holds only the lookups and
writes that must be atomic together. Side effects are written to the Job outbox in the same
transaction and done by the worker after commit, so a failing mail server never loses a lead.

A new lead is worked on as a dict of its column values and written with one multi-row INSERT
(COPY for a PostgreSQL batch): a batch of 1,000 builds no model instance per row, and
`CaptureResult.lead` makes the Lead only when a caller asks for it. The rules a capture applies
(scoring, routing, SLA policies, the default team) are cached per process and read again when a
one-query fingerprint of their tables changes, so an edit made through any process is seen by
the next capture. On SQLite, captures queue for the write lock (`core.writes.write_turn`).
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, connections, transaction
from django.db import router as db_router

from leadline.core.choices import Source
from leadline.core.clock import clock
from leadline.core.dispatch import dispatcher
from leadline.core.errors import DomainError
from leadline.core.models import Campaign, Job, Team
from leadline.core.prepared import Prepared
from leadline.core.rows import insert_rows, insert_together, new_row, next_ids, update_rows
from leadline.core.writes import write_turn
from leadline.intake import watch
from leadline.leads.models import Event, IdempotencyKey, Lead
from leadline.quality import enrich
from leadline.quality.duplicates import (
    KEYED_COLUMNS,
    Match,
    Matcher,
    find_duplicates_batch,
    key_rows,
    lead_record,
    queue_reviews,
    record_keys,
    record_keys_of,
    review_rows,
)
from leadline.quality.models import DuplicateCandidate, LeadKey
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
from leadline.routing.models import Absence, RoutingRule, SlaPolicy
from leadline.routing.sla import load_policies
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


SOURCES = frozenset(Source.values)


class CaptureResult:
    """The lead a capture created, touched or replayed, and which of the three it was."""

    def __init__(self, lead=None, outcome: str = "created", errors=None, *, new=None):
        self._lead = lead
        self._new = new  # a _NewLead from a batch: its Lead is built on first use
        self.outcome = outcome  # created | matched | replayed
        self.errors = errors or {}

    @property
    def lead(self) -> Lead:
        return self._lead if self._lead is not None else self._new.lead

    @property
    def lead_id(self) -> int:
        return self._lead.pk if self._lead is not None else self._new.values["id"]

    @property
    def created(self) -> bool:
        return self.outcome == "created"

    def __repr__(self) -> str:
        return f"CaptureResult({self.outcome}, lead {self.lead_id})"


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
    if source not in SOURCES:
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


def _score(values: dict, rules: list[Rule], now: datetime) -> None:
    """Score a lead's column values (attname → value) in place."""
    record = score_record(values)
    record["last_engaged_at"] = values["last_activity_at"] or values["captured_at"]
    result = score(record, rules, now)
    values["fit_score"], values["engagement_score"] = result.fit, result.engagement
    values["score"], values["score_parts"] = result.total, result.parts


def apply_score(lead: Lead, rules: list[Rule], now: datetime) -> None:
    values = _values(lead)
    _score(values, rules, now)
    lead.fit_score, lead.engagement_score = values["fit_score"], values["engagement_score"]
    lead.score, lead.score_parts = values["score"], values["score_parts"]


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


# A lead is worked on as its column values (attname → value) until it is written: one dict per
# lead instead of a model instance, written by one multi-row INSERT.
LEAD_FIELDS = tuple(Lead._meta.concrete_fields)
LEAD_ATTNAMES = tuple(f.attname for f in LEAD_FIELDS)


def _values(lead: Lead) -> dict:
    return {f.attname: getattr(lead, f.attname) for f in LEAD_FIELDS}


def _new_values(clean: dict, campaign, now: datetime) -> dict:
    return new_row(
        Lead,
        {
            **clean,
            "campaign_id": campaign.pk if campaign else None,
            "capture_snapshot": capture_snapshot(clean, campaign),
            "captured_at": now,
            "created_at": now,
            "updated_at": now,
            "status_changed_at": now,
            "last_activity_at": now,
        },
    )


class _NewLead:
    """A lead this capture creates: its values, and the Lead built from them when asked for."""

    __slots__ = ("values", "campaign", "team", "owner", "account", "_lead", "keys", "similar")

    def __init__(self, values: dict, campaign):
        self.values, self.campaign = values, campaign
        self.team = self.owner = self.account = self._lead = None
        self.keys: list[str] = []  # its blocking keys (quality.LeadKey rows once stored)
        self.similar: list[Match] = []  # stored or earlier leads that may be the same person

    @property
    def lead(self) -> Lead:
        if self._lead is None:
            lead = Lead.from_db(
                db_router.db_for_write(Lead), LEAD_ATTNAMES, [self.values[a] for a in LEAD_ATTNAMES]
            )
            lead.team, lead.campaign = self.team, self.campaign
            if self.owner is not None:
                lead.owner = self.owner
            self._lead = lead
        return self._lead


def _route(new: _NewLead, router: Router, channel: str) -> None:
    values = new.values
    record = score_record(values)
    record["channel"] = channel  # rules and SLA policies may look at how it arrived
    if new.account is not None:
        record["account_owner_id"] = new.account.owner_id
        record["account_name"] = new.account.name
    assignment = router.route(record)
    new.team, new.owner = assignment.team, assignment.owner
    values["team_id"] = assignment.team.pk if assignment.team else None
    values["owner_id"] = assignment.owner_id
    values["routing_reason"] = assignment.reason
    values["sla_due_at"] = assignment.sla_due_at
    values["sla_policy"] = assignment.reason.get("sla_policy", "")
    values["assigned_at"] = values["captured_at"] if assignment.owner_id else None


def _event(kind: str, now: datetime, summary: str, data: dict, actor=None) -> dict:
    return {
        "kind": kind,
        "at": now,
        "actor_id": actor.pk if actor is not None else None,
        "summary": summary,
        "data": data,
    }


def _touch(
    lead, clean: dict, campaign, channel: str, now: datetime, rules, similar: Match | None = None
) -> list[dict]:
    """A repeat capture of an open lead (a Lead, or the values of one new in this batch): fill
    its blanks, count the touch, re-score. ``similar``: the lead was found by the matcher, not
    by its email; the event keeps the match's evidence and every captured value that differs
    from the lead's, so nothing the person typed is lost."""
    if isinstance(lead, dict):
        get, put = lead.__getitem__, lead.__setitem__
    else:
        get, put = lead.__getattribute__, lead.__setattr__
    filled = [name for name in FILLABLE if clean.get(name) and not get(name)]
    for name in filled:
        put(name, clean[name])
    if clean.get("custom"):
        put("custom", {**clean["custom"], **(get("custom") or {})})
    if clean.get("consent_email") is not None and get("consent_email") is not False:
        put("consent_email", clean["consent_email"])
    put("touch_count", get("touch_count") + 1)
    put("last_activity_at", now)
    put("updated_at", now)
    before = get("score")
    if isinstance(lead, dict):
        _score(lead, rules, now)
    else:
        apply_score(lead, rules, now)
    detail = f"Captured again via {channel} ({clean['source']}"
    detail += f", campaign {campaign}" if campaign else ""
    detail += ")"
    data = {
        "source": clean["source"],
        "channel": channel,
        "filled": filled,
        "campaign": campaign.pk if campaign else None,
    }
    if similar is not None:
        agree = [e["field"] for e in similar.evidence if e.get("weight", 0) > 0]
        detail += (
            f": the same person by a {similar.probability:.0%} match"
            + (f" ({', '.join(agree)} agree)" if agree else "")
            + ", not by email"
        )
        data["match"] = {
            "probability": similar.probability,
            "match_weight": similar.match_weight,
            "evidence": similar.evidence,
        }
        data["captured"] = {
            name: _jsonable(clean.get(name))
            for name in CAPTURED_IDENTITY
            if clean.get(name) and clean.get(name) != get(name)
        }
    return [
        _event("recaptured", now, detail, data),
        _event(
            "scored",
            now,
            f"Score {before} → {get('score')}",
            {
                "fit": get("fit_score"),
                "engagement": get("engagement_score"),
                "parts": get("score_parts"),
            },
        ),
    ]


# What a capture matched by similarity keeps on the event when it differs from the lead.
CAPTURED_IDENTITY = ("email", "first_name", "last_name", "phone", "company", "title", "city")


def _jsonable(value):
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def _review_event(values: dict, similar: list[Match], now: datetime) -> dict | None:
    """A new lead that may be someone already stored: named on its timeline, queued for review."""
    others = [m for m in similar if m.lead_id is not None]
    if not others:
        return None
    named = ", ".join(f"lead {m.lead_id} ({m.probability:.0%})" for m in others[:3])
    return _event(
        "possible_duplicate",
        now,
        f"May be the same person as {named}: queued for duplicate review",
        {"candidates": [{"lead": m.lead_id, "probability": m.probability} for m in others]},
    )


def _created_events(values: dict, channel: str, now: datetime, actor) -> list[dict]:
    reason = values["routing_reason"]
    events = [
        _event(
            "captured",
            now,
            f"Captured via {channel} ({values['source']})",
            {"channel": channel, "source": values["source"], "campaign": values["campaign_id"]},
            actor,
        ),
        _event(
            "scored",
            now,
            f"Scored {values['score']} (fit {values['fit_score']}, engagement "
            f"{values['engagement_score']})",
            {
                "fit": values["fit_score"],
                "engagement": values["engagement_score"],
                "parts": values["score_parts"],
            },
        ),
        _event("assigned", now, reason.get("explanation", "Assigned"), reason),
    ]
    due = values["sla_due_at"]
    if due:
        events.append(
            _event(
                "sla_started",
                now,
                f"Speed-to-lead clock started: respond by {due:%Y-%m-%d %H:%M} UTC",
                {"due_at": due.isoformat()},
            )
        )
    return events


# A quiet capture's new lead (a list import's): its fan-out without the owner's email and the
# auto-response (the job's handler is in intake/imports.py).
QUIET_CAPTURED = "import_lead_captured"


def _notify_jobs(leads: list[dict], now: datetime, quiet: bool = False) -> list[dict]:
    # Outbox rows, done after commit, each retried on its own, so the capture transaction stays
    # short: the owner's email (what a person waits for: `capture()` has the web process send
    # it at once), and the rest of the fan-out (prediction, MQL, auto-response, webhooks), which
    # the worker does in batches.
    if quiet:
        return [_job(QUIET_CAPTURED, values, now) for values in leads]
    rows = []
    for values in leads:
        if values["owner_id"]:
            rows.append(_job("notify_owner", values, now))
        rows.append(_job("lead_captured", values, now))
    return rows


def _job(kind: str, values: dict, now: datetime) -> dict:
    return {
        "kind": kind,
        "lead_id": values["id"],
        "run_at": now,
        "created_at": now,
        "payload": {"owner": values["owner_id"]},
    }


# What a repeat capture changes on a stored lead (`_touch`): written back in one statement.
# The columns a re-score writes.
SCORE_FIELDS = ("fit_score", "engagement_score", "score", "score_parts")
TOUCHED_FIELDS = (
    *FILLABLE,
    "custom",
    "consent_email",
    "touch_count",
    "last_activity_at",
    "updated_at",
    *SCORE_FIELDS,
)


def _insert_new(new_leads: list[_NewLead]) -> None:
    ids = insert_rows(Lead, [new.values for new in new_leads], returning=True)
    for new, pk in zip(new_leads, ids, strict=True):
        new.values["id"] = pk


def _insert_events(pairs: list[tuple[int, list[dict]]]) -> None:
    insert_rows(
        Event, [{**event, "lead_id": lead_id} for lead_id, events in pairs for event in events]
    )


# The rules every capture applies, cached per process. A change is noticed by a token that
# database triggers replace whenever one of the tables they come from changes (`watch`), read in
# one primary-key lookup before each capture: whichever process (or the admin, a migration, a
# raw UPDATE) changed them, the next capture loads them again.
@dataclass(frozen=True)
class CaptureConfig:
    scoring: list[Rule]
    routing: list[RoutingRule]
    default_team: Team | None
    policies: list[SlaPolicy]
    matcher: Matcher  # the duplicate match model and each team's thresholds
    absences: dict[int, list[Absence]]  # out of office, by user (routing checks the time)


_config: dict[str, tuple[str, CaptureConfig]] = {}
_token_sql: dict[str, str | None] = {}


def capture_config() -> CaptureConfig:
    using = db_router.db_for_read(Lead)
    connection = connections[using]
    if using not in _token_sql:
        _token_sql[using] = (
            watch.token_query(connection) if connection.vendor in ("sqlite", "postgresql") else None
        )
    sql = _token_sql[using]
    if sql is None:  # an engine without the triggers: read the configuration every time
        return _load_config()
    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
    if row is None:  # no token (a flushed database): nothing to compare with
        return _load_config()
    cached = _config.get(using)
    if cached is not None and cached[0] == row[0]:
        return cached[1]
    config = _load_config()  # read after the token, so never older than it
    _config[using] = (row[0], config)
    return config


def _load_config() -> CaptureConfig:
    from leadline.quality.duplicates import _load_matcher

    return CaptureConfig(
        scoring=load_rules(),
        routing=list(RoutingRule.objects.filter(is_active=True).select_related("team", "owner")),
        default_team=Team.objects.order_by("-is_default", "id").first(),
        policies=load_policies(),
        matcher=_load_matcher(),
        absences=_absences(),
    )


def _absences() -> dict[int, list[Absence]]:
    by_user: dict[int, list[Absence]] = {}
    for absence in Absence.objects.order_by("starts_at"):
        by_user.setdefault(absence.user_id, []).append(absence)
    return by_user


def _router(config: CaptureConfig, now: datetime) -> Router:
    return Router(
        now,
        rules=config.routing,
        default_team=config.default_team,
        policies=config.policies,
        absences=config.absences,
    )


# The id of the open lead with an email, locked (runs for every capture: compiled once).
_open_lead_id = Prepared(
    lambda email_key: (
        Lead.objects.open()
        .select_for_update()
        .filter(email_key=email_key)
        .order_by("pk")
        .values_list("pk", flat=True)[:1]
    ),
    Lead._meta.get_field("email_key"),
)


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
    config = capture_config()
    for attempt in range(3):
        try:
            return _capture_one(clean, campaign, channel, actor, idempotency_key, config, now)
        except IntegrityError:
            # A concurrent capture of the same email, external id or key won the race:
            # the next attempt finds its lead and touches or replays it.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _capture_one(clean, campaign, channel, actor, key, config, now) -> CaptureResult:
    # A new lead's values and score, and the stored leads that may be the same person, need no
    # write: worked out before the transaction.
    new = _scored_new(clean, campaign, config, now)
    _find_similar([new], config)
    with write_turn(), transaction.atomic():
        if key:
            seen = IdempotencyKey.objects.select_related("lead").filter(key=key).first()
            if seen and seen.lead:
                return CaptureResult(seen.lead, "replayed")
        if clean["external_id"]:
            existing = _with_external_id([clean["external_id"]]).first()
            if existing:
                return CaptureResult(existing, "replayed")
        found = _open_lead_id(clean["email_key"]) if clean["email_key"] else []
        match, similar = None, None
        if found:
            match = Lead.objects.select_for_update().get(pk=found[0][0])
        elif (similar := _same_person(new)) is not None:
            # Still open and not merged away since the lookup, or a new lead after all.
            match = Lead.objects.open().select_for_update().filter(pk=similar.lead_id).first()
        if match is not None:
            events = _touch(match, clean, campaign, channel, now, config.scoring, similar)
            match.save()
            _insert_events([(match.pk, events)])
            _rekey([(match, events)])
            result = CaptureResult(match, "matched")
        else:
            together = transaction.get_connection().vendor == "postgresql"
            if together:
                # Its id drawn first (before routing locks the team), so the lead, its review
                # pairs, timeline, blocking keys and outbox jobs go in one statement: one
                # round trip while the team row is locked instead of three or four.
                new.values["id"] = next_ids(Lead, 1)[0]
            router = _router(config, now)
            _route(new, router, channel)
            if not together:
                _insert_new([new])
                router.flush()
            lead_id = new.values["id"]
            events = _created_events(new.values, channel, now, actor)
            reviews = []
            if new.similar:
                if together:
                    reviews = review_rows([(lead_id, new.similar)], now=now)
                else:
                    queue_reviews([(lead_id, new.similar)], now=now, new_leads=True)
                if (review := _review_event(new.values, new.similar, now)) is not None:
                    events.append(review)
            jobs = _notify_jobs([new.values], now)
            # Its timeline, its blocking keys (so the next capture finds it) and its outbox
            # jobs — on PostgreSQL with the lead itself, its review pairs and the rotation's
            # turn, in one statement.
            ids = insert_together(
                [
                    *([(Lead, [new.values]), (DuplicateCandidate, reviews)] if together else []),
                    (Event, [{**event, "lead_id": lead_id} for event in events]),
                    (LeadKey, key_rows([new.values], [new.keys])),
                    (Job, jobs),
                ],
                also=router.turn_updates() if together else (),
            )
            dispatcher.after_commit(
                [pk for pk, job in zip(ids, jobs, strict=True) if job["kind"] == "notify_owner"]
            )
            result = CaptureResult(new.lead, "created")
        if key:
            IdempotencyKey.objects.create(key=key, lead=result.lead, created_at=now)
        return result


def capture_batch(
    items: list[dict],
    *,
    channel: str = "api",
    actor=None,
    now: datetime | None = None,
    refuse_on: Collection[str] | None = None,
    quiet: bool = False,
) -> list[CaptureResult | DomainError]:
    """Capture many leads in one short transaction; each item gets its own result or error.

    Set-based: one lookup for known external ids, one for open leads with the same emails,
    one bulk insert each for leads, events and notification jobs.

    `refuse_on`: None, and an item with any bad field is refused (its DomainError names them).
    Given, only a bad value of one of these fields ("" for the item as a whole) refuses an
    item; the other bad fields are dropped, the item captured without them, and its result's
    `errors` says what was dropped and why (a list import keeps a row with a malformed phone
    and reports the phone).

    `quiet`: the new leads are not announced one by one — no owner email, no auto-response
    (the people on a purchased list did not write to us; their owners get one digest when the
    import ends); predictions, MQL arrivals and webhooks still run for each.
    """
    now = now or clock.now()
    config = capture_config()
    campaigns: dict[str, Campaign | None] = {}
    prepared: list[tuple[int, dict, Campaign | None]] = []
    results: list[CaptureResult | DomainError | None] = [None] * len(items)
    dropped: dict[int, dict] = {}

    def check(data: dict) -> tuple[dict, dict, str]:
        clean, errors = normalise(data)
        ref = str(data.get("campaign") or "")
        if ref and ref not in campaigns:
            campaigns[ref] = _campaign(data, errors)
        elif ref and campaigns[ref] is None:
            errors["campaign"] = f"unknown campaign {ref!r}"
        return clean, errors, ref

    for index, data in enumerate(items):
        if not isinstance(data, dict):
            results[index] = DomainError({"": "each item must be an object of lead fields"})
            continue
        clean, errors, ref = check(data)
        if errors and refuse_on is not None and not errors.keys() & set(refuse_on):
            # Only droppable fields are bad: the item again without them.
            dropped[index] = errors
            clean, errors, ref = check({k: v for k, v in data.items() if k not in errors})
            if errors:
                errors = {**dropped.pop(index), **errors}
        if errors:
            results[index] = DomainError(errors)
        else:
            prepared.append((index, clean, campaigns.get(ref)))
    for attempt in range(3):
        # New leads' values and scores need no database: worked out before the transaction
        # (again on a retry: the last attempt's routing and touches changed them).
        items = [(*item, _scored_new(item[1], item[2], config, now)) for item in prepared]
        _find_similar([new for *_, new in items], config)
        try:
            with write_turn(), transaction.atomic():
                for index, result in _capture_many(items, channel, actor, config, now, quiet):
                    results[index] = result
            break
        except IntegrityError:
            if attempt == 2:
                raise
    for index, errors in dropped.items():
        results[index].errors = errors
    return results


def _find_similar(news: list[_NewLead], config: CaptureConfig) -> None:
    """Reads only, before the transaction: each new lead's blocking keys, and the stored
    leads (and, in a batch, earlier records) the matcher says may be the same person."""
    keys = [record_keys_of(lead_record(new.values)) for new in news]
    similar = find_duplicates_batch(
        [new.values for new in news], using=config.matcher, keys=keys, within_batch=len(news) > 1
    )
    for new, lead_keys, found in zip(news, keys, similar, strict=True):
        new.keys, new.similar = lead_keys, found


def _same_person(new: _NewLead) -> Match | None:
    """The stored open lead this capture is, by the matcher (above its auto-merge threshold)."""
    return next(
        (m for m in new.similar if m.decision == "auto_merge" and m.lead_id is not None), None
    )


def _file_new(news: list[_NewLead], now: datetime, batch_ids: list | None = None) -> None:
    """In the capture's transaction: new leads' blocking keys (so the next capture finds
    them), and their review-band matches in the duplicate review queue, named on the
    timeline."""
    insert_rows(LeadKey, key_rows([new.values for new in news], [new.keys for new in news]))
    review = [(new.values["id"], new.similar) for new in news if new.similar]
    if review:
        queue_reviews(review, batch_ids=batch_ids, now=now, new_leads=True)
        _insert_events(
            [
                (new.values["id"], [event])
                for new in news
                if (event := _review_event(new.values, new.similar, now)) is not None
            ]
        )


def _rekey(touched: list[tuple[object, list[dict]]]) -> None:
    """Stored leads whose blank name, phone, company or city a capture filled: new keys."""
    leads = [
        lead for lead, events in touched if KEYED_COLUMNS.intersection(events[0]["data"]["filled"])
    ]
    if leads:
        record_keys(leads)


def _scored_new(clean: dict, campaign, config: CaptureConfig, now: datetime) -> _NewLead:
    new = _NewLead(_new_values(clean, campaign, now), campaign)
    _score(new.values, config.scoring, now)
    if any(rule.to_account_owner for rule in config.routing):
        # A rule sends leads of existing accounts to their owners: find the account (reads
        # only, before the transaction) and link the lead to it.
        from leadline.quality.accounts import match_account

        match = match_account(new.values)
        if match is not None:
            new.account = match.account
            new.values["account_id"] = match.account.pk
    return new


def _capture_many(prepared, channel, actor, config, now, quiet=False):
    rules = config.scoring
    external = [c["external_id"] for _, c, _, _ in prepared if c["external_id"]]
    known_external = (
        {lead.external_id: lead for lead in _with_external_id(external)} if external else {}
    )
    emails = {c["email_key"] for _, c, _, _ in prepared if c["email_key"]}
    # Leads with these emails by the email index alone, then the open ones among them, locked.
    # (In one query, SQLite without statistics plans the open filter on the merged_into index
    # and reads the whole lead table for every batch.)
    seen = list(Lead.objects.filter(email_key__in=emails).values_list("pk", flat=True))
    open_by_email = (
        {
            lead.email_key: lead
            for lead in Lead.objects.open().select_for_update().filter(pk__in=seen)
        }
        if seen
        else {}
    )
    # The stored open leads the matcher found for records no email matches, locked too.
    by_pk = {lead.pk: lead for lead in open_by_email.values()}
    similar_ids = {
        m.lead_id
        for _, c, _, new in prepared
        if (m := _same_person(new)) is not None and c["email_key"] not in open_by_email
    } - set(by_pk)
    if similar_ids:
        by_pk.update(
            (lead.pk, lead)
            for lead in Lead.objects.open().select_for_update().filter(pk__in=similar_ids)
        )
    router = _router(config, now)
    router.lock_teams(score_record(new.values) for *_, new in prepared)
    new_leads: list[_NewLead] = []
    touched: dict[int, Lead] = {}
    events: list[tuple[Lead, list[dict]]] = []
    pending_events: list[tuple[_NewLead, list[dict]]] = []
    out = []
    # Per record of the batch: the lead it became (new, touched or replayed).
    became: list[Lead | _NewLead] = []
    for index, clean, campaign, new in prepared:
        if clean["external_id"] in known_external:
            became.append(known_external[clean["external_id"]])
            out.append((index, _result(became[-1], "replayed")))
            continue
        match = open_by_email.get(clean["email_key"]) if clean["email_key"] else None
        similar = None
        if match is None:
            match, similar = _similar_in_batch(new, by_pk, became)
        if match is not None:
            if isinstance(match, _NewLead):  # a lead earlier in this batch
                pending_events.append(
                    (match, _touch(match.values, clean, campaign, channel, now, rules, similar))
                )
            else:
                events.append((match, _touch(match, clean, campaign, channel, now, rules, similar)))
                touched[match.pk] = match
            became.append(match)
            out.append((index, _result(match, "matched")))
            continue
        became.append(new)
        _route(new, router, channel)
        new_leads.append(new)
        if clean["external_id"]:
            known_external[clean["external_id"]] = new
        if clean["email_key"]:
            open_by_email[clean["email_key"]] = new
        out.append((index, CaptureResult(outcome="created", new=new)))
    for lead, lead_events in pending_events:
        if KEYED_COLUMNS.intersection(lead_events[0]["data"]["filled"]):
            lead.keys = record_keys_of(lead_record(lead.values))
    _insert_new(new_leads)
    router.flush()
    update_rows(Lead, list(touched.values()), TOUCHED_FIELDS)
    _insert_events(
        [(lead.pk, lead_events) for lead, lead_events in events]
        + [
            (new.values["id"], _created_events(new.values, channel, now, actor))
            for new in new_leads
        ]
        + [(new.values["id"], lead_events) for new, lead_events in pending_events]
    )
    _rekey(events)
    _file_new(
        new_leads,
        now,
        batch_ids=[x.values["id"] if isinstance(x, _NewLead) else x.pk for x in became],
    )
    insert_rows(Job, _notify_jobs([new.values for new in new_leads], now, quiet))
    return out


def _similar_in_batch(new: _NewLead, by_pk: dict, became: list) -> tuple:
    """The lead a record is by the matcher: a stored open lead (locked in ``by_pk``), or the
    lead an earlier record of the batch became; (None, None) when it is a new lead."""
    for m in new.similar:
        if m.decision != "auto_merge":
            continue
        if m.lead_id is not None and m.lead_id in by_pk:
            return by_pk[m.lead_id], m
        if m.batch_index is not None:
            earlier = became[m.batch_index]
            # Not a lead that was replayed by its external id and is closed.
            if isinstance(earlier, _NewLead) or earlier.pk in by_pk:
                return earlier, m
    return None, None


def _with_external_id(ids: list[str]):
    # The unique index on external_id covers non-blank ids only; saying so lets SQLite use it
    # (it cannot infer that `external_id IN (…)` excludes blanks, and would read every lead).
    return Lead.objects.filter(external_id__in=ids).exclude(external_id="")


def _result(lead, outcome: str) -> CaptureResult:
    if isinstance(lead, _NewLead):
        return CaptureResult(outcome=outcome, new=lead)
    return CaptureResult(lead, outcome)
