"""Load-test the read-only API on a PostgreSQL database of about a million snapshots; print the figures.

    python bench/api_load.py                       # build cryptoetl_bench, measure, drop it
    python bench/api_load.py --explain             # also print EXPLAIN ANALYZE of each endpoint's queries

Builds the database server-side (INSERT ... SELECT FROM generate_series, so 1M rows take seconds), serves
the API with gunicorn on 127.0.0.1, and drives it with wrk (`apt-get install wrk`) for a fixed time per URL.
Everything runs on loopback; every wait is bounded.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

from api import create_app
from api.paging import Sort, encode_cursor

ROOT = Path(__file__).resolve().parents[1]
WRK = shutil.which("wrk")

FILL = """
INSERT INTO etl_runs (run_id, source, status, started_at, finished_at, extracted, loaded)
SELECT t, 'coingecko', CASE WHEN t % 50 = 0 THEN 'failed' ELSE 'succeeded' END,
       TIMESTAMPTZ '2025-01-01' + (t - 1) * INTERVAL '5 minutes',
       TIMESTAMPTZ '2025-01-01' + (t - 1) * INTERVAL '5 minutes' + INTERVAL '20 seconds', :assets, :assets
FROM generate_series(1, :runs) AS t;
SELECT setval(pg_get_serial_sequence('etl_runs', 'run_id'), :runs);
INSERT INTO raw_payloads (payload_id, source, url, http_status, fetched_at, sha256, body, run_id)
SELECT t, 'coingecko', 'bench://' || t, 200, TIMESTAMPTZ '2025-01-01',
       md5(t::text) || md5(t::text), '\\x5b5d', t
FROM generate_series(1, :times) AS t;
SELECT setval(pg_get_serial_sequence('raw_payloads', 'payload_id'), :times);
INSERT INTO assets (asset_id, symbol, name, origin_source, origin_source_asset_id, created_at)
SELECT a, 'S' || a, 'Asset ' || a, 'coingecko', 'coin-' || a, TIMESTAMPTZ '2025-01-01'
FROM generate_series(1, :assets) AS a;
SELECT setval(pg_get_serial_sequence('assets', 'asset_id'), :assets);
INSERT INTO asset_sources (source, source_asset_id, asset_id, symbol, name, first_seen_at)
SELECT 'coingecko', 'coin-' || a, a, 'S' || a, 'Asset ' || a, TIMESTAMPTZ '2025-01-01'
FROM generate_series(1, :assets) AS a;
INSERT INTO market_snapshots (source, source_asset_id, asset_id, symbol, name, observed_at, price_usd,
    market_cap_usd, volume_24h_usd, market_cap_rank, circulating_supply, total_supply, max_supply,
    run_id, payload_id, loaded_at)
SELECT 'coingecko', 'coin-' || a, a, 'S' || a, 'Asset ' || a,
       TIMESTAMPTZ '2025-01-01' + (t - 1) * INTERVAL '5 minutes' + a * INTERVAL '1 millisecond',
       round((100000.0 / a * (1 + 0.05 * sin(t * 0.1 + a)))::numeric, 14),
       CASE WHEN a % 10 = 0 THEN NULL ELSE round((1e12 / a * (1 + 0.05 * sin(t * 0.1 + a)))::numeric, 2) END,
       round((1e9 / a)::numeric, 4), a, 19822040.0 + a, 21000000, NULL,
       t, t, TIMESTAMPTZ '2025-01-01' + (t - 1) * INTERVAL '5 minutes' + INTERVAL '20 seconds'
FROM generate_series(1, :times) AS t CROSS JOIN generate_series(1, :assets) AS a;
INSERT INTO source_checkpoints (source, last_run_id, last_success_at, last_loaded_at, last_observed_at)
SELECT 'coingecko', max(run_id), max(finished_at), max(finished_at),
       (SELECT max(observed_at) FROM market_snapshots)
