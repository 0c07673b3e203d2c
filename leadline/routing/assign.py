"""Assignment: ordered rules choose a team (or a person), then round-robin among its active reps.

Every decision carries its reason: the rule matched, the candidates considered, who was chosen.
Round-robin state lives in the database (Team.rr_counter, Membership.rr_position) so fairness
survives restarts; the team row is locked while choosing, so two simultaneous captures never
pick the same "next" rep.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from leadline.core.calendar import BusinessCalendar
from leadline.core.choices import Role
from leadline.core.conditions import all_match
from leadline.core.models import Membership, Team
from leadline.routing import sla
from leadline.routing.models import RoutingRule


@dataclass
class Assignment:
    team: Team | None
    owner_id: int | None
    reason: dict
    sla_due_at: datetime | None


@dataclass
class _TeamState:
    team: Team
    reps: list[Membership] = field(default_factory=list)
    dirty: bool = False


class Router:
    """Routes one lead or a batch inside the caller's transaction; `flush()` saves turn state."""

    def __init__(self, now: datetime):
        self.now = now
        self.rules = list(
            RoutingRule.objects.filter(is_active=True).select_related("team", "owner")
        )
        self.default_team = (
            Team.objects.order_by("-is_default", "id").first()
        )
        self.policies = sla.load_policies()
        self._teams: dict[int, _TeamState] = {}

    def _state(self, team: Team) -> _TeamState:
        if team.pk not in self._teams:
            locked = Team.objects.select_for_update().get(pk=team.pk)
            reps = list(
                Membership.objects.filter(
                    team=locked, role=Role.REP, is_active=True, user__is_active=True
                )
                .select_related("user")
                .order_by("rr_position", "id")
            )
            self._teams[team.pk] = _TeamState(locked, reps)
        return self._teams[team.pk]

    def route(self, record: dict) -> Assignment:
        rule = next((r for r in self.rules if all_match(r.conditions, record)), None)
        team = rule.team if rule else self.default_team
        reason: dict = {"rule": rule.name if rule else None, "rule_id": rule.pk if rule else None}
        if team is None:
            reason.update(method="none", explanation="No team is set up yet, so nobody owns it.")
            return Assignment(None, None, reason, None)
        state = self._state(team)
        reason["team"] = team.name
        if rule and rule.owner_id:
            owner_id = rule.owner_id
            reason.update(method="rule_owner", chosen=rule.owner.get_username(),
                          explanation=f"Rule “{rule.name}” sends these leads to "
                                      f"{rule.owner.get_username()}.")
        else:
            owner_id = self._next_rep(state, reason)
        reason["explanation"] = (
            (f"Matched rule “{rule.name}”" if rule else f"No rule matched; default team {team}")
            + ". " + reason.get("explanation", "")
        ).strip()
        due, policy = sla.due_at(state.team, record, self.policies, self.now)
        if policy:
            reason["sla_policy"] = policy
        return Assignment(state.team, owner_id, reason, due)

    def pick(self, team: Team, exclude: tuple[int, ...] = ()) -> tuple[int | None, dict]:
        """The next rep in turn, skipping some users (e.g. the owner who missed an SLA)."""
        reason: dict = {"team": team.name}
        return self._next_rep(self._state(team), reason, exclude), reason

    def _next_rep(self, state: _TeamState, reason: dict, exclude=()) -> int | None:
        reason["method"] = "round_robin"
        reason["candidates"] = [
            {"user": m.user.get_username(), "turn": m.rr_position}
            for m in state.reps
            if m.user_id not in exclude
        ]
        if not reason["candidates"]:
            reason["explanation"] = f"{state.team} has no active reps; unassigned in its queue."
            return None
        chosen = min(
            (m for m in state.reps if m.user_id not in exclude),
            key=lambda m: (m.rr_position, m.pk),
        )
        state.team.rr_counter += 1
        chosen.rr_position = state.team.rr_counter
        chosen.assigned_count += 1
        state.dirty = True
        reason["chosen"] = chosen.user.get_username()
        reason["explanation"] = (
            f"Round-robin among {len(state.reps)} active rep(s) of {state.team}: "
            f"{chosen.user.get_username()} was next in turn."
        )
        return chosen.user_id

    def flush(self) -> None:
        for state in self._teams.values():
            if state.dirty:
                Team.objects.filter(pk=state.team.pk).update(rr_counter=state.team.rr_counter)
                Membership.objects.bulk_update(state.reps, ["rr_position", "assigned_count"])
                state.dirty = False


def team_calendar(team: Team | None) -> BusinessCalendar:
    return team.calendar() if team else BusinessCalendar()


def route_one(record: dict, now: datetime) -> Assignment:
    """Route one lead; must run inside the capture's transaction."""
    assert transaction.get_connection().in_atomic_block, "route inside the capture transaction"
    router = Router(now)
    assignment = router.route(record)
    router.flush()
    return assignment
