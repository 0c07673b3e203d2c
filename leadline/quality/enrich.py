"""Enrichment: values a lead did not give, derived from what it did give or from a provider.

A *provider* is any object with a ``name`` and ``enrich(record) -> dict`` (field -> value),
where ``record`` is a lead's fields (a dict, or a Lead). Two ship with Leadline and need no
outside service:

* ``DerivedProvider`` ("derived"): company domain from a non-free email or the website,
  free-mail and role-address flags, the phone's country, line type and time zone, the time
  zone of single-zone countries, seniority and department from the job title;
* ``CompanyFileProvider`` ("company_file"): a team's company reference CSV (domain, name,
  industry, employees, revenue, country), looked up by the lead's company domain. Set
  ``LEADLINE_COMPANY_FILE`` to use one.

``HttpProvider`` wraps an outside company-data service (timeouts, retries, a cache per
domain). ``register`` adds a provider to the registry; ``enrich`` asks the
registered providers in order, each filling only what is still blank, and says which provider
gave each value (provenance). A provider that fails is named in ``Enrichment.failed`` and never
stops the others: the caller keeps the lead and retries later. ``enrich_lead`` applies the
result to a stored lead, with an ``EnrichedValue`` per field and a timeline entry.
"""

from __future__ import annotations

import csv
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

import phonenumbers
from phonenumbers import timezone as phone_timezones

from leadline.quality.normalize import (
    company_domain,
    email_domain,
    is_free_mail,
    is_role_address,
    normalize_country,
    normalize_domain,
)

SENIORITY_PATTERNS = [
    (
        "c_level",
        r"\b(ceo|cto|cfo|coo|cmo|cio|cro|chief|founder|co-founder|owner|president|"
        r"managing director|partner)\b",
    ),
    ("vp", r"\b(vp|svp|evp|vice[- ]president)\b"),
    ("director", r"\b(director|head of|head)\b"),
    ("manager", r"\b(manager|lead|supervisor|principal)\b"),
    ("individual", r"\w"),
]
DEPARTMENT_PATTERNS = [
    ("sales", r"\b(sales|account executive|business development|bdr|sdr|revenue)\b"),
    ("marketing", r"\b(marketing|growth|brand|demand gen|cmo|content)\b"),
    ("engineering", r"\b(engineer|engineering|developer|cto|technical|it|software|devops)\b"),
    ("finance", r"\b(finance|cfo|controller|accounting|treasurer)\b"),
    ("operations", r"\b(operations|coo|ops|supply|logistics|procurement|purchasing|buyer)\b"),
    ("hr", r"\b(hr|human resources|people|talent|recruit\w*)\b"),
    ("executive", r"\b(ceo|founder|owner|president|managing director)\b"),
]
_SENIORITY = [(name, re.compile(p, re.I)) for name, p in SENIORITY_PATTERNS]
_DEPARTMENT = [(name, re.compile(p, re.I)) for name, p in DEPARTMENT_PATTERNS]


def seniority(title: str) -> str:
    if not title:
        return ""
    return next((name for name, rx in _SENIORITY if rx.search(title)), "")


def department(title: str) -> str:
    if not title:
        return ""
    return next((name for name, rx in _DEPARTMENT if rx.search(title)), "")


# Countries that keep one time zone (the rest are told apart by the phone number, if at all).
COUNTRY_TIMEZONES = {
    "GB": "Europe/London",
    "IE": "Europe/Dublin",
    "DE": "Europe/Berlin",
    "FR": "Europe/Paris",
    "ES": "Europe/Madrid",
    "IT": "Europe/Rome",
    "NL": "Europe/Amsterdam",
    "BE": "Europe/Brussels",
    "CH": "Europe/Zurich",
    "AT": "Europe/Vienna",
    "SE": "Europe/Stockholm",
    "NO": "Europe/Oslo",
    "DK": "Europe/Copenhagen",
    "FI": "Europe/Helsinki",
    "PL": "Europe/Warsaw",
    "CZ": "Europe/Prague",
    "GR": "Europe/Athens",
    "RO": "Europe/Bucharest",
    "HU": "Europe/Budapest",
    "IN": "Asia/Kolkata",
    "JP": "Asia/Tokyo",
    "KR": "Asia/Seoul",
    "SG": "Asia/Singapore",
    "HK": "Asia/Hong_Kong",
    "CN": "Asia/Shanghai",
    "IL": "Asia/Jerusalem",
    "AE": "Asia/Dubai",
    "ZA": "Africa/Johannesburg",
    "NG": "Africa/Lagos",
    "KE": "Africa/Nairobi",
    "NZ": "Pacific/Auckland",
}
LINE_TYPES = {
    phonenumbers.PhoneNumberType.FIXED_LINE: "fixed_line",
    phonenumbers.PhoneNumberType.MOBILE: "mobile",
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    phonenumbers.PhoneNumberType.TOLL_FREE: "toll_free",
    phonenumbers.PhoneNumberType.VOIP: "voip",
}


