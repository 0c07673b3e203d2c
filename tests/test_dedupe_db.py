"""Duplicates among stored leads: blocking keys, capture-time lookups, the review queue and
`leadline dedupe --db`. Leads are captured through the real pipeline, which stores their keys;
`stored` writes them again, as an edit would."""

import io
import random

import pytest
from django.core.management import call_command

from leadline.core.clock import clock
from leadline.deals.models import Account
from leadline.intake.pipeline import capture
from leadline.leads.models import Lead
from leadline.quality.duplicates import (
    MAX_POSTINGS,
    find_duplicates,
    find_duplicates_batch,
    queue_reviews,
    record_keys,
    scan_database,
)
from leadline.quality.models import (
    AccountKey,
    CandidateStatus,
    DuplicateCandidate,
    LeadKey,
    MatchModelVersion,
    MatchSettings,
)

DANA = {
    "first_name": "Dana",
    "last_name": "Scully",
    "email": "dana.scully@acme-corp.com",
    "phone": "+1 202 555 0143",
    "company": "Acme Corp",
    "city": "Washington",
    "country": "US",
    "source": "web_form",
}
# Dana again from her personal address, typed a little differently: the same person.
DANA_AGAIN = {
    "first_name": "dana",
    "last_name": "SCULLY",
    "email": "dscully@gmail.com",
    "phone": "(202) 555-0143",
    "company": "ACME Corporation",
    "city": "Washington",
    "country": "US",
    "title": "VP Operations",
    "source": "webinar",
}
FOX = {  # a colleague: same company, switchboard and city, another person
    "first_name": "Fox",
    "last_name": "Mulder",
    "email": "fox.mulder@acme-corp.com",
    "phone": "+1 202 555 0143",
    "company": "Acme Corp",
    "city": "Washington",
    "country": "US",
}


def stored(data: dict) -> Lead:
    lead = capture(data).lead
    record_keys([lead])
    return lead


def test_keys_are_kept_per_lead_and_replaced(workspace):
    dana = stored(DANA)
    keys = set(LeadKey.objects.filter(lead=dana).values_list("key", flat=True))
    assert "e:dana.scully@acme-corp.com" in keys
    assert any(k.startswith("n:") for k in keys) and any(k.startswith("p:") for k in keys)
    dana.email = "dana@fbi.gov"
    record_keys([dana])
    keys = set(LeadKey.objects.filter(lead=dana).values_list("key", flat=True))
    assert "e:dana@fbi.gov" in keys and "e:dana.scully@acme-corp.com" not in keys


def test_a_changed_email_and_company_still_finds_the_person(workspace):
    dana = stored(DANA)
    stored(FOX)
    matches = find_duplicates(DANA_AGAIN)
    assert [m.lead_id for m in matches] == [dana.pk]  # not Fox, who shares the switchboard
    best = matches[0]
    assert best.probability >= 0.99 and best.decision == "auto_merge"
    evidence = {e["field"]: e["level"] for e in best.evidence}
    assert evidence["name"] == "exact" and evidence["organisation"].startswith("company same")


# The same name and mailbox at another domain, nothing else known: likely, not certain.
MAYBE_DANA = {"first_name": "Dana", "last_name": "Scully", "email": "dana.scully@other.com"}


def test_a_likely_but_unsure_match_goes_to_review_not_auto_merge(workspace):
    dana = stored(DANA)
    matches = find_duplicates(MAYBE_DANA)
    assert [m.lead_id for m in matches] == [dana.pk]
    assert matches[0].decision == "review" and 0.5 <= matches[0].probability < 0.99
    evidence = {e["field"]: e["level"] for e in matches[0].evidence}
    assert evidence["email"] == "same user, other domain"


def test_strangers_and_the_lead_itself_are_not_candidates(workspace):
    dana = stored(DANA)
    assert find_duplicates(dana) == []
    assert find_duplicates({"first_name": "Walter", "last_name": "Skinner"}) == []


def test_a_closed_lead_is_offered_for_review_never_for_auto_merge(workspace):
    from leadline.leads import actions

    dana = stored(DANA)
    actions.transition(dana, "disqualified", reason_code="no_budget")
    matches = find_duplicates({**DANA, "source": "webinar"})
    assert matches[0].lead_id == dana.pk and matches[0].decision == "review"
    assert matches[0].is_open is False


def test_a_merged_away_lead_is_not_a_candidate(workspace):
    dana = stored(DANA)
    Lead.objects.filter(pk=dana.pk).update(merged_into=stored(FOX))
    assert all(m.lead_id != dana.pk for m in find_duplicates(DANA))


