"""Speed to owner: capture accepted → owner assigned → owner notified, and routing decisions/s.

    .venv/bin/python bench/routing.py [--leads N] [--engines sqlite,postgres] [--concurrency C]
        [--rate R] [--worker-poll S] [--plain-reps] [--parts latency,decisions] [--keep]

From the issue: "time from capture accepted to owner assigned and owner notified (p50/p99), and
routing decisions per second with 50 rules and 200 reps. Target: owner assigned within the
capture request; notification out within 2 s p99 in the embedded setup."

Part 1, embedded setup (per engine): a fresh data directory (and, for PostgreSQL, a fresh database
`leadline_routing_bench`), a workspace made through the CLI (`createuser`, `token`), then the
routing configuration of part 2 (10 teams, 200 reps, 50 rules, 3 SLA policies) loaded in-process
by a child of this script. An SMTP server of the bench's own (aiosmtpd) on 127.0.0.1 timestamps
every message; `leadline serve --port 8311` runs with EMAIL_HOST/EMAIL_PORT pointing at it. Leads
are captured through the JSON API in three phases: paced (one every 1/R s, default 2 leads/s for
60 s — a steady stream), N one at a time back to back, and N at modest concurrency (bursts).
Each response must name an `owner` (= assigned within the request); for each lead the bench
measures the time from the capture response to the arrival of the owner's "New lead" email
(matched on the `/leads/<id>/` URL in its body, and checked to be addressed to that owner). Before
the next phase it waits (bounded) for the emails of the last one, so phases do not overlap. The
Job table then says when the worker round that ran each lead's jobs started. PASS needs every
response to carry an owner, every owner to be notified, and notification p99 ≤ 2 s; the exit
status is 1 when an SQLite (embedded) phase fails.

Part 2, routing decisions per second (per engine, in-process in a child: django.setup() on a
throwaway SQLite data directory or the PostgreSQL database): the same 50 rules over 10 teams and
200 reps (varied weights; some with daily/open caps, own working hours, absences), 3,000 open
leads already owned (so load balancing and caps read real counts), then, inside one transaction
that is rolled back:
  - rules only:      first matching rule of 50, no database;
  - batch router:    one Router, route() × N, flush() once — what `capture_batch` does;
  - per capture:     router + route() + flush() per lead — what `capture()` does (with the
                     pipeline's cached routing configuration when it has one);
  - per lead, cold:  Router(now) reading rules, default team and SLA policies each time;
  - rotation only:   Router._next_rep() on loaded team states.

Timings are wall clock; the decision table also gives this process's CPU time per decision,
which moves less when other work shares the machine (the load average is printed).

Every loop is bounded in count and time; only 127.0.0.1 is contacted; the server's process group
is stopped at the end, also on errors. The peer (Odoo CRM) is not run: a printed note says what
its batch assignment means for time to owner.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import http.client
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THIS = Path(__file__).resolve()
VENV_PY = ROOT / ".venv" / "bin" / "python"

SERVER_PORT = 8311
SMTP_PORTS = range(8320, 8400)  # this bench owns 8300-8399; bench/capture.py uses 8200-8299
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "leadline_routing_bench"
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
REP_DOMAIN = "reps.leadline-bench.example"
PASSWORD = "routing-bench-pass"
TARGET_NOTIFY_P99 = 2.0
SEED = 20260509

ODOO_NOTE = (
    "Peer for context (not measured): Odoo CRM assigns leads in a batch. Its rule-based\n"
    "assignment is the scheduled action 'CRM: Lead Assignment' (crm.ir_cron_crm_lead_assign,\n"
    "model._cron_assign_leads()), shipped inactive and set to run every 1 day when turned on\n"
    "(the interval can be set from minutes to weeks, or assignment run by hand). A lead captured\n"
    "just after a run waits for the next one: time to owner up to 24 h at the default, and the\n"
    "owner's notification follows the assignment. Leadline assigns inside the capture request."
)


# ----------------------------------------------------------------------------------------------
# The routing configuration: 10 teams, 20 reps each, 50 ordered rules, 3 SLA policies.

REGIONS = {
    "NA": ["US", "CA"],
    "UKI": ["GB", "IE"],
    "DACH": ["DE", "AT", "CH"],
    "SOUTH": ["FR", "BE", "NL", "LU", "ES", "IT", "PT"],
    "NORDICS": ["SE", "NO", "DK", "FI"],
    "APAC": ["AU", "NZ", "SG", "JP", "IN"],
    "LATAM": ["BR", "MX", "AR", "CL", "CO"],
}
EMEA = REGIONS["UKI"] + REGIONS["SOUTH"] + REGIONS["NORDICS"]

# name, rotation, time zone, default team
TEAMS = [
    ("Inbound", "round_robin", "UTC", True),
    ("Strategic Accounts", "weighted", "America/New_York", False),
    ("Enterprise NA", "weighted", "America/New_York", False),
    ("Mid-Market NA", "round_robin", "America/Chicago", False),
    ("SMB NA", "load_balanced", "America/Denver", False),
    ("Enterprise EMEA", "weighted", "Europe/London", False),
    ("Commercial EMEA", "round_robin", "Europe/Paris", False),
    ("DACH", "load_balanced", "Europe/Berlin", False),
    ("APAC", "round_robin", "Asia/Singapore", False),
    ("LATAM", "weighted", "America/Sao_Paulo", False),
]
REPS_PER_TEAM = 20
# Rep number (1-20) → what makes that rep sometimes unavailable.
DAILY_CAPS = {4: 3, 9: 5, 14: 8}
OPEN_CAPS = {6: 10, 16: 25}
OWN_HOURS = {7: "", 12: "", 17: "America/Los_Angeles"}  # "" = the team's zone
ABSENT_NOW = (10, 19)
ABSENT_PAST = (11,)
ABSENT_LATER = (13,)


def _c(field: str, op: str, value=None) -> dict:
    return {"field": field, "op": op, "value": value}


def routing_rules() -> list[tuple[str, str, list[dict], str | None]]:
    """(team, rule name, conditions, owner username or None) in routing order: 50 rules."""
    na, dach, apac, latam = REGIONS["NA"], REGIONS["DACH"], REGIONS["APAC"], REGIONS["LATAM"]
    region_team = {
        "NA": ("Enterprise NA", "Mid-Market NA", "SMB NA"),
        "UKI": ("Enterprise EMEA", "Commercial EMEA", "Commercial EMEA"),
        "SOUTH": ("Enterprise EMEA", "Commercial EMEA", "Commercial EMEA"),
        "NORDICS": ("Enterprise EMEA", "Commercial EMEA", "Commercial EMEA"),
        "DACH": ("DACH", "DACH", "DACH"),
        "APAC": ("APAC", "APAC", "APAC"),
        "LATAM": ("LATAM", "LATAM", "LATAM"),
    }
    rules: list[tuple[str, str, list[dict], str | None]] = []
    named = [
        ("Globex", "strategic-accounts-01"),
        ("Initech", "strategic-accounts-02"),
        ("Umbrella", None),
        ("Stark Industries", None),
        ("Wayne Enterprises", None),
    ]
    for company, owner in named:
        rules.append(
            (
                "Strategic Accounts",
                f"Named account: {company}",
                [_c("company", "contains", company.lower())],
                owner,
            )
        )
    rules.append(
        (
            "Inbound",
            "Students and interns to the inbound desk",
            [_c("title", "contains", ["student", "intern"]), _c("score", "lte", 20)],
            None,
        )
    )
    rules.append(
        (
            "Strategic Accounts",
            "10,000+ people in North America",
            [_c("employees", "gte", 10000), _c("country", "in", na)],
            None,
        )
    )
    rules.append(
        (
            "Strategic Accounts",
            "10,000+ people in Europe",
            [_c("employees", "gte", 10000), _c("country", "in", EMEA + dach)],
            None,
        )
    )
    for team, countries in [
        ("Enterprise NA", na),
        ("Enterprise EMEA", EMEA),
        ("DACH", dach),
        ("APAC", apac),
        ("LATAM", latam),
    ]:
        rules.append(
            (
                team,
                f"Hot demo request, 1,000+ people → {team}",
                [
                    _c("source", "eq", "demo_request"),
                    _c("score", "gte", 60),
                    _c("employees", "gte", 1000),
                    _c("country", "in", countries),
                ],
                None,
            )
        )
    for team, countries in [
        ("Mid-Market NA", na),
        ("Commercial EMEA", EMEA + dach),
        ("Inbound", apac + latam),
    ]:
        rules.append(
            (
                team,
                f"Partner or referral → {team}",
                [_c("source", "in", ["partner", "referral"]), _c("country", "in", countries)],
                None,
            )
        )
    rules += [
        (
            "Enterprise EMEA",
            "Manufacturing and logistics, 500+ people, Europe",
            [
                _c("industry", "in", ["manufacturing", "logistics"]),
                _c("employees", "gte", 500),
                _c("country", "in", EMEA),
            ],
            None,
        ),
        (
            "DACH",
            "Trade-show leads in DACH",
            [_c("source", "eq", "event"), _c("country", "in", dach)],
            None,
        ),
        (
            "SMB NA",
            "Purchased lists in North America",
            [_c("source", "eq", "list_purchase"), _c("country", "in", na)],
            None,
        ),
        (
            "Inbound",
            "Inbound calls from companies of 50+",
            [_c("source", "eq", "inbound_call"), _c("employees", "gte", 50)],
            None,
        ),
    ]
    groups = {
        "regulated": ["financial services", "insurance", "healthcare"],
        "tech": ["software", "saas", "e-commerce"],
    }
    for region in ("NA", "UKI", "SOUTH", "DACH", "NORDICS", "APAC"):
        for group, industries in groups.items():
            team = region_team[region][0]
            rules.append(
                (
                    team,
                    f"Enterprise {group}, {region}",
                    [
                        _c("industry", "in", industries),
                        _c("employees", "gte", 1000),
                        _c("country", "in", REGIONS[region]),
                    ],
                    None,
                )
            )
    for region, countries in REGIONS.items():
        rules.append(
            (
                region_team[region][1],
                f"Mid-market (200-999), {region}",
                [_c("employees", "between", [200, 999]), _c("country", "in", countries)],
                None,
            )
        )
    for team, countries in [
        ("SMB NA", na),
        ("Commercial EMEA", EMEA),
        ("DACH", dach),
        ("APAC", apac),
        ("LATAM", latam),
    ]:
        rules.append(
            (
                team,
                f"Small-business inbound → {team}",
                [
                    _c("employees", "lt", 200),
                    _c("source", "in", ["web_form", "content", "webinar", "demo_request"]),
                    _c("country", "in", countries),
                ],
                None,
            )
        )
    rules.append(
        (
            "Inbound",
            "Strong lead without a country",
            [_c("country", "absent"), _c("score", "gte", 50)],
            None,
        )
    )
    for team, countries in [
        ("SMB NA", na),
        ("Commercial EMEA", EMEA),
        ("DACH", dach),
        ("APAC", apac),
        ("LATAM", latam),
    ]:
        rules.append(
            (team, f"Anything else from {team}'s countries", [_c("country", "in", countries)], None)
        )
    assert len(rules) == 50, len(rules)
    return rules


SLA_POLICIES = [
    ("Demo requests: 5 minutes, round the clock", [_c("source", "eq", "demo_request")], 5, False),
    ("Hot leads: 15 business minutes", [_c("score", "gte", 70)], 15, True),
    ("Purchased lists: one business day", [_c("source", "eq", "list_purchase")], 480, True),
]


# ----------------------------------------------------------------------------------------------
# Lead payloads (plain dicts, as a form or another system would send them).

COUNTRIES = [
    ("US", 30),
    ("CA", 5),
    ("GB", 9),
    ("IE", 2),
    ("DE", 8),
    ("AT", 2),
    ("CH", 2),
    ("FR", 6),
    ("ES", 4),
    ("IT", 3),
    ("NL", 3),
    ("BE", 2),
    ("SE", 2),
    ("NO", 1),
    ("DK", 1),
    ("FI", 1),
    ("AU", 4),
    ("NZ", 1),
    ("SG", 2),
    ("JP", 2),
    ("IN", 3),
    ("BR", 3),
    ("MX", 2),
    ("AR", 1),
    ("ZA", 1),
    (None, 5),
]
SOURCES = [
    ("web_form", 25),
    ("demo_request", 12),
    ("webinar", 12),
    ("content", 12),
    ("list_purchase", 10),
    ("event", 8),
    ("referral", 6),
    ("partner", 4),
    ("inbound_call", 4),
    ("api", 4),
    ("other", 3),
]
INDUSTRIES = [
    ("software", 14),
    ("saas", 8),
    ("financial services", 8),
    ("insurance", 5),
    ("healthcare", 7),
    ("manufacturing", 9),
    ("logistics", 5),
    ("retail", 6),
    ("e-commerce", 5),
    ("education", 4),
    ("media", 3),
    ("government", 2),
    (None, 14),
]
EMPLOYEE_BANDS = [(None, 10), ((1, 49), 25), ((50, 199), 20), ((200, 999), 20)]
EMPLOYEE_BANDS += [((1000, 9999), 17), ((10000, 100000), 8)]
TITLES = [
    "CEO",
    "Founder",
    "CFO",
    "VP Sales",
    "VP Operations",
    "Director of IT",
    "Head of Marketing",
    "Marketing Manager",
    "Procurement Manager",
    "Sales Operations Lead",
    "Software Engineer",
    "Analyst",
    "Student",
    "Marketing Intern",
    "",
]
FIRST = "ana ben chloe david emma felix grace hugo ines jonas kai lena marco nora omar".split()
FIRST += "paula quinn rosa sven tara uma victor wen xavier yara zoe".split()
LAST = "smith garcia muller martin rossi jansen nilsen tanaka silva kowalski dubois".split()
LAST += "schmidt brown novak costa lindqvist murphy kumar chen okafor".split()
WORDS = "acme blue north harbor summit vertex orbit maple granite atlas nimbus cobalt".split()
WORDS += "pioneer lumen apex delta prairie coral beacon falcon".split()
SUFFIXES = ["Inc", "Ltd", "GmbH", "SAS", "BV", "Pty Ltd", "Labs", "Group", "Systems"]
NAMED = ["Globex Corporation", "Initech", "Umbrella Corp", "Stark Industries", "Wayne Enterprises"]
FREE_MAIL = ["gmail.com", "outlook.com", "yahoo.com", "gmx.de", "orange.fr"]


def _weighted(rng: random.Random, options):
    values, weights = zip(*options, strict=True)
    return rng.choices(values, weights)[0]


def lead_payload(rng: random.Random, tag: str, index: int) -> dict:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    if rng.random() < 0.02:
        company = rng.choice(NAMED)
    else:
        company = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} "
        company += rng.choice(SUFFIXES)
    domain = re.sub(r"[^a-z]", "", company.lower())[:24] + ".example"
    if rng.random() < 0.15:
        domain = rng.choice(FREE_MAIL)
    payload: dict = {
        "first_name": first,
        "last_name": last,
        "email": f"{first}.{last}.{tag}{index}@{domain}",
        "company": company,
        "source": _weighted(rng, SOURCES),
        "title": rng.choice(TITLES),
    }
    country = _weighted(rng, COUNTRIES)
    if country:
        payload["country"] = country
    industry = _weighted(rng, INDUSTRIES)
    if industry:
        payload["industry"] = industry
    band = _weighted(rng, EMPLOYEE_BANDS)
    if band:
        low, high = band
        payload["employees"] = int(math.exp(rng.uniform(math.log(low), math.log(high + 1))))
    return payload


# ----------------------------------------------------------------------------------------------
# Children: the Django work runs in child processes (Django is set up once per process, and each
# engine needs its own settings).


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadline.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def seed_workspace(rng: random.Random, now, plain: bool = False) -> dict:
    """Teams, reps, rules and SLA policies; idempotent over a CLI-made workspace."""
    from datetime import time as dtime
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils.text import slugify

    from leadline.core.choices import Role
    from leadline.core.models import Membership, Team
    from leadline.routing.models import Absence, RoutingRule, SlaPolicy

    User = get_user_model()
    teams = {}
    for name, rotation, zone, is_default in TEAMS:
        team, _ = Team.objects.update_or_create(
            slug=slugify(name),
            defaults={
                "name": name,
                "rotation": rotation,
                "timezone": zone,
                "is_default": is_default,
            },
        )
        teams[name] = team
    reps = 0
    for name, rotation, _zone, _default in TEAMS:
        team = teams[name]
        for number in range(1, REPS_PER_TEAM + 1):
            username = f"{team.slug}-{number:02d}"
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User.objects.create_user(username, f"{username}@{REP_DOMAIN}", None)
            member, _ = Membership.objects.get_or_create(
                user=user, team=team, defaults={"role": Role.REP}
            )
            member.role = Role.REP
            member.weight = rng.choice([1, 1, 2, 2, 3, 4]) if rotation == "weighted" else 1
            member.daily_cap = None if plain else DAILY_CAPS.get(number)
            member.open_cap = None if plain else OPEN_CAPS.get(number)
            if number in OWN_HOURS and not plain:
                member.timezone = OWN_HOURS[number]
                member.day_start, member.day_end = dtime(9, 0), dtime(17, 0)
                member.work_days = [0, 1, 2, 3, 4]
            member.save()
            if plain:
                start = None
            elif number in ABSENT_NOW:
                start, end = now - timedelta(days=2), now + timedelta(days=5)
            elif number in ABSENT_PAST:
                start, end = now - timedelta(days=20), now - timedelta(days=10)
            elif number in ABSENT_LATER:
                start, end = now + timedelta(days=10), now + timedelta(days=17)
            else:
                start = None
            if start is not None:
                Absence.objects.create(user=user, starts_at=start, ends_at=end, reason="vacation")
            reps += 1
    RoutingRule.objects.all().delete()
    owners = {u.username: u for u in User.objects.filter(username__startswith="strategic-")}
    for order, (team, name, conditions, owner) in enumerate(routing_rules(), start=1):
        RoutingRule.objects.create(
            name=name,
            order=order * 10,
            conditions=conditions,
            team=teams[team],
            owner=owners.get(owner) if owner else None,
        )
    SlaPolicy.objects.all().delete()
    for order, (name, conditions, minutes, business) in enumerate(SLA_POLICIES, start=1):
        SlaPolicy.objects.create(
            name=name,
            order=order * 10,
            conditions=conditions,
            minutes=minutes,
            business_hours=business,
        )
    return {
        "teams": Team.objects.count(),
        "reps": Membership.objects.filter(role=Role.REP).count(),
        "rules": RoutingRule.objects.filter(is_active=True).count(),
        "sla_policies": SlaPolicy.objects.count(),
    }


def child_seed(plain: str = "") -> dict:
    _django()
    from django.db import transaction
    from django.utils import timezone

    with transaction.atomic():
        return seed_workspace(random.Random(SEED), timezone.now(), plain=plain == "plain")


def child_jobstats(ids_path: str) -> dict:
    """What the outbox says: capture → start of the worker round that ran each job."""
    _django()
    from leadline.core.models import Job

    ids = set(json.loads(Path(ids_path).read_text()))
    rows = Job.objects.filter(kind__in=["lead_captured", "notify_owner"]).values(
        "kind", "lead_id", "created_at", "done_at", "status", "attempts"
    )
    captured, notified, statuses, retried = {}, {}, {}, 0
    for row in rows:
        if row["lead_id"] not in ids:
            continue
        statuses[f"{row['kind']}:{row['status']}"] = (
            statuses.get(f"{row['kind']}:{row['status']}", 0) + 1
        )
        retried += row["attempts"] > 1
        (captured if row["kind"] == "lead_captured" else notified)[row["lead_id"]] = row
    pickup, notify_round = [], []
    for lead_id, row in captured.items():
        if row["done_at"]:
            pickup.append((row["done_at"] - row["created_at"]).total_seconds())
        other = notified.get(lead_id)
        if other and other["done_at"]:
            notify_round.append((other["done_at"] - row["created_at"]).total_seconds())
    return {
        "pickup_p50": pct(pickup, 0.5),
        "pickup_p99": pct(pickup, 0.99),
        "notify_round_p50": pct(notify_round, 0.5),
        "notify_round_p99": pct(notify_round, 0.99),
        "statuses": statuses,
        "retried": retried,
    }


def child_decisions(count: int, max_seconds: float) -> dict:
    _django()
    from datetime import timedelta

    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from leadline.core.choices import Role
    from leadline.core.conditions import all_match
    from leadline.core.models import Membership, Team
    from leadline.intake.pipeline import apply_score, normalise, score_record
    from leadline.leads.models import Lead
    from leadline.routing.assign import Router
    from leadline.routing.models import RoutingRule
    from leadline.scoring.rules import load_rules

    call_command("migrate", interactive=False, verbosity=0)
    rng = random.Random(SEED)
    now = timezone.now()
    with transaction.atomic():
        workspace = seed_workspace(rng, now)
        # Leads already owned, so load balancing and caps count real rows.
        members = list(Membership.objects.filter(role=Role.REP).select_related("team"))
        existing = []
        for i in range(3000):
            member = rng.choice(members)
            at = now - timedelta(hours=rng.uniform(0, 72))
            existing.append(
                Lead(
                    first_name="existing",
                    last_name=str(i),
                    email=f"existing{i}@old.example",
                    email_key=f"existing{i}@old.example",
                    owner_id=member.user_id,
                    team_id=member.team_id,
                    status=rng.choice(["new", "new", "working", "working", "nurture"]),
                    assigned_at=at,
                    captured_at=at,
                    created_at=at,
                    updated_at=at,
                    source="web_form",
                )
            )
        Lead.objects.bulk_create(existing, batch_size=500)
    # The records route() sees in capture: normalised, enriched, scored.
    scoring = load_rules()
    records = []
    for i in range(count):
        clean, errors = normalise(lead_payload(rng, "d", i))
        assert not errors, errors
        lead = Lead(**clean)
        lead.captured_at = lead.last_activity_at = now
        apply_score(lead, scoring, now)
        fields = {f.attname: getattr(lead, f.attname) for f in Lead._meta.concrete_fields}
        records.append(score_record(fields | {"custom": lead.custom}))
    out: dict = {"workspace": workspace, "vendor": connection.vendor}

    def timed(name, body):
        with transaction.atomic():
            start, cpu = time.perf_counter(), time.process_time()
            done, extra = body(start + max_seconds)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            transaction.set_rollback(True)
        out[name] = {
            "n": done,
            "seconds": elapsed,
            "per_s": done / elapsed if elapsed else 0,
            "cpu_us": cpu / max(1, done) * 1e6,
        }
        out[name].update(extra)

    rules = list(RoutingRule.objects.filter(is_active=True).select_related("team", "owner"))

    def rules_only(deadline):
        depth = 0
        done = 0
        for record in records:
            if time.perf_counter() > deadline:
                break
            index = next((i for i, r in enumerate(rules) if all_match(r.conditions, record)), 50)
            depth += index + 1
            done += 1
        return done, {"mean_rules_tested": depth / max(1, done)}

    def batch(deadline):
        router = Router(now)
        methods: dict[str, int] = {}
        by_rule = unassigned = skipped = 0
        done = 0
        for record in records:
            if time.perf_counter() > deadline:
                break
            a = router.route(record)
            done += 1
            methods[a.reason.get("method", "?")] = methods.get(a.reason.get("method", "?"), 0) + 1
            by_rule += a.reason.get("rule") is not None
            unassigned += a.owner_id is None
            skipped += sum("skipped" in c for c in a.reason.get("candidates", ()))
        router.flush()
        return done, {
            "methods": methods,
            "matched_rule": by_rule / max(1, done),
            "unassigned": unassigned,
            "mean_skipped": skipped / max(1, done),
        }

    def per_lead(make_router):
        def body(deadline):
            done = unassigned = 0
            for record in records:
                if time.perf_counter() > deadline:
                    break
                router = make_router()
                a = router.route(record)
                router.flush()
                unassigned += a.owner_id is None
                done += 1
            return done, {"unassigned": unassigned}

        return body

    # What capture() does for each new lead: the routing configuration from the pipeline's cache
    # (checked against the database each time) when the pipeline has one, else read each time.
    from leadline.intake import pipeline

    if hasattr(pipeline, "capture_config") and hasattr(pipeline, "_router"):
        out["per_capture_how"] = "capture_config() + pipeline._router()"

        def capture_router():
            return pipeline._router(pipeline.capture_config(), now)
    else:
        out["per_capture_how"] = "Router(now)"

        def capture_router():
            return Router(now)

    def rotation(deadline):
        try:
            router = Router(now)
            states = [router._state(team) for team in Team.objects.order_by("id")]
            next_rep = router._next_rep
        except AttributeError:  # the Router's internals changed: not measured
            return 0, {"missing": True}
        done = 0
        for i in range(len(records)):
            if time.perf_counter() > deadline:
                break
            next_rep(states[i % len(states)], {})
            done += 1
        router.flush()
        return done, {}

    timed("rules_only", rules_only)
    timed("batch", batch)
    timed("per_capture", per_lead(capture_router))
    timed("per_lead_cold", per_lead(lambda: Router(now)))
    timed("rotation", rotation)
    return out


def run_child(mode: str, env: dict, *extra: str, timeout: float = 900) -> dict:
    proc = subprocess.run(
        [sys.executable, str(THIS), "--child", mode, *extra],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {mode} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_cli(env: dict, *args: str, stdin: str | None = None) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "leadline", *args],
        env=env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"leadline {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return proc.stdout


# ----------------------------------------------------------------------------------------------
# Measuring helpers.


def pct(values, q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q
    f = math.floor(k)
    c = min(f + 1, len(s) - 1)
    return s[f] + (s[c] - s[f]) * (k - f)


class Inbox:
    """aiosmtpd handler: timestamps each message on arrival, indexes owner notifications."""

    def __init__(self):
        self.cond = threading.Condition()
        self.notified: dict[int, tuple[float, list[str]]] = {}
        self.messages = 0
        self.duplicates = 0
        self.unmatched: list[str] = []  # a few messages that were not owner notifications

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        at = time.perf_counter()
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        subject = str(message.get("Subject", "")).strip()
        part = message.get_body(preferencelist=("plain",))
        body = part.get_content() if part is not None else ""
        found = re.search(r"/leads/(\d+)/", body)
        with self.cond:
            self.messages += 1
            if found and subject.startswith("New lead"):
                lead_id = int(found.group(1))
                if lead_id in self.notified:
                    self.duplicates += 1
                else:
                    self.notified[lead_id] = (at, [r.lower() for r in envelope.rcpt_tos])
            elif len(self.unmatched) < 3:
                self.unmatched.append(f"{subject!r} {body[:300]!r}")
            self.cond.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, ids: set[int], timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        with self.cond:
            while not ids <= self.notified.keys():
                left = deadline - time.perf_counter()
                if left <= 0:
                    return
                self.cond.wait(min(left, 0.5))


class Client:
    """One keep-alive HTTP connection per thread, to 127.0.0.1 only."""

    def __init__(self, port: int, token: str):
        self.port, self.token, self.conn = port, token, None

    def post(self, path: str, body: dict, key: str) -> tuple[int, dict]:
        data = json.dumps(body).encode()
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,  # a retry after a dropped connection replays, never doubles
        }
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                self.conn.request("POST", path, body=data, headers=headers)
                response = self.conn.getresponse()
                raw = response.read()
                if (response.getheader("Connection") or "").lower() == "close":
                    self.close()
                try:
                    return response.status, json.loads(raw or b"{}")
                except ValueError:
                    return response.status, {"body": raw[:300].decode(errors="replace")}
            except (http.client.HTTPException, OSError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def free_port(ports) -> int:
    for port in ports:
        if port == SERVER_PORT:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8320-8399 for the bench's SMTP server")


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"leadline serve exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/openapi.json")
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"leadline serve not ready on 127.0.0.1:{port} after {timeout:.0f} s")


def stop_server(proc: subprocess.Popen | None) -> None:
    """SIGTERM the server's process group (gunicorn, its web workers, the worker), then KILL."""
    if proc is None:
        return
    pgid = proc.pid  # started with start_new_session=True: its own process group
    for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            proc.poll()
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                proc.poll()
                return
            time.sleep(0.1)
    proc.poll()


