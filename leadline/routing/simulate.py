"""Routing simulator: replay the last N days of leads through the current (or a draft) rule set
and count, per rule and per rep, where they would have gone — before activating anything.

The replay starts every rotation from scratch and judges working hours at each lead's capture
time; caps and out-of-office periods are not replayed (their history is not kept)."""

from collections import Counter
from datetime import datetime, timedelta

from leadline.core.clock import clock
from leadline.leads.models import Lead
from leadline.quality.accounts import match_account
from leadline.routing.assign import Router
from leadline.routing.models import RoutingRule


def simulate(
    days: int = 30, rules: list[RoutingRule] | None = None, now: datetime | None = None
) -> dict:
    now = now or clock.now()
    leads = Lead.objects.live().filter(captured_at__gte=now - timedelta(days=days))
    router = Router(now, rules=rules, dry_run=True)
    by_rule, by_team, by_rep = Counter(), Counter(), Counter()
    total = changed = 0
    fields = [f.attname for f in Lead._meta.concrete_fields]
    by_account = any(rule.to_account_owner for rule in router.rules)
    for lead in (
        leads.select_related("account").order_by("captured_at", "id").iterator(chunk_size=2000)
    ):
        router.now = lead.captured_at
        record = {name: getattr(lead, name) for name in fields}
        if by_account:  # rules that send leads of existing accounts to the account's owner
            account = lead.account
            if account is None:  # not linked when captured: matched as a capture would now
                match = match_account(lead)
                account = match.account if match else None
            if account is not None:
                record["account_owner_id"] = account.owner_id
                record["account_name"] = account.name
        assignment = router.route(record)
        total += 1
        by_rule[assignment.reason.get("rule") or "(default team)"] += 1
        by_team[assignment.team.name if assignment.team else "(none)"] += 1
        by_rep[assignment.reason.get("chosen") or "(unassigned)"] += 1
        changed += assignment.owner_id != lead.owner_id
    return {
        "days": days,
        "leads": total,
        "by_rule": dict(by_rule.most_common()),
        "by_team": dict(by_team.most_common()),
        "by_rep": dict(by_rep.most_common()),
        "different_owner": changed,
    }
