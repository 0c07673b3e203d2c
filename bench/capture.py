"""Lead capture over the HTTP API against a running `leadline serve`, beside a floor.

    python bench/capture.py [--engines sqlite,postgres] [--seconds N] [--requests N]

For each engine: a fresh data directory (SQLite) or a fresh `leadline_bench` database
(PostgreSQL), `leadline demo --leads 50` for teams, reps, routing rules and campaigns, an API token
for the demo marketer, then `python -m leadline serve` as a subprocess. Load comes from an asyncio
client with keep-alive connections (one per simulated client), every request a new email so every
capture creates a lead. Scenarios: single captures at 8 and 32 clients, then batches of 1,000
from 2 clients (one per core).

The floor is `bench/floor/`: a bare Django project (no middleware) whose endpoint does one
indexed lookup and one insert in a transaction (a batch: one IN lookup and one bulk insert),
served by the same gunicorn server with the same workers and threads, on the same engine, in the
same run. `vs floor` is Leadline's leads/s over the floor's requests/s (batches: rows/s).

The client shares the machine's 2 cores with the server; its CPU use is printed per scenario.
Every loop is bounded by count and by time; only 127.0.0.1 is contacted.
"""

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
HOST = "127.0.0.1"
BATCH_SIZE = 1000
REQUEST_TIMEOUT = 60  # seconds; a request that takes longer counts as an error

# (engine, scenario) → (min leads/s, max p99 ms); batch targets are on leads/s only.
TARGETS = {
    ("postgres", "single x8"): (400, 40),
    ("sqlite", "single x8"): (400, 100),
    ("postgres", "batch 1000"): (15000, None),
    ("sqlite", "batch 1000"): (15000, None),
}

FIRST = (
    "Ana Ben Chloe David Elena Farid Grace Hugo Ines Jonas Kara Liam Maya Noah Olga Priya Quentin "
    "Rosa Samir Tara Umar Vera Wei Xavier Yara Zoe Aiko Bruno Carmen Diego Emil Fatima Georg "
    "Hana Ivan Julia Kenji Lena Marco Nadia Oscar Paula Rafael Sofia Tomas Ulla Viktor Wanda "
    "Yusuf Zara Amir Beatriz Connor Dalia Erik Freya Gustavo Helga Ilya Jasmin"
).split()
LAST = (
    "Okafor Moreau Dubois Rossi Novak Garcia Smith Jensen Kowalski Silva Tanaka Nakamura Fischer "
    "Bianchi Horvat Lindqvist Petrov Haddad Mensah Oliveira Kaur Brennan Van Dijk Yilmaz Costa "
    "Nguyen Kim Schneider Romano Larsen Moretti Kovacs Andersen Ferreira Ito Weber Ricci Nilsson "
    "Popescu Khalil Osei Almeida Singh Walsh De Vries Sahin Pereira Tran Park Becker Colombo "
    "Hansen Marino Szabo Berg Santos Sato Wagner Greco Lund Ionescu Nasser Boateng Ribeiro Gill "
    "Murphy Jansen Demir Souza Pham Choi Hoffmann Conti Eriksen Toth Holm Cruz Suzuki"
).split()
# Companies: 30 x 30 x 20 names ("Northwind Analytics" style), a new one every len(FIRST)
# leads, so no two leads share name and company (the duplicate matcher would rightly call them
# one person), while colleagues share a company as they do in a real CRM.
BRAND_A = (
    "North South East West Blue Red Green Silver Iron Stone Bright Clear Swift Bold Prime "
    "Nova Terra Aqua Sol Luna Crest Peak Harbor River Cedar Maple Pine Oak Falcon Eagle"
).split()
BRAND_B = (
    "wind field gate bridge point ridge wood brook stone light path forge works line core "
    "vale port ford well haven rock view mark spring shore mount side land star wave"
).split()
KINDS = [
    ("Analytics", "Software", 220),
    ("Insurance", "Insurance", 1800),
    ("Logistics", "Logistics", 640),
    ("Health", "Healthcare", 90),
    ("Labs", "Software", 35),
    ("Bank", "Financial services", 12000),
    ("Robotics", "Manufacturing", 410),
    ("Foods", "Food and beverage", 2600),
    ("Energy", "Energy", 5200),
    ("Media", "Media", 150),
    ("Consulting", "Professional services", 60),
    ("Pharma", "Pharmaceuticals", 3100),
    ("Retail", "Retail", 950),
    ("Motors", "Automotive", 7400),
    ("Textiles", "Manufacturing", 330),
    ("Security", "Software", 480),
    ("Capital", "Financial services", 45),
    ("Design", "Professional services", 25),
    ("Telecom", "Telecommunications", 8800),
    ("Studio", "Media", 15),
]
COUNTRIES = ["US", "GB", "DE", "US", "CA", "FR", "US", "NL"]
TITLES = ["CEO", "VP Sales", "Head of Operations", "Marketing Manager", "Software Engineer"]
SOURCES = ["web_form", "demo_request", "webinar", "content", "referral"]


