"""Web-to-lead forms: define a form, receive a submission, judge it, capture it.

    submit(form, values, meta) → Outcome (the stored Submission, what to answer)

Every POST is stored before the answer: accepted (with the lead the pipeline captured),
quarantined as suspected spam (an admin releases it into the pipeline or deletes it), or
rejected (bad origin, honeypot, rate limit, invalid input). Spam is never told it was caught:
a quarantined or honeypot post gets the same thank-you as a real one.
"""

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core import signing
from django.db import transaction
from django.utils.text import slugify

from leadline.core.clock import clock
from leadline.core.errors import DomainError
from leadline.intake import columns, spam
from leadline.intake.models import FormFieldType, FreeMail, Submission
from leadline.intake.pipeline import capture
from leadline.leads.actions import record
from leadline.leads.models import Lead
from leadline.quality.normalize import is_free_mail, normalize_email

log = logging.getLogger("leadline.forms")

TOKEN_FIELD = "_ts"
HONEYPOT_FIELD = "fax_number"
PAGE_FIELD = "_page"
CONSENT_FIELD = "consent"
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
RESERVED = {TOKEN_FIELD, HONEYPOT_FIELD, PAGE_FIELD, CONSENT_FIELD, *UTM_FIELDS}
TOKEN_SALT = "leadline.forms.timing"
TOKEN_MAX_AGE = timedelta(days=3)
DOUBLE_SUBMIT_WINDOW = 600  # seconds: the same person sending the same form twice in this window
NAME_FIELDS = ("first_name", "last_name", "name")
# Lead fields a form field may fill; anything else goes to a custom field of the same key.
LEAD_FIELDS = {
    "first_name": "First name",
    "last_name": "Last name",
    "name": "Full name",
    "email": "Email",
    "phone": "Phone",
    "title": "Job title",
    "company": "Company",
    "website": "Website",
    "industry": "Industry",
    "employees": "Employees",
    "revenue": "Annual revenue",
    "country": "Country",
    "region": "State / region",
    "city": "City",
}
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


# --- definitions --------------------------------------------------------------------------------


def clean_fields(items) -> tuple[list[dict], dict]:
    """Validate a form's field list: (clean fields, problems keyed `fields.<n>`)."""
    if not isinstance(items, list):
        return [], {"fields": "a list of fields"}
    out, problems, keys = [], {}, set()
    for n, item in enumerate(items, start=1):
        where = f"fields.{n}"
        if not isinstance(item, dict):
            problems[where] = "each field is an object"
            continue
        label = str(item.get("label") or "").strip()[:150]
        key = str(item.get("key") or "").strip() or slugify(label).replace("-", "_")[:40]
        kind = str(item.get("type") or "text")
        options = item.get("options") or []
        if isinstance(options, str):
            options = [o.strip() for o in options.split(",")]
        options = [str(o).strip()[:100] for o in options if str(o).strip()]
        if not label:
            problems[where] = "give the field a label"
        elif not KEY.match(key) or key in RESERVED:
            problems[where] = f"key {key!r}: use a-z, 0-9 and _ (starting with a letter)"
        elif key in keys:
            problems[where] = f"key {key!r} is used twice"
        elif kind not in FormFieldType.values:
            problems[where] = f"type {kind!r}: use one of {', '.join(FormFieldType.values)}"
        elif kind in (FormFieldType.CHOICE, FormFieldType.MULTI_CHOICE) and not options:
            problems[where] = f"{label}: a choice needs options"
        keys.add(key)
        out.append(
            {
                "key": key,
                "label": label,
                "type": kind,
                "required": bool(item.get("required")),
                "options": options,
                "help": str(item.get("help") or "")[:200],
            }
        )
    if not problems and not {"email", "phone"} & {f["key"] for f in out}:
        problems["fields"] = "add an email or a phone field: a lead needs a way to be reached"
    return out, problems


def target_of(spec: dict) -> str:
    """The lead field a form field fills, or `custom.<key>`."""
    return spec["key"] if spec["key"] in LEAD_FIELDS else f"custom.{spec['key']}"


def clean_domains(value) -> tuple[list[str], str]:
    """Allowed or blocked sites, one per line or a list: (hosts, problem)."""
    items = value.splitlines() if isinstance(value, str) else list(value or [])
    out = []
    for item in items:
        text = str(item).strip().rstrip("/")
        if not text:
            continue
        host, port = spam.host_of(text)
        if not host or " " in host:
            return [], f"{text!r} is not a site (write e.g. shop.example.com)"
        out.append(f"{host}:{port}" if port else host)
    return out, ""


