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
FIELDS = ("first_name", "last_name", "email", "phone", "company", "job_title", "city", "postcode",
          "country")


@lru_cache(maxsize=1)
def lead_settings() -> Settings:
    name = NameComparison("first_name", "last_name")
    email = EmailComparison("email")
    org = OrganisationComparison("company", "phone")
    loc = LocationComparison("city", "postcode", "country")
    sound = Feature(name.l, names.soundex)
    rules = (
        BlockingRule("e", (email.e,), order=(name.l,)),
        BlockingRule("u", (email.user,), order=(name.l, name.fc)),
        BlockingRule("p", (org.p,), order=(name.l, name.fc)),
        BlockingRule("n", (name.fc, name.l), unordered=True, order=(loc.city, org.c)),
        BlockingRule("i", (name.fi, name.l), order=(org.c, loc.city)),
        BlockingRule("s", (name.fc, sound), order=(loc.city, org.c)),
        BlockingRule("c", (org.c, name.fc), order=(name.l,)),
    )
    return Settings("leads/1", (name, email, org, loc), rules)