def test_a_batch_is_matched_with_one_key_query_and_with_itself(
    workspace, django_assert_max_num_queries
):
    dana = stored(DANA)
    batch = [
        {**DANA, "email": "dana@gmail.com"},
        {"first_name": "Monica", "last_name": "Reyes", "email": "mreyes@fbi.gov"},
        {"first_name": "Monica", "last_name": "Reyes", "email": "m.reyes@fbi.gov", "city": "DC"},
    ]
    with django_assert_max_num_queries(2):  # the model's fingerprint, then the keys
        found = find_duplicates_batch(batch)
    assert [m.lead_id for m in found[0]] == [dana.pk]
    assert found[1] == []
    assert [(m.lead_id, m.batch_index) for m in found[2]] == [(None, 1)]


def test_matches_are_the_same_however_often_the_feature_memo_turns_over(workspace, monkeypatch):
    """The features of records met lately are remembered in two generations; a memo of two
    records, turning over at every lookup, finds what a fresh process finds."""
    from leadline.quality import duplicates

    dana, fox = stored(DANA), stored(FOX)
    lookups = [DANA_AGAIN, FOX, {**DANA, "email": "dana@gmail.com"}, DANA_AGAIN, FOX] * 2

    def found():
        return [
            [(m.lead_id, m.decision, round(m.probability, 9)) for m in matches]
            for matches in (find_duplicates_batch([x], within_batch=False)[0] for x in lookups)
        ]

    expected = found()
    assert expected[0][0][0] == dana.pk and any(m[0] == fox.pk for m in expected[1])
    monkeypatch.setattr(duplicates, "RECORD_MEMO_SIZE", 2)
    monkeypatch.setattr(duplicates, "_RECORD_MEMO", {})
    monkeypatch.setattr(duplicates, "_RECORD_MEMO_PREVIOUS", {})
    assert found() == expected


def test_a_shared_switchboard_brings_a_bounded_number_of_candidates(workspace):
    leads = Lead.objects.bulk_create(
        Lead(first_name=f"Agent{i}", last_name=f"Number{i}", phone_e164="+12025550143")
        for i in range(MAX_POSTINGS + 30)
    )
    record_keys(leads)
    matches = find_duplicates_batch([{"phone_e164": "+12025550143"}], limit=1000)[0]
    assert len(matches) <= MAX_POSTINGS


def test_team_thresholds_decide_for_their_leads(workspace):
    dana = stored(DANA)
    query = MAYBE_DANA
    p = find_duplicates(query)[0].probability
    MatchSettings.objects.create(
        team=dana.team, review_threshold=min(p + 0.001, 0.999), auto_merge_threshold=0.999
    )
    assert find_duplicates(query) == []
    MatchSettings.objects.filter(team=dana.team).update(
        review_threshold=0.1, auto_merge_threshold=p - 0.001, updated_at=clock.advance(seconds=1)
    )
    assert find_duplicates(query)[0].decision == "auto_merge"


def review_every_match() -> None:
    """Nothing merges by itself: a second record of a person stays a lead of its own."""
    MatchSettings.objects.create(auto_merge_threshold=1.0)


def test_review_pairs_are_queued_once_and_a_dismissal_is_remembered(workspace):
    review_every_match()
    dana = stored(DANA)
    twin = stored({**DANA, "email": "dana@gmail.com", "source": "webinar"})
    matches = find_duplicates(twin)
    assert matches[0].decision == "review" and matches[0].probability >= 0.99
    assert DuplicateCandidate.objects.get().found_by == "capture"  # the capture queued it
    DuplicateCandidate.objects.all().delete()
    assert queue_reviews([(twin.pk, matches)]) == 1
    assert queue_reviews([(twin.pk, matches)]) == 0
    pair = DuplicateCandidate.objects.get()
    assert (pair.lead_a_id, pair.lead_b_id) == (dana.pk, twin.pk)
    assert pair.evidence[0]["field"] == "shared keys"
    DuplicateCandidate.objects.update(status=CandidateStatus.DISMISSED)
    assert queue_reviews([(twin.pk, matches)]) == 0
    assert DuplicateCandidate.objects.get().status == CandidateStatus.DISMISSED


def test_batch_matches_are_queued_under_the_ids_they_were_stored_with(workspace):
    review_every_match()
    items = [{**DANA}, {**DANA, "email": "dana@gmail.com"}]
    found = find_duplicates_batch(items)
    assert found[1][0].batch_index == 0
    first, second = (capture(item).lead for item in items)
    DuplicateCandidate.objects.all().delete()  # the second capture queued the pair
    assert queue_reviews([(second.pk, found[1])], batch_ids=[first.pk, second.pk]) == 1
    assert DuplicateCandidate.objects.filter(lead_a=first, lead_b=second).exists()