SETTINGS = (
    "name slug title intro submit_label consent_enabled consent_text consent_required source "
    "campaign thank_you_message redirect_url allowed_domains min_fill_seconds "
    "require_timing_token per_ip_per_hour per_form_per_hour free_mail blocked_domains is_active"
).split()


def save_form(form, data: dict, user=None, now: datetime | None = None):
    """Create (form=None) or change a form from plain data; the builder and the API call this."""
    from leadline.core.choices import Source
    from leadline.core.models import Campaign
    from leadline.intake.models import Form

    now = now or clock.now()
    form = form or Form(created_by=user, created_at=now)
    unknown = set(data) - set(SETTINGS) - {"fields"}
    errors: dict[str, str] = {name: "unknown setting" for name in sorted(unknown)}
    for name in SETTINGS:
        if name not in data:
            continue
        value = data[name]
        if name in ("allowed_domains", "blocked_domains"):
            value, problem = clean_domains(value)
            if problem:
                errors[name] = problem
        elif name == "campaign":
            ref = value.pk if hasattr(value, "pk") else value
            value = None
            if ref not in (None, ""):
                value = (
                    Campaign.objects.filter(pk=ref).first()
                    if str(ref).isdigit()
                    else (Campaign.objects.filter(name__iexact=str(ref)).first())
                )
                if value is None:
                    errors[name] = f"unknown campaign {ref!r}"
        elif name == "source" and value not in Source.values:
            errors[name] = f"unknown source; use one of {', '.join(Source.values)}"
        elif name == "slug":
            value = slugify(str(value or ""))[:80]
        setattr(form, name, value)
    if not form.name:
        errors["name"] = "give the form a name"
    if not form.slug:
        form.slug = slugify(form.name)[:80] or "form"
    taken = Form.objects.filter(slug=form.slug).exclude(pk=form.pk)
    if taken.exists():
        errors["slug"] = f"another form already uses /f/{form.slug}/"
    if "fields" in data:
        fields, problems = clean_fields(data["fields"])
        errors.update(problems)
        form.fields = fields
    if form.consent_enabled and not (form.consent_text or "").strip():
        errors["consent_text"] = "write the consent wording the visitor agrees to"
    if errors:
        raise DomainError(errors)
    form.updated_at = now
    form.save()
    return form


# --- timing token -------------------------------------------------------------------------------


def issue_token(form, now: datetime | None = None) -> str:
    now = now or clock.now()
    return signing.dumps({"f": form.pk, "t": int(now.timestamp())}, salt=TOKEN_SALT)


def token_age(form, token: str, now: datetime) -> tuple[float | None, str]:
    """Seconds since the form was shown, or (None, why not known)."""
    if not token:
        return None, "no timing token (JavaScript off, or a script)"
    try:
        data = signing.loads(token, salt=TOKEN_SALT)
    except signing.BadSignature:
        return None, "forged timing token"
    if not isinstance(data, dict) or data.get("f") != form.pk:
        return None, "timing token of another form"
    age = now.timestamp() - float(data.get("t", 0))
    if age > TOKEN_MAX_AGE.total_seconds():
        return None, "timing token expired"
    return age, ""


# --- submissions --------------------------------------------------------------------------------


@dataclass
class Meta:
    ip: str | None = None
    user_agent: str = ""
    origin: str = ""
    referer: str = ""
    own_origin: str = ""


@dataclass
class Outcome:
    submission: Submission
    status: int = 200
    errors: dict = field(default_factory=dict)
    message: str = ""
    redirect: str = ""

    @property
    def ok(self) -> bool:
        return self.status < 400


def origin_allowed(form, meta: Meta) -> bool | None:
    """True/False for a known origin; None when the browser sent neither Origin nor Referer."""
    origin = meta.origin or meta.referer
    if not origin or origin == "null":
        return None
    own_host = spam.host_of(meta.own_origin)
    if own_host[0] and spam.host_of(origin) == own_host:
        return True
    return spam.domain_allowed(origin, form.allowed_domains)


def _get(values, key: str):
    if hasattr(values, "getlist"):
        items = values.getlist(key)
        return items if len(items) > 1 else (items[0] if items else None)
    return values.get(key)


