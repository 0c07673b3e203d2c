"""File imports (CSV and XLSX) through the capture pipeline: dry run, commit, resume, report.

    open_import(path) → Import (sniffed, auto-mapped; the same file again is the same Import)
    start(imp, "dry_run" | "commit") → run(imp) in slices until it returns False

Rows are streamed in batches of 1,000 and never all held in memory. Each row has a stable
external id — the file's own id column (Salesforce Id, HubSpot Record ID) or the file's content
hash and the row number — so importing a file again creates nothing new. A commit batch, its
per-row report lines and the import's progress are written in one transaction: an import killed
mid-file resumes at the first row not stored, with no duplicates and no gaps.
"""

import hashlib
import json
import os
import re
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q

from leadline.core.choices import Source
from leadline.core.clock import clock
from leadline.core.errors import DomainError
from leadline.core.jobs import enqueue, handler
from leadline.core.models import Campaign
from leadline.intake import columns, tabular
from leadline.intake.models import Import, ImportBatch, ImportIssue, ImportKind, ImportMapping
from leadline.intake.pipeline import QUIET_CAPTURED, capture_batch, normalise
from leadline.leads.models import Lead
from leadline.quality.normalize import normalize_country, normalize_email

BATCH_SIZE = 1000
RECYCLE_ROWS = 10_000
LEASE = timedelta(minutes=2)
JOB_SLICE_SECONDS = 30.0
# Errors that refuse a row. Any other field's problem (a malformed phone, an unknown country)
# drops that value with a warning in the report: the lead is still worth having.
CRITICAL = frozenset({"email", ""})
COUNT_KEYS = ("new", "duplicate_existing", "duplicate_in_file", "invalid", "warnings")
NUMBER_TARGETS = {"employees": True, "revenue": False}
BOOL_TARGETS = {"consent_email", "do_not_email", "do_not_call", "do_not_contact"}
Status = Import.Status


class ClaimLost(Exception):
    """Another process took this import over; this one stops without writing."""


