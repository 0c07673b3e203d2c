"""Assignment: ordered rules choose a team (or a person), then the team's rotation picks a rep.

Rotations: round-robin, weighted round-robin and load-balanced (fewest open leads), with caps per
rep (new leads a day, open leads at once) and availability (active, not out of office, inside the
rep's own working hours when set). Every decision carries its reason: the rule matched, each
candidate considered and why it was skipped, who was chosen.

Turn state lives in the database (Team.rr_counter is the rotation's virtual time,
Membership.rr_position each rep's next turn — stride scheduling, so weights are exact) and the
team row is locked while choosing: fairness survives restarts, and two simultaneous captures
never pick the same "next" rep.

Everything else about a team and its reps (who is an active rep, weights, caps, hours, names) is
cached per process, checked against the configuration's change token (`leadline.intake.watch`),
which the statement taking the team lock reads too: under the lock, routing reads only the
turn state, as plain rows.
"""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connections, transaction
from django.db import router as db_router
from django.db.models import Count, Subquery

from leadline.core.calendar import BusinessCalendar
from leadline.core.choices import OPEN_STATUSES, Role
from leadline.core.models import Membership, Team
from leadline.core.prepared import Prepared
from leadline.routing import sla
from leadline.routing.models import Absence, RoutingRule
from leadline.scoring.rules import compile_conditions

STRIDE = 720720  # divisible by every weight from 1 to 16, so strides stay whole numbers
_LOAD = object()  # Router(default_team=...) not given: read it from the database


@dataclass
class Assignment:
    team: Team | None
    owner_id: int | None
    reason: dict
    sla_due_at: datetime | None
    owner: object = None  # the owner's user row when routing already loaded it


@dataclass(frozen=True, slots=True)
class Rep:
    """An active rep of a team, without the turn state (shared by every router of the process:
    read only)."""

    pk: int  # the membership's
    user_id: int
    user: object  # the user row
    name: str
    weight: int
    daily_cap: int | None
    open_cap: int | None
    timezone: str
    day_start: time | None
    day_end: time | None
    work_days: list[int] | None

    @classmethod
    def of(cls, m: Membership) -> "Rep":
        return cls(
            m.pk,
            m.user_id,
            m.user,
            m.user.get_username(),
            m.weight,
            m.daily_cap,
            m.open_cap,
            m.timezone,
            m.day_start,
            m.day_end,
            m.work_days,
        )


@dataclass(slots=True)
class _Turn:
    """A rep's place in the rotation, as read under the team lock (one router's own copy)."""

    rep: Rep
    rr_position: int
    assigned_count: int


@dataclass(frozen=True)
class _TeamFacts:
    team: Team  # the row as cached: read only, and its rr_counter is not kept up to date
    reps: dict[int, Rep]  # by membership id


@dataclass
class _TeamState:
    team: Team
    counter: int  # the team's rr_counter, read under the lock
    reps: list[_Turn] = field(default_factory=list)  # in turn order
    open_counts: dict[int, int] = field(default_factory=dict)
    today_counts: dict[int, int] = field(default_factory=dict)
    away: dict[int, Absence] = field(default_factory=dict)
    dirty: bool = False
    moved: dict[int, _Turn] = field(default_factory=dict)  # reps whose turn changed


_REPS = Prepared(
    lambda team_id: Membership.objects.filter(
        team_id=team_id, role=Role.REP, is_active=True, user__is_active=True
    ).select_related("user"),
    Membership._meta.get_field("team"),
)
# The turn state of a team's active reps, in turn order (rows, not models: read for every lead).
_TURNS = Prepared(
    lambda team_id: (
        Membership.objects.filter(team_id=team_id, role=Role.REP, is_active=True)
        .order_by("rr_position", "id")
        .values_list("id", "rr_position", "assigned_count")
    ),
    Membership._meta.get_field("team"),
)
_MEMBER_OF = Prepared(
    lambda user_id: (
        Membership.objects.filter(user_id=user_id).select_related("team", "user").order_by("id")
    ),
    Membership._meta.get_field("user"),
)
_AWAY = Prepared(
    lambda ids, start, end: Absence.objects.filter(
        user_id__in=ids, starts_at__lte=start, ends_at__gt=end
    ),
    Absence._meta.get_field("user"),
    Absence._meta.get_field("starts_at"),
    Absence._meta.get_field("ends_at"),
)