def read_values(form, values) -> tuple[dict, dict]:
    """The posted values of the form's fields, checked: (clean values, errors by field key)."""
    clean, errors = {}, {}
    for spec in form.fields:
        key, kind = spec["key"], spec["type"]
        raw = _get(values, key)
        if kind == FormFieldType.MULTI_CHOICE:
            items = raw if isinstance(raw, list) else ([] if raw in (None, "") else [raw])
            items = [str(i).strip() for i in items if str(i).strip()]
            unknown = [i for i in items if i not in spec["options"]]
            if unknown:
                errors[key] = f"“{unknown[0]}” is not one of the options."
            elif items:
                clean[key] = items
        elif kind == FormFieldType.CHECKBOX:
            clean[key] = columns.parse_bool(raw if raw is not None else "") is True or raw == "on"
        else:
            text = "" if raw is None else str(raw[0] if isinstance(raw, list) else raw).strip()
            if text:
                problem, value = _check_value(spec, text)
                if problem:
                    errors[key] = problem
                else:
                    clean[key] = value
        if spec.get("required") and key not in errors and clean.get(key) in (None, "", [], False):
            errors[key] = "This field is required."
    if form.consent_enabled:
        given = _get(values, CONSENT_FIELD)
        clean[CONSENT_FIELD] = bool(given) and columns.parse_bool(str(given)) is not False
        if form.consent_required and not clean[CONSENT_FIELD]:
            errors[CONSENT_FIELD] = "Please agree so that we can contact you."
    return clean, errors


def _check_value(spec: dict, text: str) -> tuple[str, object]:
    kind = spec["type"]
    if kind == FormFieldType.EMAIL:
        email, problem = normalize_email(text)
        return ("Enter a valid email address." if problem else ""), email
    if kind == FormFieldType.NUMBER:
        number = columns.parse_number(text)
        if number is None:
            return "Enter a number.", None
        if number < 0:
            return "Enter a number of zero or more.", None
        return "", int(number) if number == int(number) else float(number)
    if kind == FormFieldType.CHOICE:
        if text not in spec["options"]:
            return "Choose one of the options.", None
        return "", text
    limit = 4000 if kind == FormFieldType.TEXTAREA else 300
    if len(text) > limit:
        return f"Keep it under {limit} characters.", None
    return "", text


def lead_data(form, clean: dict, values) -> dict:
    """What the pipeline receives: mapped fields, custom fields, attribution and consent."""
    data: dict = {"source": form.source, "source_detail": f"Form: {form.name}"[:200]}
    custom: dict = {}
    for spec in form.fields:
        if spec["key"] not in clean:
            continue
        target = target_of(spec)
        if target.startswith("custom."):
            custom[spec["key"]] = clean[spec["key"]]
        else:
            data[target] = clean[spec["key"]]
    if custom:
        data["custom"] = custom
    if form.campaign_id:
        data["campaign"] = str(form.campaign_id)
    for name in UTM_FIELDS:
        value = _get(values, name)
        if value and not isinstance(value, list):
            data[name] = str(value).strip()[:100]
    if form.consent_enabled and clean.get(CONSENT_FIELD):
        # Only a ticked box says anything: an unticked one on a later form is not a withdrawal
        # of the consent the lead gave before (a new lead is marked "not given" after capture).
        data["consent_email"] = True
        data["consent_text"] = form.consent_text
    return data


def _idempotency_key(form, data: dict, now: datetime) -> str:
    """The same person sending the same form again within the window (a double click, a
    reload) gets the first send's key, so the pipeline replays it instead of capturing twice.
    The window slides: two sends seconds apart are one, whatever the clock says."""
    who = data.get("email") or json.dumps(data, sort_keys=True, default=str)
    prefix = f"form:{form.pk}:{hashlib.sha256(who.encode()).hexdigest()[:32]}:"
    earlier = (
        Submission.objects.filter(
            form=form,
            received_at__gte=now - timedelta(seconds=DOUBLE_SUBMIT_WINDOW),
            idempotency_key__startswith=prefix,
        )
        .exclude(status=Submission.Status.REJECTED)
        .order_by("-received_at", "-id")
        .values_list("idempotency_key", flat=True)
        .first()
    )
    return earlier or f"{prefix}{int(now.timestamp())}"


