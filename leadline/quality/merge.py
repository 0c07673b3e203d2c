"""Merging duplicate leads into one survivor, and undoing it.

``merge(primary, duplicates, by, reason)`` decides every field of the survivor by a
survivorship rule (or a reviewer's per-field choice), moves the duplicates' timeline,
activities, tasks, transitions, form submissions and engagement events to the survivor, keeps
each duplicate as a tombstone (``merged_into``) and writes a ``MergeRecord`` holding a full
snapshot of every lead before the merge and the ids of every row it moved.

``unmerge(record, by)`` puts the tombstones back exactly as they were, moves their rows back
and restores the survivor's fields that the merge changed, except those edited since (a later
edit is kept, and named on the timeline). Both run in one transaction with the leads locked.

Survivorship rules (per field; a team can override them in ``MatchSettings.survivorship``):

* ``recent``   the value of the most recently updated lead that has one
* ``trusted``  the value from the most trustworthy source (a person typing it in beats a
               bought list), then the most recent
* ``complete`` the value of the most complete lead (most descriptive fields filled in), then
               the most recent
* ``earliest`` the value of the first captured lead that has one (first-touch attribution)
* ``survivor`` the survivor's value, or the most recent one when the survivor has none
* ``advanced`` from the lead furthest along the lifecycle (its owner has the relationship)

Fixed rules: consent never weakens (an opt-out anywhere wins, else an opt-in, with its text
and time); do-not-contact flags are kept if any lead has them; custom fields, external ids and
qualification answers are united (newer values win); touches add up; the last activity is the
latest and the first response the earliest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from django.core import serializers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction

from leadline.core.choices import Source, Status
from leadline.core.clock import clock
from leadline.core.errors import DomainError, NotFound
from leadline.intake.models import EngagementEvent, Submission
from leadline.leads.models import Activity, Event, IdempotencyKey, Lead, Task, Transition
from leadline.quality.models import CandidateStatus, DuplicateCandidate, MergeRecord

RULES = ("recent", "trusted", "complete", "earliest", "survivor", "advanced")

# Reviewable field -> default rule. Each travels with the columns in GROUPS.
SURVIVORSHIP = {
    "first_name": "trusted",
    "last_name": "trusted",
    "email": "trusted",
    "phone": "recent",
    "title": "recent",
    "company": "recent",
    "company_domain": "recent",
    "website": "recent",
    "industry": "recent",
    "employees": "recent",
    "revenue": "recent",
    "country": "recent",
    "region": "recent",
    "city": "recent",
    "timezone": "recent",
    "account": "survivor",
    "source": "earliest",
    "owner": "advanced",
    "next_step": "survivor",
}
GROUPS = {
    "email": ("email", "email_key"),
    "phone": ("phone", "phone_e164"),
    "title": ("title", "seniority", "department"),
    "account": ("account_id",),
    "source": (
        "source",
        "source_detail",
        "campaign_id",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
    ),
    "owner": ("owner_id", "team_id", "assigned_at", "routing_reason"),
    "next_step": ("next_step", "next_step_due_at"),
}
LABELS = {"owner": "owner and team", "source": "source and campaign", "account": "account"}

# How much a source's data is trusted: people typing about themselves first, bought lists last.
SOURCE_TRUST = {
    Source.DEMO_REQUEST: 5,
    Source.INBOUND_CALL: 5,
    Source.WEB_FORM: 4,
    Source.WEBINAR: 4,
    Source.EVENT: 4,
    Source.CONTENT: 3,
    Source.REFERRAL: 3,
    Source.PARTNER: 3,
    Source.API: 2,
    Source.IMPORT: 1,
    Source.OTHER: 1,
    Source.LIST_PURCHASE: 0,
}
# How far along the lifecycle a status is (for "advanced" and for choosing a survivor).
STATUS_RANK = {
    Status.CONVERTED: 5,
    Status.QUALIFIED: 4,
    Status.WORKING: 3,
    Status.NURTURE: 2,
    Status.NEW: 1,
    Status.DISQUALIFIED: 0,
}
# Rows that belong to a lead and follow it into the survivor (and back on unmerge).
MOVABLE = (Event, Activity, Task, Transition, IdempotencyKey, Submission, EngagementEvent)


def columns(name: str) -> tuple[str, ...]:
    return GROUPS.get(name, (name,))


def _empty(value) -> bool:
    return value is None or value == "" or value == {} or value == []


def _jsonable(value):
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def choose_primary(leads: list[Lead]) -> Lead:
    """The natural survivor: furthest along the lifecycle, then the first captured."""
    return min(leads, key=lambda x: (-STATUS_RANK.get(x.status, 0), x.captured_at, x.pk))


# --- the plan -------------------------------------------------------------------------------


@dataclass
class MergePlan:
    """The survivor's new values (attname -> value) and, per field, which lead gave it and why."""

    survivor: Lead
    duplicates: list[Lead]
    values: dict = field(default_factory=dict)
    choices: dict = field(default_factory=dict)  # field -> {"lead": id, "rule": rule}

    def source_of(self, name: str) -> int | None:
        return self.choices.get(name, {}).get("lead")