def base_env(data_dir: Path, engine: str) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LEADLINE_", "EMAIL_", "DATABASE_URL", "DJANGO_"))
    }
    env["LEADLINE_DATA_DIR"] = str(data_dir)
    env["DJANGO_SETTINGS_MODULE"] = "leadline.settings"
    env["LEADLINE_LOG_LEVEL"] = "WARNING"
    if engine == "postgres":
        env["DATABASE_URL"] = PG_URL
    return env


def recreate_pg_db(drop_only: bool = False) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{PG_DB}"')
        return conn.execute("SHOW server_version").fetchone()[0]


# ----------------------------------------------------------------------------------------------
# Part 1: the embedded setup, through HTTP and SMTP.


def capture_phase(
    port, token, payloads, concurrency, tag, deadline, interval=0.0
) -> tuple[list[dict], float]:
    local = threading.local()
    clients: list[Client] = []
    lock = threading.Lock()

    def client() -> Client:
        if not hasattr(local, "client"):
            local.client = Client(port, token)
            with lock:
                clients.append(local.client)
        return local.client

    def one(item) -> dict:
        index, payload = item
        if time.perf_counter() > deadline:
            return {"index": index, "skipped": True}
        sent = time.perf_counter()
        try:
            status, data = client().post("/api/v1/leads", payload, f"routing-bench-{tag}-{index}")
        except (http.client.HTTPException, OSError) as exc:
            return {"index": index, "error": f"{type(exc).__name__}: {exc}"}
        answered = time.perf_counter()
        lead = data.get("lead") or {}
        return {
            "index": index,
            "status": status,
            "sent": sent,
            "answered": answered,
            "lead_id": lead.get("id"),
            "owner": lead.get("owner"),
            "outcome": data.get("outcome"),
            "error": None if status in (200, 201) else json.dumps(data)[:300],
        }

    start = time.perf_counter()
    items = list(enumerate(payloads))
    if concurrency <= 1:
        samples = []
        for index, item in enumerate(items):
            if interval:  # paced: the next lead arrives `interval` after the previous one did
                time.sleep(max(0.0, min(start + index * interval, deadline) - time.perf_counter()))
            samples.append(one(item))
    else:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            samples = list(pool.map(one, items))
    elapsed = time.perf_counter() - start
    for c in clients:
        c.close()
    return samples, elapsed