@runtime_checkable
class Provider(Protocol):
    """Gives field values for a lead's record; may raise when its service is unavailable."""

    name: str

    def enrich(self, record: Mapping[str, object]) -> dict[str, object]: ...


def _get(record, name: str):
    if isinstance(record, Mapping):
        return record.get(name)
    return getattr(record, name, None)


class DerivedProvider:
    """What the lead's own fields say about it; no outside service."""

    name = "derived"

    def enrich(self, record) -> dict[str, object]:
        email = (_get(record, "email") or "").strip().lower()
        out: dict[str, object] = {}
        domain = company_domain(email, _get(record, "website") or "")
        if domain:
            out["company_domain"] = domain
        if "@" in email:
            out["free_mail"] = is_free_mail(email)
            out["role_address"] = is_role_address(email)
            out["email_domain"] = email_domain(email)
        country = normalize_country(_get(record, "country"))
        out.update(_phone_facts(_get(record, "phone_e164") or _get(record, "phone"), country))
        country = country or out.get("country") or ""
        if country and "timezone" not in out and country in COUNTRY_TIMEZONES:
            out["timezone"] = COUNTRY_TIMEZONES[country]
        title = _get(record, "title") or _get(record, "job_title") or ""
        if title:
            out["seniority"] = seniority(title)
            out["department"] = department(title)
        return {k: v for k, v in out.items() if v not in (None, "")}


def _phone_facts(raw, country: str) -> dict[str, object]:
    if not raw:
        return {}
    try:
        number = phonenumbers.parse(str(raw), country or None)
    except phonenumbers.NumberParseException:
        return {}
    if not phonenumbers.is_possible_number(number):
        return {}
    out: dict[str, object] = {}
    region = phonenumbers.region_code_for_number(number)
    if region:
        out["phone_country"] = region
        if not country:
            out["country"] = region
    kind = LINE_TYPES.get(phonenumbers.number_type(number))
    if kind:
        out["phone_line_type"] = kind
    zones = [z for z in phone_timezones.time_zones_for_number(number) if "/" in z]
    main = COUNTRY_TIMEZONES.get(region or "")
    if len(zones) == 1:
        out["timezone"] = zones[0]
    elif main in zones:
        out["timezone"] = main
    return out


class CompanyFileProvider:
    """A company reference CSV: domain, name (or company), industry, employees, revenue,
    country. Read once; rows keyed by normalised domain."""

    name = "company_file"
    FIELDS = ("company", "industry", "employees", "revenue", "country")

    def __init__(self, path: str) -> None:
        self.path = path
        self._rows: dict[str, dict] | None = None
        self._lock = threading.Lock()

    def _load(self) -> dict[str, dict]:
        with self._lock:
            if self._rows is None:
                rows: dict[str, dict] = {}
                with open(self.path, newline="", encoding="utf-8-sig") as fh:
                    for row in csv.DictReader(fh):
                        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
                        domain = normalize_domain(row.get("domain") or row.get("website"))
                        if domain:
                            rows.setdefault(domain, row)
                self._rows = rows
        return self._rows

    def enrich(self, record) -> dict[str, object]:
        email = (_get(record, "email") or "").strip().lower()
        domain = _get(record, "company_domain") or company_domain(
            email, _get(record, "website") or ""
        )
        row = self._load().get(domain) if domain else None
        if row is None:
            return {}
        out: dict[str, object] = {
            "company": row.get("name") or row.get("company") or "",
            "industry": row.get("industry", ""),
            "country": normalize_country(row.get("country")),
        }
        for name in ("employees", "revenue"):
            number = _number(row.get(name))
            if number is not None:
                out[name] = number
        return {k: v for k, v in out.items() if v not in (None, "")}


def _number(text) -> int | None:
    digits = re.sub(r"[^\d.]", "", text or "")
    try:
        return int(float(digits)) if digits else None
    except ValueError:
        return None


class ProviderUnavailable(Exception):
    """The service did not answer usefully (after retries): try this lead again later."""


