from datetime import datetime
from decimal import Decimal
from typing import Any

from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field

Scalar = str | int | float | None


class LeadIn(BaseModel):
    """A lead as sent by a form, a script or another system. Only what you know is needed."""

    # A plain pydantic model, not a ninja Schema: Schema's wrap validator (there to read Django
    # model instances) validates an input with extra="forbid" twice, the second time through a
    # getter proxy — a quarter of a capture request's own CPU outside the pipeline.

    model_config = ConfigDict(extra="forbid")

    first_name: Scalar = None
    last_name: Scalar = None
    name: Scalar = Field(None, description="Full name, split when first/last are not given")
    email: Scalar = None
    phone: Scalar = None
    title: Scalar = None
    company: Scalar = None
    website: Scalar = None
    industry: Scalar = None
    employees: Scalar = None
    revenue: Scalar = None
    country: Scalar = Field(None, description="ISO code (US, GB) or English name")
    region: Scalar = None
    city: Scalar = None
    timezone: Scalar = None
    source: Scalar = Field(None, description="web_form, demo_request, webinar, referral, …")
    source_detail: Scalar = None
    campaign: Scalar = Field(None, description="Campaign name or id")
    utm_source: Scalar = None
    utm_medium: Scalar = None
    utm_campaign: Scalar = None
    utm_term: Scalar = None
    utm_content: Scalar = None
    consent_email: bool | Scalar = None
    consent_text: Scalar = None
    do_not_contact: bool | Scalar = None
    do_not_email: bool | Scalar = None
    do_not_call: bool | Scalar = None
    external_id: Scalar = Field(None, description="Your id: a repeat returns the first result")
    external_ids: dict[str, Any] | None = None
    custom: dict[str, Any] | None = None


class BatchIn(Schema):
    leads: list[dict[str, Any]] = Field(..., description="Up to 1,000 lead objects")


class ErrorItem(Schema):
    field: str | None
    message: str


class ErrorOut(Schema):
    detail: str
    errors: list[ErrorItem] = []


class ScorePart(Schema):
    kind: str
    label: str
    points: int


class LeadOut(Schema):
    id: int
    first_name: str
    last_name: str
    email: str
    phone: str
    phone_e164: str
    title: str
    seniority: str
    company: str
    company_domain: str
    website: str
    industry: str
    employees: int | None
    revenue: Decimal | None
    country: str
    region: str
    city: str
    source: str
    source_detail: str
    campaign: str | None
    status: str
    stage: str
    owner: str | None
    team: str | None
    routing_reason: dict
    score: int
    fit_score: int
    engagement_score: int
    score_parts: list[ScorePart]
    is_prospect: bool
    captured_at: datetime
    sla_due_at: datetime | None
    sla_breached_at: datetime | None
    first_response_at: datetime | None
    response_minutes: float | None
    last_activity_at: datetime | None
    next_step: str
    next_step_due_at: datetime | None
    qualification: dict
    disqualify_reason: str
    recycle_count: int
    touch_count: int
    converted_opportunity: int | None
    custom: dict
    external_id: str
    created_at: datetime
    updated_at: datetime


class EventOut(Schema):
    at: datetime
    kind: str
    summary: str
    actor: str | None
    data: dict


class LeadDetailOut(LeadOut):
    timeline: list[EventOut]


class CaptureOut(Schema):
    outcome: str = Field(..., description="created, matched (a touch on an open lead) or replayed")
    id: int
    lead: LeadOut | None = Field(
        None, description="Omitted when the lead matched belongs to a team you cannot see"
    )


class BatchItemOut(Schema):
    index: int
    outcome: str
    id: int | None = None
    errors: list[ErrorItem] = []


class BatchOut(Schema):
    created: int
    matched: int
    replayed: int
    invalid: int
    results: list[BatchItemOut]


class LeadPage(Schema):
    items: list[LeadOut]
    next_cursor: str | None


class LeadPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    first_name: Scalar = None
    last_name: Scalar = None
    email: Scalar = None
    phone: Scalar = None
    title: Scalar = None
    company: Scalar = None
    website: Scalar = None
    industry: Scalar = None
    employees: Scalar = None
    revenue: Scalar = None
    country: Scalar = None
    region: Scalar = None
    city: Scalar = None
    timezone: Scalar = None
    source_detail: Scalar = None
    do_not_contact: bool | None = None
    do_not_email: bool | None = None
    do_not_call: bool | None = None
    custom: dict[str, Any] | None = None


class TransitionIn(Schema):
    to: str
    reason: str = ""
    reason_code: str = ""
    next_step: str = ""
    next_step_due_at: datetime | None = None
    answers: dict[str, Any] | None = Field(None, description="Qualification answers, e.g. BANT")


class ActivityIn(Schema):
    kind: str = Field(..., description="call, email, meeting or note")
    subject: str = ""
    body: str = ""
    outcome: str = ""
    at: datetime | None = None


class ActivityOut(Schema):
    id: int
    kind: str
    subject: str
    outcome: str
    at: datetime


class NextStepIn(Schema):
    title: str
    due_at: datetime


class ConvertIn(Schema):
    opportunity_name: str = ""
    amount: Decimal | None = None
    problem: str
    outcome: str = ""
    decision_makers: str = ""


class ConvertOut(Schema):
    opportunity_id: int
    account_id: int
    contact_id: int | None
    name: str
    handoff_brief: dict


class AssignIn(Schema):
    owner: int | None
    reason: str


class BulkAssignIn(Schema):
    ids: list[int] = Field(..., description="Up to 500 lead ids")
    owner: int | None
    reason: str


class BulkAssignOut(Schema):
    reassigned: int