def company(c: int) -> tuple[str, str, str, int, str]:
    """Company number c: (name, domain, industry, employees, country)."""
    c = (c * 7919) % (len(BRAND_A) * len(BRAND_B) * len(KINDS))  # neighbours look unalike
    a, b = BRAND_A[c % len(BRAND_A)], BRAND_B[(c // len(BRAND_A)) % len(BRAND_B)]
    kind, industry, size = KINDS[c // (len(BRAND_A) * len(BRAND_B))]
    domain = f"{a}{b}-{kind}.com".lower()
    return f"{a}{b} {kind}", domain, industry, size, COUNTRIES[c % len(COUNTRIES)]


def lead_payload(n: int, run: str) -> dict:
    """A realistic web-form lead; unique per run and number (another run's lead n is another
    person at another company)."""
    k = n + int(run, 16) % 997 * 10**7
    # Each (first, last) pair comes back once in len(FIRST) * len(LAST) = 4,800 leads, and
    # colleagues (the len(FIRST) leads of one company) have different surnames.
    first, last = FIRST[k % len(FIRST)], LAST[(k + k // len(FIRST)) % len(LAST)]
    name, domain, industry, size, country = company(k // len(FIRST))
    return {
        "first_name": first,
        "last_name": last,
        "email": f"{first}.{last}.{run}.{n}@{domain}".lower(),
        "phone": f"+1 415 {(k * 2654435761 >> 8) % 10**7:07d}",  # scattered, not neighbours
        "title": TITLES[n % len(TITLES)],
        "company": name,
        "website": domain,
        "industry": industry,
        "employees": size,
        "country": country,
        "source": SOURCES[n % len(SOURCES)],
        "consent_email": n % 3 != 0,
    }


# ---------------------------------------------------------------------------------------------
# The client: one keep-alive HTTP/1.1 connection per simulated client, on one asyncio loop.


class Connection:
    def __init__(self, port: int, token: str = ""):
        self.port = port
        self.auth = f"Authorization: Bearer {token}\r\n" if token else ""
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)

    def close(self) -> None:
        if self.writer:
            self.writer.close()
        self.reader = self.writer = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader and self.writer
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n{self.auth}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            data = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                data += chunk[:-2]
        else:
            data = await self.reader.read()
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, data


@dataclass
class Result:
    target: str
    scenario: str
    leads: int = 0
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    client_cpu: float = 0.0
    machine_busy: float = 0.0
    server_cpu: dict = field(default_factory=dict)  # CPU ms per lead: web, worker
    first_error: str = ""

    @property
    def rate(self) -> float:
        return self.leads / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def process_cpu(root: int) -> dict[str, float]:
    """CPU seconds used so far by a server's processes: web (gunicorn) and background worker."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    used = {"web": 0.0, "worker": 0.0}
    todo = [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().split(b"\0")
        except OSError:
            continue
        kind = "worker" if b"worker" in cmdline else "web"
        used[kind] += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def settle(root: int, timeout: float = 90) -> None:
    """Wait until the server's processes are idle (the worker process imports its libraries
    when it starts: seconds of CPU that belong to no scenario)."""
    deadline = time.monotonic() + timeout
    before = process_cpu(root)
    while time.monotonic() < deadline:
        time.sleep(1)
        now = process_cpu(root)
        if sum(now.values()) - sum(before.values()) < 0.05:
            return
        before = now


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies for the whole machine."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts) - idle, sum(parts)


async def _drive(
    port: int,
    token: str,
    path: str,
    clients: int,
    make_body,
    per_request: int,
    seconds: float,
    limit: int,
    result: Result | None,
) -> None:
    """Closed loop: each client sends its next request when the last one is answered."""
    deadline = time.perf_counter() + seconds
    sent = 0

    async def one_client() -> None:
        nonlocal sent
        conn = Connection(port, token)
        try:
            while sent < limit and time.perf_counter() < deadline:
                sent += 1
                body = make_body()
                started = time.perf_counter()
                try:
                    status, data = await asyncio.wait_for(conn.post(path, body), REQUEST_TIMEOUT)
                except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                    conn.close()
                    status, data = 0, repr(exc).encode()
                elapsed = time.perf_counter() - started
                if result is None:
                    continue
                if status in (200, 201):
                    result.requests += 1
                    result.leads += per_request
                    result.latencies.append(elapsed)
                else:
                    result.errors += 1
                    result.first_error = result.first_error or f"{status} {data[:300]!r}"
        finally:
            conn.close()

    await asyncio.gather(*(one_client() for _ in range(clients)))


def run_load(
    server: int,
    port: int,
    token: str,
    path: str,
    clients: int,
    make_body,
    per_request: int,
    seconds: float,
    limit: int,
    result: Result,
    warmup: float,
) -> Result:
    asyncio.run(_drive(port, token, path, clients, make_body, per_request, warmup, limit, None))
    busy0, total0 = _cpu_ticks()
    server0 = process_cpu(server)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    asyncio.run(_drive(port, token, path, clients, make_body, per_request, seconds, limit, result))
    result.seconds = time.perf_counter() - wall0
    result.client_cpu = (time.process_time() - cpu0) / result.seconds
    busy1, total1 = _cpu_ticks()
    result.machine_busy = (busy1 - busy0) / max(1, total1 - total0)
    server1 = process_cpu(server)
    result.server_cpu = {
        k: (server1[k] - server0[k]) * 1000 / max(1, result.leads) for k in server1
    }
    return result


# ---------------------------------------------------------------------------------------------
# Servers.


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_healthy(port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server on {port} not healthy after {timeout}s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def fresh_postgres(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def engine_env(engine: str, data_dir: Path, db_name: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LEADLINE_DATA_DIR")}
    env["LEADLINE_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = str(ROOT)
    if engine == "postgres":
        env["DATABASE_URL"] = fresh_postgres(db_name)
    return env


def run(cmd: list[str], env: dict, **kw) -> str:
    done = subprocess.run(
        cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False, timeout=600, **kw
    )
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip()


def start(cmd: list[str], env: dict, log: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [*cmd, "--port", str(port)], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_healthy(port, proc)
    except Exception:
        stop(proc)
        print(log.read_text()[-3000:], file=sys.stderr)
        raise
    return proc, port


# ---------------------------------------------------------------------------------------------


def scenarios(
    args, server: int, port: int, token: str, target: str, single: str, batch: str
) -> list[Result]:
    run_id = uuid.uuid4().hex[:8]
    counter = iter(range(10**9))
    results = []

    def one() -> bytes:
        return json.dumps(lead_payload(next(counter), run_id)).encode()

    def many() -> bytes:
        items = [lead_payload(next(counter), run_id) for _ in range(BATCH_SIZE)]
        return json.dumps({"leads": items}).encode()

    for clients in (8, 32):
        if f"single{clients}" not in args.scenarios:
            continue
        result = Result(target, f"single x{clients}")
        run_load(
            server,
            port,
            token,
            single,
            clients,
            one,
            1,
            args.seconds,
            args.requests,
            result,
            args.warmup,
        )
        results.append(result)
        report_line(result)
    if "batch" not in args.scenarios:
        return results
    result = Result(target, f"batch {BATCH_SIZE}")
    run_load(
        server,
        port,
        token,
        batch,
        args.batch_clients,
        many,
        BATCH_SIZE,
        args.seconds,
        args.batches,
        result,
        args.warmup,
    )
    results.append(result)
    report_line(result)
    return results


def bench_engine(engine: str, args, work: Path) -> list[Result]:
    serve_opts = []
    if args.workers:
        serve_opts += ["--workers", str(args.workers)]
    if args.threads:
        serve_opts += ["--threads", str(args.threads)]
    py = sys.executable

    env = engine_env(engine, work / f"{engine}-leadline", "leadline_bench")
    run([py, "-m", "leadline", "demo", "--leads", "50"], env)
    token = run([py, "-m", "leadline", "token", "mia", "--name", "bench"], env).splitlines()[-1]
    cmd = [py, "-m", "leadline", "serve", *serve_opts]
    if args.no_worker:
        cmd.append("--no-worker")
    proc, port = start(cmd, env, work / f"{engine}-leadline.log")
    try:
        settle(proc.pid)
        results = scenarios(
            args, proc.pid, port, token, "leadline", "/api/v1/leads", "/api/v1/leads/batch"
        )
    finally:
        stop(proc)

    if args.no_floor:
        return results
    env = engine_env(engine, work / f"{engine}-floor", "leadline_floor")
    proc, port = start(
        [py, "-m", "bench.floor.serve", *serve_opts], env, work / f"{engine}-floor.log"
    )
    try:
        floor = scenarios(args, proc.pid, port, "", "floor", "/capture", "/capture/batch")
    finally:
        stop(proc)
    return [*results, *floor]


def report_line(r: Result) -> None:
    print(
        f"  {r.target:8} {r.scenario:11} {r.rate:9.0f}/s  p50 {r.pct(0.5):7.1f} ms  "
        f"p99 {r.pct(0.99):7.1f} ms  ({r.requests} ok, {r.errors} errors, {r.seconds:.1f}s, "
        f"client CPU {r.client_cpu:.0%}, machine busy {r.machine_busy:.0%}; server CPU ms/lead: "
        f"web {r.server_cpu.get('web', 0):.2f}, worker {r.server_cpu.get('worker', 0):.2f})"
        + (f"\n    first error: {r.first_error}" if r.first_error else ""),
        flush=True,
    )


def table(rows: list[tuple[str, list[Result]]]) -> str:
    out = [
        "| engine | scenario | leads/s | p50 ms | p99 ms | target | result | floor/s | vs floor "
        "| web CPU ms/lead | worker CPU ms/lead | floor CPU ms/req |",
        "|---|---|---:|---:|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for engine, results in rows:
        floors = {r.scenario: r for r in results if r.target == "floor"}
        for r in results:
            if r.target != "leadline":
                continue
            goal = TARGETS.get((engine, r.scenario))
            if goal:
                rate_ok = r.rate >= goal[0]
                p99_ok = goal[1] is None or r.pct(0.99) <= goal[1]
                target = f"≥ {goal[0]:,}/s" + (f", p99 ≤ {goal[1]} ms" if goal[1] else "")
                verdict = "PASS" if rate_ok and p99_ok and not r.errors else "FAIL"
            else:
                target, verdict = "—", "—"
            floor = floors.get(r.scenario)
            ratio = f"{r.rate / floor.rate:.2f}" if floor and floor.rate else "—"
            out.append(
                f"| {engine} | {r.scenario} | {r.rate:,.0f} | {r.pct(0.5):.1f} | "
                f"{r.pct(0.99):.1f} | {target} | {verdict} | "
                f"{floor.rate if floor else 0:,.0f} | {ratio} | "
                f"{r.server_cpu.get('web', 0):.2f} | {r.server_cpu.get('worker', 0):.2f} | "
                f"{floor.server_cpu.get('web', 0) if floor else 0:.2f} |"
            )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--seconds", type=float, default=10, help="per scenario (default 10)")
    parser.add_argument(
        "--requests", type=int, default=20000, help="at most this many single captures a scenario"
    )
    parser.add_argument("--batches", type=int, default=100, help="at most this many batches")
    parser.add_argument(
        "--batch-clients",
        type=int,
        default=2,
        help="clients sending batches (default 2: a core each)",
    )
    parser.add_argument("--warmup", type=float, default=2, help="seconds before each scenario")
    parser.add_argument("--workers", type=int, default=0, help="override serve's web processes")
    parser.add_argument("--threads", type=int, default=0, help="override serve's threads")
    parser.add_argument("--no-worker", action="store_true", help="serve without the worker")
    parser.add_argument("--keep", action="store_true", help="keep the data directories and logs")
    parser.add_argument(
        "--scenarios", default="single8,single32,batch", help="any of single8,single32,batch"
    )
    parser.add_argument("--no-floor", action="store_true", help="skip the floor (tuning runs)")
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(engines) - {"sqlite", "postgres"}
    if unknown:
        parser.error(f"unknown engines: {', '.join(sorted(unknown))}")

    work = Path(tempfile.mkdtemp(prefix="leadline-bench-"))
    print(
        f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}, serve: "
        f"{args.workers or 'default'} workers x {args.threads or 'default'} threads, "
        f"{'no background worker' if args.no_worker else 'with its background worker'}"
    )
    rows = []
    try:
        for engine in engines:
            print(f"{engine}:", flush=True)
            rows.append((engine, bench_engine(engine, args, work)))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(table(rows))
    for engine, results in rows:
        for r in results:
            if r.errors:
                print(f"{engine} {r.target} {r.scenario}: {r.errors} errors", file=sys.stderr)
    print(
        f"latencies are per request (a batch request carries {BATCH_SIZE:,} leads); CPU is what "
        "the server's processes used per lead during the scenario (web: gunicorn; worker: the "
        f"background worker `leadline serve` starts). Load average at the end: "
        f"{os.getloadavg()[0]:.2f}."
    )


if __name__ == "__main__":
    main()
