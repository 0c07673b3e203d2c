"""A realistic demo workspace, built through the same domain functions a team uses.

Deterministic (seeded) and idempotent: users, teams and rules are got-or-created and every demo
lead carries an external id, so a second run replays instead of duplicating.
"""

import random
from datetime import time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from leadline.core.choices import Role, Source, Status
from leadline.core.clock import clock
from leadline.core.models import Campaign, Membership, ReasonCode, Team
from leadline.deals.conversion import convert
from leadline.intake.pipeline import capture
from leadline.leads import actions
from leadline.routing.models import RoutingRule

PASSWORD = "leadline-demo"
FIRST = (
    "Ana Ben Chloe David Elena Farid Grace Hugo Ines Jonas Kara Liam Maya Noah Olga Priya "
    "Quentin Rosa Sven Tara Umar Vera Wes Xena Yusuf Zoe"
).split()
LAST = (
    "Okafor Schmidt Dubois Rossi Novak Garcia Smith Jensen Kowalski Silva Tanaka Murphy "
    "Haddad Larsen Costa Weber Moreau Patel Nguyen Fischer Bianchi Andersen"
).split()
COMPANIES = [
    ("Northwind Analytics", "northwind.io", "Software", 220, "GB"),
    ("Bluepeak Insurance", "bluepeak.com", "Insurance", 1800, "US"),
    ("Kestrel Logistics", "kestrel-log.de", "Logistics", 640, "DE"),
    ("Lumen Retail", "lumenretail.fr", "Retail", 3200, "FR"),
    ("Orbit Health", "orbithealth.com", "Healthcare", 90, "US"),
    ("Fjord Fintech", "fjordfin.no", "Financial services", 140, "NO"),
    ("Cobalt Manufacturing", "cobaltmfg.com", "Manufacturing", 5400, "US"),
    ("Tessera Labs", "tessera.ai", "Software", 35, "CA"),
    ("Verde Foods", "verdefoods.es", "E-commerce", 410, "ES"),
    ("Atlas Freight", "atlasfreight.nl", "Logistics", 980, "NL"),
    ("Quill Media", "quillmedia.co", "Media", 25, "US"),
    ("Harbor Bank", "harborbank.com", "Financial services", 12000, "US"),
    ("Nimbus Cloudworks", "nimbuscloud.io", "SaaS", 160, "IE"),
    ("Saffron Wholesale", "saffronwholesale.in", "Retail", 75, "IN"),
    ("Polar Robotics", "polarrobotics.se", "Manufacturing", 300, "SE"),
]
TITLES = [
    "CEO",
    "Founder",
    "VP Sales",
    "VP Marketing",
    "Head of Operations",
    "Director of IT",
    "Sales Manager",
    "Marketing Manager",
    "Procurement Lead",
    "Software Engineer",
    "Account Executive",
    "Operations Analyst",
    "Student",
]
SOURCES = [
    Source.WEB_FORM,
    Source.DEMO_REQUEST,
    Source.WEBINAR,
    Source.CONTENT,
    Source.LIST_PURCHASE,
    Source.REFERRAL,
    Source.EVENT,
    Source.INBOUND_CALL,
]
EUROPE = ["GB", "DE", "FR", "ES", "NL", "NO", "IE", "SE", "IT", "PL"]


def _users():
    User = get_user_model()
    people = {
        "admin": ("Avery", "Admin", None, None),
        "maria": ("Maria", "Manager", "americas", Role.MANAGER),
        "emil": ("Emil", "Manager", "emea", Role.MANAGER),
        "jordan": ("Jordan", "Rep", "americas", Role.REP),
        "riley": ("Riley", "Rep", "americas", Role.REP),
        "alex": ("Alex", "Rep", "emea", Role.REP),
        "sam": ("Sam", "Rep", "emea", Role.REP),
        "mia": ("Mia", "Marketer", "americas", Role.MARKETER),
    }
    teams = {
        "americas": Team.objects.get_or_create(
            slug="americas",
            defaults=dict(
                name="Americas", timezone="America/New_York", is_default=True, sla_minutes=5
            ),
        )[0],
        "emea": Team.objects.get_or_create(
            slug="emea",
            defaults=dict(
                name="EMEA",
                timezone="Europe/London",
                sla_minutes=10,
                day_start=time(8, 30),
                day_end=time(17, 30),
            ),
        )[0],
    }
    users = {}
    for username, (first, last, team, role) in people.items():
        user, created = User.objects.get_or_create(
            username=username,
            defaults=dict(
                first_name=first,
                last_name=last,
                email=f"{username}@demo.leadline.test",
                is_superuser=username == "admin",
                is_staff=username == "admin",
            ),
        )
        if created:
            user.set_password(PASSWORD)
            user.save()
        if team:
            Membership.objects.get_or_create(user=user, team=teams[team], defaults={"role": role})
        users[username] = user
    return users, teams


