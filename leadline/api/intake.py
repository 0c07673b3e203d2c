"""Intake channels over the API: engagement events, web forms and their quarantine, file imports
and lead exports. Thin: parse, authorise, call one function of `leadline.intake`, respond."""

import tempfile
import uuid
from pathlib import Path
from typing import Any

from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from ninja import Body, File, Query, Router, Schema, Status
from ninja import Form as FormField
from ninja.files import UploadedFile
from pydantic import Field

from leadline.core.clock import clock
from leadline.core.errors import DomainError
from leadline.core.permissions import can_capture
from leadline.intake import engagement, exports, imports, webforms
from leadline.intake.access import can_manage_intake
from leadline.intake.models import EventType, Form, Import, ImportKind, Submission
from leadline.leads.queries import visible_leads

router = Router(tags=["intake"])


def _require_capture(request):
    if not can_capture(request.auth):
        raise DomainError({"": "you are not a member of any team"}, status=403)


def _require_manager(request):
    if not can_manage_intake(request.auth):
        raise DomainError({"": "only admins, managers and marketers manage intake"}, status=403)


# --- engagement events ------------------------------------------------------------------------


class EventResultOut(Schema):
    index: int
    status: str
    lead_id: int | None = None
    event_id: int | None = None
    errors: list[dict] = []


class EventsOut(Schema):
    attached: int = 0
    created_lead: int = 0
    unmatched: int = 0
    duplicate: int = 0
    invalid: int = 0
    results: list[EventResultOut]


EVENTS_EXAMPLE = {
    "kind": "webinar_attended",
    "email": "dana@acme-corp.com",
    "at": "2026-03-02T15:00:00Z",
    "id": "zoom-8812-dana",
    "properties": {"title": "Spring launch", "minutes": 42},
    "lead": {"first_name": "Dana", "company": "Acme Corp"},
}


EVENTS_BODY = Body(..., examples=[EVENTS_EXAMPLE])
UPLOAD_FILE = File(...)
UPLOAD_KIND = FormField(ImportKind.LEADS)


@router.post("/events", response={200: EventsOut, 422: dict}, summary="Record engagement events")
def record_events(request, payload: dict[str, Any] = EVENTS_BODY):
    """One event, or `{"events": [...]}` (up to 1,000). Each is attached to the lead with its
    `email` (an open lead first), else the lead with its `external_id`; when none matches and
    the event type creates leads (webinar, content, meeting, badge scan), a lead is captured.
    Send an `id` to make retries safe: an event with a known id is recorded once. Types:
    webinar_registered, webinar_attended, content_downloaded, page_visited, email_opened,
    email_clicked, email_replied, meeting_booked, badge_scanned."""
    _require_capture(request)
    items = payload["events"] if isinstance(payload.get("events"), list) else [payload]
    results = engagement.record_events(items, channel="api", actor=request.auth)
    counts = dict.fromkeys(("attached", "created_lead", "unmatched", "duplicate", "invalid"), 0)
    out = []
    for index, result in enumerate(results):
        counts[result.status] += 1
        out.append(
            {
                "index": index,
                "status": result.status,
                "lead_id": result.lead_id,
                "event_id": result.event_id,
                "errors": [{"field": k or None, "message": v} for k, v in result.errors.items()],
            }
        )
    if "events" not in payload and counts["invalid"]:
        raise DomainError(results[0].errors)
    return {**counts, "results": out}


class EventTypeIn(Schema):
    kind: str | None = None
    label: str | None = None
    creates_lead: bool | None = None
    reengages: bool | None = None
    lead_source: str | None = None
    is_active: bool | None = None


def _event_type_dict(event_type: EventType) -> dict:
    return {name: getattr(event_type, name) for name in engagement.EVENT_TYPE_SETTINGS}


@router.get("/event-types", response=list[dict], summary="Kinds of engagement event")
def list_event_types(request):
    """What each kind does: create a lead when none matches, bring a nurtured lead back."""
    _require_capture(request)
    return [_event_type_dict(t) for t in EventType.objects.all()]


@router.post(
    "/event-types", response={201: dict, 403: dict, 422: dict}, summary="Add an event kind"
)
def create_event_type(request, payload: EventTypeIn):
    _require_manager(request)
    saved = engagement.save_event_type(None, payload.model_dump(exclude_none=True))
    return Status(201, _event_type_dict(saved))


@router.patch(
    "/event-types/{kind}", response={200: dict, 403: dict, 422: dict}, summary="Change a kind"
)
def patch_event_type(request, kind: str, payload: EventTypeIn):
    _require_manager(request)
    event_type = get_object_or_404(EventType, kind=kind)
    data = payload.model_dump(exclude_unset=True)
    return _event_type_dict(engagement.save_event_type(event_type, data))