def rules_for(survivor: Lead) -> dict[str, str]:
    from leadline.quality.duplicates import matcher

    m = matcher()
    return {
        **SURVIVORSHIP,
        **m.survivorship.get(None, {}),
        **(m.survivorship.get(survivor.team_id, {}) if survivor.team_id else {}),
    }


def _ranked(rule: str, leads: list[Lead], survivor: Lead) -> list[Lead]:
    """Leads in the order the rule prefers them."""
    recent = sorted(leads, key=lambda x: (x.updated_at, x.pk == survivor.pk), reverse=True)
    if rule == "trusted":
        return sorted(recent, key=lambda x: -SOURCE_TRUST.get(x.source, 1))
    if rule == "complete":
        return sorted(recent, key=lambda x: -_filled(x))
    if rule == "earliest":
        return sorted(leads, key=lambda x: (x.captured_at, x.pk))
    if rule == "survivor":
        return [survivor, *[x for x in recent if x.pk != survivor.pk]]
    if rule == "advanced":
        return sorted(recent, key=lambda x: -STATUS_RANK.get(x.status, 0))
    return recent


def _filled(lead: Lead) -> int:
    return sum(not _empty(getattr(lead, columns(name)[0])) for name in SURVIVORSHIP)


def plan_merge(
    survivor: Lead,
    duplicates: list[Lead],
    overrides: dict[str, int] | None = None,
    rules: dict[str, str] | None = None,
) -> MergePlan:
    """What the survivor would look like; ``overrides`` maps a field to the lead to take it from."""
    leads = [survivor, *duplicates]
    by_id = {x.pk: x for x in leads}
    rules = rules or rules_for(survivor)
    overrides = overrides or {}
    errors = {}
    for name, lead_id in overrides.items():
        if name not in SURVIVORSHIP:
            errors[f"overrides.{name}"] = "not a field a merge can choose"
        elif _as_int(lead_id) not in by_id:
            errors[f"overrides.{name}"] = f"lead {lead_id} is not one of the leads being merged"
    if errors:
        raise DomainError(errors)
    plan = MergePlan(survivor, list(duplicates))
    for name, default_rule in SURVIVORSHIP.items():
        cols = columns(name)
        leader = cols[0]
        if name in overrides:
            chosen, rule = by_id[_as_int(overrides[name])], "chosen"
        else:
            rule = rules.get(name, default_rule)
            ranked = _ranked(rule, leads, survivor)
            chosen = next((x for x in ranked if not _empty(getattr(x, leader))), survivor)
        for col in cols:
            plan.values[col] = getattr(chosen, col)
        plan.choices[name] = {"lead": chosen.pk, "rule": rule}
    _fixed_rules(plan, leads, survivor)
    return plan


