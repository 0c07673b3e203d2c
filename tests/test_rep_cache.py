"""Each team's row and active reps are cached per process (under the team lock routing reads only
the turn state) and read again as soon as they change: whoever changed them — the ORM, another
connection, a raw UPDATE — and whatever a rolled-back change left behind."""

from collections import Counter
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from leadline.core.clock import clock
from leadline.core.models import Membership, Team
from leadline.intake.models import ConfigVersion
from leadline.intake.pipeline import capture
from leadline.routing.assign import Router
from leadline.routing.simulate import simulate
from tests.conftest import at_once


def _sql(model, assignments: str, params: list, where: str = "") -> None:
    """An UPDATE as another process or a database console would run it: no signal, no save()."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {assignments} {where}", params)


def _member(user) -> str:
    return f"WHERE user_id = {int(user.pk)}"


def owner(n: int) -> str:
    return capture({"email": f"l{n}@acme-corp.com"}).lead.owner.username


def test_a_rep_deactivated_with_raw_sql_gets_no_more_leads(workspace):
    assert owner(0) == "jordan"  # riley's turn next
    _sql(Membership, "is_active = %s", [False], _member(workspace.teammate))
    assert [owner(i) for i in range(1, 4)] == ["jordan"] * 3
    _sql(Membership, "is_active = %s", [True], _member(workspace.teammate))
    assert owner(9) == "riley"


def test_a_deactivated_user_gets_no_more_leads(workspace):
    assert owner(0) == "jordan"
    _sql(get_user_model(), "is_active = %s", [False], f"WHERE id = {workspace.teammate.pk}")
    assert [owner(i) for i in range(1, 3)] == ["jordan", "jordan"]


def test_a_manager_is_not_a_rep(workspace):
    assert owner(0) == "jordan"
    _sql(Membership, "role = %s", ["manager"], _member(workspace.teammate))
    assert owner(1) == "jordan"


def test_the_rotation_follows_a_weight_change(workspace):
    assert owner(0) == "jordan"
    _sql(Team, "rotation = %s", ["weighted"], f"WHERE id = {workspace.americas.pk}")
    _sql(Membership, "weight = %s", [3], _member(workspace.teammate))
    got = Counter(owner(i) for i in range(1, 41))
    assert got == {"riley": 30, "jordan": 10}
    lead = workspace.teammate.owned_leads.order_by("-id").first()
    assert lead.routing_reason["method"] == "weighted"
    assert {c["user"]: c["weight"] for c in lead.routing_reason["candidates"]} == {
        "jordan": 1,
        "riley": 3,
    }


def test_a_renamed_rep_is_named_by_the_next_capture(workspace):
    assert owner(0) == "jordan"
    _sql(get_user_model(), "username = %s", ["riley.r"], f"WHERE id = {workspace.teammate.pk}")
    lead = capture({"email": "l1@acme-corp.com"}).lead
    assert lead.owner.username == "riley.r" and lead.routing_reason["chosen"] == "riley.r"
    assert [c["user"] for c in lead.routing_reason["candidates"]] == ["riley.r", "jordan"]


def test_a_rep_moved_to_another_team_takes_that_teams_leads(workspace):
    assert owner(0) == "jordan"
    _sql(Membership, "team_id = %s", [workspace.emea.pk], _member(workspace.teammate))
    assert [owner(i) for i in range(1, 3)] == ["jordan", "jordan"]
    germans = [capture({"email": f"de{i}@example.de", "country": "DE"}).lead for i in range(2)]
    assert {lead.owner.username for lead in germans} == {"alex", "riley"}


def test_caps_changed_with_raw_sql_are_seen(workspace):
    assert owner(0) == "jordan"
    _sql(Membership, "daily_cap = %s", [1], _member(workspace.owner))
    assert [owner(i) for i in range(1, 4)] == ["riley"] * 3
    lead = workspace.teammate.owned_leads.order_by("-id").first()
    assert lead.routing_reason["candidates"][0]["skipped"] == "daily cap of 1 reached"
    _sql(Membership, "daily_cap = NULL", [], _member(workspace.owner))
    _sql(Membership, "open_cap = %s", [3], _member(workspace.teammate))  # riley has 3 open
    assert [owner(i) for i in range(4, 6)] == ["jordan", "jordan"]


def test_working_hours_changed_with_raw_sql_are_seen(workspace):
    clock.set(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))  # Monday 10:00 New York
    assert owner(0) == "jordan"
    _sql(
        Membership,
        "timezone = %s, day_start = %s, day_end = %s",
        ["America/Los_Angeles", "09:00", "17:00"],
        _member(workspace.teammate),
    )
    lead = capture({"email": "l1@acme-corp.com"}).lead  # 07:00 in Los Angeles
    assert lead.owner == workspace.owner
    assert lead.routing_reason["candidates"][0]["skipped"] == "outside working hours"
    _sql(Membership, "work_days = %s", ["[0, 1, 2, 3, 4, 5, 6]"], _member(workspace.owner))
    _sql(Membership, "day_start = %s", ["06:00"], _member(workspace.teammate))
    assert owner(2) == "riley"


def test_team_changes_are_seen_by_the_next_capture(workspace):
    first = capture({"email": "l0@acme-corp.com"}).lead
    assert first.sla_due_at == datetime(2026, 3, 2, 15, 5, tzinfo=UTC)
    where = f"WHERE id = {workspace.americas.pk}"
    _sql(Team, "rotation = %s, sla_minutes = %s", ["load_balanced", 60], where)
    second = capture({"email": "l1@acme-corp.com"}).lead
    assert second.routing_reason["method"] == "load_balanced"
    assert second.sla_due_at == datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
    _sql(Team, "name = %s", ["The Americas"], where)
    third = capture({"email": "l2@acme-corp.com"}).lead
    assert "among 2 available rep(s) of The Americas" in third.routing_reason["explanation"]


def test_a_rolled_back_deactivation_does_not_stay_in_the_cache(workspace):
    class Undo(Exception):
        pass

    assert owner(0) == "jordan"
    try:
        with transaction.atomic():
            _sql(Membership, "is_active = %s", [False], _member(workspace.teammate))
            assert owner(1) == "jordan"  # the change, seen inside
            raise Undo
    except Undo:
        pass
    assert owner(2) == "riley"  # riley is active again (and the rolled-back lead is gone)


def test_taking_a_turn_keeps_the_cache(workspace):
    owner(0)
    token = ConfigVersion.objects.get().token
    users = connection.ops.quote_name(get_user_model()._meta.db_table)
    with CaptureQueriesContext(connection) as queries:
        assert owner(1) == "riley"
    assert ConfigVersion.objects.get().token == token  # the turn state is not configuration
    assert not [q["sql"] for q in queries if users in q["sql"]]  # nor reps read again


def test_the_reps_seen_by_other_routers_are_current(workspace):
    """The SLA reassignment, time rules, MQL re-routing and the simulator use the same cache."""
    now = clock.now()
    assert Router(now).pick(workspace.americas)[0] == workspace.owner.pk
    _sql(Membership, "is_active = %s", [False], _member(workspace.owner))
    with transaction.atomic():
        router = Router(now)
        assert router.pick(workspace.americas)[0] == workspace.teammate.pk
        router.flush()
    capture({"email": "l0@acme-corp.com"})
    clock.advance(minutes=5)
    _sql(Membership, "is_active = %s", [True], _member(workspace.owner))
    _sql(Membership, "is_active = %s", [False], _member(workspace.teammate))
    assert simulate(days=1)["by_rep"] == {"jordan": 1}


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_by_another_connection_is_seen(workspace):
    assert owner(0) == "jordan"

    def deactivate(_):
        get_user_model().objects.filter(pk=workspace.teammate.pk).update(is_active=False)

    at_once(1, deactivate)  # its own connection, committed
    assert [owner(i) for i in range(1, 3)] == ["jordan", "jordan"]


def test_a_team_whose_reps_were_all_deactivated_keeps_the_lead_in_its_queue(workspace):
    assert owner(0) == "jordan"
    for user in (workspace.owner, workspace.teammate):
        _sql(Membership, "is_active = %s", [False], _member(user))
    lead = capture({"email": "l1@acme-corp.com"}).lead
    assert lead.owner is None and lead.team == workspace.americas
    assert "no active reps" in lead.routing_reason["explanation"]