# --- forms ----------------------------------------------------------------------------------


class FormIn(Schema):
    name: str | None = None
    slug: str | None = None
    title: str | None = None
    intro: str | None = None
    submit_label: str | None = None
    fields: list[dict[str, Any]] | None = Field(
        None,
        description="[{key, label, type, required, options}] — a key naming a lead field "
        "(email, first_name, company, …) fills it; any other key is a custom field",
    )
    consent_enabled: bool | None = None
    consent_text: str | None = None
    consent_required: bool | None = None
    source: str | None = None
    campaign: str | int | None = None
    thank_you_message: str | None = None
    redirect_url: str | None = None
    allowed_domains: list[str] | None = None
    min_fill_seconds: int | None = None
    require_timing_token: bool | None = None
    per_ip_per_hour: int | None = None
    per_form_per_hour: int | None = None
    free_mail: str | None = None
    blocked_domains: list[str] | None = None
    is_active: bool | None = None


def _form_dict(request, form: Form) -> dict:
    base = request.build_absolute_uri("/").rstrip("/")
    return {
        "id": form.pk,
        **{name: getattr(form, name) for name in webforms.SETTINGS if name != "campaign"},
        "campaign": form.campaign.name if form.campaign_id else None,
        "fields": form.fields,
        "url": f"{base}/f/{form.slug}/",
        "created_at": form.created_at,
        "updated_at": form.updated_at,
    }


@router.get("/forms", response=list[dict], summary="List web forms")
def list_forms(request):
    _require_manager(request)
    return [_form_dict(request, f) for f in Form.objects.select_related("campaign")]


@router.post("/forms", response={201: dict, 422: dict, 403: dict}, summary="Create a web form")
def create_form(request, payload: FormIn):
    _require_manager(request)
    form = webforms.save_form(None, payload.model_dump(exclude_none=True), request.auth)
    return Status(201, _form_dict(request, form))


@router.get("/forms/{form_id}", response={200: dict, 404: dict}, summary="One web form")
def get_form(request, form_id: int):
    _require_manager(request)
    return _form_dict(request, get_object_or_404(Form, pk=form_id))


@router.patch("/forms/{form_id}", response={200: dict, 422: dict}, summary="Change a web form")
def patch_form(request, form_id: int, payload: FormIn):
    _require_manager(request)
    form = get_object_or_404(Form, pk=form_id)
    form = webforms.save_form(form, payload.model_dump(exclude_unset=True), request.auth)
    return _form_dict(request, form)


def _submission_dict(sub: Submission) -> dict:
    return {
        "id": sub.pk,
        "form": sub.form_id,
        "received_at": sub.received_at,
        "status": sub.status,
        "reasons": sub.reasons,
        "data": sub.data,
        "lead_id": sub.lead_id,
        "outcome": sub.outcome,
        "ip": sub.ip,
        "origin": sub.origin,
        "page_url": sub.page_url,
    }


@router.get(
    "/forms/{form_id}/submissions",
    response=list[dict],
    summary="A form's submissions (newest first)",
)
def list_submissions(request, form_id: int, status: str | None = None, limit: int = 100):
    _require_manager(request)
    qs = Submission.objects.filter(form_id=form_id)
    if status:
        qs = qs.filter(status=status)
    return [_submission_dict(s) for s in qs[: max(1, min(limit, 500))]]


@router.post(
    "/submissions/{submission_id}/release",
    response={200: dict, 422: dict},
    summary="Release a quarantined submission into the pipeline",
)
def release_submission(request, submission_id: int):
    _require_manager(request)
    sub = webforms.release(get_object_or_404(Submission, pk=submission_id), request.auth)
    return _submission_dict(sub)


@router.delete(
    "/submissions/{submission_id}",
    response={204: None, 422: dict},
    summary="Delete a quarantined submission as spam",
)
def delete_submission(request, submission_id: int):
    _require_manager(request)
    webforms.delete(get_object_or_404(Submission, pk=submission_id))
    return Status(204, None)


# --- imports and exports ----------------------------------------------------------------------


def _import_dict(imp: Import) -> dict:
    return {
        "id": imp.pk,
        "kind": imp.kind,
        "filename": imp.filename,
        "status": imp.status,
        "phase": imp.phase,
        "format": imp.format,
        "encoding": imp.encoding,
        "delimiter": imp.delimiter,
        "headers": imp.headers,
        "mapping": dict(zip(imp.headers, imp.mapping, strict=False)),
        "source": imp.source,
        "campaign": imp.campaign.name if imp.campaign_id else (imp.campaign_name or None),
        "cost": imp.cost,
        "rows_total": imp.rows_total,
        "rows_done": imp.rows_done,
        "dry_run": imp.dry_counts,
        "counts": imp.counts,
        "error": imp.error,
        "undone_at": imp.undone_at if imp.status == Import.Status.UNDONE else None,
        "undo": imp.undo_counts,
    }


