"""Plain-dict views of a lead, shared by the API and the CLI."""

SCALARS = (
    "id first_name last_name email phone phone_e164 title seniority company company_domain "
    "website industry employees revenue country region city source source_detail status "
    "routing_reason score fit_score engagement_score captured_at sla_due_at sla_breached_at "
    "first_response_at response_minutes last_activity_at next_step next_step_due_at qualification "
    "disqualify_reason recycle_count touch_count custom external_id created_at updated_at"
).split()


def lead_dict(lead, stage: str | None = None) -> dict:
    data = {name: getattr(lead, name) for name in SCALARS}
    data["campaign"] = lead.campaign.name if lead.campaign_id else None
    data["owner"] = lead.owner.get_username() if lead.owner_id else None
    data["team"] = lead.team.name if lead.team_id else None
    data["stage"] = stage or getattr(lead, "stage_value", None) or lead.stage
    data["score_parts"] = [
        {"kind": p["kind"], "label": p["label"], "points": p["points"]} for p in lead.score_parts
    ]
    data["is_prospect"] = lead.is_prospect
    data["converted_opportunity"] = lead.converted_opportunity_id
    return data


def event_dict(event) -> dict:
    return {
        "at": event.at,
        "kind": event.kind,
        "summary": event.summary,
        "actor": event.actor.get_username() if event.actor_id else None,
        "data": event.data,
    }