def upload_dir() -> Path:
    path = Path(settings.DATA_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _namespace(headers: list[str], mapping: list[str]) -> str:
    """Whose ids the id column holds, so "123" from HubSpot never collides with another file."""
    keys = {columns.header_key(h) for h in headers}
    id_header = next(
        (
            columns.header_key(h)
            for h, t in zip(headers, mapping, strict=False)
            if t == "external_id"
        ),
        "",
    )
    if id_header in ("recordid", "hubspotid") or {"lifecyclestage", "contactowner"} & keys:
        return "hubspot"
    if (
        id_header in ("salesforceid", "leadid", "18characterid", "leadid18")
        or {"isconverted", "masterrecordid", "leadsource", "ownerid", "leadowner"} & keys
    ):
        return "salesforce"
    return "file"


def parse_mapping(spec, headers: list[str], kind: str) -> dict:
    """A mapping given as JSON ({header: target}) or a saved mapping's name, as
    {header key: target}."""
    if spec in (None, ""):
        return {}
    if isinstance(spec, dict):
        raw = spec
    else:
        text = str(spec).strip()
        if text.startswith("{"):
            try:
                raw = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DomainError({"mapping": f"not valid JSON ({exc.msg})"}) from None
        else:
            saved = ImportMapping.objects.filter(name__iexact=text).first()
            if saved is None:
                names = ", ".join(ImportMapping.objects.values_list("name", flat=True)) or "none"
                raise DomainError({"mapping": f"no saved mapping {text!r} (saved: {names})"})
            return dict(saved.columns)
    if not isinstance(raw, dict):
        raise DomainError({"mapping": "give an object of column → field"})
    by_key = {columns.header_key(h): h for h in headers}
    out = {}
    for header, target in raw.items():
        key = columns.header_key(header)
        out[key] = normalize_target(target, by_key.get(key, str(header)))
    return out


def normalize_target(target, header: str) -> str:
    text = "" if target is None else str(target).strip()
    if text.lower() in ("", "ignore", "skip", "none", "-"):
        return columns.IGNORE
    if text.lower() == "custom":
        return columns.CUSTOM + columns.custom_key(header)
    if text.startswith(("custom.", "custom:")):
        return columns.CUSTOM + columns.custom_key(text[7:])
    return text


def open_import(
    path,
    *,
    filename: str = "",
    kind: str = ImportKind.LEADS,
    user=None,
    stored: bool = False,
    now: datetime | None = None,
) -> Import:
    """The Import for this file: the existing one when the same content was seen before
    (to resume it or report it done), else a new one, sniffed and auto-mapped."""
    now = now or clock.now()
    path = Path(path).resolve()
    sha = file_sha256(path)
    existing = Import.objects.filter(sha256=sha, kind=kind).order_by("-id").first()
    if existing is not None:
        if stored and str(path) != existing.path:
            if Path(existing.path).exists():
                path.unlink(missing_ok=True)
            else:
                Import.objects.filter(pk=existing.pk).update(path=str(path), stored=True)
        elif not Path(existing.path).exists():
            Import.objects.filter(pk=existing.pk).update(path=str(path), stored=stored)
        existing.refresh_from_db()
        return existing
    try:
        table = tabular.open_table(path)
    except tabular.TableError as exc:
        if stored:
            path.unlink(missing_ok=True)
        raise DomainError({"file": str(exc)}) from None
    mapping = columns.auto_map(table.headers, kind)
    return Import.objects.create(
        kind=kind,
        filename=(filename or path.name)[:255],
        path=str(path),
        stored=stored,
        size=path.stat().st_size,
        sha256=sha,
        format=table.format,
        encoding=table.encoding,
        delimiter=table.delimiter,
        headers=table.headers,
        samples=tabular.samples(table),
        mapping=mapping,
        rows_total=table.estimated_rows,
        id_namespace=_namespace(table.headers, mapping),
        source=Source.IMPORT,
        created_by=user,
        created_at=now,
    )


def configure(
    imp: Import,
    *,
    mapping=None,
    source: str | None = None,
    campaign: str | None = None,
    cost=None,
    event_kind: str | None = None,
    save_as: str = "",
    user=None,
) -> Import:
    """Set an import's mapping and options before it commits (they are fixed once it does)."""
    if imp.phase == "commit" or imp.status == Status.DONE:
        raise DomainError({"": "the import has started; its mapping and options are fixed"})
    errors: dict[str, str] = {}
    if mapping is not None:
        if isinstance(mapping, list):
            targets = [normalize_target(t, h) for h, t in zip(imp.headers, mapping, strict=False)]
            targets += [columns.IGNORE] * (len(imp.headers) - len(targets))
        else:
            saved = parse_mapping(mapping, imp.headers, imp.kind)
            targets = columns.auto_map(imp.headers, imp.kind, saved)
        problems = columns.validate_mapping(imp.headers, targets, imp.kind)
        errors.update({f"mapping.{k}" if k else "mapping": v for k, v in problems.items()})
        imp.mapping = targets
        imp.id_namespace = _namespace(imp.headers, targets)
    if source:
        if source not in Source.values:
            errors["source"] = f"unknown source; use one of {', '.join(Source.values)}"
        imp.source = source
    if cost == "":
        imp.cost = None
    elif cost is not None:
        try:
            imp.cost = Decimal(str(cost).replace(",", ""))
        except ArithmeticError:
            errors["cost"] = "must be a number"
        else:
            if imp.cost < 0:
                errors["cost"] = "cannot be negative"
        if not source and imp.source == Source.IMPORT:
            imp.source = Source.LIST_PURCHASE  # a list with a price is a purchased list
    if campaign == "":
        imp.campaign, imp.campaign_name = None, ""
    elif campaign is not None:
        found = (
            Campaign.objects.filter(pk=campaign).first()
            if str(campaign).isdigit()
            else Campaign.objects.filter(name__iexact=str(campaign).strip()).first()
        )
        imp.campaign = found
        imp.campaign_name = "" if found else str(campaign).strip()[:150]
    if imp.cost and not (imp.campaign_id or imp.campaign_name):
        errors["campaign"] = "a purchased list's cost is recorded on a campaign: name one"
    if event_kind is not None:
        from leadline.intake.models import EventType

        imp.event_kind = event_kind.strip()
        if imp.event_kind and not EventType.objects.filter(kind=imp.event_kind).exists():
            kinds = ", ".join(EventType.objects.values_list("kind", flat=True))
            errors["event_kind"] = f"unknown event type {imp.event_kind!r}; use one of {kinds}"
    if errors:
        raise DomainError(errors)
    imp.save()
    if save_as:
        save_mapping(imp, save_as, user)
    return imp


def save_mapping(imp: Import, name: str, user=None) -> ImportMapping:
    now = clock.now()
    saved, _ = ImportMapping.objects.update_or_create(
        name=name.strip()[:100],
        defaults={
            "kind": imp.kind,
            "columns": columns.saved_columns(imp.headers, imp.mapping),
            "source": imp.source,
            "created_by": user,
            "updated_at": now,
        },
    )
    return saved


# --- running ------------------------------------------------------------------------------------


def claimant_id(label: str) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{label}"[:200]


def _claimant_dead(claimed_by: str) -> bool:
    """A claim held by a process on this machine that no longer exists (killed mid-import)."""
    host, _, rest = claimed_by.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def claim(imp: Import, claimant: str, now: datetime) -> bool:
    """Take the import for this process (guarded update); False when another live one has it."""
    free = Q(claimed_by="") | Q(claimed_by=claimant) | Q(lease_until__lt=now)
    won = Import.objects.filter(free, pk=imp.pk).update(
        claimed_by=claimant, lease_until=now + LEASE
    )
    if not won:
        current = Import.objects.filter(pk=imp.pk).values_list("claimed_by", flat=True).first()
        if current and _claimant_dead(current):
            won = Import.objects.filter(pk=imp.pk, claimed_by=current).update(
                claimed_by=claimant, lease_until=now + LEASE
            )
    if won:
        imp.claimed_by = claimant
    return bool(won)


def release(imp: Import, claimant: str) -> None:
    Import.objects.filter(pk=imp.pk, claimed_by=claimant).update(claimed_by="", lease_until=None)


def start(imp: Import, phase: str, now: datetime | None = None) -> Import:
    """Begin (or continue) a dry run or the commit. A finished import stays finished."""
    now = now or clock.now()
    imp.refresh_from_db()
    if imp.status == Status.DONE:
        return imp
    problems = columns.validate_mapping(imp.headers, imp.mapping, imp.kind)
    if problems:
        raise DomainError({f"mapping.{k}" if k else "mapping": v for k, v in problems.items()})
    if phase == "dry_run":
        if imp.phase == "commit":
            raise DomainError({"": "the import is already being committed"})
        if imp.status != Status.CHECKING:
            with transaction.atomic():
                ImportIssue.objects.filter(upload=imp, phase="dry_run").delete()
                Import.objects.filter(pk=imp.pk).update(
                    status=Status.CHECKING,
                    phase="dry_run",
                    rows_done=0,
                    bytes_done=0,
                    dry_counts={},
                    error="",
                    started_at=now,
                )
    elif phase == "commit":
        if imp.phase != "commit":
            with transaction.atomic():
                ImportIssue.objects.filter(upload=imp, phase="commit").delete()
                Import.objects.filter(pk=imp.pk).update(
                    status=Status.IMPORTING,
                    phase="commit",
                    rows_done=0,
                    bytes_done=0,
                    counts={},
                    error="",
                    started_at=now,
                )
        elif imp.status == Status.FAILED:
            Import.objects.filter(pk=imp.pk).update(status=Status.IMPORTING, error="")
    else:
        raise ValueError(phase)
    imp.refresh_from_db()
    return imp


def enqueue_run(imp: Import, now: datetime | None = None, after: str = "start") -> None:
    enqueue(
        "import_file",
        run_at=now or clock.now(),
        dedupe_key=f"import:{imp.pk}:{imp.phase}:{after}"[:120],
        upload=imp.pk,
    )


@dataclass
class _Row:
    number: int
    data: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict)
    email_key: str = ""
    external_id: str = ""
    file_id: str = ""
    problems: dict = field(default_factory=dict)  # critical: the row is refused
    warnings: dict = field(default_factory=dict)  # field → problem; imported without it
    doubtful: bool = False  # a value the pipeline will likely refuse: checked before capture


# How a column's cell becomes a lead field, decided once per file rather than once per cell.
PLAIN, CUSTOM_TEXT, CUSTOM_DATE, FILE_ID, SOURCE, NUMBER, PHONE, FLAG = range(8)


