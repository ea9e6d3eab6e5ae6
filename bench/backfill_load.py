"""Measure a top-100, 90-day hourly CoinGecko backfill on both databases, served by a local server.

Usage: python bench/backfill_load.py [--coins 100] [--days 90] [--postgres postgresql+psycopg2://postgres@127.0.0.1:5432/postgres]

The server (its own process, on 127.0.0.1) answers /coins/markets with the first N records of the real
recorded page and each /market_chart/range with synthetic points in the real shape: hourly times off the grid
to the millisecond, a trailing "now" point, 16-17 significant digits, small prices in scientific notation. The
rate limit is lifted, so the figures are the load's own (wall time, and this process's CPU time, which other
load on the machine does not inflate); the planner's line says what the demo plan's limit adds.
Prints one line per measurement. Creates and drops its own PostgreSQL database and temporary SQLite file.
"""

from __future__ import annotations

import argparse
import http.server
import json
import multiprocessing
import random
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from throwaway import postgres_database

from etl_cli.backfill.plan import BackfillRequest, plan_backfill
from etl_cli.backfill.runner import run_backfill
from etl_cli.config import CoinGeckoSettings, Settings
from etl_cli.extract import HISTORY_SOURCES
from etl_cli.extract.base import iter_json_array
from etl_cli.load.engine import open_database
from etl_cli.quota import plural, quota_of
from etl_cli.transform import HISTORY_TRANSFORMS

ROOT = Path(__file__).resolve().parents[1]
MARKETS_PAGE = ROOT / "fixtures" / "replay" / "coingecko" / "coins_markets_page1.json"


def chart(coin: int, start: datetime, end: datetime) -> bytes:
    """A market chart of hourly points from start to end plus a "now" point, in CoinGecko's shape."""
    rng = random.Random(coin)
    base = 10 ** rng.uniform(-7, 5)  # from tiny tokens (written in scientific notation) to bitcoin
    times, moment = [], start + timedelta(milliseconds=rng.randrange(3_600_000))
    while moment < end:
        times.append(int(moment.timestamp() * 1000))
        moment += timedelta(seconds=rng.uniform(3502, 3676))
    times.append(int(end.timestamp()) * 1000)  # the "now" point, on a whole second
    prices = [repr(base * (1 + rng.uniform(-0.05, 0.05))) for _ in times]
    caps = [repr(float(price) * 1.9e7) for price in prices]
    volumes = [repr(rng.uniform(1e5, 4e10)) for _ in times]
    series = {
        name: "[" + ",".join(f"[{t},{v}]" for t, v in zip(times, values, strict=True)) + "]"
        for name, values in (("prices", prices), ("market_caps", caps), ("total_volumes", volumes))
    }
    return ("{" + ",".join(f'"{name}":{text}' for name, text in series.items()) + "}").encode()


def serve(coins: int, start: datetime, end: datetime, ports: multiprocessing.Queue) -> None:
    """Serve the markets page and the charts until killed."""
    records = [text for _, text in iter_json_array(MARKETS_PAGE.read_bytes())][:coins]
    ids = [json.loads(text)["id"] for text in records]
    charts = {coin_id: chart(index, start, end) for index, coin_id in enumerate(ids)}
    markets = ("[" + ",".join(records) + "]").encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path.endswith("/coins/markets"):
                per_page = int(parse_qs(parts.query)["per_page"][0])
                body = ("[" + ",".join(records[:per_page]) + "]").encode() if per_page < coins else markets
            else:
                body = charts[parts.path.split("/")[-3]]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ports.put(server.server_address[1])
    server.serve_forever()


def measure(label: str, url: str, base_url: str, request: BackfillRequest) -> None:
    """Print the backfill's time and rate on one database, and its re-run's."""
    engine = open_database(url)
    coingecko = CoinGeckoSettings(base_url=base_url, calls_per_minute=10**9)
    settings = Settings(database_url=url, coingecko=coingecko)
    for attempt in ("first", "re-run"):
        history = HISTORY_SOURCES["coingecko"](settings)
        started, cpu = time.perf_counter(), time.process_time()
        with engine.connect() as conn:
            plan = plan_backfill(conn, history, request, quota_of(settings, "coingecko"), datetime.now(UTC))
        record = run_backfill(engine, history, HISTORY_TRANSFORMS["coingecko"], plan, aliases={})
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        rate = f"{record.loaded / seconds:,.0f} rows/s (CPU {cpu:.2f} s = {record.loaded / cpu:,.0f} rows/s)"
        calls = plural(record.http_requests, "call")
        print(
            f"{label}: backfill ({attempt}): {calls}, {record.extracted:,} points, {record.loaded:,} loaded "
            f"in {seconds:.2f} s{f' = {rate}' if record.loaded else ''}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{label}: peak RSS {peak:.0f} MB")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coins", type=int, default=100)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--postgres", default="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    until = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    request = BackfillRequest("coingecko", until - timedelta(days=args.days), until, top=args.coins)
    with tempfile.TemporaryDirectory() as folder:
        demo = Settings(database_url=f"sqlite:///{folder}/plan.db")
        with open_database(demo.database_url).connect() as conn:
            plan = plan_backfill(
                conn, HISTORY_SOURCES["coingecko"](demo), request, quota_of(demo, "coingecko"), until
            )
        print("planner, demo plan: " + " / ".join(plan.lines()))
        ports: multiprocessing.Queue = multiprocessing.Queue()
        server = multiprocessing.Process(
            target=serve, args=(args.coins, request.since, until, ports), daemon=True
        )
        server.start()
        base_url = f"http://127.0.0.1:{ports.get(timeout=60)}/api/v3"
        try:
            measure("sqlite", f"sqlite:///{folder}/bench.db", base_url, request)
            with postgres_database(args.postgres) as url:
                measure("postgresql", url, base_url, request)
        finally:
            server.kill()


if __name__ == "__main__":
    main()