class ImportOptions(Schema):
    mapping: dict[str, str | None] | str | None = Field(
        None,
        description="{column: target} (targets: email, first_name, …, custom, ignore) or "
        "the name of a saved mapping",
    )
    source: str | None = None
    campaign: str | None = None
    cost: float | str | None = None
    event_kind: str | None = None
    save_mapping_as: str | None = None


@router.post(
    "/imports",
    response={201: dict, 200: dict, 422: dict},
    summary="Upload a CSV or XLSX file to import",
)
def upload_import(request, file: UploadedFile = UPLOAD_FILE, kind: str = UPLOAD_KIND):
    """Sniffed and mapped automatically; see `mapping`, change it with a dry run. The same file
    again returns the first import (200)."""
    _require_manager(request)
    if kind not in ImportKind.values:
        raise DomainError({"kind": f"use one of {', '.join(ImportKind.values)}"})
    target = imports.upload_dir() / f"{uuid.uuid4().hex}{Path(file.name or '').suffix[:8]}"
    with open(target, "wb") as out:
        for chunk in file.chunks():
            out.write(chunk)
    imp = imports.open_import(
        target, filename=file.name or target.name, kind=kind, user=request.auth, stored=True
    )
    return Status(201 if imp.status == Import.Status.UPLOADED else 200, _import_dict(imp))


@router.get("/imports/{import_id}", response=dict, summary="An import's progress and counts")
def get_import(request, import_id: int):
    _require_manager(request)
    return _import_dict(get_object_or_404(Import, pk=import_id))


@router.post(
    "/imports/{import_id}/dry-run",
    response={200: dict, 422: dict},
    summary="Set the mapping and options, and check every row (stores nothing)",
)
def dry_run_import(request, import_id: int, payload: ImportOptions):
    _require_manager(request)
    imp = get_object_or_404(Import, pk=import_id)
    imports.configure(
        imp,
        mapping=payload.mapping,
        source=payload.source,
        campaign=payload.campaign,
        cost=payload.cost,
        event_kind=payload.event_kind,
        save_as=payload.save_mapping_as or "",
        user=request.auth,
    )
    return _import_dict(imports.launch(imp, "dry_run"))


@router.post(
    "/imports/{import_id}/commit",
    response={200: dict, 422: dict},
    summary="Import the file (or resume it); large files run in the background",
)
def commit_import(request, import_id: int):
    _require_manager(request)
    return _import_dict(imports.launch(get_object_or_404(Import, pk=import_id), "commit"))


@router.post(
    "/imports/{import_id}/undo",
    response={200: dict, 409: dict, 422: dict},
    summary="Undo an import: remove the leads it created that nobody has worked since",
)
def undo_import(request, import_id: int):
    """Leads worked, merged, converted or captured again since the import are kept (listed in
    the `undo` report); leads that existed before keep what the import added to them. A large
    import is undone in the background: poll the import until its status is `undone`."""
    _require_manager(request)
    return _import_dict(imports.undo(get_object_or_404(Import, pk=import_id), request.auth))


@router.get("/imports/{import_id}/report", summary="The per-row report (CSV)")
def import_report(request, import_id: int, phase: str | None = None):
    _require_manager(request)
    imp = get_object_or_404(Import, pk=import_id)
    if phase not in (None, "dry_run", "commit", "undo"):
        raise DomainError({"phase": "dry_run, commit or undo"})
    lines = imports.report_lines(imp, phase)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{imp.pk}-report.csv"'
    return response


class ExportParams(Schema):
    format: str = "csv"
    owner: str | None = None
    team: str | None = None
    status: str | None = None
    stage: str | None = None
    source: str | None = None
    campaign: str | None = None
    score_min: int | None = None
    score_max: int | None = None
    created_after: str | None = None
    created_before: str | None = None
    q: str | None = None


@router.get("/exports/leads", summary="Export leads to CSV or XLSX with the list filters")
def export_leads(request, params: Query[ExportParams]):
    """Every lead you may see that matches the filters; formula-safe."""
    if params.format not in ("csv", "xlsx"):
        raise DomainError({"format": "csv or xlsx"})
    qs = visible_leads(request.auth, params.dict())
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    if params.format == "csv":
        response = StreamingHttpResponse(exports.csv_lines(qs), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="leads-{stamp}.csv"'
        return response
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    exports.write_xlsx(qs, handle)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=f"leads-{stamp}.xlsx")