def _how(target: str, date_keys: frozenset) -> int:
    if target.startswith(columns.CUSTOM):
        return CUSTOM_DATE if target[len(columns.CUSTOM) :] in date_keys else CUSTOM_TEXT
    return {
        "external_id": FILE_ID,
        "source": SOURCE,
        "phone": PHONE,
        **dict.fromkeys(NUMBER_TARGETS, NUMBER),
        **dict.fromkeys(BOOL_TARGETS, FLAG),
    }.get(target, PLAIN)


@dataclass
class _Run:
    """What one process knows while it streams a file: the plan and what it has seen."""

    imp: Import
    plan: list[tuple[int, str]]
    header_of: dict[str, str]
    campaign_ref: str
    date_keys: frozenset = frozenset()
    seen_email: dict[int, int] = field(default_factory=dict)
    seen_id: dict[str, int] = field(default_factory=dict)
    steps: list[tuple[int, str, int, str]] = field(default_factory=list)
    countries: dict[str, bool] = field(default_factory=dict)

    def __post_init__(self):
        # (column, target, how, custom field key)
        self.steps = [
            (i, t, _how(t, self.date_keys), t[len(columns.CUSTOM) :]) for i, t in self.plan
        ]
        self.day_first = self.imp.delimiter == ";"  # Europe: 1.200,50 and 31/12/2026

    def known_country(self, text: str) -> bool:
        known = self.countries.get(text)
        if known is None:
            known = self.countries[text] = bool(normalize_country(text))
        return known


def _plan(imp: Import) -> list[tuple[int, str]]:
    return [(i, t) for i, t in enumerate(imp.mapping) if t]


def _prepare(run: _Run, number: int, cells: list) -> _Row:
    imp = run.imp
    row = _Row(number)
    bad = tabular.is_bad_row(cells)
    if bad:
        row.problems[""] = f"the row could not be read: {bad}"
        return row
    data: dict = {"source": imp.source}
    custom: dict = {}
    raw = row.raw
    if run.campaign_ref:
        data["campaign"] = run.campaign_ref
    width = len(cells)
    for index, target, how, key in run.steps:
        if index >= width:
            continue
        value = cells[index]
        value = (value if value.__class__ is str else str(value)).strip()
        if not value:
            continue
        raw[target] = value
        if how == PLAIN:
            data[target] = value
        elif how == CUSTOM_TEXT:
            custom[key] = value[: columns.CUSTOM_LIMIT]  # columns.custom_value, inlined
        elif how == CUSTOM_DATE:
            text = columns.date_text(value, day_first=run.day_first)
            custom[key] = columns.custom_value(text)
        elif how == FILE_ID:
            row.file_id = value
        elif how == SOURCE:
            # A CRM's own label ("Trade Show", "Purchased List") becomes one of ours; the label
            # itself is kept as the source detail unless a column fills that.
            mapped = columns.source_value(value)
            if mapped:
                data["source"] = mapped
            data.setdefault("source_detail", value)
        elif how == NUMBER:
            parsed = columns.parse_number(
                value, integer=NUMBER_TARGETS[target], decimal_comma=run.day_first
            )
            data[target] = value if parsed is None else parsed
            if parsed is None or parsed < 0:
                row.doubtful = True
        elif how == PHONE:
            data[target] = columns.phone_text(value)
        else:  # FLAG
            flag = columns.parse_bool(value)
            data[target] = value if flag is None else flag
            row.doubtful |= flag is None
    if row.file_id:
        value = (
            row.file_id
            if len(row.file_id) <= 90
            else hashlib.sha1(row.file_id.encode()).hexdigest()
        )
        row.external_id = f"{imp.id_namespace or 'file'}:{value}"
        data["external_ids"] = {imp.id_namespace or "file": row.file_id}
    else:
        row.external_id = f"import:{imp.sha256[:16]}:{number}"
    data["external_id"] = row.external_id
    if custom:
        data["custom"] = custom
    row.data = data
    if "email" in data:
        row.email_key, problem = normalize_email(data["email"])
        row.doubtful |= problem is not None
    country = data.get("country")
    known_country = bool(country) and run.known_country(country)
    phone = data.get("phone")
    if country and not known_country:
        row.doubtful = True
    elif phone and not (THREE_DIGITS.search(phone) and (known_country or phone[0] == "+")):
        # Not a number at all ("ask for Bob"), or a national one with no country to read it by.
        row.doubtful = True
    return row


THREE_DIGITS = re.compile(r"\d\D*\d\D*\d")


def _split_errors(row: _Row, errors: dict) -> bool:
    """Sort a row's problems into refusing ones and droppable ones; True when refused."""
    for name, message in errors.items():
        if name in CRITICAL:
            row.problems[name] = message
        else:
            row.warnings[name] = message
    if row.problems:
        return True
    for name in row.warnings:
        row.data.pop(name, None)
    return False


def _issue(
    run: _Run, row: _Row, phase: str, kind: str, target: str, reason: str, lead_id=None
) -> ImportIssue:
    column = run.header_of.get(target, "")
    value = row.raw.get(target, "")
    if target == "" and not column:
        column = "(row)"
    if target == "email" and not value and "give at least" in reason:
        column = "(row)"
    return ImportIssue(
        upload_id=run.imp.pk,
        phase=phase,
        row=row.number,
        kind=kind,
        column=column[:200],
        value=str(value)[:500],
        reason=reason[:500],
        lead_id=lead_id,
    )


