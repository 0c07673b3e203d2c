"""HTML views for the intake channels: imports, exports, web-to-lead forms and their quarantine.

Thin, like every view: parse, authorise, call one function of `leadline.intake`, render or
redirect. The public form endpoints (`/f/<slug>/`) are at the end, with the URL patterns.
"""

import json
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from leadline.core.choices import Source
from leadline.core.clock import clock
from leadline.core.errors import DomainError
from leadline.core.models import Campaign
from leadline.intake import columns, engagement, exports, imports, webforms
from leadline.intake.access import can_manage_intake
from leadline.intake.models import (
    EngagementEvent,
    EventType,
    Form,
    FormFieldType,
    FreeMail,
    Import,
    ImportIssue,
    ImportKind,
    ImportMapping,
    Submission,
)
from leadline.leads.queries import visible_leads
from leadline.web.forms import LeadFilterForm


def _manager(user) -> None:
    if not can_manage_intake(user):
        raise PermissionDenied("Only admins, managers and marketers manage imports and forms.")


# --- imports --------------------------------------------------------------------------------


class UploadForm(forms.Form):
    file = forms.FileField(help_text="CSV (any delimiter or encoding) or XLSX")
    kind = forms.ChoiceField(
        choices=ImportKind.choices, initial=ImportKind.LEADS, label="The file holds"
    )


class OptionsForm(forms.Form):
    source = forms.ChoiceField(choices=Source.choices, initial=Source.IMPORT)
    campaign = forms.CharField(
        max_length=150,
        required=False,
        help_text="An existing campaign, or a new name to create",
        widget=forms.TextInput(attrs={"list": "campaign-names"}),
    )
    cost = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        min_value=0,
        label="List cost",
        help_text="Added to the campaign's cost once",
    )
    event_kind = forms.CharField(
        max_length=40,
        required=False,
        label="Event type",
        help_text="For rows without an event type column",
    )
    save_as = forms.CharField(max_length=100, required=False, label="Save mapping as")


def _mapping_fields(imp: Import) -> list[dict]:
    choices = [(t, label) for t, label in columns.target_choices(imp.kind)]
    rows = []
    for i, header in enumerate(imp.headers):
        if not header:
            continue
        custom = columns.CUSTOM + columns.custom_key(header)
        options = [("", "— ignore —"), (custom, f"Custom field “{custom[7:]}”")]
        current = imp.mapping[i] if i < len(imp.mapping) else ""
        if current.startswith(columns.CUSTOM) and current != custom:
            options.append((current, f"Custom field “{current[7:]}”"))
        rows.append(
            {
                "index": i,
                "header": header,
                "samples": [s[i] for s in imp.samples if i < len(s) and s[i]],
                "current": current,
                "options": options + choices,
            }
        )
    return rows


def _options_initial(imp: Import) -> dict:
    return {
        "source": imp.source,
        "campaign": imp.campaign.name if imp.campaign_id else imp.campaign_name,
        "cost": imp.cost,
        "event_kind": imp.event_kind,
    }