def _recent(qs, now: datetime) -> int:
    return qs.filter(received_at__gt=now - timedelta(hours=1)).count()


def _quarantine_signals(
    form, clean: dict, data: dict, values, meta: Meta, now: datetime
) -> list[str]:
    signals = []
    age, why = token_age(form, str(_get(values, TOKEN_FIELD) or ""), now)
    if age is None:
        if form.require_timing_token or why in (
            "forged timing token",
            "timing token of another form",
        ):
            signals.append(why)
    elif age < form.min_fill_seconds:
        signals.append(
            f"sent {age:.1f}s after the form was shown (minimum {form.min_fill_seconds}s)"
        )
    if form.allowed_domains and origin_allowed(form, meta) is None:
        signals.append("no Origin or Referer header")
    for name in NAME_FIELDS:
        text = str(data.get(name) or "")
        if spam.has_url(text):
            signals.append(f"a link in the {name.replace('_', ' ')}")
        elif spam.looks_gibberish(text):
            signals.append(f"the {name.replace('_', ' ')} looks random")
    email = data.get("email") or ""
    if email and spam.email_domain_blocked(email, form.blocked_domains):
        signals.append(f"blocked domain {email.rpartition('@')[2]}")
    if email and form.free_mail == FreeMail.QUARANTINE and is_free_mail(email):
        signals.append("free-mail address")
    if (
        form.per_form_per_hour
        and _recent(
            Submission.objects.filter(form=form).exclude(status=Submission.Status.REJECTED), now
        )
        >= form.per_form_per_hour
    ):
        signals.append(f"more than {form.per_form_per_hour} submissions to this form in an hour")
    return signals


def submit(form, values, meta: Meta, now: datetime | None = None) -> Outcome:
    """Judge and store one POST to a public form; capture it when it is accepted."""
    now = now or clock.now()
    sub = Submission(
        form=form,
        received_at=now,
        # A forwarded-for header can say anything: only a real address is stored and counted.
        ip=meta.ip if spam.ip_block(meta.ip) else None,
        ip_block=spam.ip_block(meta.ip),
        user_agent=meta.user_agent[:300],
        origin=(meta.origin or meta.referer)[:300],
        page_url=str(_get(values, PAGE_FIELD) or meta.referer or "")[:1000],
        data=_posted(values),
    )
    thanks = Outcome(sub, 200, message=form.thank_you_message, redirect=form.redirect_url)
    if not form.is_active:
        return _refuse(
            sub, ["the form is closed"], 410, "This form is no longer accepting submissions."
        )
    if origin_allowed(form, meta) is False:
        return _refuse(
            sub,
            [f"posted from {sub.origin}, which is not an allowed site"],
            403,
            "This form cannot be sent from this site.",
        )
    if (
        form.per_ip_per_hour
        and sub.ip_block
        and _recent(Submission.objects.filter(ip_block=sub.ip_block), now) >= form.per_ip_per_hour
    ):
        return _refuse(
            sub,
            [f"more than {form.per_ip_per_hour} posts from {sub.ip_block} in an hour"],
            429,
            "Too many submissions from your network; please try again later.",
        )
    if str(_get(values, HONEYPOT_FIELD) or "").strip():
        sub.status, sub.reasons = Submission.Status.REJECTED, ["honeypot field filled"]
        sub.save()
        return thanks
    clean, errors = read_values(form, values)
    data = lead_data(form, clean, values)
    sub.lead_data, sub.email_key = data, data.get("email", "")
    email = data.get("email") or ""
    if email and form.free_mail == FreeMail.REJECT and is_free_mail(email) and "email" in clean:
        errors.setdefault("email", "Please use your work email address.")
    if errors:
        return _invalid(sub, errors)
    sub.idempotency_key = _idempotency_key(form, data, now)
    signals = _quarantine_signals(form, clean, data, values, meta, now)
    if signals:
        sub.status, sub.reasons = Submission.Status.QUARANTINED, signals
        sub.save()
        return thanks
    try:
        with transaction.atomic():
            _capture(sub, None, now)
    except DomainError as exc:
        return _invalid(sub, _form_errors(form, exc))
    except Exception as exc:  # noqa: BLE001 — keep the submission; an admin can release it
        log.exception("form %s: capture failed", form.slug)
        sub.pk, sub.lead = None, None
        sub.status, sub.reasons = Submission.Status.QUARANTINED, [f"capture failed: {exc}"[:300]]
        sub.save()
    return thanks


