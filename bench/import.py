"""A lead file imported end to end, beside a floor, on SQLite and PostgreSQL.

    python bench/import.py [--rows 1000000] [--existing 1000000] [--engines sqlite,postgres]

For each engine: a fresh database (SQLite in a new data directory, or a fresh
`leadline_bench_import` PostgreSQL database), migrated, with a default team of five reps (so
routing and the SLA clock run) and `--existing` leads already stored (bulk-inserted). The file is a
Salesforce-style lead report written by this script: `--rows` rows, 19 columns (names, email,
phone, mobile, title, company, website, industry, employees "1,200", revenue "$1,250,000",
street, city, state, zip, country names, lead source labels, status, description with commas and
the odd quoted newline), with 3% rows repeating an earlier person of the file, 2% people already in
the database, 1% rows with an invalid email and 2% with a malformed phone number.

Leadline: `python -m leadline import FILE --campaign … --cost …`, a subprocess: hash, sniff,
auto-map, stream in batches of 1,000, normalise, de-duplicate (in the file and against the
database), score, route, start the SLA clock, write timeline events and the per-row report, and
record progress so the import can resume.

Floor: pyarrow's streaming CSV reader (columnar, all columns as strings) and a bulk insert of the
raw rows (no normalising beyond truncating to the column sizes) into the same indexed leads
table — executemany of INSERT OR IGNORE in 50,000-row transactions on SQLite, COPY into a
temporary table then INSERT … ON CONFLICT DO NOTHING on PostgreSQL. The unique indexes drop
duplicates. It runs first; its rows are deleted before Leadline's import.

Each step is its own process; its time is wall time from start to exit, and its peak memory the
process's maximum resident set size (wait4). `vs floor` is Leadline's rows/s over the floor's.
"""

import argparse
import csv
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_NAME = "leadline_bench_import"

HEADERS = [
    "First Name",
    "Last Name",
    "Email",
    "Phone",
    "Mobile",
    "Title",
    "Company / Account",
    "Website",
    "Industry",
    "No. of Employees",
    "Annual Revenue",
    "Street",
    "City",
    "State/Province",
    "Zip/Postal Code",
    "Country",
    "Lead Source",
    "Lead Status",
    "Description",
]
FIRST = (
    "Ana Ben Chloe David Elena Farid Grace Hugo Ines Jonas Kara Liam Maya Noah Olga Priya "
    "Quentin Rosa Sven Tomas Uma Victor Wen Ximena Yusuf Zoe Aiko Bruno Carmen Dmitri"
).split()
LAST = (
    "Okafor Schmidt Dubois Rossi Novak Garcia Smith Jensen Kowalski Silva Tanaka Müller "
    "O'Brien Nguyen Haddad Fischer Moreau Costa Lindqvist Petrov Ahmed Kim Rivera"
).split()
COMPANY_WORDS = (
    "North Blue Kestrel Orbit Tessera Harbor Summit Copper Lumen Atlas Vertex Pine "
    "Granite Nimbus Cobalt Quarry Willow Ember Prism Beacon"
).split()
COMPANY_KINDS = (
    "Analytics Insurance Logistics Health Labs Bank Foods Robotics Energy Media Retail Security"
).split()
SUFFIXES = ["Inc.", "LLC", "Ltd", "GmbH", "S.A.", "Corp.", "AB", ""]
TITLES = [
    "CEO",
    "VP Sales",
    "Head of Operations",
    "Marketing Manager",
    "Software Engineer",
    "CFO",
    "Director of IT",
    "Procurement Lead",
    "Founder",
    "Office Manager",
]
INDUSTRIES = [
    "Software",
    "Insurance",
    "Logistics",
    "Healthcare",
    "Financial Services",
    "Retail",
    "Manufacturing",
    "Media",
    "Energy",
    "Education",
]
SOURCES = [
    "Web",
    "Purchased List",
    "Trade Show",
    "Partner Referral",
    "Webinar",
    "Phone Inquiry",
    "Other",
]
STATUSES = ["Open - Not Contacted", "Working - Contacted", "Nurturing"]