def _classify(
    run: _Run,
    rows: list[_Row],
    phase: str,
    *,
    existing: tuple[dict, dict] = ({}, {}),
    outcomes: dict | None = None,
) -> tuple[dict, list[ImportIssue]]:
    """Count each row once, in file order: invalid, duplicate within the file (same id or email
    as an earlier row), duplicate of a lead already stored, or new. A dry run knows the stored
    leads from `existing` (by external id, by email); a commit from the pipeline's outcomes,
    and a row the pipeline stored as a new lead is new whatever came before it."""
    counts = dict.fromkeys(COUNT_KEYS, 0)
    issues: list[ImportIssue] = []
    outcomes = outcomes or {}
    existing_ids, existing_emails = existing
    for row in rows:
        lead_id, outcome = outcomes.get(row.number, (None, ""))
        if row.problems:
            counts["invalid"] += 1
            for name, message in row.problems.items():
                label = columns.LEAD_TARGETS.get(name, (name,))[0] if name else ""
                reason = f"{label}: {message}" if label else message
                issues.append(_issue(run, row, phase, "invalid", name, reason))
            continue
        for name, message in row.warnings.items():
            counts["warnings"] += 1
            label = columns.LEAD_TARGETS.get(name, (name,))[0]
            issues.append(
                _issue(
                    run,
                    row,
                    phase,
                    "warning",
                    name,
                    f"{label}: {message}; imported without it",
                    lead_id,
                )
            )
        email_hash = hash(row.email_key) if row.email_key else None
        earlier = None
        if row.file_id and row.file_id in run.seen_id:
            earlier, target = run.seen_id[row.file_id], "external_id"
        elif email_hash is not None and email_hash in run.seen_email:
            earlier, target = run.seen_email[email_hash], "email"
        if row.file_id:
            run.seen_id.setdefault(row.file_id, row.number)
        if email_hash is not None:
            run.seen_email.setdefault(email_hash, row.number)
        if outcome == "":  # a dry run: what the commit would find
            if row.external_id in existing_ids:
                lead_id, outcome = existing_ids[row.external_id], "replayed"
            elif row.email_key and row.email_key in existing_emails:
                lead_id, outcome = existing_emails[row.email_key], "matched"
        if outcome == "created":
            # The pipeline stored a new lead for this row, even if an earlier row had its email:
            # that row went into a lead with another email (a match by similarity), or its lead
            # was closed meanwhile. A lead created is counted as new, so the counts add up to
            # the leads there are (and to what undo removes).
            counts["new"] += 1
        elif earlier is not None:
            counts["duplicate_in_file"] += 1
            what = "id" if target == "external_id" else "email"
            issues.append(
                _issue(
                    run,
                    row,
                    phase,
                    "duplicate_in_file",
                    target,
                    f"same {what} as row {earlier}",
                    lead_id,
                )
            )
        elif outcome == "replayed":
            counts["duplicate_existing"] += 1
            issues.append(
                _issue(
                    run,
                    row,
                    phase,
                    "duplicate_existing",
                    "external_id",
                    f"already imported as lead {lead_id}",
                    lead_id,
                )
            )
        elif outcome == "matched":
            counts["duplicate_existing"] += 1
            issues.append(
                _issue(
                    run,
                    row,
                    phase,
                    "duplicate_existing",
                    "email",
                    f"matches open lead {lead_id}: updated, not duplicated",
                    lead_id,
                )
            )
        else:
            counts["new"] += 1
    return counts, issues


def _existing(rows: list[_Row]) -> tuple[dict, dict]:
    ids = [r.external_id for r in rows if not r.problems]
    emails = {r.email_key for r in rows if r.email_key and not r.problems}
    known_ids = (
        dict(Lead.objects.filter(external_id__in=ids).values_list("external_id", "pk"))
        if ids
        else {}
    )
    known_emails = (
        dict(Lead.objects.open().filter(email_key__in=emails).values_list("email_key", "pk"))
        if emails
        else {}
    )
    return known_ids, known_emails


def _check_rows(rows: list[_Row]) -> None:
    """Dry run: the pipeline's own validation, without storing anything."""
    for row in rows:
        if row.problems:
            continue
        _clean, errors = normalise(row.data)
        if errors and not _split_errors(row, errors):
            _clean, errors = normalise(row.data)
            _split_errors(row, errors)


def _capture_rows(run: _Run, rows: list[_Row], now: datetime) -> dict[int, tuple[int, str]]:
    """Commit: every valid row through `capture_batch`; a row whose only problems are
    droppable fields goes through again without them. Returns row number → (lead id, outcome:
    created, matched or replayed)."""
    actor = run.imp.created_by
    leads: dict[int, tuple[int, str]] = {}
    # A doubtful row is checked first, by the pipeline's own validation: its bad fields are
    # dropped (or the row refused) before the capture. What the cheap screen in _prepare does
    # not see, the pipeline drops itself (`refuse_on`); a second call (tens of milliseconds
    # however few rows it has) remains for a row still refused after that.
    for row in rows:
        if row.doubtful and not row.problems:
            _clean, errors = normalise(row.data)
            if errors:
                _split_errors(row, errors)
    pending = [r for r in rows if not r.problems]
    for _attempt in range(2):
        if not pending:
            break
        # The pipeline drops what the screen missed (a phone impossible for its country…) and
        # says so in the result's errors: a row refused only for droppable fields is rare.
        results = capture_batch(
            [r.data for r in pending],
            channel="import",
            actor=actor,
            now=now,
            refuse_on=CRITICAL,
            quiet=True,
        )
        retry = []
        for row, result in zip(pending, results, strict=True):
            if isinstance(result, DomainError):
                if not _split_errors(row, result.errors):
                    retry.append(row)
            else:
                if result.errors:
                    _split_errors(row, result.errors)
                leads[row.number] = (_lead_id(result), result.outcome)
        pending = retry
    for row in pending:  # still refused after dropping the bad fields
        row.problems.setdefault("", "refused by the pipeline")
    return leads


def _lead_id(result) -> int:
    # The pipeline may hand back a lazily built lead; its id is enough here.
    lead_id = getattr(result, "lead_id", None)
    return lead_id if lead_id is not None else result.lead.pk


def _add(total: dict, part: dict) -> dict:
    return {k: total.get(k, 0) + part.get(k, 0) for k in COUNT_KEYS}


@transaction.atomic
def _record_cost(imp: Import) -> None:
    """A purchased list's price goes on its campaign once, however often the commit resumes."""
    if imp.campaign_id is None and imp.campaign_name:
        campaign, _ = Campaign.objects.get_or_create(
            name=imp.campaign_name,
            # Its channel and start date: a purchased list's cost per lead is counted from them.
            defaults={
                "channel": imp.source,
                "created_at": clock.now(),
                "starts_on": clock.now().date(),
            },
        )
        Import.objects.filter(pk=imp.pk).update(campaign=campaign, campaign_name="")
        imp.campaign, imp.campaign_name = campaign, ""
    if imp.cost and not imp.cost_recorded:
        marked = Import.objects.filter(pk=imp.pk, cost_recorded=False).update(cost_recorded=True)
        if marked:
            Campaign.objects.filter(pk=imp.campaign_id).update(cost=F("cost") + imp.cost)
        imp.cost_recorded = True


