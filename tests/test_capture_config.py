"""The configuration every capture applies is cached per process and reloaded when it changes:
whoever changed it — the ORM, another process, a raw UPDATE — and whatever a rolled-back
change left behind."""

from django.db import connection, transaction

from leadline.intake.pipeline import capture
from leadline.routing.models import RoutingRule
from leadline.scoring.models import RuleGroup, ScoringRule


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def test_a_routing_rule_changed_behind_the_orms_back_is_seen_by_the_next_capture(workspace):
    assert capture({"email": "hans@example.de", "country": "DE"}).lead.team == workspace.emea
    # As another process or a database console would: plain SQL, no signal, no save().
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_table(RoutingRule)} SET is_active = %s", [False])
    lead = capture({"email": "greta@example.de", "country": "DE"}).lead
    assert lead.team == workspace.americas and lead.routing_reason["rule"] is None


def test_a_rolled_back_change_does_not_stay_in_the_cache(workspace):
    class Undo(Exception):
        pass

    try:
        with transaction.atomic():
            RoutingRule.objects.update(is_active=False)
            inside = capture({"email": "hans@example.de", "country": "DE"}).lead
            assert inside.team == workspace.americas  # the change, seen inside
            raise Undo
    except Undo:
        pass
    # The rule is active again; a cache filled inside the rolled-back transaction is not used.
    assert capture({"email": "greta@example.de", "country": "DE"}).lead.team == workspace.emea


def test_a_scoring_group_cap_change_rescores_the_next_capture(workspace):
    group = RuleGroup.objects.create(name="Seniority", cap=100)
    ScoringRule.objects.create(
        kind="fit", label="Chief", field="title", op="contains", value="chief", points=40
    )
    ScoringRule.objects.filter(label="Chief").update(group=group)
    first = capture({"email": "a@acme-corp.com", "title": "Chief Revenue Officer"}).lead
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_table(RuleGroup)} SET cap = %s", [10])
    second = capture({"email": "b@acme-corp.com", "title": "Chief Revenue Officer"}).lead
    assert first.fit_score - second.fit_score == 30


def test_an_absence_booked_between_two_captures_is_seen_by_the_second(workspace):
    from datetime import timedelta

    from leadline.core.clock import clock
    from leadline.routing.models import Absence

    first = capture({"email": "a@acme-corp.com"}).lead
    assert first.owner == workspace.owner  # jordan's turn, then riley's
    Absence.objects.create(
        user=workspace.teammate,
        starts_at=clock.now() - timedelta(minutes=1),
        ends_at=clock.now() + timedelta(hours=2),
    )
    second = capture({"email": "b@acme-corp.com"}).lead
    assert second.owner == workspace.owner  # riley is out: jordan again
    assert "out of office" in str(second.routing_reason["candidates"])
    clock.advance(hours=3)  # the absence is over: no change to any table, only the time
    third = capture({"email": "c@acme-corp.com"}).lead
    assert third.owner == workspace.teammate