@login_required
def import_list(request):
    _manager(request.user)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        suffix = Path(upload.name).suffix.lower()[:8]
        target = imports.upload_dir() / f"{uuid.uuid4().hex}{suffix}"
        with open(target, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        try:
            imp = imports.open_import(
                target,
                filename=upload.name,
                user=request.user,
                kind=form.cleaned_data["kind"],
                stored=True,
            )
        except DomainError as exc:
            form.add_error("file", exc.errors.get("file", str(exc)))
        else:
            if imp.status != Import.Status.UPLOADED:
                messages.info(request, f"This file was uploaded before: here is import {imp.pk}.")
            return redirect("intake_import", imp.pk)
    recent = Import.objects.select_related("created_by", "campaign")[:50]
    return render(request, "intake/import_list.html", {"form": form, "imports": recent})


@login_required
def import_detail(request, import_id: int):
    _manager(request.user)
    imp = get_object_or_404(Import.objects.select_related("campaign"), pk=import_id)
    options = OptionsForm(initial=_options_initial(imp))
    return render(request, "intake/import_detail.html", _detail_context(imp, options, {}))


def _detail_context(imp: Import, options, mapping_errors: dict) -> dict:
    if imp.kind != ImportKind.EVENTS:
        options.fields.pop("event_kind", None)
    phase = imports.default_report_phase(imp)
    issues = ImportIssue.objects.filter(upload=imp, phase=phase)[:25]
    counts = imp.dry_counts if phase == "dry_run" else imp.counts
    keys = imports.EVENT_COUNT_KEYS if imp.kind == ImportKind.EVENTS else imports.COUNT_KEYS
    return {
        "count_items": [(k, imports.COUNT_LABELS[k], counts.get(k, 0)) for k in keys],
        "imp": imp,
        "options": options,
        "mapping_rows": _mapping_fields(imp),
        "mapping_errors": mapping_errors,
        "saved_mappings": ImportMapping.objects.filter(kind=imp.kind),
        "editable": imp.phase != "commit" and imp.status != Import.Status.DONE,
        "counts": counts,
        "issues": issues,
        "campaigns": Campaign.objects.values_list("name", flat=True)[:200],
        "recognised": RECOGNISED.get(imp.id_namespace, ""),
        "undo_problem": imports.can_undo(imp),
        "undo_summary": imports.undo_summary(imp) if imp.status == Import.Status.UNDONE else "",
        "report_phase": phase,
    }


RECOGNISED = {
    "salesforce": "Recognised as a Salesforce export: its columns are mapped for you.",
    "hubspot": "Recognised as a HubSpot export: its columns are mapped for you.",
}


@login_required
@require_POST
def import_configure(request, import_id: int):
    """Save the mapping and options, then start the dry run (or apply a saved mapping)."""
    _manager(request.user)
    imp = get_object_or_404(Import, pk=import_id)
    options = OptionsForm(request.POST)
    if request.POST.get("apply_saved"):
        try:
            imports.configure(imp, mapping=request.POST["apply_saved"], user=request.user)
        except DomainError as exc:
            messages.error(request, str(exc))
        return redirect("intake_import", imp.pk)
    mapping = [request.POST.get(f"col_{i}", "") for i in range(len(imp.headers))]
    if options.is_valid():
        d = options.cleaned_data
        try:
            imports.configure(
                imp,
                mapping=mapping,
                source=d["source"],
                campaign=d["campaign"],
                cost="" if d["cost"] is None else d["cost"],
                event_kind=d["event_kind"],
                save_as=d["save_as"],
                user=request.user,
            )
            imports.launch(imp, "dry_run")
        except DomainError as exc:
            imp.refresh_from_db()
            imp.mapping = mapping
            errors = {
                k.partition(".")[2] or "": v
                for k, v in exc.errors.items()
                if k.startswith("mapping")
            }
            for key, message in exc.errors.items():
                if not key.startswith("mapping"):
                    options.add_error(key if key in options.fields else None, message)
            context = _detail_context(imp, options, errors)
            return render(request, "intake/import_detail.html", context, status=422)
        return redirect("intake_import", imp.pk)
    context = _detail_context(imp, options, {})
    return render(request, "intake/import_detail.html", context, status=422)


@login_required
@require_POST
def import_commit(request, import_id: int):
    _manager(request.user)
    imp = get_object_or_404(Import, pk=import_id)
    try:
        imports.launch(imp, "commit")
    except DomainError as exc:
        messages.error(request, str(exc))
    return redirect("intake_import", imp.pk)


@login_required
@require_POST
def import_undo(request, import_id: int):
    _manager(request.user)
    imp = get_object_or_404(Import, pk=import_id)
    try:
        imp = imports.undo(imp, request.user)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        if imp.status == Import.Status.UNDONE:
            messages.success(request, f"Import undone: {imports.undo_summary(imp)}")
    return redirect("intake_import", imp.pk)


@login_required
def import_progress(request, import_id: int):
    _manager(request.user)
    imp = get_object_or_404(Import, pk=import_id)
    return JsonResponse(
        {
            "status": imp.status,
            "status_label": imp.get_status_display(),
            "phase": imp.phase,
            "rows_done": imp.rows_done,
            "rows_total": imp.rows_total,
            "percent": imp.percent,
            "counts": imp.undo_counts
            if imp.status == Import.Status.UNDOING
            else (imp.counts if imp.phase == "commit" else imp.dry_counts),
            "running": imp.is_running,
            "error": imp.error,
        }
    )


@login_required
def import_report(request, import_id: int):
    _manager(request.user)
    imp = get_object_or_404(Import, pk=import_id)
    phase = request.GET.get("phase") or imports.default_report_phase(imp)
    if phase not in ("commit", "dry_run", "undo"):
        raise Http404("no such report")

    lines = imports.report_lines(imp, phase)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    name = f"import-{imp.pk}-{phase.replace('_', '-')}-report.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- engagement events ------------------------------------------------------------------------


class EventTypeForm(forms.Form):
    kind = forms.SlugField(max_length=40, help_text="As feeds send it, e.g. trial_started")
    label = forms.CharField(max_length=100, required=False)
    creates_lead = forms.BooleanField(required=False, label="Creates a lead when none matches")
    reengages = forms.BooleanField(required=False, label="Brings a nurtured lead back")
    lead_source = forms.ChoiceField(choices=Source.choices, initial=Source.OTHER)
    is_active = forms.BooleanField(required=False, initial=True, label="Accepted")


@login_required
def event_types(request):
    """The kinds of engagement event feeds may send, what each does, and the latest events."""
    _manager(request.user)
    add = EventTypeForm(request.POST if "add" in request.POST else None, prefix="new")
    if request.method == "POST":
        current = None
        if "add" in request.POST:
            data = add.cleaned_data if add.is_valid() else None
        else:
            current = get_object_or_404(EventType, pk=request.POST.get("id"))
            data = {
                "label": request.POST.get("label", current.label),
                "lead_source": request.POST.get("lead_source", current.lead_source),
                **{f: f in request.POST for f in ("creates_lead", "reengages", "is_active")},
            }
        if data is not None:
            try:
                saved = engagement.save_event_type(current, data)
            except DomainError as exc:
                if current is not None:
                    messages.error(request, f"{current.kind}: {exc}")
                    return redirect("intake_event_types")
                for key, message in exc.errors.items():
                    add.add_error(key if key in add.fields else None, message)
            else:
                messages.success(request, f"Saved the event type {saved.kind}.")
                return redirect("intake_event_types")
    status = request.GET.get("status", "")
    recent = EngagementEvent.objects.select_related("lead")
    if status in EngagementEvent.Status.values:
        recent = recent.filter(status=status)
    return render(
        request,
        "intake/event_types.html",
        {
            "types": EventType.objects.all(),
            "sources": Source.choices,
            "add": add,
            "recent": recent[:50],
            "status": status,
            "statuses": EngagementEvent.Status.choices,
        },
        status=422 if add.errors else 200,
    )


# --- export ---------------------------------------------------------------------------------


@login_required
def lead_export(request):
    """The lead list's filters, as a CSV or XLSX download of everything they select."""
    form = LeadFilterForm(request.GET or None)
    fmt = request.GET.get("format")
    if fmt not in ("csv", "xlsx") or not (form.is_valid() or not request.GET):
        return render(request, "intake/export.html", {"form": form})
    params = form.cleaned_data if form.is_bound else {}
    try:
        qs = visible_leads(request.user, params)
    except DomainError as exc:
        form.add_error(None, str(exc))
        return render(request, "intake/export.html", {"form": form}, status=422)
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        response = StreamingHttpResponse(exports.csv_lines(qs), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="leads-{stamp}.csv"'
        return response
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    exports.write_xlsx(qs, handle)
    handle.seek(0)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"leads-{stamp}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


# --- web-to-lead forms: builder and quarantine -----------------------------------------------


class FormSettingsForm(forms.Form):
    name = forms.CharField(max_length=150)
    slug = forms.SlugField(max_length=80, required=False, help_text="The form lives at /f/<slug>/")
    title = forms.CharField(max_length=200, required=False, label="Heading")
    intro = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    submit_label = forms.CharField(max_length=60, initial="Send")
    source = forms.ChoiceField(choices=Source.choices, initial=Source.WEB_FORM)
    campaign = forms.ModelChoiceField(Campaign.objects.all(), required=False)
    consent_enabled = forms.BooleanField(required=False, label="Ask for email consent")
    consent_text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Consent wording (stored with each lead)",
    )
    consent_required = forms.BooleanField(required=False, label="Consent is required")
    thank_you_message = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    redirect_url = forms.URLField(required=False, label="…or redirect to", assume_scheme="https")
    allowed_domains = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Sites that may embed it",
        help_text="One per line, e.g. shop.example.com",
    )
    min_fill_seconds = forms.IntegerField(min_value=0, initial=3, label="Minimum fill time (s)")
    require_timing_token = forms.BooleanField(
        required=False, label="Quarantine posts without JavaScript's timing token"
    )
    per_ip_per_hour = forms.IntegerField(min_value=0, initial=20, label="Posts per IP per hour")
    per_form_per_hour = forms.IntegerField(
        min_value=0, initial=1000, label="Posts per hour before quarantining"
    )
    free_mail = forms.ChoiceField(choices=FreeMail.choices, label="Free-mail addresses")
    blocked_domains = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Blocked email domains",
        help_text="One per line",
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Accepting submissions")