def _skip_done(run: _Run, rows, upto: int, remember: bool) -> None:
    """Resuming: pass the rows already stored, remembering their ids and emails so a later
    row that repeats one is still seen as a duplicate within the file."""
    email_col = next((i for i, t in run.plan if t == "email"), None)
    id_col = next((i for i, t in run.plan if t == "external_id"), None)
    for _ in range(upto):
        item = next(rows, None)
        if item is None or not remember:
            continue
        number, cells = item
        if id_col is not None and id_col < len(cells):
            value = str(cells[id_col]).strip()
            if value:
                run.seen_id.setdefault(value, number)
        if email_col is not None and email_col < len(cells):
            email, problem = normalize_email(cells[email_col])
            if email and not problem:
                run.seen_email.setdefault(hash(email), number)


def run(
    imp: Import,
    *,
    claimant: str | None = None,
    budget: float | None = None,
    batch_size: int = BATCH_SIZE,
    progress=None,
) -> bool:
    """Continue the import's current phase for up to `budget` seconds (None: to the end).

    True when there is more to do. Raises DomainError when another process holds the import.
    """
    claimant = claimant or claimant_id("run")
    now = clock.now()
    imp.refresh_from_db()
    if imp.status not in (Status.CHECKING, Status.IMPORTING):
        return False
    if not claim(imp, claimant, now):
        raise DomainError(
            {
                "": f"import {imp.pk} is being run by {imp.claimed_by or 'another'} "
                "process; try again when it stops"
            },
            status=409,
        )
    try:
        return _run(imp, claimant, budget, batch_size, progress)
    except ClaimLost:
        return False
    except Exception as exc:
        Import.objects.filter(pk=imp.pk, claimed_by=claimant).update(
            status=Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    finally:
        release(imp, claimant)


def _run(imp: Import, claimant: str, budget, batch_size: int, progress) -> bool:
    phase = imp.phase
    events = imp.kind == ImportKind.EVENTS
    started = time.monotonic()
    try:
        table = tabular.open_table(imp.path, encoding=imp.encoding, delimiter=imp.delimiter)
    except tabular.TableError as exc:
        raise DomainError({"file": f"{imp.filename}: {exc}"}) from None
    if imp.rows_done and file_sha256(Path(imp.path)) != imp.sha256:
        raise DomainError(
            {
                "file": f"{imp.filename} changed since the import started; import "
                "the new file on its own"
            }
        )
    if phase == "commit":
        _record_cost(imp)
    plan = _plan(imp)
    run_state = _Run(
        imp=imp,
        plan=plan,
        header_of={t: imp.headers[i] for i, t in plan},
        date_keys=frozenset(
            t[len(columns.CUSTOM) :]
            for t in imp.mapping
            if t.startswith(columns.CUSTOM) and columns.DATE_HEADER.search(t)
        ),
        campaign_ref=str(imp.campaign_id or ""),
    )
    done = imp.rows_done
    counts = dict(imp.counts if phase == "commit" else imp.dry_counts)
    rows_iter = table.rows()
    if done:
        _skip_done(run_state, rows_iter, done, remember=not events)
    batch: list[_Row] = []
    finished = False
    while True:
        item = next(rows_iter, None)
        if item is not None:
            batch.append((_prepare_event if events else _prepare)(run_state, *item))
        if batch and (item is None or len(batch) >= batch_size):
            write = _write_event_batch if events else _write_batch
            counts = write(run_state, phase, batch, counts, done, table, claimant)
            done += len(batch)
            batch = []
            if done % RECYCLE_ROWS < batch_size and not connection.in_atomic_block:
                _recycle_connection()
            if progress:
                progress(done, counts)
            if budget is not None and time.monotonic() - started > budget and item is not None:
                break
        if item is None:
            finished = True
            break
    rows_iter.close()
    if finished:
        _finish(imp, phase, done, claimant)
    imp.refresh_from_db()
    return not finished


def _recycle_connection() -> None:
    """A long-lived database connection keeps every statement it prepared (SQLite's statement
    cache holds the pipeline's big multi-row inserts, a new one for each batch's row count):
    a new connection every 10,000 rows, and the freed memory handed back to the system, keep
    a million-row import's memory flat instead of growing with the file."""
    connection.close()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)  # glibc only; elsewhere this is skipped
    except (OSError, AttributeError):
        pass


def _write_batch(
    run: _Run,
    phase: str,
    rows: list[_Row],
    counts: dict,
    done: int,
    table: tabular.Table,
    claimant: str,
) -> dict:
    now = clock.now()
    with transaction.atomic():
        if phase == "commit":
            # The pipeline's own outcome says which rows matched a stored lead: no lookup here.
            outcomes = _capture_rows(run, rows, now)
            part, issues = _classify(run, rows, phase, outcomes=outcomes)
            _record_batch(run, rows, outcomes, now)
        else:
            existing = _existing(rows)
            _check_rows(rows)
            part, issues = _classify(run, rows, phase, existing=existing)
        counts = _add(counts, part)
        ImportIssue.objects.bulk_create(issues, batch_size=500)
        _save_progress(run, phase, done + len(rows), counts, table, claimant, now)
    return counts


def id_ranges(ids) -> list[list[int]]:
    """[3, 4, 5, 9] → [[3, 5], [9, 9]]."""
    out: list[list[int]] = []
    for pk in sorted(ids):
        if out and pk == out[-1][1] + 1:
            out[-1][1] = pk
        else:
            out.append([pk, pk])
    return out


def _record_batch(run: _Run, rows: list[_Row], outcomes: dict, now: datetime) -> None:
    # Imported leads are not announced one by one (`capture_batch(quiet=True)`): the people on
    # a list did not write to us, so no auto-response goes to them, and their owners get one
    # digest when the import ends instead of an email per lead. Predictions and `lead.created`
    # webhooks still run, per lead.
    created = [pk for pk, outcome in outcomes.values() if outcome == "created"]
    if created:
        ImportBatch.objects.create(
            upload_id=run.imp.pk,
            first_row=rows[0].number,
            created=id_ranges(created),
            created_count=len(created),
            at=now,
        )


