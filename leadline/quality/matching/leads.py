"""The comparisons and blocking rules for leads (people at companies)."""

from __future__ import annotations

from functools import lru_cache

from . import names
from .blocking import BlockingRule
from .compare import (
    EmailComparison,
    Feature,
    LocationComparison,
    NameComparison,
    OrganisationComparison,
)
from .model import Settings

# Raw fields a lead record may carry (``full_name`` is split when first/last are absent).
FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "job_title",
    "city",
    "postcode",
    "country",
)


@lru_cache(maxsize=1)
def lead_settings() -> Settings:
    name = NameComparison("first_name", "last_name")
    email = EmailComparison("email")
    org = OrganisationComparison("company", "phone")
    loc = LocationComparison("city", "postcode", "country")
    sound = Feature(name.l, names.soundex)
    # Windows: in a block bigger than window + 1 each record meets only that many neighbours,
    # sorted so that a person's records sit together (same company and city first).
    rules = (
        BlockingRule("e", (email.e,), window=10, order=(name.l,)),
        BlockingRule("u", (email.user,), window=8, order=(name.l, name.fc)),
        BlockingRule("p", (org.p,), window=20, order=(name.l, name.fc)),
        BlockingRule("n", (name.fc, name.l), unordered=True, window=12, order=(loc.city, org.c)),
        BlockingRule("i", (name.fi, name.l), window=5, order=(org.c, loc.city)),
        BlockingRule("s", (name.fc, sound), window=5, order=(loc.city, org.c)),
        BlockingRule("c", (org.c, name.fc), window=10, order=(name.l,)),
    )
    # The exact address ("e") and the same mailbox name at another domain ("u") are apart:
    # pairs sharing an address are nearly all one person, pairs sharing only the mailbox name
    # mostly namesakes; as one family they made an exact address weak evidence (pairwise F1
    # 0.938 -> 0.943 on the 100k benchmark, precision unchanged).
    families = (("e",), ("u",), ("p",), ("n", "i", "s"), ("c",))
    # Pairs sharing an e-mail address but neither company nor phone show what a change of
    # employer does to the name and the place (a personal address survives the move).
    return Settings(
        "leads/2", (name, email, org, loc), rules, ("e", "n", "p"), families, moves_seen_by="e"
    )