COUNTRY_NAMES = {
    "US": "United States",
    "GB": "United Kingdom",
    "DE": "Germany",
    "FR": "France",
    "ES": "Spain",
    "IT": "Italy",
    "NL": "Netherlands",
    "CA": "Canada",
    "AU": "Australia",
}


def people(rows: int, rng: random.Random):
    """New people as a real list has them (bench/gen_leads.py's world): given names and
    surnames by country with Zipf-like weights and a long tail, about 0.45 companies a person
    with Zipf-like sizes, unique mailboxes and direct numbers, a quarter giving the
    switchboard. (The file used to draw from 30 given names, 23 surnames and 240 company
    names: the duplicate matcher rightly took many of its "new people" for people already
    seen, so the import measured that instead.)"""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import gen_leads

    world = gen_leads._World(rng, rows)

    def person(n: int) -> dict:
        p = gen_leads._new_person(world, n)
        domain = p.company["domain"]
        mobile = "" if n % 3 else gen_leads.format_phone(rng, p.cc, world.new_phone(p.cc))
        return {
            "First Name": p.first,
            "Last Name": p.last,
            "Email": p.email,
            "Phone": gen_leads.format_phone(rng, p.phone_cc, p.phone_nsn),
            "Mobile": mobile,
            "Title": rng.choice(TITLES),
            "Company / Account": gen_leads._company_name(rng, p.company),
            "Website": f"www.{domain}",
            "Industry": rng.choice(INDUSTRIES),
            "No. of Employees": f"{rng.choice([12, 45, 120, 480, 1200, 5400, 22000]):,}",
            "Annual Revenue": f"${rng.choice([250, 1250, 8000, 42000, 310000]) * 1000:,}",
            "Street": f"{n % 400 + 1} {rng.choice(COMPANY_WORDS)} Street",
            "City": p.city,
            "State/Province": "",
            "Zip/Postal Code": p.postcode,
            "Country": COUNTRY_NAMES.get(p.cc, p.cc),
            "Lead Source": rng.choice(SOURCES),
            "Lead Status": rng.choice(STATUSES),
            "Description": (
                "Asked about pricing, volume discounts, and onboarding"
                if n % 5
                else "Met at the booth.\nWants a call in Q3, after budget review"
            ),
        }

    return person


def existing_email(i: int) -> str:
    return f"known.person.{i}@existing-customer{i % 500}.com"


def write_file(path: Path, rows: int, existing: int, seed: int = 7) -> None:
    """The lead file: new people, with duplicates, known people and bad rows mixed in."""
    rng = random.Random(seed)
    person = people(rows, rng)
    earlier: list[dict] = []
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, HEADERS, lineterminator="\r\n")
        writer.writeheader()
        for n in range(rows):
            roll = rng.random()
            if roll < 0.03 and earlier:  # the same person again, a field or two changed
                row = dict(rng.choice(earlier))
                row["Title"] = rng.choice(TITLES)
            else:
                row = person(n)
                if roll < 0.05 and existing:
                    row["Email"] = existing_email(rng.randrange(existing))
                elif roll < 0.06:
                    row["Email"] = row["Email"].replace("@", " at ")
                elif roll < 0.08:
                    row["Phone"] = "ask for Bob"
                if len(earlier) < 50_000:
                    earlier.append(row)
                elif rng.random() < 0.01:
                    earlier[rng.randrange(len(earlier))] = row
            writer.writerow(row)


# --- steps (each runs in its own process) -------------------------------------------------------