@handler(QUIET_CAPTURED, batch=True)
def announce_imported_leads(jobs: list, now: datetime) -> dict:
    """`lead_captured` for imported leads, less the auto-response: predictions, arrivals over
    the MQL line and `lead.created` webhooks, for a batch of them at once."""
    from leadline.core.models import Job
    from leadline.core.notify import follow_up, webhook_jobs
    from leadline.core.writes import write_turn
    from leadline.scoring import mql
    from leadline.scoring.predict import predict_leads

    # A lead the undo of its import removed meanwhile is simply not there.
    leads = Lead.objects.select_related("owner", "team").in_bulk({job.lead_id for job in jobs})
    hooks = webhook_jobs("lead.created")
    follow = [
        follow_up(job, kind, payload, now)
        for job in jobs
        if job.lead_id in leads
        for kind, payload in hooks
    ]
    with write_turn(), transaction.atomic():
        predict_leads(list(leads.values()), now)
        mql.arrived(list(leads.values()), now)
        Job.objects.bulk_create(follow, ignore_conflicts=True)
    return {}


@handler("import_digest")
def send_digests(job, now: datetime) -> None:
    """One email per owner when an import ends: how many of its new leads are theirs."""
    from django.contrib.auth import get_user_model
    from django.core.mail import send_mail

    imp = Import.objects.filter(pk=job.payload.get("upload")).first()
    if imp is None or imp.status != Status.DONE:
        return
    per_owner: dict[int, int] = {}
    for ranges in imp.batches.values_list("created", flat=True).iterator(chunk_size=500):
        ids = Q()
        for first, last in ranges:
            ids |= Q(pk__range=(first, last))
        owned = Lead.objects.filter(ids, owner__isnull=False).values_list("owner_id", flat=True)
        for owner_id in owned:
            per_owner[owner_id] = per_owner.get(owner_id, 0) + 1
    site = settings.SITE_URL.rstrip("/")
    since = (imp.started_at or imp.created_at).strftime("%Y-%m-%dT%H:%M")
    link = f"{site}/leads/?owner=me&created_after={since}"
    if imp.campaign_id:
        link += f"&campaign={imp.campaign_id}"
    users = get_user_model().objects.filter(pk__in=per_owner).exclude(email="")
    for user in users:
        count = per_owner[user.pk]
        plural = "s" if count != 1 else ""
        send_mail(
            f"{count:,} new lead{plural} for you from the import of {imp.filename}",
            f"The import of {imp.filename}"
            + (f" (campaign {imp.campaign})" if imp.campaign_id else "")
            + f" gave you {count:,} new lead{plural}.\n\n{link}\n",
            None,
            [user.email],
        )


def _save_progress(
    run: _Run, phase: str, rows: int, counts: dict, table, claimant: str, now: datetime
) -> None:
    progress = {"rows_done": rows, "bytes_done": table.position, "lease_until": now + LEASE}
    progress["counts" if phase == "commit" else "dry_counts"] = counts
    # Guarded by the claim and the phase: a dry run overtaken by the commit stops here.
    mine = Import.objects.filter(pk=run.imp.pk, claimed_by=claimant, phase=phase)
    if not mine.update(**progress):
        raise ClaimLost()


# --- event files --------------------------------------------------------------------------------

EVENT_COUNT_KEYS = ("attached", "created_lead", "unmatched", "duplicate", "invalid")


def _prepare_event(run: _Run, number: int, cells: list) -> _Row:
    imp = run.imp
    row = _Row(number)
    bad = tabular.is_bad_row(cells)
    if bad:
        row.problems[""] = f"the row could not be read: {bad}"
        return row
    data: dict = {"properties": {}}
    for index, target in run.plan:
        value = cells[index] if index < len(cells) else ""
        value = value.strip() if isinstance(value, str) else str(value)
        if not value:
            continue
        row.raw[target] = value
        if target.startswith(columns.CUSTOM):
            data["properties"][target[len(columns.CUSTOM) :]] = columns.custom_value(value)
        elif target == "event_id":
            data["id"] = value
        elif target == "at":
            moment = columns.parse_datetime(value, day_first=imp.delimiter == ";")
            data["at"] = moment if moment is not None else value
        else:
            data[target] = value
    # Without an event id column, an event with a time is identified by what it says (who,
    # what, when: `engagement.content_key`, the same as the API's), so importing the file again,
    # resuming it, or a later export of the same list never counts an event twice; with no
    # time either, by the file and the row number.
    if "id" not in data and not isinstance(data.get("at"), datetime):
        data["id"] = f"import:{imp.sha256[:16]}:{number}"
    row.data = data
    return row


def _write_event_batch(
    run: _Run,
    phase: str,
    rows: list[_Row],
    counts: dict,
    done: int,
    table: tabular.Table,
    claimant: str,
) -> dict:
    from leadline.intake.engagement import record_events

    now = clock.now()
    counts = {k: counts.get(k, 0) for k in EVENT_COUNT_KEYS}
    issues = []
    with transaction.atomic():
        readable = [r for r in rows if not r.problems]
        results = record_events(
            [r.data for r in readable],
            channel="import",
            actor=run.imp.created_by,
            now=now,
            default_kind=run.imp.event_kind,
            dry_run=phase != "commit",
        )
        for row in rows:
            if row.problems:
                counts["invalid"] += 1
                issues.append(_issue(run, row, phase, "invalid", "", row.problems[""]))
        for row, result in zip(readable, results, strict=True):
            counts[result.status] += 1
            if result.status == "invalid":
                for name, message in result.errors.items():
                    issues.append(_issue(run, row, phase, "invalid", name, f"{name}: {message}"))
            elif result.status == "unmatched":
                issues.append(
                    _issue(
                        run,
                        row,
                        phase,
                        "warning",
                        "email",
                        "no lead has this email, and this event type does not create leads",
                        None,
                    )
                )
            elif result.status == "duplicate":
                issues.append(
                    _issue(
                        run,
                        row,
                        phase,
                        "duplicate_existing",
                        "event_id",
                        "this event was recorded before",
                        result.lead_id,
                    )
                )
        ImportIssue.objects.bulk_create(issues, batch_size=500)
        _save_progress(run, phase, done + len(rows), counts, table, claimant, now)
    return counts