FIELD_TARGETS = [("custom", "Custom field")] + list(webforms.LEAD_FIELDS.items())


class FieldRowForm(forms.Form):
    label = forms.CharField(max_length=150, required=False)
    goes_to = forms.ChoiceField(choices=FIELD_TARGETS, initial="custom")
    type = forms.ChoiceField(choices=FormFieldType.choices)
    required = forms.BooleanField(required=False)
    options = forms.CharField(max_length=1000, required=False, help_text="Comma-separated")
    key = forms.CharField(max_length=40, required=False, widget=forms.HiddenInput)


FieldRows = forms.formset_factory(FieldRowForm, extra=2, can_delete=True)


def _field_rows_initial(form: Form) -> list[dict]:
    return [
        {
            "label": f["label"],
            "goes_to": f["key"] if f["key"] in webforms.LEAD_FIELDS else "custom",
            "type": f["type"],
            "required": f["required"],
            "options": ", ".join(f.get("options") or []),
            "key": f["key"],
        }
        for f in form.fields
    ]


def _fields_from_rows(rows) -> list[dict]:
    out = []
    for row in rows.forms:
        d = getattr(row, "cleaned_data", None) or {}
        if not d or d.get("DELETE") or not d.get("label"):
            continue
        key = d["goes_to"] if d["goes_to"] != "custom" else (d.get("key") or "")
        if key in webforms.LEAD_FIELDS and d["goes_to"] == "custom":
            key = ""
        out.append(
            {
                "label": d["label"],
                "key": key,
                "type": d["type"],
                "required": d["required"],
                "options": d["options"],
            }
        )
    return out