def step_setup(existing: int) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from leadline.core.models import Membership, Team

    call_command("migrate", verbosity=0)
    team = Team.objects.create(
        name="Sales", slug="sales", is_default=True, timezone="America/New_York"
    )
    users = []
    for i in range(5):
        user = get_user_model().objects.create_user(f"rep{i}", f"rep{i}@example.com", None)
        Membership.objects.create(user=user, team=team, role="rep")
        users.append(user)
    # The leads already stored go in as raw rows (the floor's own writer): building a million
    # model instances would take longer than the benchmark itself.
    columns, defaults, write = _lead_writer("seed_rows")
    at = {name: i for i, name in enumerate(columns)}
    rng = random.Random(11)
    pending = []
    for i in range(existing):
        email = existing_email(i)
        row = list(defaults)
        row[at["first_name"]] = rng.choice(FIRST)
        row[at["last_name"]] = rng.choice(LAST)
        row[at["email"]] = row[at["email_key"]] = email
        row[at["company_domain"]] = email.rpartition("@")[2]
        row[at["company"]] = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}"
        row[at["title"]] = rng.choice(TITLES)
        row[at["source"]] = "web_form"
        row[at["team_id"]] = team.pk
        row[at["owner_id"]] = users[i % len(users)].pk
        row[at["score"]] = rng.randrange(0, 80)
        row[at["external_id"]] = f"seed:{i}"
        pending.append(row)
        if len(pending) == 50_000:
            write(pending)
    write(pending)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _lead_columns():
    from django.db import connection
    from django.db.models import JSONField

    from leadline.leads.models import Lead

    columns, defaults = [], []
    for f in Lead._meta.concrete_fields:
        if f.primary_key:
            continue
        value = f.get_default()
        if isinstance(f, JSONField):
            import json

            value = json.dumps(value)
        else:
            value = f.get_db_prep_save(value, connection)
        columns.append(f.column)
        defaults.append(value)
    return columns, defaults


def _lead_writer(temp_table: str):
    """(columns, their default values, write(rows)): `write` stores rows (lists of column
    values) in the indexed leads table in one transaction and empties the list; a row the
    unique indexes refuse is dropped. SQLite: executemany of INSERT OR IGNORE; PostgreSQL: COPY
    into a temporary table, then INSERT … ON CONFLICT DO NOTHING."""
    from django.db import connection, transaction

    columns, defaults = _lead_columns()
    names = ", ".join(columns)
    postgres = connection.vendor == "postgresql"
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE {temp_table} AS SELECT {names} FROM leads_lead LIMIT 0"
            )
        insert = (
            f"INSERT INTO leads_lead ({names}) SELECT {names} FROM {temp_table} "
            "ON CONFLICT DO NOTHING"
        )
    else:
        insert = (
            f"INSERT OR IGNORE INTO leads_lead ({names}) VALUES "
            f"({', '.join(['%s'] * len(columns))})"
        )

    def write(rows: list) -> None:
        if not rows:
            return
        with transaction.atomic(), connection.cursor() as cursor:
            if postgres:
                with cursor.cursor.copy(f"COPY {temp_table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cursor.execute(insert)
                cursor.execute(f"TRUNCATE {temp_table}")
            else:
                cursor.executemany(insert, rows)
        rows.clear()

    return columns, defaults, write


def _number(text: str):
    digits = "".join(ch for ch in text if ch.isdigit())
    return int(digits) if digits and len(digits) < 10 else None


def step_floor(path: Path) -> None:
    """pyarrow reads; the raw rows go into the same indexed leads table."""
    import django

    django.setup()
    import pyarrow as pa
    import pyarrow.csv as pacsv

    limits = {
        "first_name": 100,
        "last_name": 100,
        "email": 254,
        "email_key": 254,
        "phone": 40,
        "title": 150,
        "company": 200,
        "website": 300,
        "industry": 100,
        "city": 100,
        "region": 100,
        "country": 2,
        "source_detail": 200,
    }
    mapping = [
        ("First Name", "first_name"),
        ("Last Name", "last_name"),
        ("Email", "email"),
        ("Phone", "phone"),
        ("Title", "title"),
        ("Company / Account", "company"),
        ("Website", "website"),
        ("Industry", "industry"),
        ("City", "city"),
        ("State/Province", "region"),
        ("Country", "country"),
        ("Lead Source", "source_detail"),
    ]
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=8 << 20),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(HEADERS, pa.string())),
    )
    columns, defaults, flush = _lead_writer("floor_rows")
    at = {name: i for i, name in enumerate(columns)}
    number, pending = 0, []
    for batch in reader:
        data = batch.to_pydict()
        size = batch.num_rows
        for i in range(size):
            row = list(defaults)
            for header, column in mapping:
                value = data[header][i] or ""
                row[at[column]] = value[: limits[column]]
            row[at["email_key"]] = row[at["email"]].lower()
            row[at["employees"]] = _number(data["No. of Employees"][i] or "")
            row[at["source"]] = "import"
            row[at["external_id"]] = f"floor:{number}"
            number += 1
            pending.append(row)
            if len(pending) >= 50_000:
                flush(pending)
    flush(pending)