def _finish(imp: Import, phase: str, done: int, claimant: str) -> None:
    now = clock.now()
    if phase == "dry_run":
        Import.objects.filter(pk=imp.pk, claimed_by=claimant, phase=phase).update(
            status=Status.CHECKED, rows_total=done, checked_at=now, bytes_done=imp.size
        )
        return
    with transaction.atomic():
        finished = Import.objects.filter(pk=imp.pk, claimed_by=claimant).update(
            status=Status.DONE, rows_total=done, finished_at=now, bytes_done=imp.size
        )
        if finished and imp.kind == ImportKind.LEADS:
            enqueue("import_digest", run_at=now, upload=imp.pk)
    if imp.stored:
        # The upload held personal data only to be imported; the report keeps what went wrong.
        Path(imp.path).unlink(missing_ok=True)


def run_to_end(imp: Import, phase: str, **kwargs) -> Import:
    """Start a phase and run it to the end in this process (the CLI, small web uploads)."""
    imp = start(imp, phase)
    while run(imp, **kwargs):
        pass
    imp.refresh_from_db()
    return imp


INLINE_BYTES = 512 * 1024


def launch(imp: Import, phase: str) -> Import:
    """Start a phase: a small file runs now, in the caller; a large one in the worker, in
    slices, so the web page can show its progress."""
    imp = start(imp, phase)
    limit = getattr(settings, "LEADLINE_IMPORT_INLINE_BYTES", INLINE_BYTES)
    if imp.size <= limit:
        while run(imp, claimant=claimant_id("inline")):
            pass
    else:
        enqueue_run(imp, after=f"start-{time.time_ns()}")
    imp.refresh_from_db()
    return imp


@handler("import_file")
def run_import_job(job, now: datetime) -> None:
    """The worker's slice of a large import; it queues the next slice until the file is done."""
    imp = Import.objects.filter(pk=job.payload.get("upload")).first()
    if imp is None or imp.status not in (Status.CHECKING, Status.IMPORTING):
        return
    try:
        more = run(imp, claimant=claimant_id(f"job{job.pk}"), budget=JOB_SLICE_SECONDS)
    except DomainError as exc:
        if exc.status != 409:
            raise
        # Another process is on it (the CLI, or a slow slice): look again shortly.
        enqueue_run(imp, now + timedelta(seconds=30), after=f"job{job.pk}")
        return
    if more:
        enqueue_run(imp, now, after=f"job{job.pk}")


# --- undo ---------------------------------------------------------------------------------------

# Timeline events that mean the lead came again from elsewhere after the import (a form, another
# file, an engagement feed): someone besides the import knows this lead, so undo keeps it.
AGAIN_KINDS = ("recaptured", "engagement", "consent")
UNDO_INLINE_LEADS = 5000


def can_undo(imp: Import) -> str:
    """Why this import cannot be undone ('' when it can)."""
    if imp.kind != ImportKind.LEADS:
        return "an events import cannot be undone: its events are on the leads' timelines"
    if imp.status == Status.UNDONE:
        return "this import was already undone"
    if imp.phase != "commit" or imp.status not in (Status.DONE, Status.FAILED, Status.UNDOING):
        return "only an import that stored leads can be undone"
    return ""


def start_undo(imp: Import, actor=None, now: datetime | None = None) -> Import:
    """Begin undoing a committed import: it is stopped for good, then its leads go batch by
    batch (resumable like the import itself)."""
    now = now or clock.now()
    imp.refresh_from_db()
    problem = can_undo(imp)
    if problem:
        raise DomainError({"": problem})
    if imp.status != Status.UNDOING:
        # The cut-off for "came again from elsewhere": once the import stopped writing.
        last = imp.batches.order_by("-at").values_list("at", flat=True).first()
        cutoff = max(filter(None, [imp.finished_at, last]), default=now)
        moved = Import.objects.filter(pk=imp.pk, status=imp.status, phase="commit").update(
            status=Status.UNDOING,
            undone_by=actor,
            undone_at=cutoff,  # the cut-off until the undo finishes, then when it finished
            undo_counts={"removed": 0, "kept": 0},
            error="",
        )
        if not moved:
            raise DomainError(
                {"": "the import changed meanwhile; reload and try again"}, status=409
            )
    imp.refresh_from_db()
    return imp


def run_undo(imp: Import, *, claimant: str | None = None, budget: float | None = None) -> bool:
    """Undo up to `budget` seconds of an import's batches; True when there is more to do."""
    claimant = claimant or claimant_id("undo")
    now = clock.now()
    imp.refresh_from_db()
    if imp.status != Status.UNDOING:
        return False
    if not claim(imp, claimant, now):
        raise DomainError(
            {"": f"import {imp.pk} is being run by {imp.claimed_by}; try again when it stops"},
            status=409,
        )
    started = time.monotonic()
    try:
        while (batch := imp.batches.order_by("first_row").first()) is not None:
            with transaction.atomic():
                removed, kept = _undo_batch(imp, batch, imp.undone_at, now)
                batch.delete()
                mine = Import.objects.filter(pk=imp.pk, claimed_by=claimant, status=Status.UNDOING)
                if not mine.update(
                    undo_counts=_undo_add(imp, removed, kept), lease_until=now + LEASE
                ):
                    raise ClaimLost()
            imp.refresh_from_db()
            if budget is not None and time.monotonic() - started > budget:
                return imp.batches.exists()
        _finish_undo(imp, claimant)
        return False
    except ClaimLost:
        return False
    finally:
        release(imp, claimant)


def _undo_add(imp: Import, removed: int, kept: int) -> dict:
    counts = imp.undo_counts or {}
    return {"removed": counts.get("removed", 0) + removed, "kept": counts.get("kept", 0) + kept}