def _as_int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _fixed_rules(plan: MergePlan, leads: list[Lead], survivor: Lead) -> None:
    values = plan.values
    recent = sorted(leads, key=lambda x: (x.updated_at, x.pk))  # oldest first: newer wins
    # Consent never weakens: an opt-out anywhere stands; else the latest opt-in.
    for wanted in (False, True):
        giver = next((x for x in reversed(recent) if x.consent_email is wanted), None)
        if giver is not None:
            break
    giver = giver or survivor
    for col in ("consent_email", "consent_text", "consent_at"):
        values[col] = getattr(giver, col)
    plan.choices["consent"] = {"lead": giver.pk, "rule": "consent never weakens"}
    for col in ("do_not_contact", "do_not_email", "do_not_call"):
        values[col] = any(getattr(x, col) for x in leads)
    for col in ("custom", "external_ids", "qualification"):
        united: dict = {}
        for x in recent:
            united.update(getattr(x, col) or {})
        values[col] = united
    values["touch_count"] = sum(x.touch_count for x in leads)
    values["last_activity_at"] = max(
        (x.last_activity_at for x in leads if x.last_activity_at), default=None
    )
    responded = [x for x in leads if x.first_response_at]
    if responded:
        first = min(responded, key=lambda x: x.first_response_at)
        values["first_response_at"] = first.first_response_at
        values["response_minutes"] = first.response_minutes
    if not survivor.external_id:
        giver = next((x for x in leads if x.external_id), None)
        values["external_id"] = giver.external_id if giver else ""


# --- merge ----------------------------------------------------------------------------------


def snapshot(lead: Lead) -> dict:
    """The lead exactly as stored, in Django's serialisation (restored by ``restore``)."""
    return json.loads(serializers.serialize("json", [lead]))[0]


def restore(data: dict) -> Lead:
    return next(serializers.deserialize("json", json.dumps([data]))).object


def _lock(ids: list[int]) -> dict[int, Lead]:
    return {
        x.pk: x for x in Lead.objects.select_for_update().filter(pk__in=sorted(ids)).order_by("pk")
    }