def test_dedupe_db_rebuilds_keys_and_fills_the_review_queue(workspace):
    review_every_match()
    dana = capture(DANA).lead
    twin = capture({**DANA, "email": "dana@gmail.com", "first_name": "D."}).lead
    capture(FOX)
    # Keys and queue lost (leads stored before capture-time matching): the scan rebuilds both.
    LeadKey.objects.all().delete()
    DuplicateCandidate.objects.all().delete()
    acme = Account.objects.bulk_create([Account(name="Acme Corp", domain="acme-corp.com")])[0]
    out = io.StringIO()
    call_command("dedupe", "--db", "--quiet", stdout=out)
    assert AccountKey.objects.filter(account=acme, key="d:acme-corp.com").exists()
    assert "3 leads" in out.getvalue() and "opened 1 review candidates" in out.getvalue()
    assert set(LeadKey.objects.values_list("lead_id", flat=True)) == {dana.pk, twin.pk, dana.pk + 2}
    pair = DuplicateCandidate.objects.get()
    assert (pair.lead_a_id, pair.lead_b_id, pair.found_by) == (dana.pk, twin.pk, "scan")
    # Again: nothing new, the open pair is refreshed.
    result = scan_database()
    assert (result.new_candidates, result.updated_candidates) == (0, 1)


def test_dedupe_db_dry_run_writes_nothing(workspace):
    review_every_match()
    capture(DANA)
    capture({**DANA, "email": "dana@gmail.com"})
    LeadKey.objects.all().delete()
    DuplicateCandidate.objects.all().delete()
    out = io.StringIO()
    call_command("dedupe", "--db", "--dry-run", "--quiet", stdout=out)
    assert "would open 1" in out.getvalue()
    assert not DuplicateCandidate.objects.exists() and not LeadKey.objects.exists()


def test_dedupe_needs_a_file_or_db(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--db"):
        call_command("dedupe")


@pytest.mark.parametrize("n", [2500])
def test_a_big_enough_database_gets_its_own_model_refined_by_reviewers(workspace, n):
    rng = random.Random(3)
    first = ["Ann", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jo", "Kim", "Lu"]
    last = ["Smith", "Ng", "Okafor", "Silva", "Kowalski", "Tanaka", "Dubois", "Rossi", "Khan"]
    rows = []
    for i in range(n):
        f, last_name = rng.choice(first), rng.choice(last) + str(i % 400)
        rows.append(
            Lead(
                first_name=f,
                last_name=last_name,
                email=f"{f}.{last_name}{i}@example{i % 90}.com".lower(),
                email_key=f"{f}.{last_name}{i}@example{i % 90}.com".lower(),
                company=f"Company {i % 90}",
                city=rng.choice(["Lyon", "Leeds", "Lima"]),
            )
        )
    leads = Lead.objects.bulk_create(rows)
    DuplicateCandidate.objects.create(
        lead_a=leads[0],
        lead_b=leads[1],
        probability=0.6,
        status=CandidateStatus.DISMISSED,
        decided_by=workspace.manager,
    )
    result = scan_database()
    assert result.estimated and result.leads == n and result.decisions == 1
    version = MatchModelVersion.objects.get(is_active=True)
    assert version.leads == n and version.decisions == 1
    assert result.model_version == version.pk
    assert version.model["tf"]  # term frequencies of these leads' names and places


def test_a_model_saved_for_other_comparisons_falls_back_to_the_built_in_one(workspace):
    dana = stored(DANA)
    MatchModelVersion.objects.create(model={"settings": "leads/0", "prior": [], "comparisons": []})
    assert [m.lead_id for m in find_duplicates({**DANA, "email": "dana@gmail.com"})] == [dana.pk]


def test_capture_time_features_and_keys_equal_the_batch_ones():
    from leadline.quality.duplicates import _features, keys_of, lead_record, record_keys_of
    from leadline.quality.matching.leads import lead_settings
    from tests.test_matching import _people

    rows, _ = _people(200)
    odd = [{"first_name": "Zoë", "last_name": "Müller-Ñúñez", "email": "ZOE+x@GMAIL.com"}, {}]
    records = [lead_record({**r, "title": "CTO"}) for r in rows] + [lead_record(r) for r in odd]
    settings = lead_settings()
    batch = settings.frame({f: [r.get(f) for r in records] for f in settings.fields})
    small = [_features(r) for r in records]
    for feat in settings.features():
        assert [x[feat.name] for x in small] == [
            batch[feat].value(i) for i in range(len(records))
        ], feat.name
    assert [record_keys_of(r) for r in records] == [keys_of(batch, i) for i in range(len(records))]