def _setup(teams):
    RoutingRule.objects.get_or_create(
        name="Europe to EMEA",
        defaults=dict(
            order=10,
            team=teams["emea"],
            conditions=[{"field": "country", "op": "in", "value": EUROPE}],
        ),
    )
    RoutingRule.objects.get_or_create(
        name="Everything else to Americas",
        defaults=dict(order=100, team=teams["americas"], conditions=[]),
    )
    campaigns = {}
    for name, channel, cost in [
        ("Q3 webinar: pipeline hygiene", "webinar", "4800"),
        ("Funded startups list (Oct)", "list_purchase", "2500"),
        ("Search ads — demo", "paid_search", "6200"),
        ("Partner referrals", "partner", "0"),
        ("SaaS Summit booth", "event", "12000"),
    ]:
        campaigns[channel] = Campaign.objects.get_or_create(
            name=name, defaults={"channel": channel, "cost": Decimal(cost)}
        )[0]
    return campaigns


def build(count: int = 300, seed: int = 7, out=print) -> None:
    rng = random.Random(seed)
    now = clock.now()
    with transaction.atomic():
        users, teams = _users()
        campaigns = _setup(teams)
    codes = list(ReasonCode.objects.values_list("code", flat=True))
    created = 0
    for i in range(count):
        age = (
            timedelta(minutes=rng.randint(1, 60 * 24 * 42))
            if i < count - 6
            else timedelta(minutes=rng.randint(1, 4))
        )
        at = now - age
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company, domain, industry, size, country = rng.choice(COMPANIES)
        if rng.random() < 0.3:
            country = rng.choice(EUROPE + ["US", "CA", "BR"])
        source = rng.choice(SOURCES)
        campaign = {
            Source.WEBINAR: "webinar",
            Source.LIST_PURCHASE: "list_purchase",
            Source.DEMO_REQUEST: "paid_search",
            Source.REFERRAL: "partner",
            Source.EVENT: "event",
        }.get(source)
        email_domain = domain if rng.random() > 0.15 else "gmail.com"
        data = {
            "first_name": first,
            "last_name": last,
            "email": f"{first}.{last}{i}@{email_domain}".lower(),
            "phone": f"+1 415 555 {1000 + i:04d}" if country in ("US", "CA") else "",
            "title": rng.choice(TITLES),
            "company": company,
            "website": domain,
            "industry": industry,
            "employees": size,
            "country": country,
            "source": source,
            "campaign": campaigns[campaign].name if campaign else None,
            "external_id": f"demo-{i}",
            "consent_email": rng.random() < 0.7,
        }
        with transaction.atomic():  # a lead and its history land together or not at all
            result = capture(
                {k: v for k, v in data.items() if v not in (None, "")}, channel="demo", now=at
            )
            if result.outcome != "created":
                continue
            created += 1
            _work(result.lead, rng, at, now, codes)
    if created:
        _train_model(out)
    out(
        f"Demo workspace ready: {created} new leads "
        f"({count - created} already there). Log in as admin, maria (manager), jordan (rep) or "
        f"mia (marketer), password {PASSWORD!r}."
    )


def _work(lead, rng, at, now, codes):
    """Give an older lead a realistic history: touches, next steps and status changes."""
    if (now - at) < timedelta(hours=2) or lead.owner is None:
        return
    owner = lead.owner
    # Better-fitting, more engaged leads convert more often, so the model has something to learn.
    roll = rng.random() * 0.45 + min(lead.score, 100) / 100 * 0.55
    t = at + timedelta(minutes=rng.choice([2, 4, 8, 25, 90, 300, 1500]))
    if roll < 0.1 or t > now:
        return  # still untouched: shows up as a breached SLA
    actions.log_activity(
        lead,
        "call",
        owner,
        subject="Intro call",
        outcome=rng.choice(["connected", "voicemail", "no answer"]),
        at=t,
        now=t,
    )
    t += timedelta(minutes=10)
    actions.transition(
        lead,
        Status.WORKING,
        owner,
        next_step="Send proposal outline",
        next_step_due_at=t + timedelta(days=2),
        reason="Reached out",
        now=t,
    )
    if roll < 0.25:
        return
    t += timedelta(days=rng.randint(1, 5))
    if t > now:
        return
    if roll < 0.5 and codes:
        code = rng.choice([c for c in codes if c != "spam"] or codes)
        actions.transition(
            lead, Status.DISQUALIFIED, owner, reason_code=code, reason="Not a fit right now", now=t
        )
        return
    if roll < 0.56:
        actions.transition(lead, Status.NURTURE, owner, reason="Not ready this quarter", now=t)
        return
    actions.log_activity(lead, "meeting", owner, subject="Discovery meeting", at=t, now=t)
    actions.transition(
        lead,
        Status.QUALIFIED,
        owner,
        reason="BANT confirmed on discovery",
        answers={"budget": True, "authority": True, "need": True, "timeline": True},
        now=t,
    )
    if roll < 0.64:
        return
    t += timedelta(days=1)
    if t > now:
        return
    convert(
        lead,
        owner,
        amount=Decimal(rng.choice([6000, 12000, 24000, 48000])),
        problem="Leads slip through the cracks between marketing and sales",
        outcome="Every inbound lead answered within 5 minutes",
        decision_makers=f"{lead.display_name} ({lead.title})",
        now=t,
    )


def _train_model(out) -> None:
    from leadline.leads.models import Lead
    from leadline.scoring import predict

    result = predict.train(note="demo workspace")
    if result["status"] == "trained":
        predict.predict_leads(list(Lead.objects.open()))
        out(
            f"Predictive model v{result['version']} trained on {result['leads']} decided leads "
            f"(back-test ROC AUC {result['backtest_auc'] or 0:.2f})."
        )
    else:
        out(f"Predictive model not trained yet: {result['reason']}")