def merge(
    primary: Lead,
    duplicates: list[Lead],
    by=None,
    reason: str = "",
    *,
    overrides: dict[str, int] | None = None,
    automatic: bool = False,
    now: datetime | None = None,
) -> MergeRecord:
    """Merge ``duplicates`` into ``primary``; returns the record that ``unmerge`` undoes."""
    from leadline.intake.pipeline import rescore
    from leadline.leads.actions import record
    from leadline.quality.duplicates import forget_keys, record_keys

    now = now or clock.now()
    dup_ids = list(dict.fromkeys(_pk(x) for x in duplicates))
    if not dup_ids:
        raise DomainError({"duplicates": "name at least one lead to merge into the survivor"})
    if _pk(primary) in dup_ids:
        raise DomainError({"duplicates": "a lead cannot be merged into itself"})
    with transaction.atomic():
        locked = _lock([_pk(primary), *dup_ids])
        for lead_id in [_pk(primary), *dup_ids]:
            if lead_id not in locked:
                raise NotFound({"": f"lead {lead_id} not found"})
            if locked[lead_id].merged_into_id:
                raise DomainError(
                    {
                        "duplicates" if lead_id != _pk(primary) else "primary": (
                            f"lead {lead_id} was already merged into lead "
                            f"{locked[lead_id].merged_into_id}"
                        )
                    }
                )
        survivor, dups = locked[_pk(primary)], [locked[i] for i in dup_ids]
        converted = [x.pk for x in dups if x.status == Status.CONVERTED]
        if converted and survivor.status != Status.CONVERTED:
            raise DomainError(
                {"primary": f"lead {converted[0]} is converted: keep it as the surviving lead"}
            )
        snapshots = {str(x.pk): snapshot(x) for x in [survivor, *dups]}
        plan = plan_merge(survivor, dups, overrides, rules_for(survivor))
        moved = _move_rows(dups, survivor)
        for dup in dups:
            dup.merged_into = survivor
            if dup.external_id and dup.external_id == plan.values.get("external_id"):
                dup.external_id = ""  # it moves to the survivor (it is unique)
            dup.updated_at = now
            dup.save(update_fields=["merged_into", "external_id", "updated_at"])
        before = {f.attname: getattr(survivor, f.attname) for f in Lead._meta.concrete_fields}
        for col, value in plan.values.items():
            setattr(survivor, col, value)
        survivor.updated_at = now
        rescore(survivor, now)
        survivor.save()
        changes = {
            name: [_jsonable(before[name]), _jsonable(getattr(survivor, name))]
            for name in before
            if before[name] != getattr(survivor, name) and name != "updated_at"
        }
        merge_record = MergeRecord.objects.create(
            survivor=survivor,
            merged_ids=dup_ids,
            by=by,
            reason=reason,
            automatic=automatic,
            at=now,
            snapshots=snapshots,
            changes=changes,
            choices=plan.choices,
            moved=moved,
        )
        DuplicateCandidate.objects.filter(
            lead_a_id__in=[survivor.pk, *dup_ids],
            lead_b_id__in=[survivor.pk, *dup_ids],
            status=CandidateStatus.OPEN,
        ).update(status=CandidateStatus.MERGED, decided_at=now, decided_by=by, merge=merge_record)
        names = ", ".join(f"lead {x.pk} ({x.display_name})" for x in dups)
        record(
            survivor,
            "merged",
            f"Merged {names} into this lead" + (f": {reason}" if reason else ""),
            now,
            by,
            merge=merge_record.pk,
            merged=dup_ids,
            changed=sorted(changes),
        )
        for dup in dups:
            record(
                dup,
                "merged_into",
                f"Merged into lead {survivor.pk} ({survivor.display_name})"
                + (f": {reason}" if reason else ""),
                now,
                by,
                merge=merge_record.pk,
                survivor=survivor.pk,
            )
        forget_keys(dup_ids)
        record_keys([survivor])
    return merge_record


def _pk(lead) -> int:
    return lead.pk if isinstance(lead, Lead) else int(lead)


def _move_rows(dups: list[Lead], survivor: Lead) -> dict:
    moved: dict[str, dict[str, list[int]]] = {}
    for model in MOVABLE:
        label = model._meta.label_lower
        for dup in dups:
            ids = list(model.objects.filter(lead_id=dup.pk).values_list("pk", flat=True))
            if ids:
                model.objects.filter(pk__in=ids).update(lead_id=survivor.pk)
                moved.setdefault(label, {})[str(dup.pk)] = ids
    return moved


# --- unmerge --------------------------------------------------------------------------------


