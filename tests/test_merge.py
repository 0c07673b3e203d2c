"""Merging duplicate leads with survivorship rules, and undoing a merge exactly."""

from datetime import UTC, datetime, timedelta

import pytest

from leadline.core.clock import clock
from leadline.core.errors import DomainError
from leadline.intake.models import EngagementEvent
from leadline.intake.pipeline import capture
from leadline.leads import actions
from leadline.leads.models import Activity, Event, Lead, Task
from leadline.quality.duplicates import find_duplicates, queue_reviews, record_keys
from leadline.quality.merge import choose_primary, merge, plan_merge, snapshot, unmerge
from leadline.quality.models import (
    CandidateStatus,
    DuplicateCandidate,
    LeadKey,
    MatchSettings,
)

FORM = {  # what Dana typed on the demo form
    "first_name": "Dana",
    "last_name": "Scully",
    "email": "dana.scully@acme-corp.com",
    "phone": "+1 202 555 0143",
    "company": "Acme Corp",
    "title": "VP Operations",
    "source": "demo_request",
    "consent_email": True,
    "consent_text": "Yes, email me",
    "custom": {"sku": "A-100"},
    "external_ids": {"hubspot": "11"},
}
LIST = {  # the same person, later, from a bought list
    "first_name": "DANA K.",
    "last_name": "SCULLY",
    "email": "dscully@acme.io",
    "company": "Acme Corporation",
    "title": "COO",
    "city": "Washington",
    "employees": 800,
    "source": "list_purchase",
    "custom": {"sku": "B-200", "region_code": "east"},
    "external_ids": {"zoominfo": "Z9"},
    "external_id": "list-42",
}


@pytest.fixture
def pair(workspace):
    # Every match reviewed: the list's record of Dana stays a lead of its own.
    MatchSettings.objects.create(auto_merge_threshold=1.0)
    form = capture(FORM).lead
    clock.advance(days=2)
    listed = capture(LIST).lead
    record_keys([form, listed])
    clock.advance(hours=1)
    return form, listed


def fresh(lead) -> Lead:
    return Lead.objects.get(pk=lead.pk)


def test_survivorship_takes_each_field_from_the_right_lead(pair, workspace):
    form, listed = pair
    record = merge(form, [listed], workspace.manager, "same person")
    survivor, tomb = fresh(form), fresh(listed)
    # Names and email: the most trusted source (Dana typed them) beats the bought list.
    assert (survivor.first_name, survivor.last_name) == ("Dana", "Scully")
    assert survivor.email == survivor.email_key == "dana.scully@acme-corp.com"
    # Job and company: the most recent lead that has them (she moved up).
    assert (survivor.title, survivor.seniority, survivor.company) == (
        "COO",
        "c_level",
        "Acme Corporation",
    )
    # Blanks are filled from the other lead.
    assert survivor.city == "Washington" and survivor.employees == 800
    assert survivor.phone_e164 == "+12025550143"
    # Attribution: the first capture's source.
    assert survivor.source == "demo_request"
    # Unions, sums and ids.
    assert survivor.custom == {"sku": "B-200", "region_code": "east"}
    assert survivor.external_ids == {"hubspot": "11", "zoominfo": "Z9"}
    assert survivor.external_id == "list-42" and tomb.external_id == ""
    assert survivor.touch_count == 2
    assert tomb.merged_into_id == survivor.pk and not tomb.is_open
    assert record.choices["first_name"] == {"lead": form.pk, "rule": "trusted"}
    assert record.choices["title"] == {"lead": listed.pk, "rule": "recent"}
    assert set(record.changes) >= {"title", "company", "city", "touch_count", "external_id"}


def test_a_reviewer_can_choose_a_field_from_either_lead(pair, workspace):
    form, listed = pair
    merge(form, [listed], workspace.manager, overrides={"title": form.pk, "email": listed.pk})
    survivor = fresh(form)
    assert survivor.title == "VP Operations" and survivor.seniority == "vp"
    assert survivor.email == survivor.email_key == "dscully@acme.io"


def test_a_bad_override_names_the_field(pair, workspace):
    form, listed = pair
    with pytest.raises(DomainError) as refused:
        merge(form, [listed], overrides={"title": 999999, "status": form.pk})
    assert set(refused.value.errors) == {"overrides.title", "overrides.status"}
    assert fresh(listed).merged_into_id is None


def test_team_rules_replace_the_built_in_ones(pair, workspace):
    form, listed = pair
    MatchSettings.objects.create(team=form.team, survivorship={"title": "survivor"})
    merge(form, [listed])
    assert fresh(form).title == "VP Operations"


def test_the_most_complete_lead_can_win_a_field(pair, workspace):
    form, listed = pair
    MatchSettings.objects.create(team=None, survivorship={"title": "complete"})
    Lead.objects.filter(pk=form.pk).update(
        city="Boston", industry="Retail", employees=10, region="MA"
    )
    merge(form, [listed])
    assert fresh(form).title == "VP Operations"  # the form lead has more filled in


def test_consent_never_weakens_and_flags_are_kept(pair, workspace):
    form, listed = pair
    Lead.objects.filter(pk=listed.pk).update(consent_email=False, do_not_call=True)
    merge(form, [listed.pk])
    survivor = fresh(form)
    assert survivor.consent_email is False and survivor.do_not_call is True


