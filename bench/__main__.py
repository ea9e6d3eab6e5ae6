"""Every figure of issue 12, side by side, from one run: `python -m bench` (quick: `python -m bench --quick`).

Start-up (`cryptoetl --help` against a one-command Typer app's), the CSV load against its ceiling (from
bench/etl_load.py), and the API under load at ten million rows (bench/api_load.py, on the PostgreSQL database
of bench/dataset.py, built once and then reused). Prints a Markdown table; needs PostgreSQL and wrk.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from importlib import import_module
from pathlib import Path

from bench import api_load, dataset, plans, startup
from bench.dataset import Shape

Row = tuple[str, str, str, str, str, str]
QUICK = {"assets": 300, "hours": 720, "duration": 4, "csv_rows": 20_000, "startup_runs": 5}


def startup_rows(runs: int) -> list[Row]:
    """`cryptoetl --help` against the Typer app with its default help, and with plain help as ours."""
    seconds = startup.median_seconds(runs)
    ours = seconds["cryptoetl --help"]
    rows = []
    for peer in ("one-command Typer app --help", "the same app, plain help"):
        ratio = ours / seconds[peer]
        target = "<= 1.5x" if peer.startswith("one-command") else ""
        rows.append(
            (
                "`cryptoetl --help` (start-up, median)",
                f"{ours * 1000:.0f} ms",
                f"{peer}: {seconds[peer] * 1000:.0f} ms",
                f"{ratio:.2f}x",
                target,
                _met(ratio <= 1.5) if target else "",
            )
        )
    return rows


def csv_rows(rows: int) -> list[Row]:
    """The CSV figures of bench/etl_load.py's csv_figures(), when that exists in this checkout."""
    # The load benchmarks also run as scripts (`python bench/etl_load.py`), importing their neighbours by bare
    # name (`from throwaway import ...`): imported from here, they need this folder on the path as well.
    sys.path.insert(0, str(Path(__file__).parent))
    figures: Callable[[int], list[tuple[str, str, str, str]]] | None = getattr(
        import_module("bench.etl_load"), "csv_figures", None
    )
    if figures is None:
        return [
            ("CSV load figures", "not in this checkout", "bench/etl_load.py has no csv_figures()", "", "", "")
        ]
    return [(what, ours, peer, ratio, "see issue 12", "") for what, ours, peer, ratio in figures(rows)]


def api_rows(args: argparse.Namespace) -> tuple[list[Row], list[str]]:
    """The API's targets, and one line per endpoint: req/s, p50, p99, errors and what its plan reads."""
    shape = Shape(args.assets, args.hours)
    url = dataset.ensure(args.admin_url, shape, rebuild=args.rebuild)
    paths = api_load.endpoints(url, shape)
    found = plans.unindexed(url, paths)
    rows = plans.table_rows(url)["market_snapshots"]
    figures = api_load.measure(url, paths, args.duration, args.connections, args.workers)
    first, deep, health = (figures[name] for name in ("/data first page", "/data deep keyset", "/health"))
    worst = max(figures, key=lambda name: figures[name].p99_ms)
    size = f"{rows / 1e6:.1f}M rows, gunicorn -w {args.workers}, wrk -c{args.connections}"
    targets = [
        (
            f"`/data` first page req/s ({size})",
            f"{first.rps:.0f}",
            f"`/health`: {health.rps:.0f}",
            f"{first.rps / health.rps:.2f}",
            ">= 0.25",
            _met(first.rps >= 0.25 * health.rps),
        ),
        (
            "`/data` deep keyset page (90% down), time per request",
            f"{1000 / deep.rps:.1f} ms",
            f"first page: {1000 / first.rps:.1f} ms",
            f"{first.rps / deep.rps:.2f}x",
            "<= 1.2x",
            _met(first.rps <= 1.2 * deep.rps),
        ),
        (
            "p99, the slowest endpoint",
            f"{figures[worst].p99_ms:.0f} ms",
            worst,
            "",
            "< 250 ms each",
            _met(figures[worst].p99_ms < 250),
        ),
    ]
    lines = [
        f"| {name} | {f.rps:.0f} | {f.p50_ms:.1f} | {f.p99_ms:.1f} | {f.errors} | "
        f"{'; '.join(found[name]) or 'yes'} |"
        for name, f in figures.items()
    ]
    return targets, lines


def _met(ok: bool) -> str:
    return "yes" if ok else "no"


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes and short loads: a run of minutes")
    parser.add_argument(
        "--parts", nargs="+", choices=["startup", "csv", "api"], default=["startup", "csv", "api"]
    )
    parser.add_argument("--csv-rows", type=int, default=200_000, help="rows of the CSV file loaded")
    parser.add_argument("--assets", type=int, default=Shape.assets, help="assets in the API's database")
    parser.add_argument("--hours", type=int, default=Shape.hours, help="hours of hourly runs in it")
    parser.add_argument("--rebuild", action="store_true", help="build the API's database again")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per endpoint")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--startup-runs", type=int, default=15, help="runs of each command timed")
    parser.add_argument(
        "--admin-url", default=dataset.ADMIN_URL, help="a PostgreSQL database to connect to first"
    )
    args = parser.parse_args()
    if args.quick:
        parser.set_defaults(**QUICK)
        args = parser.parse_args()
    before = _load()
    table: list[Row] = []
    endpoints: list[str] = []
    if "startup" in args.parts:
        table += startup_rows(args.startup_runs)
    if "csv" in args.parts:
        table += csv_rows(args.csv_rows)
    if "api" in args.parts:
        targets, endpoints = api_rows(args)
        table += targets
    print(f"\nload average before: {before}; after: {_load()} ({os.cpu_count()} CPUs, shared)\n")
    print("| what | ours | the ceiling or a peer, same run | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    for row in table:
        print("| " + " | ".join(row) + " |")
    if endpoints:
        print("\n| endpoint | req/s | p50 ms | p99 ms | errors | every query index-bounded |")
        print("|---|---|---|---|---|---|")
        print("\n".join(endpoints))


if __name__ == "__main__":
    main()