FROM etl_runs WHERE status = 'succeeded';
"""


def build(admin_url: str, url: str, database: str, assets: int, times: int, runs: int) -> None:
    """Create the database, migrate it with the CLI, and fill it set-based."""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
    admin.dispose()
    env = {**os.environ, "CRYPTOETL_DATABASE_URL": url}
    # The schema comes from the real migrations, as `cryptoetl db upgrade` runs them.
    subprocess.run([sys.executable, "-m", "etl_cli", "db", "upgrade"], env=env, check=True, timeout=120)
    started = time.monotonic()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in filter(str.strip, FILL.split(";\n")):
            conn.execute(sa.text(statement), {"assets": assets, "times": times, "runs": max(runs, times)})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
        rows = conn.scalar(sa.text("SELECT count(*) FROM market_snapshots"))
    engine.dispose()
    took = time.monotonic() - started
    print(f"built {database}: {rows:,} snapshots ({assets} assets x {times} times) in {took:.1f} s")


def deep_cursor(url: str, sort: str, depth: int) -> str:
    """The cursor /data would hand out after `depth` rows in `sort` order."""
    order = Sort(sort)
    direction = "DESC" if order.descending else "ASC"
    engine = create_app(database_url=url).extensions["cryptoetl_db"]
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                f"SELECT snapshot_id, {order.column} FROM market_snapshots "  # noqa: S608 - our own names
                f"ORDER BY {order.column} {direction}, snapshot_id {direction} OFFSET :depth LIMIT 1"
            ),
            {"depth": depth - 1},
        ).one()
    engine.dispose()
    return encode_cursor(order, row._asdict())


def explain(url: str, paths: list[str]) -> None:
    """Print the plan and time of every query each path runs (captured from the API itself)."""
    app = create_app(database_url=url)
    engine = app.extensions["cryptoetl_db"]
    captured: list[tuple[str, Any]] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: captured.append((a[2], a[3])))
    client = app.test_client()
    raw = sa.create_engine(url).raw_connection()
    try:
        for path in paths:
            captured.clear()
            assert client.get(path).status_code == 200, path
            print(f"\n== {path}")
            for statement, params in list(captured):
                if statement.strip().upper() == "SELECT 1":
                    continue
                cursor = raw.cursor()
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
                plan = [line for (line,) in cursor.fetchall()]
                cursor.close()
                raw.rollback()
                print("  " + " ".join(statement.split())[:150])
                for line in plan if len(plan) <= 12 else [*plan[:9], "...", *plan[-2:]]:
                    print("    " + line)
    finally:
        raw.close()
        engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    """Start gunicorn on a free loopback port and wait (at most 30 s) until /health answers."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}", "api:create_app()"],
        cwd=ROOT,
        env={**os.environ, "CRYPTOETL_DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/health", timeout=2).status_code == 200:
                    return server, base
            except (requests.ConnectionError, requests.Timeout):  # still booting
                time.sleep(0.2)
        raise SystemExit("gunicorn did not come up within 30 s")
    except BaseException:
        server.terminate()
        server.wait(timeout=30)
        raise


def wrk(base: str, path: str, seconds: int, connections: int) -> dict[str, Any]:
    """Drive one URL for `seconds` with wrk; return requests/s, p50, p99 (ms) and non-2xx count."""
    out = subprocess.run(
        [WRK, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s", base + path],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(latency["50"]),
        "p99": _ms(latency["99"]),
        "errors": int(bad.group(1)) if bad else 0,
    }


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def measure(url: str, paths: dict[str, str], args: argparse.Namespace, label: str) -> None:
    """Serve the API and print one line of figures per path."""
    server, base = serve(url, args.workers)
    try:
        for path in paths.values():  # warm each worker's pool and caches; bounded by the request timeout
            for _ in range(4):
                requests.get(base + path, timeout=10)
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"\n{label}: gunicorn -w {args.workers}, wrk -t2 -c{args.connections} -d{args.duration}s")
        print(f"(load average before: {load}; {os.cpu_count()} CPUs shared by wrk, gunicorn and PostgreSQL)")
        print(f"{'endpoint':<16} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}  path")
        for name, path in paths.items():
            r = wrk(base, path, args.duration, args.connections)
            shown = path if len(path) < 70 else path[:67] + "..."
            print(f"{name:<16} {r['rps']:>8.0f} {r['p50']:>8.1f} {r['p99']:>8.1f} {r['errors']:>8}  {shown}")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--admin-url", default="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="cryptoetl_bench")
    parser.add_argument("--assets", type=int, default=2000)
    parser.add_argument("--times", type=int, default=500)
    parser.add_argument("--runs", type=int, default=0, help="ledger rows (at least --times)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per URL")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--explain", action="store_true", help="print EXPLAIN ANALYZE of each endpoint's queries"
    )
    parser.add_argument("--reuse", action="store_true", help="keep an existing bench database as it is")
    parser.add_argument("--keep", action="store_true", help="do not drop the bench database at the end")
    args = parser.parse_args()
    if WRK is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    url = sa.make_url(args.admin_url).set(database=args.database).render_as_string(hide_password=False)
    if not args.reuse:
        build(args.admin_url, url, args.database, args.assets, args.times, args.runs)
    symbol = f"s{args.assets // 2}"  # any case: symbols are stored upper-case, the API upper-cases the filter
    deep = int(args.assets * args.times * 0.9)  # 90% of the way through the table
    paths = {
        "data first page": "/data?limit=100",
        "data symbol": f"/data?symbol={symbol}&limit=100",
        "data deep cursor": f"/data?limit=100&cursor={deep_cursor(url, '-observed_at', deep)}",
        "data price deep": f"/data?sort=price_usd&limit=100&cursor={deep_cursor(url, 'price_usd', deep)}",
        "assets": "/assets?limit=100",
        "assets last": f"/assets?limit=100&offset={args.assets - 100}",
    }
    try:
        if args.explain:
            explain(url, list(paths.values()))
        measure(url, paths, args, "schema as migrated")
    finally:
        if not args.keep:
            admin = sa.create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
            admin.dispose()


if __name__ == "__main__":
    main()