def _undo_batch(imp: Import, batch: ImportBatch, cutoff: datetime, now: datetime):
    """Delete the leads this batch created that nobody has worked or captured again since;
    report the others (kept, with the reason) in the import's report."""
    from leadline.core.models import Job
    from leadline.leads.models import Activity, Event

    ids = [pk for first, last in batch.created for pk in range(first, last + 1)]
    leads = {
        pk: (status, merged, converted)
        for pk, status, merged, converted in Lead.objects.filter(pk__in=ids).values_list(
            "pk", "status", "merged_into_id", "converted_opportunity_id"
        )
    }
    why: dict[int, str] = {}
    for pk, (status, merged, converted) in leads.items():
        if merged:
            why[pk] = f"merged into lead {merged}"
        elif converted:
            why[pk] = "converted to an opportunity"
        elif status != "new":
            why[pk] = f"worked since the import (now {status})"
    present = list(leads)
    for pk in Lead.objects.filter(merged_into__in=present).values_list("merged_into", flat=True):
        why.setdefault(pk, "other leads were merged into it")
    for pk in Activity.objects.filter(lead__in=present).values_list("lead_id", flat=True):
        why.setdefault(pk, "a rep logged activity on it")
    again = Event.objects.filter(lead__in=present, kind__in=AGAIN_KINDS, at__gt=cutoff)
    for pk, kind in again.values_list("lead_id", "kind"):
        how = "engaged" if kind == "engagement" else "was captured again"
        why.setdefault(pk, f"{how} after the import")
    removable = [pk for pk in present if pk not in why]
    if removable:
        Job.objects.filter(lead_id__in=removable, status="pending").delete()
        Lead.objects.filter(pk__in=removable).delete()
    ImportIssue.objects.bulk_create(
        [
            ImportIssue(
                upload=imp,
                phase="undo",
                row=batch.first_row,
                kind=ImportIssue.Kind.WARNING,
                column="(row)",
                reason=f"kept lead {pk}: {reason}"[:500],
                lead_id=pk,
            )
            for pk, reason in sorted(why.items())
        ]
    )
    return len(removable), len(why)


def _finish_undo(imp: Import, claimant: str) -> None:
    now = clock.now()
    with transaction.atomic():
        done = Import.objects.filter(pk=imp.pk, claimed_by=claimant, status=Status.UNDOING).update(
            status=Status.UNDONE, phase="", rows_done=0, bytes_done=0, undone_at=now
        )
        # The list's price comes off its campaign (once), as the leads it paid for are gone.
        if done and imp.cost_recorded and imp.campaign_id:
            if Import.objects.filter(pk=imp.pk, cost_recorded=True).update(cost_recorded=False):
                Campaign.objects.filter(pk=imp.campaign_id).update(cost=F("cost") - imp.cost)
    imp.refresh_from_db()


def undo(imp: Import, actor=None) -> Import:
    """Undo an import: now for a small one, in the worker's slices for a large one."""
    imp = start_undo(imp, actor)
    created = sum(imp.batches.values_list("created_count", flat=True))
    if created <= getattr(settings, "LEADLINE_UNDO_INLINE_LEADS", UNDO_INLINE_LEADS):
        while run_undo(imp, claimant=claimant_id("inline-undo")):
            pass
    else:
        enqueue("import_undo", run_at=clock.now(), upload=imp.pk)
    imp.refresh_from_db()
    return imp


@handler("import_undo")
def run_undo_job(job, now: datetime) -> None:
    imp = Import.objects.filter(pk=job.payload.get("upload")).first()
    if imp is None or imp.status != Status.UNDOING:
        return
    after = now
    try:
        more = run_undo(imp, claimant=claimant_id(f"job{job.pk}"), budget=JOB_SLICE_SECONDS)
    except DomainError as exc:
        if exc.status != 409:
            raise
        more, after = True, now + timedelta(seconds=30)  # another process has it: look later
    if more:
        enqueue(
            "import_undo",
            run_at=after,
            upload=imp.pk,
            dedupe_key=f"import-undo:{imp.pk}:job{job.pk}"[:120],
        )


# --- report -------------------------------------------------------------------------------------

REPORT_COLUMNS = ["row", "outcome", "column", "value", "reason", "lead_id"]


def default_report_phase(imp: Import) -> str:
    if imp.status in (Status.UNDOING, Status.UNDONE):
        return "undo"
    return "commit" if imp.phase == "commit" else "dry_run"


def report_rows(imp: Import, phase: str | None = None):
    """The per-row report of the last phase run, in row order (for the CSV download)."""
    phase = phase or default_report_phase(imp)
    qs = ImportIssue.objects.filter(upload=imp, phase=phase).order_by("row", "id")
    for issue in qs.iterator(chunk_size=2000):
        yield [
            issue.row,
            issue.get_kind_display(),
            issue.column,
            issue.value,
            issue.reason,
            issue.lead_id or "",
        ]


class _Line:
    def write(self, text: str) -> str:
        return text


def report_lines(imp: Import, phase: str | None = None):
    """The report as CSV text, line by line (for a streamed download), formula-safe."""
    import csv

    from leadline.core.csvsafe import safe_cell

    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow(REPORT_COLUMNS)  # so Excel reads it as UTF-8
    for values in report_rows(imp, phase):
        yield writer.writerow([safe_cell(v) for v in values])


def write_report(imp: Import, out, phase: str | None = None) -> int:
    import csv

    from leadline.core.csvsafe import safe_cell

    writer = csv.writer(out)
    writer.writerow(REPORT_COLUMNS)
    count = 0
    for values in report_rows(imp, phase):
        writer.writerow([safe_cell(v) for v in values])
        count += 1
    return count


COUNT_LABELS = {
    "new": "new",
    "duplicate_existing": "duplicate of existing",
    "duplicate_in_file": "duplicate within file",
    "invalid": "invalid",
    "warnings": "warnings",
    "attached": "attached to a lead",
    "created_lead": "created a lead",
    "unmatched": "no matching lead",
    "duplicate": "already recorded",
}


def summary(counts: dict) -> str:
    keys = EVENT_COUNT_KEYS if "attached" in counts else COUNT_KEYS
    return ", ".join(f"{counts.get(k, 0):,} {COUNT_LABELS[k]}" for k in keys)


def undo_summary(imp: Import) -> str:
    counts = imp.undo_counts or {}
    removed, kept = counts.get("removed", 0), counts.get("kept", 0)
    text = f"{removed:,} lead{'s' if removed != 1 else ''} removed"
    if kept:
        text += f", {kept:,} kept because they were worked or captured again since (see the report)"
    updated = (imp.counts or {}).get("duplicate_existing", 0)
    if updated:
        text += f"; {updated:,} leads that existed before keep what the import added to them"
    return text + "."