def embed_snippet(request, form: Form) -> str:
    base = request.build_absolute_uri("/").rstrip("/")
    return render_to_string(
        "intake/embed_snippet.html",
        {
            "form": form,
            "action": base + reverse("form_public", args=[form.slug]),
            "token_url": base + reverse("form_token", args=[form.slug]),
            "fields": _public_fields(form, {}, {}),
            "embed": True,
            **_hidden(),
        },
    )


@login_required
def form_list(request):
    _manager(request.user)
    since = clock.now() - timedelta(days=30)
    listed = Form.objects.annotate(
        accepted=Count(
            "submissions",
            filter=Q(submissions__status="accepted", submissions__received_at__gte=since),
        ),
        quarantined=Count("submissions", filter=Q(submissions__status="quarantined")),
    )
    pending = Submission.objects.filter(status=Submission.Status.QUARANTINED).count()
    return render(request, "intake/form_list.html", {"forms": listed, "pending": pending})


@login_required
def form_edit(request, form_id: int | None = None):
    _manager(request.user)
    form = get_object_or_404(Form, pk=form_id) if form_id else None
    instance = form or Form()
    initial = {name: getattr(instance, name) for name in webforms.SETTINGS}
    initial["allowed_domains"] = "\n".join(instance.allowed_domains)
    initial["blocked_domains"] = "\n".join(instance.blocked_domains)
    settings_form = FormSettingsForm(request.POST or None, initial=initial)
    rows = FieldRows(request.POST or None, initial=_field_rows_initial(instance), prefix="f")
    status = 200
    if request.method == "POST":
        if settings_form.is_valid() and rows.is_valid():
            data = dict(settings_form.cleaned_data)
            data["fields"] = _fields_from_rows(rows)
            try:
                saved = webforms.save_form(form, data, request.user)
            except DomainError as exc:
                for key, message in exc.errors.items():
                    if key in settings_form.fields:
                        settings_form.add_error(key, message)
                    else:
                        settings_form.add_error(None, message)
            else:
                messages.success(request, f"Form saved. It is live at /f/{saved.slug}/.")
                return redirect("intake_form", saved.pk)
        status = 422
    context = {"form_obj": form, "settings_form": settings_form, "rows": rows}
    if form:
        context["snippet"] = embed_snippet(request, form)
        context["public_url"] = request.build_absolute_uri(reverse("form_public", args=[form.slug]))
        context["recent"] = form.submissions.select_related("lead")[:20]
    return render(request, "intake/form_edit.html", context, status=status)


