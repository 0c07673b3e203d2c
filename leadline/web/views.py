"""HTML views: parse the form, authorise, call one domain function, render or redirect."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from leadline.core.choices import Status
from leadline.core.clock import clock
from leadline.core.errors import DomainError
from leadline.core.models import ApiToken, Job
from leadline.core.permissions import (
    can_capture,
    can_edit,
    get_visible_lead,
    is_admin,
    is_manager_of,
    is_marketer,
    managed_teams,
)
from leadline.deals.conversion import convert
from leadline.intake.pipeline import capture
from leadline.leads import actions
from leadline.leads.models import Lead, is_stalled
from leadline.leads.queries import visible_leads
from leadline.scoring import predict
from leadline.web.forms import (
    ActivityForm,
    AssignForm,
    ConvertForm,
    LeadCreateForm,
    LeadFilterForm,
    NextStepForm,
    TokenForm,
    TransitionForm,
)


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


@login_required
def queue(request):
    """My queue: leads on the speed-to-lead clock first (soonest due), then by score."""
    mine = Lead.objects.visible_to(request.user).open().exclude(status=Status.NURTURE)
    scope = request.GET.get("scope", "mine")
    if scope == "mine":
        mine = mine.filter(owner=request.user) | mine.filter(owner__isnull=True)
    leads = list(mine.select_related("owner", "team", "campaign").queue_order()[:100])
    now = clock.now()
    stalled = [lead for lead in leads if is_stalled(lead, now)]
    return render(
        request, "leadline/queue.html", {"leads": leads, "scope": scope, "stalled": stalled}
    )


@login_required
def lead_list(request):
    form = LeadFilterForm(request.GET or None)
    params = form.cleaned_data if form.is_valid() else {}
    try:
        qs = visible_leads(request.user, params)
    except DomainError as exc:
        form.add_error(None, str(exc))
        qs = Lead.objects.none()
    qs = qs.select_related("owner", "team", "campaign").order_by("-created_at", "-id")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "leadline/lead_list.html", {"form": form, "page": page, "query": query.urlencode()}
    )


@login_required
def lead_new(request):
    form = LeadCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not can_capture(request.user):
            form.add_error(None, "You are not a member of any team.")
        else:
            data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
            try:
                result = capture(data, channel="web", actor=request.user)
            except DomainError as exc:
                _form_errors(form, exc)
            else:
                visible = Lead.objects.visible_to(request.user).filter(pk=result.lead.pk)
                if not visible.exists():
                    messages.success(
                        request,
                        "That person is already an open lead of another "
                        "team; the touch is recorded on it.",
                    )
                    return redirect("lead_list")
                verb = "Created" if result.created else "Matched an open lead:"
                messages.success(request, f"{verb} {result.lead.display_name}.")
                return redirect("lead_detail", result.lead.pk)
    return render(request, "leadline/lead_new.html", {"form": form})


def _form_errors(form, exc: DomainError):
    for field, message in exc.errors.items():
        key = field if field in form.fields else None
        form.add_error(key, message if key else f"{field}: {message}" if field else message)


def _detail_context(request, lead, **forms):
    criteria = actions.criteria_for(lead)
    context = {
        "lead": lead,
        "can_edit": can_edit(request.user, lead),
        "timeline": lead.events.select_related("actor").order_by("-at", "-id")[:100],
        "tasks": lead.tasks.filter(done_at__isnull=True),
        "activity_form": ActivityForm(),
        "next_step_form": NextStepForm(),
        "transition_form": TransitionForm(lead=lead, criteria=criteria),
        "convert_form": ConvertForm(),
        "criteria": [{**c, "answer": (lead.qualification or {}).get(c["key"])} for c in criteria],
        "transitions": lead.transitions.select_related("actor"),
        "reason": lead.routing_reason or {},
        "factors": predict.explain(lead),
        "can_assign": bool(lead.team_id and is_manager_of(request.user, lead.team_id)),
        "assign_form": AssignForm(team=lead.team) if lead.team_id else None,
        **_possible_duplicates(request.user, lead),
    }
    context.update(forms)
    return context


def _possible_duplicates(user, lead) -> dict:
    """The lead's open duplicate pairs: a reviewer sees each with a link to compare them; anyone
    else learns only that one waits for a manager."""
    from leadline.quality.access import can_review
    from leadline.quality.duplicates import candidates_for

    pairs = candidates_for(lead.pk)
    if not can_review(user):
        return {"duplicates": [], "duplicates_waiting": pairs.exists()}
    shown = [
        {
            "pair": pair,
            "other": pair.lead_b if pair.lead_a_id == lead.pk else pair.lead_a,
        }
        for pair in pairs.visible_to(user).select_related("lead_a", "lead_b")
    ]
    return {"duplicates": shown, "duplicates_waiting": False}


@login_required
def lead_detail(request, lead_id: int):
    lead = _lead_or_404(request, lead_id)
    return render(request, "leadline/lead_detail.html", _detail_context(request, lead))


def _lead_or_404(request, lead_id, for_edit=False):
    from django.http import Http404

    try:
        return get_visible_lead(request.user, lead_id, for_edit=for_edit)
    except DomainError as exc:
        if exc.status == 404:
            raise Http404(str(exc)) from None
        raise


def _post_action(request, lead_id, form_class, context_name, call, success: str, form_kwargs=None):
    """Shared shape of every lead action: validate, call the domain, redirect or re-render."""
    from django.core.exceptions import PermissionDenied

    try:
        lead = _lead_or_404(request, lead_id, for_edit=True)
    except DomainError as exc:
        raise PermissionDenied(str(exc)) from None
    form = form_class(request.POST, **(form_kwargs(lead) if form_kwargs else {}))
    if form.is_valid():
        try:
            call(lead, form)
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, success)
            return redirect("lead_detail", lead.pk)
    context = _detail_context(request, lead, **{context_name: form})
    return render(request, "leadline/lead_detail.html", context, status=422)


@login_required
@require_POST
def lead_activity(request, lead_id: int):
    def call(lead, form):
        d = form.cleaned_data
        actions.log_activity(
            lead,
            d["kind"],
            request.user,
            subject=d["subject"],
            outcome=d["outcome"],
            body=d["body"],
        )

    return _post_action(request, lead_id, ActivityForm, "activity_form", call, "Activity logged.")


@login_required
@require_POST
def lead_next_step(request, lead_id: int):
    def call(lead, form):
        actions.set_next_step(
            lead, form.cleaned_data["title"], form.cleaned_data["due_at"], request.user
        )

    return _post_action(request, lead_id, NextStepForm, "next_step_form", call, "Next step set.")


@login_required
@require_POST
def lead_transition(request, lead_id: int):
    def call(lead, form):
        d = form.cleaned_data
        actions.transition(
            lead,
            d["to"],
            request.user,
            reason=d["reason"],
            reason_code=d["reason_code"],
            next_step=d["next_step"],
            next_step_due_at=d["next_step_due_at"],
            answers=form.answers(),
        )

    return _post_action(
        request,
        lead_id,
        TransitionForm,
        "transition_form",
        call,
        "Status changed.",
        form_kwargs=lambda lead: {"lead": lead, "criteria": actions.criteria_for(lead)},
    )


@login_required
@require_POST
def lead_convert(request, lead_id: int):
    def call(lead, form):
        d = form.cleaned_data
        convert(
            lead,
            request.user,
            opportunity_name=d["opportunity_name"],
            amount=d["amount"],
            problem=d["problem"],
            outcome=d["outcome"],
            decision_makers=d["decision_makers"],
        )

    return _post_action(
        request,
        lead_id,
        ConvertForm,
        "convert_form",
        call,
        "Converted: the opportunity and its handoff brief are ready.",
    )


@login_required
def tokens(request):
    form = TokenForm(request.POST or None)
    raw = None
    if request.method == "POST":
        revoke = request.POST.get("revoke")
        if revoke:
            from django.utils import timezone

            ApiToken.objects.filter(pk=revoke, user=request.user, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
            messages.success(request, "Token revoked.")
            return redirect("tokens")
        if form.is_valid():
            _token, raw = ApiToken.issue(request.user, form.cleaned_data["name"])
            form = TokenForm()
    listed = ApiToken.objects.filter(user=request.user).order_by("-created_at")
    return render(request, "leadline/tokens.html", {"form": form, "raw": raw, "tokens": listed})


@login_required
@require_POST
def lead_assign(request, lead_id: int):
    from django.contrib.auth import get_user_model
    from django.core.exceptions import PermissionDenied

    lead = _lead_or_404(request, lead_id)
    if not (lead.team_id and is_manager_of(request.user, lead.team_id)):
        raise PermissionDenied("only the team's manager or an admin can reassign")
    form = AssignForm(request.POST, team=lead.team)
    if form.is_valid():
        owner = get_user_model().objects.filter(pk=form.cleaned_data["owner"]).first()
        try:
            actions.reassign(lead, owner, request.user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"Reassigned to {owner or 'nobody'}.")
            return redirect("lead_detail", lead.pk)
    context = _detail_context(request, lead, assign_form=form)
    return render(request, "leadline/lead_detail.html", context, status=422)


@login_required
def routing_simulator(request):
    from django.core.exceptions import PermissionDenied

    from leadline.routing.simulate import simulate

    if not (is_admin(request.user) or managed_teams(request.user)):
        raise PermissionDenied("managers and admins only")
    try:
        days = max(1, min(365, int(request.GET.get("days", 30))))
    except ValueError:
        days = 30
    return render(request, "leadline/simulator.html", {"result": simulate(days), "days": days})


@login_required
def scoring(request):
    """How well the predictive model works, compared with the rule score and the base rate."""
    from django.core.exceptions import PermissionDenied

    from leadline.scoring import predict
    from leadline.scoring.models import PredictiveModel

    allowed = is_admin(request.user) or managed_teams(request.user) or is_marketer(request.user)
    if request.method == "POST":
        if not allowed:
            raise PermissionDenied("managers, marketers and admins only")
        predict.request_retraining(f"requested by {request.user}")
        messages.success(request, "Retraining queued: the worker trains a new version shortly.")
        return redirect("scoring")
    live = predict.current()
    history = PredictiveModel.objects.defer("blob")[:20]
    backtest = (live.metrics.get("backtest") if live else None) or {}
    cv = (live.metrics.get("cross_validation") if live else None) or {}
    calibration = (backtest.get("model") or cv.get("pooled") or {}).get("calibration", [])
    context = {
        "live": live,
        "history": history,
        "backtest": backtest,
        "cv": cv,
        "report": (live.metrics.get("report") if live else None) or {},
        "calibration": calibration,
        "calibration_points": calibration_points(calibration),
        "can_retrain": allowed,
        "pending": Job.objects.filter(kind="retrain", status="pending").exists(),
    }
    return render(request, "leadline/scoring.html", context)


def calibration_points(rows: list[dict], size: int = 240) -> str:
    """SVG polyline points of observed rate against mean predicted probability."""
    points = [
        (row["mean_predicted"], row["observed_rate"])
        for row in rows
        if row.get("mean_predicted") is not None and row.get("observed_rate") is not None
    ]
    return " ".join(f"{x * size:.1f},{size - y * size:.1f}" for x, y in points)