class HttpProvider:
    """A company-data service over HTTP: ``GET url`` (``{domain}`` filled in) answering a JSON
    object of fields; 404 means "nothing known". Answers (and 404s) are cached for ``ttl``
    seconds per domain; timeouts and 5xx answers are retried ``retries`` times, then the
    provider raises ``ProviderUnavailable`` and ``enrich`` reports it as failed."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        fields: tuple[str, ...] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 2.0,
        retries: int = 2,
        ttl: float = 86_400.0,
    ) -> None:
        self.name, self.url, self.fields = name, url, fields
        self.headers = {"Accept": "application/json", **(headers or {})}
        self.timeout, self.retries, self.ttl = timeout, retries, ttl
        self._cache: dict[str, tuple[float, dict]] = {}
        self._lock = threading.Lock()

    def enrich(self, record) -> dict[str, object]:
        import time

        email = (_get(record, "email") or "").strip().lower()
        domain = _get(record, "company_domain") or company_domain(
            email, _get(record, "website") or ""
        )
        if not domain:
            return {}
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(domain)
        if hit and hit[0] > now:
            return dict(hit[1])
        values = self._fetch(domain)
        if self.fields is not None:
            values = {k: v for k, v in values.items() if k in self.fields}
        with self._lock:
            self._cache[domain] = (now + self.ttl, values)
        return dict(values)

    def _fetch(self, domain: str) -> dict:
        import json
        import urllib.error
        import urllib.parse
        import urllib.request

        url = self.url.format(domain=urllib.parse.quote(domain))
        request = urllib.request.Request(url, headers=self.headers)
        problem = ""
        for _ in range(self.retries + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    data = json.loads(response.read().decode("utf-8") or "{}")
                return data if isinstance(data, dict) else {}
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    return {}
                problem = f"HTTP {exc.code}"
                if exc.code < 500 and exc.code != 429:
                    break
            except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
        raise ProviderUnavailable(f"{self.name}: {problem or 'no answer'} from {url}")


# --- the registry ---------------------------------------------------------------------------

_registry: dict[str, Provider] = {}
_registry_lock = threading.Lock()


def register(provider: Provider) -> Provider:
    """Add (or replace, by name) a provider; providers are asked in the order registered."""
    if not isinstance(provider, Provider):
        raise TypeError(f"{provider!r} has no name and enrich(record)")
    with _registry_lock:
        _registry.pop(provider.name, None)
        _registry[provider.name] = provider
    return provider


def unregister(name: str) -> None:
    with _registry_lock:
        _registry.pop(name, None)


def providers() -> list[Provider]:
    with _registry_lock:
        if not _registry:
            _registry["derived"] = DerivedProvider()
            path = os.environ.get("LEADLINE_COMPANY_FILE", "")
            if path:
                _registry["company_file"] = CompanyFileProvider(path)
        return list(_registry.values())


@dataclass
class Enrichment:
    values: dict[str, object] = field(default_factory=dict)
    provenance: dict[str, str] = field(default_factory=dict)  # field -> provider name
    failed: dict[str, str] = field(default_factory=dict)  # provider name -> error


def enrich(record, using: list[Provider] | None = None) -> Enrichment:
    """Values for the record's blank fields from each provider in turn (the first one wins)."""
    result = Enrichment()
    for provider in using if using is not None else providers():
        try:
            got = provider.enrich(record)
        except Exception as exc:  # noqa: BLE001 - a provider must never lose a capture
            result.failed[provider.name] = f"{type(exc).__name__}: {exc}"[:300]
            continue
        for name, value in got.items():
            if name in result.values or not _blank(_get(record, name)):
                continue
            result.values[name] = value
            result.provenance[name] = provider.name
    return result


def _blank(value) -> bool:
    return value is None or value == ""


# Lead columns enrichment may fill (when blank); the other values are kept as provenance only.
LEAD_FIELDS = (
    "company",
    "company_domain",
    "industry",
    "employees",
    "revenue",
    "country",
    "timezone",
    "seniority",
    "department",
)


def enrich_lead(
    lead, using: list[Provider] | None = None, actor=None, *, now: datetime | None = None
) -> Enrichment:
    """Enrich a stored lead: fill its blank fields, keep every value with its provider."""
    from django.db import transaction

    from leadline.core.clock import clock
    from leadline.leads.actions import record
    from leadline.leads.models import Lead
    from leadline.quality.models import EnrichedValue

    now = now or clock.now()
    result = enrich(lead, using)
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        applied = [
            name for name in LEAD_FIELDS if name in result.values and _blank(getattr(locked, name))
        ]
        for name in applied:
            setattr(locked, name, result.values[name])
        if applied:
            locked.updated_at = now
            locked.save(update_fields=[*applied, "updated_at"])
        EnrichedValue.objects.bulk_create(
            EnrichedValue(
                lead_id=lead.pk,
                field=name,
                value=value,
                provider=result.provenance[name],
                at=now,
                applied=name in applied,
            )
            for name, value in result.values.items()
        )
        if applied or result.failed:
            parts = [f"{name} from {result.provenance[name]}" for name in applied]
            summary = "Enriched " + ", ".join(parts) if parts else "Enrichment incomplete"
            if result.failed:
                summary += "; unavailable: " + ", ".join(sorted(result.failed))
            record(locked, "enriched", summary, now, actor, applied=applied, failed=result.failed)
    for name in applied:
        setattr(lead, name, result.values[name])
    return result
