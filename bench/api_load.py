"""The read-only API under load on the bench database: `python -m bench.api_load [--explain]`.

Serves the API with gunicorn on 127.0.0.1 and drives each endpoint with wrk (`apt-get install wrk`) for a
fixed time; prints requests/s, p50 and p99 per endpoint, and checks with EXPLAIN ANALYZE that every query an
endpoint runs is served by an index (bench/plans.py). The database is bench/dataset.py's, built once, reused.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
import sqlalchemy as sa

from api.paging import Sort, encode_cursor
from bench import dataset, plans
from bench.dataset import START, Shape
from etl_cli.schema.tables import market_snapshots

ROOT = Path(__file__).resolve().parents[1]
DEEP = 0.9  # how far down its order a deep page starts


@dataclass(frozen=True)
class Figures:
    """One endpoint under load."""

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def endpoints(url: str, shape: Shape) -> dict[str, str]:
    """The paths to drive, by name: /health, /data's pages, filters and sorts, /assets, history, /stats."""
    year = f"from={START:%Y-%m-%dT%H:%MZ}&to={START.replace(year=START.year + 1):%Y-%m-%dT%H:%MZ}"
    day = f"from={START.replace(month=6):%Y-%m-%dT%H:%MZ}&to={START.replace(month=6, day=2):%Y-%m-%dT%H:%MZ}"
    deep_newest, deep_price = (deep_cursor(url, sort) for sort in ("-observed_at", "price_usd"))
    # /health and the pages compared with it come first, so that they meet about the same load. Whichever
    # path follows /health measures faster than elsewhere in the list: /stats takes that place.
    return {
        "/health": "/health",
        "/stats": "/stats",
        "/data first page": "/data?limit=100",
        "/data deep keyset": f"/data?limit=100&cursor={deep_newest}",
        "/data symbol": "/data?symbol=s5&limit=100",
        "/data time range": f"/data?{day}&limit=100",
        "/data by price": "/data?sort=price_usd&limit=100",
        "/data by price, deep": f"/data?sort=price_usd&limit=100&cursor={deep_price}",
        "/data by market cap": "/data?sort=-market_cap_usd&limit=100",
        "/data by rank": "/data?sort=rank&limit=100",
        "/assets first page": "/assets?limit=100",
        "/assets last page": f"/assets?limit=100&offset={max(shape.assets - 100, 0)}",
        "history, 1h over a year": f"/assets/1/history?interval=1h&{year}",
        "history, 1d over a year": f"/assets/1/history?interval=1d&{year}",
    }


def deep_cursor(url: str, sort: str) -> str:
    """The cursor /data hands out after DEEP of the table in `sort` order."""
    order = Sort(sort)
    column, snapshot_id = market_snapshots.c[order.column], market_snapshots.c.snapshot_id
    direction = (lambda c: c.desc()) if order.descending else (lambda c: c.asc())
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            total = conn.scalar(sa.select(sa.func.count()).select_from(market_snapshots))
            query = (
                sa.select(snapshot_id, column)
                .order_by(direction(column), direction(snapshot_id))
                .offset(int(total * DEEP))
                .limit(1)
            )
            row = conn.execute(query).one()
    finally:
        engine.dispose()
    return encode_cursor(order, row._asdict())


@contextmanager
def served(url: str, workers: int) -> Iterator[str]:
    """Run gunicorn on a free loopback port until the block ends; yield its base URL once /health answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "api:create_app()",
    ]
    env = {**os.environ, "CRYPTOETL_DATABASE_URL": url}
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _answers(base):
            if time.monotonic() > deadline:
                raise SystemExit("gunicorn did not come up within 30 s")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def _answers(base: str) -> bool:
    try:
        return requests.get(f"{base}/health", timeout=2).status_code == 200
    except (requests.ConnectionError, requests.Timeout):  # still booting
        return False


def wrk(base: str, path: str, seconds: int, connections: int) -> Figures:
    """Drive one URL for `seconds` with wrk."""
    wrk_path = shutil.which("wrk")
    if wrk_path is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    out = subprocess.run(
        [wrk_path, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s", base + path],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return Figures(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
        p50_ms=_ms(latency["50"]),
        p99_ms=_ms(latency["99"]),
        errors=(int(bad[1]) if bad else 0) + (sum(map(int, errors.groups())) if errors else 0),
    )


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def measure(
    url: str, paths: dict[str, str], seconds: int, connections: int, workers: int
) -> dict[str, Figures]:
    """Serve the API and drive each path for `seconds`, in turns of 5 s (at least two) through all of them.

    Taking turns spreads a change in the machine's load over every path alike, so that ratios between
    them hold; each turn starts with a second of load not recorded. A path's figures: its mean req/s and
    median p50 over the turns, and its worst p99.
    """
    turns: dict[str, list[Figures]] = {name: [] for name in paths}
    rounds = max(2, seconds // 5)
    with served(url, workers) as base:
        for path in paths.values():
            for _ in range(2 * workers):
                requests.get(base + path, timeout=30)
        for _ in range(rounds):
            for name, path in paths.items():
                wrk(base, path, 1, connections)  # unrecorded: the switch from the path before settles
                turns[name].append(wrk(base, path, max(seconds // rounds, 1), connections))
                _drain(base, workers)
    return {
        name: Figures(
            rps=statistics.mean(f.rps for f in got),
            p50_ms=statistics.median(f.p50_ms for f in got),
            p99_ms=max(f.p99_ms for f in got),
            errors=sum(f.errors for f in got),
        )
        for name, got in turns.items()
    }


def _drain(base: str, workers: int) -> None:
    """Wait until the requests wrk left queued are answered, so that they do not weigh on the next path."""
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda _: requests.get(f"{base}/health", timeout=120), range(workers)))


def load_average() -> str:
    """The 1, 5 and 15-minute load averages, and the CPUs they share."""
    return f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--admin-url", default=dataset.ADMIN_URL)
    parser.add_argument("--assets", type=int, default=Shape.assets)
    parser.add_argument("--hours", type=int, default=Shape.hours)
    parser.add_argument("--rebuild", action="store_true", help="build the bench database again")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per endpoint")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--explain", action="store_true", help="print each endpoint's plan problems only")
    args = parser.parse_args()
    shape = Shape(args.assets, args.hours)
    url = dataset.ensure(args.admin_url, shape, rebuild=args.rebuild)
    paths = endpoints(url, shape)
    for name, found in plans.unindexed(url, paths).items():
        print(f"{name:<22} {'; '.join(found) or 'every query index-driven'}")
    if args.explain:
        return
    print(f"gunicorn -w {args.workers}, wrk -c{args.connections} -d{args.duration}s; {load_average()}")
    for name, figures in measure(url, paths, args.duration, args.connections, args.workers).items():
        latency = f"p50 {figures.p50_ms:>7.1f} ms  p99 {figures.p99_ms:>7.1f} ms"
        print(f"{name:<22} {figures.rps:>8.0f} req/s  {latency}  errors {figures.errors}")


if __name__ == "__main__":
    main()
