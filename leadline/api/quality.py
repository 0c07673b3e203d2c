"""Data quality over the API: the duplicate review queue, merges and unmerges, a lead's likely
duplicates and account. Thin: parse, authorise (``leadline.quality.access``), call one function
of ``leadline.quality``, respond. Admins and managers only; other teams' objects are 404."""

from datetime import datetime

from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from leadline.core.errors import DomainError
from leadline.core.permissions import get_visible_lead
from leadline.leads.models import Lead
from leadline.quality import access
from leadline.quality.accounts import match_account
from leadline.quality.duplicates import dismiss, find_duplicates
from leadline.quality.merge import merge, unmerge
from leadline.quality.models import CandidateStatus, DuplicateCandidate

from .schemas import ErrorOut

router = Router(tags=["data quality"])
ERRORS = {403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class EvidenceOut(Schema):
    field: str
    level: str
    weight: float


class CandidateOut(Schema):
    id: int
    lead_a: int
    lead_b: int
    probability: float
    evidence: list[EvidenceOut]
    status: str
    found_by: str
    created_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    merge: int | None = None


class CandidatePage(Schema):
    count: int
    results: list[CandidateOut]


class MergeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    survivor: int = Field(..., description="The lead to keep (one of the pair)")
    overrides: dict[str, int] = Field(
        default_factory=dict, description="field -> id of the lead to take that field from"
    )
    reason: str = ""


class LeadsMergeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    primary: int = Field(..., description="The lead to keep")
    duplicates: list[int] = Field(..., description="Leads merged into it")
    overrides: dict[str, int] = Field(default_factory=dict)
    reason: str = ""


class MergeOut(Schema):
    id: int
    survivor: int
    merged: list[int]
    at: datetime
    by: str | None = None
    automatic: bool
    reason: str
    changes: dict
    choices: dict
    unmerged_at: datetime | None = None


class MatchOut(Schema):
    lead_id: int
    probability: float
    decision: str
    evidence: list[EvidenceOut]


class AccountMatchOut(Schema):
    account: int | None = None
    name: str | None = None
    method: str | None = None
    score: float | None = None
    reason: str | None = None


def _candidate_dict(c: DuplicateCandidate) -> dict:
    return {
        "id": c.pk,
        "lead_a": c.lead_a_id,
        "lead_b": c.lead_b_id,
        "probability": c.probability,
        "evidence": c.evidence,
        "status": c.status,
        "found_by": c.found_by,
        "created_at": c.created_at,
        "decided_at": c.decided_at,
        "decided_by": c.decided_by.get_username() if c.decided_by_id else None,
        "merge": c.merge_id,
    }


def _merge_dict(m) -> dict:
    return {
        "id": m.pk,
        "survivor": m.survivor_id,
        "merged": m.merged_ids,
        "at": m.at,
        "by": m.by.get_username() if m.by_id else None,
        "automatic": m.automatic,
        "reason": m.reason,
        "changes": m.changes,
        "choices": m.choices,
        "unmerged_at": m.unmerged_at,
    }


@router.get(
    "/quality/candidates",
    response={200: CandidatePage, **ERRORS},
    summary="Pairs of leads that may be duplicates (the review queue)",
)
def list_candidates(
    request, status: str = Query(CandidateStatus.OPEN), limit: int = 50, offset: int = 0
):
    access.require_reviewer(request.auth)
    if status not in CandidateStatus.values:
        raise DomainError({"status": f"use one of {', '.join(CandidateStatus.values)}"})
    qs = DuplicateCandidate.objects.visible_to(request.auth).filter(status=status)
    if status == CandidateStatus.OPEN:
        qs = qs.live()
    qs = qs.select_related("decided_by").order_by("-probability", "id")
    limit = max(1, min(limit, 500))
    return {
        "count": qs.count(),
        "results": [_candidate_dict(c) for c in qs[offset : offset + limit]],
    }


@router.get("/quality/candidates/{candidate_id}", response={200: CandidateOut, **ERRORS})
def get_candidate(request, candidate_id: int):
    return _candidate_dict(access.get_candidate(request.auth, candidate_id))


@router.post(
    "/quality/candidates/{candidate_id}/merge",
    response={201: MergeOut, **ERRORS},
    summary="Merge a pair: keep the survivor, optionally choosing fields",
)
def merge_candidate(request, candidate_id: int, payload: MergeIn):
    pair = access.get_candidate(request.auth, candidate_id)
    leads = {pair.lead_a_id: pair.lead_a, pair.lead_b_id: pair.lead_b}
    if payload.survivor not in leads:
        raise DomainError({"survivor": f"must be lead {pair.lead_a_id} or {pair.lead_b_id}"})
    others = [lead for pk, lead in leads.items() if pk != payload.survivor]
    record = merge(
        leads[payload.survivor],
        others,
        request.auth,
        payload.reason,
        overrides=payload.overrides,
    )
    return Status(201, _merge_dict(record))


@router.post(
    "/quality/candidates/{candidate_id}/dismiss",
    response={200: CandidateOut, **ERRORS},
    summary="Not a duplicate (remembered: the pair is never proposed again)",
)
def dismiss_candidate(request, candidate_id: int):
    pair = access.get_candidate(request.auth, candidate_id)
    return _candidate_dict(dismiss(pair, request.auth))


@router.post("/quality/merges", response={201: MergeOut, **ERRORS}, summary="Merge leads")
def merge_leads(request, payload: LeadsMergeIn):
    leads = access.get_leads_to_merge(request.auth, [payload.primary, *payload.duplicates])
    record = merge(leads[0], leads[1:], request.auth, payload.reason, overrides=payload.overrides)
    return Status(201, _merge_dict(record))


@router.get("/quality/merges", response={200: list[MergeOut], **ERRORS}, summary="Merge history")
def list_merges(request, limit: int = 50, offset: int = 0):
    access.require_reviewer(request.auth)
    limit = max(1, min(limit, 500))
    qs = access.merges_visible_to(request.auth).select_related("by").order_by("-at", "-id")
    return [_merge_dict(m) for m in qs[offset : offset + limit]]


@router.post(
    "/quality/merges/{merge_id}/unmerge",
    response={200: MergeOut, **ERRORS},
    summary="Undo a merge: the leads come back as they were",
)
def unmerge_leads(request, merge_id: int):
    record = access.get_merge(request.auth, merge_id)
    unmerge(record, request.auth)
    record.refresh_from_db()
    return _merge_dict(record)


@router.get(
    "/leads/{lead_id}/duplicates",
    response={200: list[MatchOut], **ERRORS},
    summary="Stored leads that may be this lead, with the evidence",
)
def lead_duplicates(request, lead_id: int):
    lead = get_visible_lead(request.auth, lead_id)
    matches = find_duplicates(lead, limit=10)
    visible = set(
        Lead.objects.visible_to(request.auth)
        .filter(pk__in=[m.lead_id for m in matches])
        .values_list("pk", flat=True)
    )
    return [
        {
            "lead_id": m.lead_id,
            "probability": m.probability,
            "decision": m.decision,
            "evidence": m.evidence,
        }
        for m in matches
        if m.lead_id in visible
    ]


@router.get(
    "/leads/{lead_id}/account",
    response={200: AccountMatchOut, **ERRORS},
    summary="The existing account this lead's company matches, and why",
)
def lead_account(request, lead_id: int):
    lead = get_visible_lead(request.auth, lead_id)
    found = match_account(lead)
    if found is None:
        return {}
    return {"name": found.account.name, **found.as_dict()}
