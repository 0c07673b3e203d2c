"""The JSON API (/api/v1): parse, authorise, call one domain function, respond."""

from django.http import HttpRequest
from ninja import NinjaAPI, Query, Router, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, django_auth

from leadline.core.clock import clock
from leadline.core.errors import DomainError
from leadline.core.models import ApiToken
from leadline.core.permissions import can_capture, get_visible_lead, is_manager_of
from leadline.deals.conversion import convert
from leadline.intake.pipeline import capture, capture_batch
from leadline.leads import actions
from leadline.leads.models import Lead
from leadline.leads.queries import visible_leads
from leadline.leads.serialize import event_dict, lead_dict

from . import schemas as s


class TokenAuth(HttpBearer):
    def __call__(self, request: HttpRequest):
        # HttpBearer's own parsing, reading the one header from META: `request.headers` would
        # copy every header of the request into a new mapping first.
        scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.authenticate(request, token)

    def authenticate(self, request: HttpRequest, token: str):
        found = ApiToken.objects.for_raw(token)
        if found is None:
            return None
        now = clock.now()
        # Touch last-used at most once a minute: a hot token must not write on every request.
        if found.last_used_at is None or (now - found.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        request.user = found.user
        return found.user


api = NinjaAPI(
    title="Leadline API",
    version="1",
    description="Capture, list, work and convert leads. Authenticate with `Authorization: "
    "Bearer <token>` (create a token under Settings → API tokens, or `leadline token`).",
    auth=[TokenAuth(), django_auth],
    urls_namespace="api",
)
router = Router(tags=["leads"])


def _error(request, detail: str, errors: list[dict], status: int):
    return api.create_response(request, {"detail": detail, "errors": errors}, status=status)


@api.exception_handler(DomainError)
def domain_error(request, exc: DomainError):
    return _error(request, str(exc), exc.as_list(), exc.status)


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    errors = []
    for item in exc.errors:
        loc = [str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path")]
        if loc and loc[0] in ("payload", "data", "params"):
            loc = loc[1:]
        message = item.get("msg", "invalid")
        if item.get("type") == "extra_forbidden":
            message = "unknown field"
        errors.append({"field": ".".join(loc) or None, "message": message})
    detail = "; ".join(
        f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors
    )
    return _error(request, detail or "invalid input", errors, 422)


@api.exception_handler(AuthenticationError)
def auth_error(request, exc):
    return _error(request, "authentication required: send Authorization: Bearer <token>", [], 401)


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    return _error(request, str(exc), [], exc.status_code)


def _require_capture(request):
    if not can_capture(request.auth):
        raise DomainError({"": "you are not a member of any team"}, status=403)


@router.post(
    "/leads",
    response={201: s.CaptureOut, 200: s.CaptureOut, 422: s.ErrorOut},
    summary="Capture one lead",
)
def capture_lead(request, payload: s.LeadIn):
    """Runs the whole pipeline. A repeat of an open lead's email is a touch on it (200,
    `matched`); the same `Idempotency-Key` header or `external_id` returns the first result."""
    _require_capture(request)
    result = capture(
        payload.model_dump(exclude_unset=True),
        channel="api",
        actor=request.auth,
        idempotency_key=request.META.get("HTTP_IDEMPOTENCY_KEY", "")[:200],
    )
    # A touch on another team's lead is recorded, but that lead is not shown to the caller.
    visible = (
        result.created or Lead.objects.visible_to(request.auth).filter(pk=result.lead.pk).exists()
    )
    body = {
        "outcome": result.outcome,
        "id": result.lead.pk,
        "lead": lead_dict(result.lead) if visible else None,
    }
    # lead_dict already has CaptureOut's shape and types; rendered as it is, without a second
    # validation pass through the schema (a fifth of the request's own time).
    return api.create_response(request, body, status=201 if result.created else 200)


@router.post(
    "/leads/batch", response={200: s.BatchOut, 422: s.ErrorOut}, summary="Capture up to 1,000 leads"
)
def capture_leads(request, payload: s.BatchIn):
    """Each item is reported separately; a bad item never stops the others."""
    _require_capture(request)
    if len(payload.leads) > 1000:
        raise DomainError({"leads": f"at most 1000 leads per batch (got {len(payload.leads)})"})
    results = capture_batch(payload.leads, channel="api", actor=request.auth)
    out, counts = [], {"created": 0, "matched": 0, "replayed": 0, "invalid": 0}
    for index, result in enumerate(results):
        if isinstance(result, DomainError):
            counts["invalid"] += 1
            out.append({"index": index, "outcome": "invalid", "errors": result.as_list()})
        else:
            counts[result.outcome] += 1
            out.append({"index": index, "outcome": result.outcome, "id": result.lead_id})
    return {**counts, "results": out}


class ListParams(s.Schema):
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
    cursor: str | None = None
    limit: int = 50


@router.get("/leads", response={200: s.LeadPage, 422: s.ErrorOut}, summary="List leads")
def list_leads(request, params: Query[ListParams]):
    """Newest first; pass `next_cursor` back as `cursor` for the next page."""
    if not 1 <= params.limit <= 500:
        raise DomainError({"limit": "must be between 1 and 500"})
    qs = (
        visible_leads(request.auth, params.dict())
        .select_related("owner", "team", "campaign")
        .order_by("-id")
    )
    if params.cursor:
        if not params.cursor.isdigit():
            raise DomainError({"cursor": "not a cursor from a previous page"})
        qs = qs.filter(id__lt=int(params.cursor))
    items = list(qs[: params.limit + 1])
    more = len(items) > params.limit
    items = items[: params.limit]
    return {
        "items": [lead_dict(lead) for lead in items],
        "next_cursor": str(items[-1].pk) if more else None,
    }


def _owner(user_id):
    from django.contrib.auth import get_user_model

    if user_id is None:
        return None
    owner = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if owner is None:
        raise DomainError({"owner": f"no active user {user_id}"})
    return owner


@router.post(
    "/leads/reassign",
    response={200: s.BulkAssignOut, 403: s.ErrorOut, 422: s.ErrorOut},
    summary="Reassign many leads at once (managers)",
)
def bulk_assign(request, payload: s.BulkAssignIn):
    """All or nothing: every lead must be one you manage."""
    if not 1 <= len(payload.ids) <= 500:
        raise DomainError({"ids": "give between 1 and 500 lead ids"})
    leads = list(Lead.objects.visible_to(request.auth).filter(pk__in=payload.ids))
    missing = sorted(set(payload.ids) - {lead.pk for lead in leads})
    if missing:
        raise DomainError({"ids": f"not found: {', '.join(map(str, missing[:20]))}"}, status=404)
    if not all(lead.team_id and is_manager_of(request.auth, lead.team_id) for lead in leads):
        raise DomainError({"": "only the team's manager or an admin can reassign"}, status=403)
    actions.reassign_many(leads, _owner(payload.owner), request.auth, reason=payload.reason)
    return {"reassigned": len(leads)}


@router.get(
    "/leads/{lead_id}",
    response={200: s.LeadDetailOut, 404: s.ErrorOut},
    summary="One lead with its timeline",
)
def get_lead(request, lead_id: int):
    lead = get_visible_lead(request.auth, lead_id)
    timeline = lead.events.select_related("actor").order_by("-at", "-id")[:200]
    return {**lead_dict(lead), "timeline": [event_dict(e) for e in timeline]}


@router.patch(
    "/leads/{lead_id}",
    response={200: s.LeadOut, 404: s.ErrorOut, 422: s.ErrorOut},
    summary="Update a lead's fields",
)
def patch_lead(request, lead_id: int, payload: s.LeadPatch):
    lead = get_visible_lead(request.auth, lead_id, for_edit=True)
    lead = actions.update_fields(lead, payload.model_dump(exclude_unset=True), request.auth)
    return lead_dict(get_visible_lead(request.auth, lead.pk))


@router.post(
    "/leads/{lead_id}/transition",
    response={200: s.LeadOut, 404: s.ErrorOut, 422: s.ErrorOut},
    summary="Move a lead through its lifecycle",
)
def transition_lead(request, lead_id: int, payload: s.TransitionIn):
    lead = get_visible_lead(request.auth, lead_id, for_edit=True)
    actions.transition(
        lead,
        payload.to,
        request.auth,
        reason=payload.reason,
        reason_code=payload.reason_code,
        next_step=payload.next_step,
        next_step_due_at=payload.next_step_due_at,
        answers=payload.answers,
    )
    return lead_dict(get_visible_lead(request.auth, lead.pk))


@router.post(
    "/leads/{lead_id}/activities",
    response={201: s.ActivityOut, 404: s.ErrorOut, 422: s.ErrorOut},
    summary="Log a call, email, meeting or note",
)
def log_activity(request, lead_id: int, payload: s.ActivityIn):
    lead = get_visible_lead(request.auth, lead_id, for_edit=True)
    activity = actions.log_activity(
        lead,
        payload.kind,
        request.auth,
        subject=payload.subject,
        body=payload.body,
        outcome=payload.outcome,
        at=payload.at,
    )
    return Status(201, activity)


@router.post(
    "/leads/{lead_id}/next-step",
    response={200: s.LeadOut, 404: s.ErrorOut, 422: s.ErrorOut},
    summary="Set the next step and its due time",
)
def next_step(request, lead_id: int, payload: s.NextStepIn):
    lead = get_visible_lead(request.auth, lead_id, for_edit=True)
    actions.set_next_step(lead, payload.title, payload.due_at, request.auth)
    return lead_dict(get_visible_lead(request.auth, lead.pk))


@router.post(
    "/leads/{lead_id}/convert",
    response={201: s.ConvertOut, 404: s.ErrorOut, 422: s.ErrorOut},
    summary="Convert a qualified lead to account, contact and opportunity",
)
def convert_lead(request, lead_id: int, payload: s.ConvertIn):
    lead = get_visible_lead(request.auth, lead_id, for_edit=True)
    opp = convert(
        lead,
        request.auth,
        opportunity_name=payload.opportunity_name,
        amount=payload.amount,
        problem=payload.problem,
        outcome=payload.outcome,
        decision_makers=payload.decision_makers,
    )
    return Status(
        201,
        {
            "opportunity_id": opp.pk,
            "account_id": opp.account_id,
            "contact_id": opp.contact_id,
            "name": opp.name,
            "handoff_brief": opp.handoff_brief,
        },
    )


@router.post(
    "/leads/{lead_id}/assign",
    response={200: s.LeadOut, 403: s.ErrorOut, 404: s.ErrorOut, 422: s.ErrorOut},
    summary="Reassign a lead (managers)",
)
def assign_lead(request, lead_id: int, payload: s.AssignIn):
    lead = get_visible_lead(request.auth, lead_id)
    if not (lead.team_id and is_manager_of(request.auth, lead.team_id)):
        raise DomainError({"": "only the team's manager or an admin can reassign"}, status=403)
    actions.reassign(lead, _owner(payload.owner), request.auth, reason=payload.reason)
    return lead_dict(get_visible_lead(request.auth, lead.pk))


api.add_router("/", router)
from leadline.api.intake import router as intake_router  # noqa: E402

api.add_router("/", intake_router)
api.add_router("/", "leadline.api.quality.router")
