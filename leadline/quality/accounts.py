"""Lead-to-account matching: the existing account a lead's company is, if any.

``match_account(lead)`` tries, in order: the lead's company domain (from its website or a
non-free email) against each account's domain and website, exactly; then the company name,
normalised (legal suffixes, "&", punctuation and accents folded away) and compared fuzzily,
with the country required to agree when both are known. It only reads: ``AccountKey`` (one
indexed query), kept current by a save signal on ``Account`` and rebuilt by ``leadline dedupe
--db``, plus any accounts inserted in bulk since the newest keyed one. ``link_account`` stores
the match on the lead (``Lead.account``) with a timeline entry. Routing calls ``match_account``
to send a lead to the account's owner.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Max
from rapidfuzz.distance import JaroWinkler

from leadline.core.clock import clock
from leadline.deals.models import Account
from leadline.leads.models import Lead
from leadline.quality.matching import names
from leadline.quality.models import AccountKey
from leadline.quality.normalize import company_domain, normalize_domain

# Jaro-Winkler similarity of normalised names from which two companies are taken to be one.
NAME_SIMILARITY = 0.93
# Accounts without keys yet (created in bulk) that a lookup still considers, newest first.
UNKEYED_LIMIT = 1000


@dataclass
class AccountMatch:
    account: Account
    method: str  # "domain" or "name"
    score: float
    reason: str

    def as_dict(self) -> dict:
        return {
            "account": self.account.pk,
            "method": self.method,
            "score": round(self.score, 3),
            "reason": self.reason,
        }


def _get(lead, name: str):
    return lead.get(name) if isinstance(lead, Mapping) else getattr(lead, name, None)


def _name_tokens(name: str | None) -> list[str]:
    key = names.company(name)
    return key.split() if key else []


def account_keys(account: Account) -> list[str]:
    """Domain keys ("d:acme.com"), the normalised name ("n:acme") and its first word ("f:")."""
    keys = []
    for domain in (normalize_domain(account.domain), normalize_domain(account.website)):
        if domain:
            keys.append(f"d:{domain}")
    tokens = _name_tokens(account.name)
    if tokens:
        keys.append(f"n:{' '.join(tokens)}")
        keys.append(f"f:{tokens[0]}")
    # An account with nothing to match on still gets a row, so it counts as keyed.
    return list(dict.fromkeys(k[:200] for k in keys)) or ["-"]


def record_account_keys(accounts: Iterable[Account]) -> None:
    """(Re)write the keys of these accounts; call it when an account's name or domain changes."""
    accounts = list(accounts)
    with transaction.atomic():
        AccountKey.objects.filter(account__in=[a.pk for a in accounts]).delete()
        AccountKey.objects.bulk_create(
            AccountKey(account_id=a.pk, key=k) for a in accounts for k in account_keys(a)
        )


def _unkeyed_accounts(wanted: set[str]) -> dict[int, set[str]]:
    """Accounts created since the newest keyed one (a bulk insert skips the save signal), matched
    in memory: a lookup never writes, and ``leadline dedupe --db`` keys them for good."""
    last = AccountKey.objects.aggregate(last=Max("account_id"))["last"] or 0
    fresh = Account.objects.filter(pk__gt=last).order_by("-pk")[:UNKEYED_LIMIT]
    return {a.pk: set(account_keys(a)) & wanted for a in fresh if set(account_keys(a)) & wanted}


def rebuild_account_keys() -> int:
    """Every account's keys, written afresh."""
    accounts = list(Account.objects.all())
    with transaction.atomic():
        AccountKey.objects.all().delete()
        AccountKey.objects.bulk_create(
            (AccountKey(account_id=a.pk, key=k) for a in accounts for k in account_keys(a)),
            batch_size=5000,
        )
    return len(accounts)


def _lead_domain(lead) -> str:
    return _get(lead, "company_domain") or company_domain(
        (_get(lead, "email") or "").lower(), _get(lead, "website") or ""
    )


def match_account(lead) -> AccountMatch | None:
    """The account this lead (a Lead or a dict of its fields) belongs to, or None. Reads only."""
    domain = _lead_domain(lead)
    tokens = _name_tokens(_get(lead, "company"))
    wanted = []
    if domain:
        wanted.append(f"d:{domain}")
    if tokens:
        wanted += [f"n:{' '.join(tokens)}", f"f:{tokens[0]}"]
    if not wanted:
        return None
    hits: dict[int, set[str]] = _unkeyed_accounts(set(wanted))
    for account_id, key in AccountKey.objects.filter(key__in=wanted).values_list(
        "account_id", "key"
    ):
        hits.setdefault(account_id, set()).add(key)
    if not hits:
        return None
    accounts = Account.objects.in_bulk(list(hits))
    if domain:
        by_domain = sorted(a for a, keys in hits.items() if f"d:{domain}" in keys)
        if by_domain:
            account = accounts[by_domain[0]]
            return AccountMatch(account, "domain", 1.0, f"company domain {domain}")
    return _by_name(lead, tokens, [accounts[a] for a in sorted(hits)])


def _by_name(lead, tokens: list[str], accounts: list[Account]) -> AccountMatch | None:
    if not tokens:
        return None
    name = " ".join(tokens)
    country = (_get(lead, "country") or "").upper()
    best: AccountMatch | None = None
    for account in accounts:
        other = " ".join(_name_tokens(account.name))
        if not other:
            continue
        if country and account.country and account.country.upper() != country:
            continue
        score = JaroWinkler.normalized_similarity(name, other)
        if score < NAME_SIMILARITY or (best is not None and score <= best.score):
            continue
        how = "same name" if score == 1.0 else f"similar name ({score:.2f})"
        where = f" in {country}" if country and account.country else ""
        best = AccountMatch(account, "name", score, f"{how}: {account.name}{where}")
    return best


def link_account(lead: Lead, actor=None, *, now: datetime | None = None) -> AccountMatch | None:
    """Match a stored lead without an account and link it, with a timeline entry."""
    from leadline.leads.actions import record

    if lead.account_id:
        return None
    found = match_account(lead)
    if found is None:
        return None
    now = now or clock.now()
    with transaction.atomic():
        linked = Lead.objects.filter(pk=lead.pk, account__isnull=True).update(
            account=found.account, updated_at=now
        )
        if not linked:
            return None
        lead.account, lead.updated_at = found.account, now
        record(
            lead,
            "account_matched",
            f"Matched to account {found.account.name}: {found.reason}",
            now,
            actor,
            **found.as_dict(),
        )
    return found