def step_count() -> None:
    import django

    django.setup()
    from leadline.leads.models import Lead

    print(Lead.objects.count(), Lead.objects.filter(external_id__startswith="floor:").count())


def step_delete_floor() -> None:
    import django

    django.setup()
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # The floor's rows have nothing pointing at them; SQLite would otherwise check
            # every table referring to leads, row by row.
            cursor.execute("PRAGMA foreign_keys = OFF")
        cursor.execute("DELETE FROM leads_lead WHERE external_id LIKE 'floor:%'")
        cursor.execute("ANALYZE" if connection.vendor == "postgresql" else "PRAGMA optimize")


WRITTEN = ("leads_lead", "leads_event", "quality_leadkey", "core_job")


def step_writes(existing: int) -> None:
    """SQLite: the rows Leadline's import wrote (its new leads, their timeline events, blocking
    keys and outbox jobs) written again by SQLite alone — INSERT … SELECT into empty copies of
    the same tables with the same indexes, the stored leads copied in first, 1,000 leads a
    transaction as the import commits — so no Python runs per row. Prints that CPU time: what
    the import's writes cost before any parsing, normalising, scoring, routing or matching."""
    import sqlite3

    source = Path(os.environ["LEADLINE_DATA_DIR"]) / "leadline.sqlite3"
    copy = source.with_name("writes-alone.sqlite3")
    copy.unlink(missing_ok=True)
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute(f"ATTACH '{source}' AS s")
    db.execute(f"ATTACH '{copy}' AS w")
    db.execute("PRAGMA w.journal_mode=WAL")
    db.execute("PRAGMA w.synchronous=NORMAL")
    for table in WRITTEN:
        rows = db.execute(
            "SELECT sql FROM s.sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
            "ORDER BY type DESC",  # the table before its indexes
            [table],
        ).fetchall()
        for (sql,) in rows:
            sql = re.sub(r'^CREATE (UNIQUE )?(TABLE|INDEX) "?(\w+)"?', r'CREATE \1\2 w."\3"', sql)
            db.execute(re.sub(r'REFERENCES "\w+" \("\w+"\) DEFERRABLE INITIALLY DEFERRED', "", sql))
    db.execute(f"INSERT INTO w.leads_lead SELECT * FROM s.leads_lead WHERE id <= {existing}")
    ids = [
        r[0] for r in db.execute(f"SELECT id FROM s.leads_lead WHERE id > {existing} ORDER BY id")
    ]
    written = dict.fromkeys(WRITTEN, 0)
    start = time.process_time()
    for at in range(0, len(ids), 1000):
        first, last = ids[at], ids[min(at + 999, len(ids) - 1)]
        db.execute("BEGIN")
        for table in WRITTEN:
            column = "id" if table == "leads_lead" else "lead_id"
            written[table] += db.execute(
                f"INSERT INTO w.{table} SELECT * FROM s.{table} "
                f"WHERE {column} BETWEEN {first} AND {last}"
            ).rowcount
        db.execute("COMMIT")
    cpu = time.process_time() - start
    db.close()
    copy.unlink(missing_ok=True)
    print(cpu, " ".join(f"{n}" for n in written.values()))