_TEAM: list = []


def _team_row(lock: bool) -> Prepared:
    """The team's (rr_counter, configuration token), its row locked unless `lock` is false."""
    if not _TEAM:
        from leadline.intake.models import ConfigVersion

        token = Subquery(ConfigVersion.objects.filter(pk=1).values("token"))

        def build(locked: bool):
            teams = Team.objects.select_for_update() if locked else Team.objects.all()
            return lambda pk: (
                teams.filter(pk=pk).annotate(token=token).values_list("rr_counter", "token")
            )

        _TEAM[:] = [Prepared(build(False), Team._meta.pk), Prepared(build(True), Team._meta.pk)]
    return _TEAM[lock]


# The teams' facts by database: (the configuration token they were read under, by team id).
_FACTS: dict[str, tuple[str, dict[int, _TeamFacts]]] = {}


def _team_facts(pk: int, token: str | None) -> _TeamFacts:
    """A team's row and active reps: cached under the token that was current when they were
    read (a token that triggers replace whenever a membership, a user or a team changes)."""
    from leadline.intake import watch

    using = db_router.db_for_read(Membership)
    if token is None or connections[using].vendor not in watch.VENDORS:
        return _read_facts(pk)  # no token (a flushed database) or no triggers: read each time
    cached = _FACTS.get(using)
    if cached is None or cached[0] != token:
        cached = _FACTS[using] = (token, {})
    facts = cached[1].get(pk)
    if facts is None:
        # Read after the token, so never older than it.
        facts = cached[1][pk] = _read_facts(pk)
    return facts


def _read_facts(pk: int) -> _TeamFacts:
    return _TeamFacts(Team.objects.get(pk=pk), {m.pk: Rep.of(m) for m in _REPS(pk)})


_COUNTS: list = []


def _counts() -> list[Prepared]:
    """Open leads per rep, and leads assigned to each since a moment: (owner id, n) rows."""
    if not _COUNTS:
        from leadline.leads.models import Lead

        owner, assigned = Lead._meta.get_field("owner"), Lead._meta.get_field("assigned_at")
        _COUNTS[:] = [
            Prepared(
                lambda ids: (
                    Lead.objects.filter(owner_id__in=ids, status__in=OPEN_STATUSES)
                    .values_list("owner_id")
                    .annotate(n=Count("id"))
                ),
                owner,
            ),
            Prepared(
                lambda ids, start, end: (
                    Lead.objects.filter(
                        owner_id__in=ids, assigned_at__gte=start, assigned_at__lt=end
                    )
                    .values_list("owner_id")
                    .annotate(n=Count("id"))
                ),
                owner,
                assigned,
                assigned,
            ),
        ]
    return _COUNTS


def stride(member: Membership | Rep) -> int:
    return STRIDE // max(1, member.weight)


def rep_available(member: Membership | Rep, team: Team, now: datetime) -> bool:
    """Inside the rep's own working hours (reps without their own hours are always available)."""
    if not (member.day_start and member.day_end):
        return True
    zone = ZoneInfo(member.timezone or team.timezone)
    local = now.astimezone(zone)
    days = member.work_days if member.work_days is not None else team.work_days
    return local.weekday() in days and member.day_start <= local.time() < member.day_end