def summarise(name, samples, elapsed, inbox: Inbox) -> dict:
    ok = [s for s in samples if s.get("lead_id") and not s.get("error")]
    owned = [s for s in ok if s["owner"]]
    latencies, misaddressed = [], 0
    for s in owned:
        got = inbox.notified.get(s["lead_id"])
        if got is None:
            continue
        at, rcpts = got
        if f"{s['owner']}@{REP_DOMAIN}".lower() not in rcpts:
            misaddressed += 1
        latencies.append(at - s["answered"])
    capture_ms = [(s["answered"] - s["sent"]) * 1000 for s in ok]
    arrivals = [inbox.notified[s["lead_id"]][0] for s in owned if s["lead_id"] in inbox.notified]
    span = max(arrivals) - min(s["sent"] for s in ok) if arrivals else 0
    return {
        "phase": name,
        "sent": len(samples),
        "ok": len(ok),
        "created": sum(s["outcome"] == "created" for s in ok),
        "owned": len(owned),
        "errors": [s["error"] for s in samples if s.get("error")][:2],
        "statuses": {
            str(code): sum(s.get("status") == code for s in samples)
            for code in sorted({s.get("status") for s in samples if s.get("status")})
        },
        "skipped": sum(bool(s.get("skipped")) for s in samples),
        "rate": len(ok) / elapsed if elapsed else 0,
        "email_rate": len(arrivals) / span if span > 0 else float("nan"),
        "capture_p50_ms": pct(capture_ms, 0.5),
        "capture_p99_ms": pct(capture_ms, 0.99),
        "notified": len(latencies),
        "misaddressed": misaddressed,
        "before_response": sum(x < 0 for x in latencies),
        "notify_p50": pct(latencies, 0.5),
        "notify_p99": pct(latencies, 0.99),
        "notify_max": max(latencies) if latencies else float("nan"),
    }