def test_the_owner_of_the_most_advanced_lead_is_kept(pair, workspace):
    form, listed = pair
    actions.reassign(listed, workspace.teammate, reason="riley knows her")
    actions.transition(
        listed, "working", next_step="Call", next_step_due_at=clock.now() + timedelta(days=1)
    )
    assert choose_primary([fresh(form), fresh(listed)]).pk == listed.pk
    merge(form, [listed])
    assert fresh(form).owner == workspace.teammate


def test_activities_tasks_and_timeline_move_to_the_survivor(pair, workspace):
    form, listed = pair
    call = actions.log_activity(listed, "call", workspace.owner, subject="Intro call")
    actions.set_next_step(listed, "Send the deck", clock.now() + timedelta(days=1))
    event = EngagementEvent.objects.create(
        kind="webinar_attended",
        at=clock.now(),
        received_at=clock.now(),
        status="attached",
        lead=listed,
    )
    merge(form, [listed], workspace.manager, "dupe")
    assert Activity.objects.get(pk=call.pk).lead_id == form.pk
    assert Task.objects.get(title="Send the deck").lead_id == form.pk
    assert EngagementEvent.objects.get(pk=event.pk).lead_id == form.pk
    assert fresh(form).next_step == "Send the deck"
    kinds = list(Event.objects.filter(lead=form).values_list("kind", flat=True))
    assert "merged" in kinds and kinds.count("captured") == 2
    assert list(Event.objects.filter(lead=listed).values_list("kind", flat=True)) == ["merged_into"]


def test_keys_and_candidates_follow_the_merge(pair, workspace):
    form, listed = pair
    queue_reviews([(listed.pk, find_duplicates(listed))])
    record = merge(form, [listed], workspace.manager)
    assert not LeadKey.objects.filter(lead=listed).exists()
    assert LeadKey.objects.filter(lead=form, key="e:dana.scully@acme-corp.com").exists()
    candidate = DuplicateCandidate.objects.get()
    assert candidate.status == CandidateStatus.MERGED and candidate.merge == record
    assert candidate.decided_by == workspace.manager


def test_unmerge_restores_both_leads_exactly(pair, workspace):
    form, listed = pair
    actions.log_activity(listed, "call", workspace.owner, subject="Intro call")
    queue_reviews([(listed.pk, find_duplicates(listed))])
    before = {lead.pk: snapshot(fresh(lead)) for lead in pair}
    rows = {
        lead.pk: sorted(Event.objects.filter(lead=lead).values_list("pk", flat=True))
        for lead in pair
    }
    record = merge(form, [listed], workspace.manager)
    clock.advance(hours=1)
    unmerge(record, workspace.manager)
    for lead in pair:
        after = snapshot(fresh(lead))
        after["fields"]["updated_at"] = before[lead.pk]["fields"]["updated_at"]
        assert after == before[lead.pk]
        moved_back = Event.objects.filter(lead=lead).exclude(
            kind__in=["merged", "merged_into", "unmerged"]
        )
        assert sorted(moved_back.values_list("pk", flat=True)) == rows[lead.pk]
    assert Activity.objects.get().lead_id == listed.pk
    assert DuplicateCandidate.objects.get().status == CandidateStatus.OPEN
    assert LeadKey.objects.filter(lead=listed).exists()
    record.refresh_from_db()
    assert record.unmerged_at == clock.now() and record.unmerged_by == workspace.manager
    assert Event.objects.filter(lead=listed, kind="unmerged").exists()


def test_unmerge_keeps_an_edit_made_after_the_merge(pair, workspace):
    form, listed = pair
    record = merge(form, [listed])
    actions.update_fields(fresh(form), {"title": "Chief Operating Officer"})
    unmerge(record)
    survivor = fresh(form)
    assert survivor.title == "Chief Operating Officer"  # kept
    assert survivor.city == "" and survivor.touch_count == 1  # the merge's own changes undone
    note = Event.objects.get(lead=form, kind="unmerged")
    assert "title" in note.data["kept"]


def test_a_merge_is_undone_once_and_in_order(pair, workspace):
    form, listed = pair
    third = capture({"first_name": "Dana", "last_name": "Scully", "email": "d@x-files.org"}).lead
    first = merge(form, [listed])
    merge(third, [form])
    with pytest.raises(DomainError, match="undo merge"):
        unmerge(first)
    with pytest.raises(DomainError, match="already merged"):
        merge(third, [listed])


def test_a_converted_lead_must_survive(pair, workspace):
    form, listed = pair
    Lead.objects.filter(pk=listed.pk).update(status="converted")
    with pytest.raises(DomainError) as refused:
        merge(form, [listed])
    assert "primary" in refused.value.errors


def test_a_lead_cannot_merge_into_itself(pair):
    form, _ = pair
    with pytest.raises(DomainError, match="itself"):
        merge(form, [form])


def test_the_plan_is_the_merge(pair, workspace):
    form, listed = pair
    plan = plan_merge(fresh(form), [fresh(listed)])
    merge(form, [listed])
    survivor = fresh(form)
    for name in ("first_name", "title", "company", "city", "email_key", "source"):
        assert getattr(survivor, name) == plan.values[name]


def test_a_merge_on_a_known_day(pair, workspace):
    form, listed = pair
    moment = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    record = merge(form, [listed], now=moment)
    assert record.at == moment and fresh(listed).updated_at == moment
