"""CPU per captured lead, in one process, without a network: the steady figure behind capture.py.

    python bench/capture_cpu.py [--engine sqlite|postgres] [--requests N] [--profile]

Throughput over HTTP moves with whatever else the 2-core machine is doing; the CPU one request
costs does much less. This drives Django's WSGI handler directly (the same application gunicorn
serves, middleware and all) with the same request bench/capture.py sends, on a `leadline demo
--leads 50` workspace, and prints CPU milliseconds per lead: for the whole request, for the
capture pipeline alone, and for the floor's work (one indexed lookup and one insert, through the
same connection) — then, with --profile, the top functions by cumulative time. The worker's share
(processing the outbox jobs those captures queued) is measured the same way after the requests.
"""

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))


def setup(engine: str) -> dict:
    env = dict(os.environ)
    env["LEADLINE_DATA_DIR"] = tempfile.mkdtemp(prefix="leadline-cpu-")
    if engine == "postgres":
        name = "leadline_cpu_bench"
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"],
            check=True,
        )
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {name}"],
            check=True,
        )
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
    else:
        env.pop("DATABASE_URL", None)
    run = [sys.executable, "-m", "leadline"]
    subprocess.run([*run, "demo", "--leads", "50"], env=env, check=True, capture_output=True)
    out = subprocess.run(
        [*run, "token", "mia", "--name", "cpu bench"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    env["TOKEN"] = next(w for w in out.split() if len(w) > 30)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument(
        "--profile", choices=["request", "worker", "batch"], help="profile one part"
    )
    parser.add_argument(
        "--batches", type=int, default=0, help="also time N batches of 1,000 (POST /leads/batch)"
    )
    parser.add_argument("--sort", default="cumulative")
    args = parser.parse_args()
    env = setup(args.engine)
    os.environ.update({k: v for k, v in env.items() if k != "TOKEN"})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadline.settings")
    import django

    django.setup()
    from capture import lead_payload
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection, transaction

    from leadline.core.worker import tick
    from leadline.intake.pipeline import capture

    app = WSGIHandler()
    auth = f"Bearer {env['TOKEN']}"

    def request(body: bytes, path: str = "/api/v1/leads") -> int:
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "HTTP_HOST": "127.0.0.1:8000",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_AUTHORIZATION": auth,
        }
        status = []
        result = app(environ, lambda s, h: status.append(s))
        b"".join(result)
        result.close()
        return int(status[0].split()[0])

    run = uuid.uuid4().hex[:8]
    bodies = [json.dumps(lead_payload(n, run)).encode() for n in range(args.requests + 200)]
    for body in bodies[:200]:  # warm up: caches, prepared queries, imports
        assert request(body) == 201
    while tick():
        pass

    import cProfile

    profiler = cProfile.Profile(time.process_time)
    if args.profile == "request":
        profiler.enable()
    # CPU per lead in chunks of 100 requests: the lowest chunk is the least disturbed by the
    # other processes sharing the cores (their cache misses show up in this one's CPU time).
    import sqlite3 as _sq
    other = _sq.connect(connection.settings_dict["NAME"], isolation_level=None) if os.environ.get("OTHER") else None
    if other: other.execute("CREATE TABLE IF NOT EXISTS poke (id integer primary key, n int)"); other.execute("INSERT OR IGNORE INTO poke VALUES (1, 0)")
    if os.environ.get("WALCP"):
        with connection.cursor() as c: c.execute("PRAGMA wal_autocheckpoint=" + os.environ["WALCP"])
    chunks = []
    for at in range(200, len(bodies), 100):
        start = time.process_time()
        for body in bodies[at : at + 100]:
            if other: other.execute("UPDATE poke SET n = n + 1 WHERE id = 1")
            status = request(body)
            assert status == 201, status
        chunks.append((time.process_time() - start) / len(bodies[at : at + 100]) * 1000)
    chunks.sort()
    web, web_median = chunks[0], chunks[len(chunks) // 2]
    profiler.disable()

    if args.profile == "worker":
        profiler.enable()
    start = time.process_time()
    while tick():
        pass
    profiler.disable()
    worker = (time.process_time() - start) / args.requests * 1000

    run2 = uuid.uuid4().hex[:8]
    payloads = [lead_payload(n, run2) for n in range(args.requests)]
    start = time.process_time()
    for data in payloads:
        capture(data, channel="api")
    pipeline = (time.process_time() - start) / args.requests * 1000
    while tick():
        pass

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS cpu_floor (id integer primary key, k text)")
        cursor.execute("CREATE INDEX IF NOT EXISTS cpu_floor_k ON cpu_floor (k)")
    start = time.process_time()
    for n in range(args.requests):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT id FROM cpu_floor WHERE k = %s", [f"{run}{n}"])
            cursor.fetchall()
            cursor.execute("INSERT INTO cpu_floor (id, k) VALUES (%s, %s)", [n + 1, f"{run}{n}"])
    floor = (time.process_time() - start) / args.requests * 1000

    batch = None
    if args.batches:
        run3 = uuid.uuid4().hex[:8]
        bodies = [
            json.dumps({"leads": [lead_payload(b * 1000 + n, run3) for n in range(1000)]}).encode()
            for b in range(args.batches + 1)
        ]
        assert request(bodies[0], "/api/v1/leads/batch") == 200  # warm up
        if args.profile == "batch":
            profiler.enable()
        times = []
        for body in bodies[1:]:
            start = time.process_time()
            status = request(body, "/api/v1/leads/batch")
            assert status == 200, status
            times.append(time.process_time() - start)
        profiler.disable()
        batch = min(times)  # ms per lead = seconds per 1,000 leads
        while tick():
            pass

    print(
        f"{args.engine}: CPU ms per lead — request {web:.2f} (median chunk {web_median:.2f}; "
        f"pipeline alone {pipeline:.2f}), "
        f"worker {worker:.2f}; floor's SQL {floor:.2f}"
        + (f"; batch of 1,000 {batch:.3f} (lowest of {args.batches})" if batch else "")
    )
    if args.profile:
        import pstats

        pstats.Stats(profiler).sort_stats(args.sort).print_stats(45)


if __name__ == "__main__":
    main()