def unmerge(merge_record: MergeRecord, by=None, *, now: datetime | None = None) -> list[Lead]:
    """Undo a merge: the leads as they were, their rows back. Returns [survivor, *restored]."""
    from leadline.leads.actions import record
    from leadline.quality.duplicates import record_keys

    now = now or clock.now()
    with transaction.atomic():
        rec = MergeRecord.objects.select_for_update().get(pk=merge_record.pk)
        if rec.unmerged_at:
            raise DomainError(
                {"": f"merge #{rec.pk} was already undone on {rec.unmerged_at:%Y-%m-%d}"}
            )
        locked = _lock([rec.survivor_id, *rec.merged_ids])
        survivor = locked[rec.survivor_id]
        if survivor.merged_into_id:
            later = next(
                (
                    r
                    for r in MergeRecord.objects.filter(
                        survivor_id=survivor.merged_into_id, unmerged_at__isnull=True
                    )
                    if survivor.pk in r.merged_ids
                ),
                None,
            )
            hint = f"; undo merge #{later.pk} first" if later else ""
            raise DomainError(
                {
                    "": f"lead {survivor.pk} was merged into lead "
                    f"{survivor.merged_into_id} later{hint}"
                }
            )
        for lead_id in rec.merged_ids:
            lead = locked.get(lead_id)
            if lead is None or lead.merged_into_id != survivor.pk:
                raise DomainError(
                    {"": f"lead {lead_id} is no longer merged into lead {survivor.pk}"}
                )
        kept = _restore_survivor(survivor, rec, now)
        restored = []
        for lead_id in rec.merged_ids:
            lead = restore(rec.snapshots[str(lead_id)])
            try:
                with transaction.atomic():
                    lead.save()
            except IntegrityError as exc:
                raise DomainError(
                    {
                        "": f"lead {lead_id} cannot come back as it was ({exc}); its email or "
                        f"external id is now used by lead {survivor.pk}: change that first"
                    }
                ) from exc
            restored.append(lead)
        for label, per_lead in rec.moved.items():
            model = next(m for m in MOVABLE if m._meta.label_lower == label)
            for lead_id, ids in per_lead.items():
                model.objects.filter(pk__in=ids, lead_id=survivor.pk).update(lead_id=int(lead_id))
        DuplicateCandidate.objects.filter(merge=rec).update(
            status=CandidateStatus.OPEN, decided_at=None, decided_by=None, merge=None
        )
        rec.unmerged_at, rec.unmerged_by = now, by
        rec.save(update_fields=["unmerged_at", "unmerged_by"])
        note = f" (kept later edits to {', '.join(kept)})" if kept else ""
        record(
            survivor,
            "unmerged",
            f"Merge #{rec.pk} undone: lead(s) {', '.join(map(str, rec.merged_ids))} restored{note}",
            now,
            by,
            merge=rec.pk,
            kept=kept,
        )
        for lead in restored:
            record(
                lead,
                "unmerged",
                f"Restored from lead {survivor.pk} (merge #{rec.pk} undone)",
                now,
                by,
                merge=rec.pk,
            )
        record_keys([survivor, *restored])
    return [survivor, *restored]


def _restore_survivor(survivor: Lead, rec: MergeRecord, now: datetime) -> list[str]:
    """Put back what the merge changed on the survivor, unless it was changed again since."""
    before = restore(rec.snapshots[str(survivor.pk)])
    kept = []
    for name, (_, after) in rec.changes.items():
        if _jsonable(getattr(survivor, name)) == after:
            setattr(survivor, name, getattr(before, name))
        else:
            kept.append(name)
    survivor.updated_at = now
    survivor.save()
    return kept


# --- side by side ---------------------------------------------------------------------------


def display_value(lead: Lead, name: str) -> str:
    """A field of a lead as a reviewer reads it."""
    if name == "owner":
        owner = lead.owner.get_username() if lead.owner_id else "unassigned"
        return f"{owner} ({lead.team.name})" if lead.team_id else owner
    if name == "account":
        return lead.account.name if lead.account_id else ""
    if name == "source":
        text = lead.get_source_display()
        return f"{text} · {lead.campaign.name}" if lead.campaign_id else text
    if name == "next_step":
        if not lead.next_step:
            return ""
        due = f" (due {lead.next_step_due_at:%Y-%m-%d})" if lead.next_step_due_at else ""
        return lead.next_step + due
    value = getattr(lead, name)
    return "" if value is None else str(value)


def side_by_side(leads: list[Lead], plan: MergePlan) -> list[dict]:
    """One row per reviewable field: each lead's value, whether they differ, the rule's pick."""
    rows = []
    for name in SURVIVORSHIP:
        values = [display_value(lead, name) for lead in leads]
        chosen = plan.choices[name]
        rows.append(
            {
                "field": name,
                "label": LABELS.get(name, name.replace("_", " ")),
                "values": values,
                "differs": len({v.strip().casefold() for v in values}) > 1,
                "rule": chosen["rule"],
                "chosen_lead": chosen["lead"],
                "result": display_value(next(x for x in leads if x.pk == chosen["lead"]), name),
            }
        )
    return rows