def run_embedded(engine: str, args) -> dict:
    data_dir = Path(tempfile.mkdtemp(prefix=f"leadline-routing-{engine}-"))
    env = base_env(data_dir, engine)
    version = recreate_pg_db() if engine == "postgres" else None
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    smtp_port = free_port(SMTP_PORTS)
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    server = None
    log_path = data_dir / "serve.log"
    result: dict = {"engine": engine, "pg_version": version, "phases": []}
    result["load_before"] = os.getloadavg()
    try:
        controller.start()
        t0 = time.perf_counter()
        run_cli(env, "migrate", "--verbosity", "0")
        manager = "bench-manager"
        run_cli(
            env,
            *("createuser", manager, "--team", "Inbound", "--role", "manager"),
            *("--email", f"{manager}@{REP_DOMAIN}", "--password-stdin"),
            stdin=PASSWORD + "\n",
        )
        for n in (1, 2):
            rep = f"inbound-{n:02d}"
            run_cli(
                env,
                *("createuser", rep, "--team", "Inbound", "--role", "rep"),
                *("--email", f"{rep}@{REP_DOMAIN}", "--password-stdin"),
                stdin=PASSWORD + "\n",
            )
        token = run_cli(env, "token", manager).strip().splitlines()[-1]
        result["workspace"] = run_child("seed", env, *(["plain"] if args.plain_reps else []))
        result["setup_seconds"] = time.perf_counter() - t0
        if port_in_use(args.port):
            raise RuntimeError(f"127.0.0.1:{args.port} is already in use; pick --port in 8300-8399")
        server_env = dict(env)
        server_env.update(
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(smtp_port),
            LEADLINE_SITE_URL=f"http://127.0.0.1:{args.port}",
            # gunicorn 23+ opens a control socket in $XDG_RUNTIME_DIR (else ~/.gunicorn), shared
            # by every gunicorn of the user on this host: give this server its own.
            XDG_RUNTIME_DIR=str(data_dir),
        )
        if args.worker_poll is not None:
            server_env["LEADLINE_WORKER_POLL_SECONDS"] = str(args.worker_poll)
        with open(log_path, "wb") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "leadline", "serve", "--port", str(args.port)],
                env=server_env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_ready(args.port, server)
        rng = random.Random(SEED + (1 if engine == "sqlite" else 2))
        deadline = time.perf_counter() + args.phase_seconds
        warm = [lead_payload(rng, "w", i) for i in range(16)]
        samples, _ = capture_phase(args.port, token, warm, 8, f"{engine}-warm", deadline)
        inbox.wait_for({s["lead_id"] for s in samples if s.get("owner")}, 15)
        all_ids: list[int] = []
        phases = [
            ("one at a time, back to back", 1, 0.0, args.leads),
            (f"{args.concurrency} concurrent", args.concurrency, 0.0, args.leads),
        ]
        if args.rate > 0:
            count = min(args.leads, max(1, int(args.rate * args.paced_seconds)))
            phases.insert(0, (f"paced, {args.rate:g} leads/s", 1, 1 / args.rate, count))
        for p, (name, concurrency, interval, count) in enumerate(phases):
            payloads = [lead_payload(rng, f"p{p}", i) for i in range(count)]
            deadline = time.perf_counter() + args.phase_seconds
            samples, elapsed = capture_phase(
                args.port, token, payloads, concurrency, f"{engine}-{p}", deadline, interval
            )
            if server.poll() is not None:
                raise RuntimeError(f"leadline serve exited ({server.returncode}) during {name}")
            ids = {s["lead_id"] for s in samples if s.get("lead_id") and s.get("owner")}
            inbox.wait_for(ids, args.mail_wait)
            all_ids += sorted(ids)
            summary = summarise(name, samples, elapsed, inbox)
            result["phases"].append(summary)
            print(f"  [{engine}] {name}: {fmt_phase(summary)}", flush=True)
        ids_path = data_dir / "ids.json"
        ids_path.write_text(json.dumps(all_ids))
        result["jobs"] = run_child("jobstats", env, str(ids_path))
        result["smtp_messages"] = inbox.messages
        result["smtp_duplicates"] = inbox.duplicates
        result["smtp_unmatched"] = inbox.unmatched
        result["load_after"] = os.getloadavg()
    except Exception:
        if log_path.exists():
            print(f"--- tail of {log_path} ---", file=sys.stderr)
            print(log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
    finally:
        stop_server(server)
        controller.stop()
        if engine == "postgres" and not args.keep:
            recreate_pg_db(drop_only=True)
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            print(f"  kept {data_dir}")
    return result


def fmt_load(load) -> str:
    return "/".join(f"{x:.1f}" for x in load)


def fmt_phase(s: dict) -> str:
    return (
        f"{s['ok']}/{s['sent']} captured, {s['owned']} with owner, {s['notified']} notified, "
        f"notify p50 {s['notify_p50']:.3f} s p99 {s['notify_p99']:.3f} s"
    )


# ----------------------------------------------------------------------------------------------
# Part 2: routing decisions per second.


def run_decisions(engine: str, args) -> dict:
    data_dir = Path(tempfile.mkdtemp(prefix=f"leadline-routing-dec-{engine}-"))
    env = base_env(data_dir, engine)
    if engine == "postgres":
        recreate_pg_db()
    load_before = os.getloadavg()
    try:
        result = run_child(
            "decisions", env, str(args.decisions), str(args.decision_seconds), timeout=1800
        )
    finally:
        if engine == "postgres" and not args.keep:
            recreate_pg_db(drop_only=True)
        shutil.rmtree(data_dir, ignore_errors=True)
    result["engine"] = engine
    result["load"] = (load_before, os.getloadavg())
    return result


# ----------------------------------------------------------------------------------------------


def report(latency: list[dict], decisions: list[dict], args) -> bool:
    passed = True
    if latency:
        print("\n## Capture → owner assigned → owner notified (embedded: `leadline serve`)\n")
        print(
            "| engine | phase | leads | owner in response | captures/s | capture p50 / p99 "
            "(= time to owner) | notified | emails/s | notify p50 | notify p99 | notify max | "
            f"target p99 ≤ {TARGET_NOTIFY_P99:g} s |"
        )
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in latency:
            for s in r["phases"]:
                why = []
                if not s["owned"] == s["ok"] == s["sent"]:
                    failed = s["sent"] - s["ok"]
                    why.append(f"{s['sent'] - s['owned']} without owner ({failed} failed)")
                if s["notified"] < s["owned"] or s["misaddressed"]:
                    why.append(f"{s['owned'] - s['notified'] + s['misaddressed']} not notified")
                if not s["notify_p99"] <= TARGET_NOTIFY_P99:
                    why.append("p99 > 2 s")
                verdict = "FAIL: " + ", ".join(why) if why else "PASS"
                passed &= not why or r["engine"] != "sqlite"
                print(
                    f"| {r['engine']} | {s['phase']} | {s['sent']} | {s['owned']}/{s['sent']} | "
                    f"{s['rate']:.0f} | {s['capture_p50_ms']:.0f} / {s['capture_p99_ms']:.0f} ms "
                    f"| {s['notified']}/{s['owned']} | {s['email_rate']:.1f} | "
                    f"{s['notify_p50']:.3f} s | "
                    f"{s['notify_p99']:.3f} s | {s['notify_max']:.3f} s | {verdict} |"
                )
        print()
        for r in latency:
            j = r.get("jobs", {})
            print(
                f"- {r['engine']}: workspace {r['workspace']}; outbox (from the Job table): "
                f"capture → worker round that ran `lead_captured` p50 {j.get('pickup_p50', 0):.3f}"
                f" s / p99 {j.get('pickup_p99', 0):.3f} s, → round that ran `notify_owner` "
                f"p50 {j.get('notify_round_p50', 0):.3f} s / p99 "
                f"{j.get('notify_round_p99', 0):.3f} s; jobs {j.get('statuses')}, retried "
                f"{j.get('retried')}; SMTP messages {r['smtp_messages']} "
                f"(duplicate notifications {r['smtp_duplicates']}); load average (1/5/15 min) "
                f"before {fmt_load(r['load_before'])}, after {fmt_load(r['load_after'])}"
                + (f"; PostgreSQL {r['pg_version']}" if r["pg_version"] else "")
            )
            for sample in r.get("smtp_unmatched", ()):
                print(f"  - a message that is not an owner notification: {sample}")
            for s in r["phases"]:
                if s["errors"] or s["misaddressed"] or s["before_response"] or s["skipped"]:
                    print(
                        f"  - {s['phase']}: HTTP statuses {s['statuses']}, first errors "
                        f"{s['errors']}, misaddressed "
                        f"{s['misaddressed']}, email before response {s['before_response']}, "
                        f"skipped (time bound) {s['skipped']}"
                    )
    if decisions:
        print("\n## Routing decisions per second (50 rules, 10 teams, 200 reps, in-process)\n")
        print(
            "| engine | path | decisions | decisions/s | µs / decision | "
            "CPU µs / decision (bench process) |"
        )
        print("|---|---|---:|---:|---:|---:|")
        labels = {
            "rules_only": "rules only (first match of 50, no DB)",
            "batch": "batch: one Router, route() × N, flush() once (capture_batch)",
            "per_capture": "per capture, as capture() does: router + route() + flush()",
            "per_lead_cold": "per lead, cold: Router(now) reads rules/teams/policies + route() "
            "+ flush()",
            "rotation": "rotation only: _next_rep()",
        }
        for r in decisions:
            for key, label in labels.items():
                m = r[key]
                print(
                    f"| {r['engine']} | {label} | {m['n']:,} | {m['per_s']:,.0f} | "
                    f"{1e6 / m['per_s'] if m['per_s'] else float('nan'):,.1f} | "
                    f"{m['cpu_us']:,.1f} |"
                )
        print()
        for r in decisions:
            b = r["batch"]
            print(
                f"- {r['engine']}: {r['workspace']}; batch path: {b['matched_rule']:.0%} matched "
                f"a rule (mean {r['rules_only']['mean_rules_tested']:.1f} rules tested), "
                f"methods {b['methods']}, unassigned {b['unassigned']}, mean reps skipped "
                f"{b['mean_skipped']:.1f}; per-capture unassigned {r['per_capture']['unassigned']}"
                f"; load average before {fmt_load(r['load'][0])}, after {fmt_load(r['load'][1])}"
                f"; per-capture router: {r['per_capture_how']}"
            )
    print("\n" + ODOO_NOTE)
    return passed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=300, help="leads per HTTP phase")
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--parts", default="latency,decisions")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--rate", type=float, default=2.0, help="paced phase: leads per second (0: no paced phase)"
    )
    parser.add_argument("--paced-seconds", type=float, default=60, help="paced phase length")
    parser.add_argument("--port", type=int, default=SERVER_PORT)
    parser.add_argument(
        "--worker-poll",
        type=float,
        default=None,
        help="LEADLINE_WORKER_POLL_SECONDS for the server (default: the product's)",
    )
    parser.add_argument("--decisions", type=int, default=20000, help="records per decision path")
    parser.add_argument("--decision-seconds", type=float, default=60, help="time bound per path")
    parser.add_argument("--phase-seconds", type=float, default=300, help="time bound per phase")
    parser.add_argument("--mail-wait", type=float, default=30, help="max wait for late emails")
    parser.add_argument("--keep", action="store_true", help="keep data dirs and the database")
    parser.add_argument(
        "--plain-reps",
        action="store_true",
        help="part 1: reps without caps, own hours or absences (routing explanations stay short)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("child_args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        handlers = {
            "seed": lambda: child_seed(*args.child_args),
            "jobstats": lambda: child_jobstats(*args.child_args),
            "decisions": lambda: child_decisions(
                int(args.child_args[0]), float(args.child_args[1])
            ),
        }
        print(json.dumps(handlers[args.child](), default=str))
        return 0

    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(engines) - {"sqlite", "postgres"}
    if unknown:
        parser.error(f"unknown engine(s): {', '.join(sorted(unknown))}")
    if not 8300 <= args.port <= 8399:
        parser.error("--port must be in 8300-8399 (this bench's range)")
    if not 1 <= args.leads <= 100_000 or not 1 <= args.concurrency <= 64:
        parser.error("--leads must be 1-100000 and --concurrency 1-64")
    parts = set(args.parts.split(","))
    print(
        f"Leadline routing bench: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"worker poll {args.worker_poll if args.worker_poll is not None else 'product default'}"
        f", {args.leads} leads per phase, concurrency {args.concurrency}"
        f"{', reps without caps/hours/absences' if args.plain_reps else ''}",
        flush=True,
    )
    latency, decisions = [], []
    if "latency" in parts:
        for engine in engines:
            print(f"embedded setup on {engine} …", flush=True)
            latency.append(run_embedded(engine, args))
    if "decisions" in parts:
        for engine in engines:
            print(f"routing decisions on {engine} …", flush=True)
            decisions.append(run_decisions(engine, args))
    return 0 if report(latency, decisions, args) else 1


def _use_venv() -> None:
    """Re-run with the project's virtualenv when started from another interpreter."""
    try:
        import aiosmtpd  # noqa: F401
        import django  # noqa: F401
    except ImportError:
        if VENV_PY.exists() and Path(sys.executable) != VENV_PY:
            os.execv(str(VENV_PY), [str(VENV_PY), *sys.argv])
        raise


if __name__ == "__main__":
    _use_venv()
    sys.exit(main())