@login_required
def submission_list(request):
    _manager(request.user)
    status = request.GET.get("status", Submission.Status.QUARANTINED)
    qs = Submission.objects.select_related("form", "lead")
    if status in Submission.Status.values:
        qs = qs.filter(status=status)
    if request.GET.get("form", "").isdigit():
        qs = qs.filter(form_id=int(request.GET["form"]))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "intake/submissions.html",
        {
            "page": page,
            "status": status,
            "statuses": Submission.Status.choices,
            "form_id": request.GET.get("form", "") if request.GET.get("form", "").isdigit() else "",
            "now": clock.now(),
        },
    )


@login_required
@require_POST
def submission_review(request, submission_id: int, action: str):
    _manager(request.user)
    sub = get_object_or_404(Submission, pk=submission_id)
    try:
        if action == "release":
            sub = webforms.release(sub, request.user)
            messages.success(request, f"Released: lead {sub.lead.display_name} ({sub.outcome}).")
        else:
            webforms.delete(sub)
            messages.success(request, "Deleted as spam.")
    except DomainError as exc:
        messages.error(request, str(exc))
    return redirect(_next(request))


def _next(request) -> str:
    """Back to the page the button was on: a path of this site only."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("intake_submissions")


@login_required
@require_POST
def submission_clear(request):
    """Delete every quarantined submission listed (of one form when filtered) as spam."""
    _manager(request.user)
    form = None
    if request.POST.get("form", "").isdigit():
        form = get_object_or_404(Form, pk=int(request.POST["form"]))
    before = parse_datetime(request.POST.get("before", ""))
    deleted = webforms.delete_quarantined(form, before)
    messages.success(request, f"Deleted {deleted} quarantined submission{pluralize(deleted)}.")
    return redirect(_next(request))


# --- public form endpoints (no login; CSRF-exempt, protected by origin, honeypot, timing) -----


def _public_fields(form: Form, values: dict, errors: dict) -> list[dict]:
    out = []
    for spec in form.fields:
        value = values.get(spec["key"], "")
        out.append(
            {
                **spec,
                "value": value,
                "values": value if isinstance(value, list) else [value],
                "error": errors.get(spec["key"], ""),
                "input_type": {"email": "email", "phone": "tel", "number": "text"}.get(
                    spec["type"], "text"
                ),
            }
        )
    return out


def _client_ip(request) -> str | None:
    """The visitor's address. Behind N trusted proxies (LEADLINE_PROXY_COUNT), the address the
    nearest of them saw, from X-Forwarded-For; a client cannot forge what those proxies add."""
    proxies = int(getattr(settings, "LEADLINE_PROXY_COUNT", 0) or 0)
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def _meta(request) -> webforms.Meta:
    return webforms.Meta(
        ip=_client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        origin=request.headers.get("Origin", ""),
        referer=request.headers.get("Referer", ""),
        own_origin=f"{request.scheme}://{request.get_host()}",
    )


def _cors(response, request, form: Form):
    origin = request.headers.get("Origin", "")
    if origin and webforms.origin_allowed(form, _meta(request)):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type, Accept"
        response["Access-Control-Max-Age"] = "86400"
    response["Vary"] = "Origin"
    return response


def _wants_json(request) -> bool:
    accept = request.headers.get("Accept", "")
    return request.content_type == "application/json" or (
        "application/json" in accept and "text/html" not in accept
    )


def _hidden(source=None) -> dict:
    """The attribution fields, carried from the link (or from the post when the form comes
    back with errors), so that a visitor who mistyped keeps their campaign."""
    source = source or {}

    def text(name: str, limit: int) -> str:
        value = source.get(name) or ""
        return value[:limit] if isinstance(value, str) else ""

    return {
        "hidden_utm": [(name, text(name, 100)) for name in webforms.UTM_FIELDS],
        "hidden_page": text(webforms.PAGE_FIELD, 1000),
    }


def _render_public(request, form: Form, *, values=None, errors=None, token="", status=200):
    errors = errors or {}
    source = request.POST if request.method == "POST" else request.GET
    return render(
        request,
        "intake/form_page.html",
        {
            "form": form,
            "fields": _public_fields(form, values or {}, errors),
            "errors": errors,
            "general_error": errors.get(""),
            "token": token or webforms.issue_token(form),
            "values": values or {},
            "action": reverse("form_public", args=[form.slug]),
            **_hidden(source),
        },
        status=status,
    )


@csrf_exempt
def form_public(request, slug: str):
    form = get_object_or_404(Form, slug=slug)
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204), request, form)
    if request.method != "POST":
        if not form.is_active:
            return render(
                request,
                "intake/form_message.html",
                {"form": form, "message": "This form is closed."},
                status=410,
            )
        return _render_public(request, form)
    values = request.POST
    if request.content_type == "application/json":
        try:
            values = json.loads(request.body or b"{}")
        except ValueError:
            values = None
        if not isinstance(values, dict):
            return _cors(
                JsonResponse({"ok": False, "message": "Send a JSON object."}, status=400),
                request,
                form,
            )
    outcome = webforms.submit(form, values, _meta(request))
    if _wants_json(request):
        # A problem that is no single field's (say, nothing to reach the person by) is the message.
        body = {"ok": outcome.ok, "message": outcome.errors.get("") or outcome.message}
        if outcome.errors:
            body["errors"] = outcome.errors
        if outcome.ok and outcome.redirect:
            body["redirect"] = outcome.redirect
        return _cors(JsonResponse(body, status=outcome.status), request, form)
    if outcome.ok:
        if outcome.redirect:
            return redirect(outcome.redirect)
        return redirect("form_thanks", form.slug)
    if outcome.status == 422:
        posted = {s["key"]: webforms._get(values, s["key"]) or "" for s in form.fields}
        posted[webforms.CONSENT_FIELD] = values.get(webforms.CONSENT_FIELD, "")
        return _render_public(
            request,
            form,
            values=posted,
            errors=outcome.errors,
            token=str(values.get(webforms.TOKEN_FIELD) or ""),
            status=422,
        )
    return render(
        request,
        "intake/form_message.html",
        {"form": form, "message": outcome.message},
        status=outcome.status,
    )


def form_token(request, slug: str):
    """A fresh timing token for an embedded form (fetched by its script when the page loads)."""
    form = get_object_or_404(Form, slug=slug, is_active=True)
    response = JsonResponse({"token": webforms.issue_token(form)})
    response["Cache-Control"] = "no-store"
    return _cors(response, request, form)


def form_thanks(request, slug: str):
    form = get_object_or_404(Form, slug=slug)
    return render(
        request,
        "intake/form_message.html",
        {"form": form, "message": form.thank_you_message, "thanks": True},
    )


urlpatterns = [
    path("imports/", import_list, name="intake_imports"),
    path("imports/<int:import_id>/", import_detail, name="intake_import"),
    path("imports/<int:import_id>/configure/", import_configure, name="intake_import_configure"),
    path("imports/<int:import_id>/commit/", import_commit, name="intake_import_commit"),
    path("imports/<int:import_id>/undo/", import_undo, name="intake_import_undo"),
    path("imports/<int:import_id>/progress/", import_progress, name="intake_import_progress"),
    path("imports/<int:import_id>/report.csv", import_report, name="intake_import_report"),
    path("leads/export/", lead_export, name="intake_export"),
    path("events/", event_types, name="intake_event_types"),
    path("forms/", form_list, name="intake_forms"),
    path("forms/new/", form_edit, name="intake_form_new"),
    path("forms/<int:form_id>/", form_edit, name="intake_form"),
    path("forms/submissions/", submission_list, name="intake_submissions"),
    path("forms/submissions/clear/", submission_clear, name="intake_submissions_clear"),
    path(
        "forms/submissions/<int:submission_id>/release/",
        submission_review,
        {"action": "release"},
        name="intake_submission_release",
    ),
    path(
        "forms/submissions/<int:submission_id>/delete/",
        submission_review,
        {"action": "delete"},
        name="intake_submission_delete",
    ),
    path("f/<slug:slug>/", form_public, name="form_public"),
    path("f/<slug:slug>/token", form_token, name="form_token"),
    path("f/<slug:slug>/thanks/", form_thanks, name="form_thanks"),
]
