"""HTML views for data quality: the duplicate review queue, merging, and merge history.

Thin, like every view: parse, authorise (``leadline.quality.access``), call one function of
``leadline.quality`` and render or redirect. Admins and managers only; a pair or merge of
another team's leads is a 404.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from leadline.core.errors import DomainError, NotFound
from leadline.quality import access
from leadline.quality.duplicates import dismiss
from leadline.quality.merge import (
    SURVIVORSHIP,
    choose_primary,
    merge,
    plan_merge,
    side_by_side,
    unmerge,
)
from leadline.quality.models import CandidateStatus, DuplicateCandidate


def _reviewer(request) -> None:
    if not access.can_review(request.user):
        raise PermissionDenied("Only admins and managers review duplicates.")


def _candidate(request, candidate_id: int) -> DuplicateCandidate:
    _reviewer(request)
    try:
        return access.get_candidate(request.user, candidate_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


class MergeForm(forms.Form):
    """The survivor, a reason, and per field the lead to take it from (blank: the rule)."""

    reason = forms.CharField(max_length=500, required=False)

    def __init__(self, *args, leads, **kwargs):
        super().__init__(*args, **kwargs)
        self.leads = leads
        self.fields["survivor"] = forms.TypedChoiceField(
            choices=[(x.pk, f"Lead {x.pk}") for x in leads], coerce=int, widget=forms.RadioSelect
        )
        for name in SURVIVORSHIP:
            self.fields[f"use_{name}"] = forms.TypedChoiceField(
                choices=[("", "rule"), *[(x.pk, f"lead {x.pk}") for x in leads]],
                coerce=int,
                empty_value=None,
                required=False,
            )

    def overrides(self) -> dict[str, int]:
        return {
            name: self.cleaned_data[f"use_{name}"]
            for name in SURVIVORSHIP
            if self.cleaned_data.get(f"use_{name}") is not None
        }


@login_required
def duplicate_queue(request):
    _reviewer(request)
    status = request.GET.get("status", CandidateStatus.OPEN)
    if status not in CandidateStatus.values:
        status = CandidateStatus.OPEN
    pairs = DuplicateCandidate.objects.visible_to(request.user).filter(status=status)
    if status == CandidateStatus.OPEN:
        pairs = pairs.live()
    pairs = pairs.select_related(
        "lead_a__owner", "lead_a__team", "lead_b__owner", "lead_b__team", "decided_by"
    ).order_by("-probability", "id")
    page = Paginator(pairs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "quality/duplicates.html",
        {"page": page, "status": status, "statuses": CandidateStatus.choices},
    )


def _pair_context(candidate, form=None):
    leads = [candidate.lead_a, candidate.lead_b]
    primary = choose_primary(leads)
    others = [x for x in leads if x.pk != primary.pk]
    plan = plan_merge(primary, others)
    form = form or MergeForm(leads=leads, initial={"survivor": primary.pk})
    return {
        "pair": candidate,
        "leads": leads,
        "primary": primary,
        "rows": side_by_side(leads, plan),
        "form": form,
        "evidence": candidate.evidence,
        "can_decide": candidate.status == CandidateStatus.OPEN
        and not (candidate.lead_a.merged_into_id or candidate.lead_b.merged_into_id),
    }


@login_required
def duplicate_detail(request, candidate_id: int):
    candidate = _candidate(request, candidate_id)
    return render(request, "quality/duplicate_detail.html", _pair_context(candidate))


@login_required
@require_POST
def duplicate_merge(request, candidate_id: int):
    candidate = _candidate(request, candidate_id)
    leads = [candidate.lead_a, candidate.lead_b]
    form = MergeForm(request.POST, leads=leads)
    if form.is_valid():
        survivor = next(x for x in leads if x.pk == form.cleaned_data["survivor"])
        others = [x for x in leads if x.pk != survivor.pk]
        try:
            record = merge(
                survivor,
                others,
                request.user,
                form.cleaned_data["reason"],
                overrides=form.overrides(),
            )
        except DomainError as exc:
            for field, message in exc.errors.items():
                form.add_error(None, f"{field}: {message}" if field else message)
        else:
            messages.success(
                request,
                f"Merged lead {others[0].pk} into lead {survivor.pk} (merge #{record.pk}; "
                "it can be undone from the merge history).",
            )
            return redirect("lead_detail", survivor.pk)
    context = _pair_context(candidate, form)
    return render(request, "quality/duplicate_detail.html", context, status=422)


@login_required
@require_POST
def duplicate_dismiss(request, candidate_id: int):
    candidate = _candidate(request, candidate_id)
    try:
        dismiss(candidate, request.user)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Leads {candidate.lead_a_id} and {candidate.lead_b_id} are not duplicates; "
            "the pair will not be proposed again.",
        )
    return redirect("quality_duplicates")


@login_required
def merge_history(request):
    _reviewer(request)
    merges = access.merges_visible_to(request.user).select_related("survivor", "by", "unmerged_by")
    page = Paginator(merges.order_by("-at", "-id"), 50).get_page(request.GET.get("page"))
    for record in page.object_list:
        record.names = {
            int(i): _snapshot_name(s)
            for i, s in record.snapshots.items()
            if int(i) != record.survivor_id
        }
    return render(request, "quality/merges.html", {"page": page})


def _snapshot_name(snap: dict) -> str:
    fields = snap.get("fields", {})
    name = f"{fields.get('first_name', '')} {fields.get('last_name', '')}".strip()
    return name or fields.get("email") or fields.get("company") or f"Lead {snap.get('pk')}"


@login_required
@require_POST
def merge_undo(request, merge_id: int):
    _reviewer(request)
    try:
        record = access.get_merge(request.user, merge_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    try:
        unmerge(record, request.user)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        restored = ", ".join(str(i) for i in record.merged_ids)
        messages.success(request, f"Merge #{record.pk} undone: lead(s) {restored} restored.")
    return redirect("quality_merges")


urlpatterns = [
    path("quality/duplicates/", duplicate_queue, name="quality_duplicates"),
    path("quality/duplicates/<int:candidate_id>/", duplicate_detail, name="quality_duplicate"),
    path(
        "quality/duplicates/<int:candidate_id>/merge/",
        duplicate_merge,
        name="quality_duplicate_merge",
    ),
    path(
        "quality/duplicates/<int:candidate_id>/dismiss/",
        duplicate_dismiss,
        name="quality_duplicate_dismiss",
    ),
    path("quality/merges/", merge_history, name="quality_merges"),
    path("quality/merges/<int:merge_id>/undo/", merge_undo, name="quality_merge_undo"),
]