class Router:
    """Routes one lead or a batch inside the caller's transaction; `flush()` saves turn state.

    With `dry_run=True` nothing is locked or written and every rotation starts from zero: the
    simulator replays past leads to show where a rule set would have sent them.
    """

    def __init__(
        self,
        now: datetime,
        *,
        rules=None,
        dry_run: bool = False,
        default_team: Team | None | object = _LOAD,
        policies: list | None = None,
        absences: dict | None = None,
    ):
        """`rules`, `default_team`, `policies` and `absences` (user id → that user's absences)
        may come from a caller's cache of the routing configuration (the capture pipeline keeps
        one); by default they are read now."""
        self.now = now
        self.dry_run = dry_run
        if rules is None:
            rules = RoutingRule.objects.filter(is_active=True).select_related("team", "owner")
        self.rules = list(rules)
        self._matches = [compile_conditions(rule.conditions) for rule in self.rules]
        if default_team is _LOAD:
            default_team = Team.objects.order_by("-is_default", "id").first()
        self.default_team = default_team
        self.policies = sla.load_policies() if policies is None else policies
        self.absences = absences
        self._teams: dict[int, _TeamState] = {}

    def _state(self, team: Team) -> _TeamState:
        if team.pk not in self._teams:
            self._teams[team.pk] = self._read_state(team.pk)
        return self._teams[team.pk]

    def _read_state(self, pk: int) -> _TeamState:
        # The lock first, then the turn state in a statement of its own: a statement that waited
        # for the lock would still see the reps' turns as they were before the lock holder's
        # commit (PostgreSQL re-reads only the locked row), and two captures could pick the
        # same rep.
        found = _team_row(lock=not self.dry_run)(pk)
        if not found:
            raise Team.DoesNotExist(f"team {pk} no longer exists")
        counter, token = found[0]
        facts = _team_facts(pk, token)
        turns = [
            _Turn(rep, 0 if self.dry_run else position, assigned)
            for member_id, position, assigned in _TURNS(pk)
            if (rep := facts.reps.get(member_id)) is not None
        ]
        state = _TeamState(facts.team, 0 if self.dry_run else counter, turns)
        if not self.dry_run:
            self._load_counts(state)
        return state

    def _load_counts(self, state: _TeamState) -> None:
        reps = [turn.rep for turn in state.reps]
        ids = [rep.user_id for rep in reps]
        if not ids:
            return
        need_open = state.team.rotation == "load_balanced" or any(r.open_cap for r in reps)
        if need_open:
            state.open_counts = dict(_counts()[0](ids))
        if any(r.daily_cap for r in reps):
            zone = ZoneInfo(state.team.timezone)
            midnight = self.now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
            state.today_counts = dict(_counts()[1](ids, midnight, midnight + timedelta(days=1)))
        for absence in self._away(ids):
            state.away[absence.user_id] = absence

    def _away(self, ids: list[int]) -> list[Absence]:
        """The absences of these users that cover now."""
        if self.absences is None:
            return _AWAY(ids, self.now, self.now)
        now = self.now
        return [
            a for user in ids for a in self.absences.get(user, ()) if a.starts_at <= now < a.ends_at
        ]

    def _rule(self, record: dict):
        rule = next((r for r, m in zip(self.rules, self._matches, strict=True) if m(record)), None)
        return rule, (rule.team if rule else self.default_team)

    def lock_teams(self, records) -> None:
        """Lock now, in id order, every team these records will be routed to: a batch that goes
        to several teams takes their row locks in the same order as any other batch, so two
        concurrent batches cannot deadlock (each would otherwise lock in its leads' order)."""
        teams = {team.pk: team for team in (self._rule(r)[1] for r in records) if team}
        for pk in sorted(teams):
            self._state(teams[pk])

    def route(self, record: dict) -> Assignment:
        rule, team = self._rule(record)
        reason: dict = {"rule": rule.name if rule else None, "rule_id": rule.pk if rule else None}
        if team is None:
            reason.update(method="none", explanation="No team is set up yet, so nobody owns it.")
            return Assignment(None, None, reason, None)
        state = self._state(team)
        reason["team"] = team.name
        owner = None
        account_owner = self._account_owner(rule, record, state, reason)
        if account_owner is not None:
            owner_id, team = account_owner
            if team.pk != state.team.pk:
                state = self._state(team)
                reason["team"] = team.name
        elif rule and rule.owner_id:
            owner_id = rule.owner_id
            name = rule.owner.get_username()
            reason.update(
                method="rule_owner",
                chosen=name,
                explanation=f"Rule “{rule.name}” sends these leads to {name}.",
            )
        else:
            owner_id = self._next_rep(state, reason)
            owner = state.moved[owner_id].rep.user if owner_id is not None else None
        lead_in = f"Matched rule “{rule.name}”" if rule else f"No rule matched; default team {team}"
        reason["explanation"] = f"{lead_in}. {reason.get('explanation', '')}".strip()
        due, policy = sla.due_at(state.team, record, self.policies, self.now)
        if policy:
            reason["sla_policy"] = policy
        return Assignment(state.team, owner_id, reason, due, owner)

    def _account_owner(self, rule, record: dict, state: _TeamState, reason: dict):
        """(owner id, team) when the rule sends leads of known accounts to the account's owner
        and that owner can take it: an active member of a team (the rule's team first), not out
        of office. Otherwise None, with the reason why on the record."""
        if not (rule and rule.to_account_owner and record.get("account_owner_id")):
            return None
        owner_id, account = record["account_owner_id"], record.get("account_name") or "account"
        teams = [m for m in _MEMBER_OF(owner_id) if m.is_active and m.user.is_active]
        teams.sort(key=lambda m: m.team_id != state.team.pk)
        if not teams:
            reason["account_owner"] = f"{account}'s owner is not an active team member"
            return None
        member = teams[0]
        name = member.user.get_username()
        away = None if self.dry_run else self._away([owner_id])
        if away:
            reason["account_owner"] = f"{account}'s owner {name} is out of office"
            return None
        reason.update(
            method="account_owner",
            chosen=name,
            account=account,
            explanation=f"{account} is an existing account owned by {name}.",
        )
        return owner_id, member.team

    def pick(self, team: Team, exclude: tuple[int, ...] = ()) -> tuple[int | None, dict]:
        """The next rep in turn, skipping some users (e.g. the owner who missed an SLA)."""
        reason: dict = {"team": team.name}
        return self._next_rep(self._state(team), reason, exclude), reason

    def _skip_reason(self, member: Rep, state: _TeamState) -> str:
        absence = state.away.get(member.user_id)
        if absence:
            return f"out of office until {absence.ends_at:%Y-%m-%d %H:%M} UTC"
        if not rep_available(member, state.team, self.now):
            return "outside working hours"
        if self.dry_run:
            return ""
        if member.daily_cap and state.today_counts.get(member.user_id, 0) >= member.daily_cap:
            return f"daily cap of {member.daily_cap} reached"
        if member.open_cap and state.open_counts.get(member.user_id, 0) >= member.open_cap:
            return f"open-lead cap of {member.open_cap} reached"
        return ""

    def _next_rep(self, state: _TeamState, reason: dict, exclude=()) -> int | None:
        mode = state.team.rotation
        reason["method"] = mode
        floor = state.counter
        candidates, eligible = [], []
        for turn in state.reps:
            member = turn.rep
            if member.user_id in exclude:
                continue
            entry = {"user": member.name, "turn": max(turn.rr_position, floor)}
            if mode == "load_balanced":
                entry["open"] = state.open_counts.get(member.user_id, 0)
            if mode == "weighted":
                entry["weight"] = member.weight
            skipped = self._skip_reason(member, state)
            if skipped:
                entry["skipped"] = skipped
            else:
                eligible.append(turn)
            candidates.append(entry)
        reason["candidates"] = candidates
        if not candidates:
            reason["explanation"] = f"{state.team} has no active reps; unassigned in its queue."
            return None
        if not eligible:
            reason["explanation"] = (
                f"Every rep of {state.team} is away, outside hours or at a cap; "
                "left unassigned in the team's queue."
            )
            return None

        def order(t: _Turn) -> tuple:
            position = max(t.rr_position, floor)
            if mode == "load_balanced":
                return (state.open_counts.get(t.rep.user_id, 0), position, t.rep.pk)
            return (position, t.rep.pk)

        turn = min(eligible, key=order)
        chosen = turn.rep
        position = max(turn.rr_position, floor)
        state.counter = max(floor, position)
        turn.rr_position = position + (stride(chosen) if mode == "weighted" else STRIDE)
        turn.assigned_count += 1
        state.open_counts[chosen.user_id] = state.open_counts.get(chosen.user_id, 0) + 1
        state.today_counts[chosen.user_id] = state.today_counts.get(chosen.user_id, 0) + 1
        state.dirty = True
        state.moved[chosen.user_id] = turn
        name = chosen.name
        reason["chosen"] = name
        skipped = [c for c in candidates if "skipped" in c]
        how = {
            "round_robin": "Round-robin",
            "weighted": "Weighted round-robin",
            "load_balanced": "Fewest open leads",
        }[mode]
        reason["explanation"] = (
            f"{how} among {len(eligible)} available rep(s) of {state.team}: {name} was next"
            + (" (fewest open leads)." if mode == "load_balanced" else " in turn.")
            + "".join(f" Skipped {c['user']}: {c['skipped']}." for c in skipped)
        )
        return chosen.user_id

    def flush(self) -> None:
        """Save the turn state the routing moved."""
        updates = self.turn_updates()
        if not updates:
            return
        connection = connections[db_router.db_for_write(Team)]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql" and len(updates) > 1:
                # One statement (a round trip fewer for every capture).
                cursor.execute(
                    "WITH "
                    + ", ".join(f"t{n} AS ({sql})" for n, (sql, _p) in enumerate(updates[1:]))
                    + f" {updates[0][0]}",
                    [v for _sql, params in (*updates[1:], updates[0]) for v in params],
                )
                return
            for sql, params in updates:
                cursor.execute(sql, params)

    def turn_updates(self) -> list[tuple[str, list]]:
        """The UPDATE statements (sql, params) that save the turn state the routing moved,
        taken: the caller runs them (the capture pipeline, on PostgreSQL, in the statement that
        writes the new lead)."""
        if self.dry_run:
            return []
        out = []
        for state in self._teams.values():
            if state.dirty:
                # Only the reps who took a turn changed (one lead moves exactly one of them).
                out.extend(_turn_updates(state.team.pk, state.counter, state.moved.values()))
                state.dirty = False
                state.moved.clear()
        return out


def _turn_updates(team_id: int, counter: int, moved) -> list[tuple[str, list]]:
    """The rotation's turn state as UPDATE statements (plain SQL: these run for every lead)."""
    connection = connections[db_router.db_for_write(Team)]
    quote = connection.ops.quote_name

    def update(model, names: list[str]) -> str:
        meta = model._meta
        columns = ", ".join(f"{quote(meta.get_field(n).column)} = %s" for n in names)
        return f"UPDATE {quote(meta.db_table)} SET {columns} WHERE {quote(meta.pk.column)} = %s"

    rep = update(Membership, ["rr_position", "assigned_count"])
    return [(update(Team, ["rr_counter"]), [counter, team_id])] + [
        (rep, [turn.rr_position, turn.assigned_count, turn.rep.pk]) for turn in moved
    ]


def team_calendar(team: Team | None) -> BusinessCalendar:
    return team.calendar() if team else BusinessCalendar()


def route_one(record: dict, now: datetime) -> Assignment:
    """Route one lead; must run inside the capture's transaction."""
    assert transaction.get_connection().in_atomic_block, "route inside the capture transaction"
    router = Router(now)
    assignment = router.route(record)
    router.flush()
    return assignment