def _posted(values) -> dict:
    keys = values.keys() if hasattr(values, "keys") else []
    out = {}
    for key in keys:
        if key in (TOKEN_FIELD, "csrfmiddlewaretoken"):
            continue
        value = _get(values, key)
        out[str(key)[:60]] = (
            value
            if isinstance(value, list | bool | int | float)
            else ("" if value is None else str(value)[:2000])
        )
        if len(out) >= 60:
            break
    return out


def _refuse(sub: Submission, reasons: list[str], status: int, message: str) -> Outcome:
    sub.status, sub.reasons = Submission.Status.REJECTED, reasons
    sub.save()
    return Outcome(sub, status, message=message)


def _invalid(sub: Submission, errors: dict) -> Outcome:
    sub.pk = None  # a capture rolled back may have numbered it
    sub.status = Submission.Status.REJECTED
    sub.reasons = [f"invalid {key}: {message}" for key, message in errors.items()]
    sub.lead = None
    sub.save()
    return Outcome(sub, 422, errors=errors, message="Please correct the fields marked below.")


def _form_errors(form, exc: DomainError) -> dict:
    """The pipeline's field problems, keyed by the form field that fed each lead field."""
    by_target = {target_of(spec): spec["key"] for spec in form.fields}
    out = {}
    for name, message in exc.errors.items():
        key = by_target.get(name, "")
        out[key] = message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
    return out


def _capture(sub: Submission, actor, now: datetime) -> None:
    result = capture(
        sub.lead_data, channel="form", actor=actor, idempotency_key=sub.idempotency_key, now=now
    )
    sub.status = Submission.Status.ACCEPTED
    sub.lead, sub.outcome = result.lead, result.outcome
    sub.save()
    if result.outcome != "replayed":
        _record_consent(sub, result, actor)


def _record_consent(sub: Submission, result, actor) -> None:
    """The proof of consent on the lead: when, the wording agreed to, on which form and page,
    from which address (the submission keeps what was posted)."""
    form = sub.form
    if not form.consent_enabled:
        return
    lead = result.lead
    if not sub.lead_data.get("consent_email"):
        if result.created:
            Lead.objects.filter(pk=lead.pk, consent_email=None).update(consent_email=False)
        return
    given = sub.received_at  # when the visitor ticked it, even if an admin released it later
    Lead.objects.filter(pk=lead.pk).update(
        consent_email=True, consent_text=form.consent_text, consent_at=given
    )
    lead.consent_email, lead.consent_text, lead.consent_at = True, form.consent_text, given
    record(
        lead,
        "consent",
        f"Agreed to emails on the form “{form.name}”",
        given,
        actor,
        form=form.pk,
        submission=sub.pk,
        wording=form.consent_text,
        page=sub.page_url,
        ip=sub.ip,
    )


# --- quarantine ---------------------------------------------------------------------------------


def release(sub: Submission, actor, now: datetime | None = None) -> Submission:
    """An admin says a quarantined submission is real: capture it through the pipeline."""
    now = now or clock.now()
    with transaction.atomic():
        locked = Submission.objects.select_for_update().select_related("form").get(pk=sub.pk)
        if locked.status != Submission.Status.QUARANTINED:
            raise DomainError({"": f"this submission is {locked.status}, not quarantined"})
        locked.reviewed_by, locked.reviewed_at = actor, now
        locked.reasons = [*locked.reasons, f"released by {actor}"]
        _capture(locked, actor, now)
    return locked


def delete_quarantined(form=None, before: datetime | None = None) -> int:
    """An admin clears a spam wave: every quarantined submission (of one form, received up to
    `before` — what the admin saw), and only those. Returns how many."""
    qs = Submission.objects.filter(status=Submission.Status.QUARANTINED)
    if form is not None:
        qs = qs.filter(form=form)
    if before is not None:
        qs = qs.filter(received_at__lte=before)
    deleted, _ = qs.delete()
    return deleted


def delete(sub: Submission) -> None:
    """An admin confirms spam: the submission and its data are gone."""
    deleted, _ = Submission.objects.filter(pk=sub.pk, status=Submission.Status.QUARANTINED).delete()
    if not deleted:
        raise DomainError({"": "only a quarantined submission can be deleted"})
