from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from leadline.core.clock import clock
from leadline.core.models import Membership
from leadline.intake.pipeline import capture, capture_batch
from leadline.leads import actions
from leadline.routing.models import Absence, RoutingRule
from leadline.routing.simulate import simulate
from tests.conftest import at_once


def owners(n, start=0):
    return [capture({"email": f"l{start + i}@acme-corp.com"}).lead.owner.username for i in range(n)]


def test_weighted_round_robin_is_exact(workspace):
    team = workspace.americas
    team.rotation = "weighted"
    team.save()
    Membership.objects.filter(user=workspace.owner).update(weight=3)
    got = Counter(owners(40))
    assert got == {"jordan": 30, "riley": 10}


def test_weights_interleave_rather_than_bunch(workspace):
    team = workspace.americas
    team.rotation = "weighted"
    team.save()
    Membership.objects.filter(user=workspace.owner).update(weight=2)
    assert owners(6) == ["jordan", "riley", "jordan", "jordan", "riley", "jordan"]


def test_load_balanced_goes_to_the_rep_with_fewest_open_leads(workspace):
    first = owners(4)
    assert Counter(first) == {"jordan": 2, "riley": 2}
    team = workspace.americas
    team.rotation = "load_balanced"
    team.save()
    for lead in workspace.owner.owned_leads.all()[:2]:
        actions.transition(lead, "disqualified", workspace.owner, reason_code="spam")
    assert owners(3, start=10) == ["jordan", "jordan", "riley"]
    lead = workspace.owner.owned_leads.order_by("-id").first()
    assert "fewest open leads" in lead.routing_reason["explanation"]


def test_a_daily_cap_skips_the_rep_until_tomorrow(workspace):
    Membership.objects.filter(user=workspace.owner).update(daily_cap=1)
    got = owners(3)
    assert got == ["jordan", "riley", "riley"]
    skipped = workspace.teammate.owned_leads.order_by("-id").first().routing_reason
    assert {"user": "jordan", "skipped": "daily cap of 1 reached"}.items() <= skipped["candidates"][
        0
    ].items()
    clock.advance(days=1)
    assert owners(1, start=10) == ["jordan"]


def test_an_open_cap_counts_open_leads(workspace):
    Membership.objects.filter(user=workspace.teammate).update(open_cap=1)
    assert owners(4) == ["jordan", "riley", "jordan", "jordan"]


def test_out_of_office_reps_are_skipped(workspace):
    Absence.objects.create(
        user=workspace.owner,
        starts_at=clock.now() - timedelta(hours=1),
        ends_at=clock.now() + timedelta(days=2),
        reason="Vacation",
    )
    assert owners(2) == ["riley", "riley"]
    clock.advance(days=3)
    assert owners(1, start=10) == ["jordan"]


def test_working_hours_follow_each_reps_time_zone_across_dst(workspace):
    # riley works 09:00-17:00 Los Angeles time; jordan has no hours of his own.
    Membership.objects.filter(user=workspace.teammate).update(
        timezone="America/Los_Angeles", day_start=time(9), day_end=time(17)
    )
    Membership.objects.filter(user=workspace.owner).update(is_active=True)
    clock.set(datetime(2026, 3, 6, 16, 30, tzinfo=UTC))  # Friday 08:30 PST: riley not in yet
    assert owners(2) == ["jordan", "jordan"]
    clock.set(datetime(2026, 3, 6, 17, 30, tzinfo=UTC))  # 09:30 PST: riley's turn
    assert owners(1, start=10) == ["riley"]
    # After the DST change (2026-03-08) 16:30 UTC is 09:30 PDT: riley is in.
    clock.set(datetime(2026, 3, 9, 16, 30, tzinfo=UTC))
    got = owners(2, start=20)
    assert "riley" in got


def test_every_rep_unavailable_leaves_the_lead_in_the_team_queue(workspace):
    for user in (workspace.owner, workspace.teammate):
        Absence.objects.create(
            user=user, starts_at=clock.now(), ends_at=clock.now() + timedelta(days=1)
        )
    lead = capture({"email": "a@acme-corp.com"}).lead
    assert lead.owner is None and lead.team == workspace.americas
    assert "away" in lead.routing_reason["explanation"]


def test_a_batch_rotates_like_single_captures(workspace):
    results = capture_batch([{"email": f"b{i}@acme-corp.com"} for i in range(5)])
    assert [r.lead.owner.username for r in results] == [
        "jordan",
        "riley",
        "jordan",
        "riley",
        "jordan",
    ]


def test_the_simulator_matches_an_actual_run(workspace):
    for i in range(12):
        capture({"email": f"s{i}@acme-corp.com", "country": ["US", "DE", "GB"][i % 3]})
        clock.advance(minutes=7)
    actual = Counter(u.username for u in get_user_model().objects.filter(owned_leads__isnull=False))
    result = simulate(days=1)
    assert result["leads"] == 12
    assert result["by_rep"] == dict(actual)
    assert result["by_rule"] == {"Europe": 8, "(default team)": 4}
    assert result["different_owner"] == 0


def test_the_simulator_shows_a_draft_rule_set(workspace):
    for i in range(6):
        capture({"email": f"s{i}@acme-corp.com", "country": "DE"})
    draft = [RoutingRule(name="Everything to Americas", team=workspace.americas, conditions=[])]
    result = simulate(days=1, rules=draft)
    assert result["by_team"] == {"Americas": 6}
    assert result["by_rep"] == {"jordan": 3, "riley": 3}
    assert result["different_owner"] == 6
    assert RoutingRule.objects.count() == 1  # the draft was never saved


@pytest.mark.django_db(transaction=True)
def test_simultaneous_captures_share_leads_exactly(workspace):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race is a PostgreSQL concern")

    def worker(i):
        for j in range(5):
            capture({"email": f"c{i}-{j}@acme-corp.com"})

    at_once(8, worker)
    counts = Counter(u.username for u in get_user_model().objects.filter(owned_leads__isnull=False))
    assert counts == {"jordan": 20, "riley": 20}