# --- orchestration ------------------------------------------------------------------------------


@dataclass
class Step:
    """One step's process: wall seconds, CPU seconds (user + system), peak RSS, stdout."""

    wall: float
    cpu: float
    peak_mb: float
    out: str


def run_step(env: dict, *args: str) -> Step:
    """Run one step in its own process and measure it."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, *args], env=env, cwd=ROOT, stdout=out, stderr=err, text=True
        )
        _pid, status, usage = os.wait4(process.pid, 0)  # the child's own peak memory
        elapsed = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode:
            sys.stderr.write(err.read())
            raise SystemExit(f"step failed: {' '.join(args)}")
        cpu = usage.ru_utime + usage.ru_stime
        return Step(elapsed, cpu, usage.ru_maxrss / 1024, out.read())


def engine_env(engine: str, work: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env["LEADLINE_DATA_DIR"] = str(work / f"{engine}-data")
    env["DJANGO_SETTINGS_MODULE"] = "leadline.settings"
    env["PYTHONPATH"] = str(ROOT)
    if engine == "postgres":
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{PG_NAME}"')
        env["DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_NAME
    return env


class ServerCpu:
    """CPU seconds of the PostgreSQL backends serving the bench database while a step runs.

    The server's work is not in the step's own rusage; its backends are sampled from /proc
    (the database runs on this machine) every quarter of a second, keeping each one's last
    reading. SQLite runs inside the step's process, so there is nothing to add.
    """

    def __init__(self, engine: str):
        self.enabled = engine == "postgres"
        self.ticks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self):
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self.enabled:
            self._thread.join()

    def _poll(self) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            while not self._stop.is_set():
                rows = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", [PG_NAME]
                ).fetchall()
                for (pid,) in rows:
                    try:
                        stat = Path(f"/proc/{pid}/stat").read_text()
                    except OSError:
                        continue
                    fields = stat.rpartition(")")[2].split()
                    self.ticks[pid] = int(fields[11]) + int(fields[12])  # utime + stime
                self._stop.wait(0.25)

    @property
    def seconds(self) -> float:
        return sum(self.ticks.values()) / os.sysconf("SC_CLK_TCK")


def measured(engine: str, env: dict, *args: str) -> tuple[Step, float, float]:
    """A step, the database server's CPU seconds during it, and the 1-minute load average
    when it started."""
    load = os.getloadavg()[0]
    with ServerCpu(engine) as server:
        step = run_step(env, *args)
    return step, server.seconds, load


def bench_engine(engine: str, path: Path, args, work: Path) -> dict:
    env = engine_env(engine, work)
    me = str(Path(__file__).resolve())
    setup = run_step(env, me, "--step", "setup", "--existing", str(args.existing))
    print(f"  setup: migrated, {args.existing:,} leads stored in {setup.wall:.0f}s", flush=True)
    floor, floor_server, floor_load = measured(engine, env, me, "--step", "floor", str(path))
    total, floor_rows = map(int, run_step(env, me, "--step", "count").out.split())
    print(
        f"  floor: {floor.wall:.1f}s wall, {floor.cpu:.1f}s CPU (+{floor_server:.1f}s database "
        f"server), {floor_rows:,} rows stored, peak {floor.peak_mb:.0f} MB, load {floor_load:.2f}",
        flush=True,
    )
    run_step(env, me, "--step", "delete-floor")
    ours, ours_server, ours_load = measured(
        engine,
        env,
        "-m",
        "leadline",
        "import",
        str(path),
        "--campaign",
        "Bench list",
        "--cost",
        "1000",
        "-v",
        "0",
    )
    after = int(run_step(env, me, "--step", "count").out.split()[0])
    summary = ours.out.strip().splitlines()[-1] if ours.out.strip() else ""
    created = after - (total - floor_rows)
    said = re.search(r"([\d,]+) new", summary)
    agree = (
        "the summary's new count agrees"
        if said and int(said.group(1).replace(",", "")) == created
        else "NOT the summary's new count"
    )
    print(
        f"  leadline: {ours.wall:.1f}s wall, {ours.cpu:.1f}s CPU (+{ours_server:.1f}s database "
        f"server), {created:,} leads created ({agree}), peak {ours.peak_mb:.0f} MB, "
        f"load {ours_load:.2f}\n    {summary}",
        flush=True,
    )
    writes = None
    if engine == "sqlite":
        out = run_step(env, me, "--step", "writes", "--existing", str(args.existing)).out.split()
        writes = float(out[0])
        leads, events, keys, jobs = map(int, out[1:])
        print(
            f"  its new leads' writes alone (SQLite, no Python per row: {leads:,} leads, "
            f"{events:,} events, {keys:,} blocking keys, {jobs:,} jobs): {writes:.1f}s CPU = "
            f"{writes / floor.cpu:.2f}x the floor's CPU",
            flush=True,
        )
    return {
        "engine": engine,
        "writes": writes,
        "ours": ours,
        "ours_server": ours_server,
        "floor": floor,
        "floor_server": floor_server,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the file")
    parser.add_argument(
        "--existing",
        type=int,
        default=None,
        help="leads already in the database (default: as many as --rows)",
    )
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("file", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.existing is None:
        args.existing = args.rows
    if args.step:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadline.settings")
        sys.path.insert(0, str(ROOT))
        {
            "setup": lambda: step_setup(args.existing),
            "floor": lambda: step_floor(Path(args.file)),
            "count": step_count,
            "delete-floor": step_delete_floor,
            "writes": lambda: step_writes(args.existing),
        }[args.step]()
        return
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    work = Path(tempfile.mkdtemp(prefix="llimport-bench-"))
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}, work dir: {work}")
    path = work / "leads.csv"
    started = time.monotonic()
    write_file(path, args.rows, args.existing)
    print(
        f"file: {args.rows:,} rows, {len(HEADERS)} columns, "
        f"{path.stat().st_size / 1e6:.0f} MB, written in {time.monotonic() - started:.0f}s"
    )
    results = []
    try:
        for engine in engines:
            print(f"{engine}:", flush=True)
            results.append(bench_engine(engine, path, args, work))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(
        f"{'engine':<9} {'':<9} {'wall s':>7} {'rows/s':>8} {'CPU s':>7} {'+server':>8} "
        f"{'peak MB':>8}"
    )
    for r in results:
        for label, step, server in (
            ("floor", r["floor"], r["floor_server"]),
            ("leadline", r["ours"], r["ours_server"]),
        ):
            print(
                f"{r['engine']:<9} {label:<9} {step.wall:>7.1f} {args.rows / step.wall:>8,.0f} "
                f"{step.cpu:>7.1f} {server:>8.1f} {step.peak_mb:>8.0f}"
            )
        ratio = r["ours"].wall / r["floor"].wall
        cpu_ratio = (r["ours"].cpu + r["ours_server"]) / (r["floor"].cpu + r["floor_server"])
        verdict = "within" if ratio <= 2 else "NOT within"
        print(
            f"{r['engine']:<9} leadline/floor: {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU "
            f"({verdict} the 2x target); peak {r['ours'].peak_mb:.0f} MB "
            f"({'under' if r['ours'].peak_mb < 1024 else 'OVER'} 1 GB)"
        )
    print(
        f"rows: {args.rows:,} in the file, {args.existing:,} leads already stored; "
        f"load average at the end: {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
