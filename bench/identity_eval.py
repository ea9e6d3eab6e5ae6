"""Score identity resolution: precision and recall by kind, both load orders, both databases; and its speed.

Usage: python bench/identity_eval.py [--postgres postgresql+psycopg2://postgres@127.0.0.1:5432/postgres]
Prints, per kind of input (the shared ground truth and the constructed cases of tests/identity_cases.py), the
pairs joined, missed and wrongly joined; then, on the ground truth, which rule made each link and with what
evidence, and the listings joined outside the ground truth; then how long resolving 5,000 new coins takes.
Creates and drops its own PostgreSQL databases and temporary SQLite files.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.identity_cases

from etl_cli.load.engine import open_database
from etl_cli.schema.tables import asset_sources
from etl_cli.transform.identity import KnownRecord, SourceRecord, resolve
from tests.identity_cases import CASES, Case, Score, ground_truth, load_case, score

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@contextmanager
def sqlite_engine() -> Iterator[sa.Engine]:
    """A fresh SQLite database, deleted afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        engine = open_database(f"sqlite:///{folder}/eval.db")
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def postgres_engine(admin_url: str) -> Iterator[sa.Engine]:
    """A fresh PostgreSQL database, dropped afterwards."""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"cryptoetl_eval_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = open_database(sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def engines(admin_url: str) -> Iterator[tuple[str, sa.Engine]]:
    """A fresh SQLite database, then a fresh PostgreSQL one."""
    with sqlite_engine() as engine:
        yield "sqlite", engine
    with postgres_engine(admin_url) as engine:
        yield "postgresql", engine


def evaluate(cases: list[Case], admin_url: str) -> dict[tuple[str, str, str], Score]:
    """Score every case in both orders on both databases; return the scores by (kind, database, order)."""
    scores: dict[tuple[str, str, str], Score] = defaultdict(Score)
    for case in cases:
        for order, loads in (("in order", case.loads), ("reversed", case.loads[::-1])):
            for database, engine in engines(admin_url):
                scores[case.kind, database, order] += score(case, load_case(engine, loads))
    return scores


def print_scores(scores: dict[tuple[str, str, str], Score]) -> None:
    print(f"{'kind':28} {'database':10} {'order':9} joined missed wrong apart precision recall")
    for (kind, database, order), s in scores.items():
        print(
            f"{kind:28} {database:10} {order:9} {len(s.joined):6} {len(s.missed):6} {len(s.wrong):5} "
            f"{len(s.apart):5} {s.precision:9.1%} {s.recall:6.1%}"
        )
        for a, b in s.missed + s.wrong:
            print(f"    {'missed' if (a, b) in s.missed else 'WRONG'}: {a} / {b}")


def explain_ground_truth() -> None:
    """Which rule made each cross-source link of the ground truth, and the links outside it."""
    case = ground_truth()
    in_truth = {key for pair in case.same for key in pair}
    with sqlite_engine() as engine:
        load_case(engine, case.loads)
        with engine.connect() as conn:
            links = conn.execute(sa.select(asset_sources)).all()
    by_asset = defaultdict(list)
    for link in links:
        by_asset[link.asset_id].append(link)
    rules: Counter[str] = Counter()
    evidence: dict[str, Counter[str]] = defaultdict(Counter)
    print("\nground truth, CoinGecko then CoinPaprika: links made by a rule")
    for link in links:
        if link.rule != "new":
            rules[link.rule] += 1
            for line in json.loads(link.evidence):
                evidence[link.rule][line.split(":", 1)[0]] += 1
    for rule, count in rules.most_common():
        print(f"  {rule:7} {count:3} links; evidence kinds: {dict(evidence[rule])}")
    print("\nlistings joined outside the ground truth:")
    for members in by_asset.values():
        if len(members) > 1 and not any((m.source, m.source_asset_id) in in_truth for m in members):
            print("  " + " + ".join(f"{m.source}:{m.source_asset_id} ({m.name})" for m in members))
            for m in members:
                if m.rule != "new":
                    for line in json.loads(m.evidence):
                        print(f"      {line}")


def time_resolve(coins: int = 5000, repeat: int = 5) -> None:
    """Resolve `coins` new CoinPaprika listings against as many CoinGecko ones, a tenth sharing a symbol."""

    def listing(source: str, coin: str, name: str, i: int, supply: int) -> SourceRecord:
        symbol = f"C{i % (coins - coins // 10)}"
        return SourceRecord(source, coin, symbol, name, Decimal(i + 1), NOW, i, Decimal(1000 + i) * supply)

    known = [
        KnownRecord(i, listing("coingecko", f"coin-{i}", f"Coin {i}", i, 1_000_003)) for i in range(coins)
    ]
    new = [
        listing("coinpaprika", f"c{i}-coin-number-{i}", f"Coin {i} Token", i, 1_000_001) for i in range(coins)
    ]
    took = []
    for _ in range(repeat):
        started = time.perf_counter()
        decided = resolve(new, known, {})
        took.append(time.perf_counter() - started)
    placed = sum(d.asset_id is not None for d in decided.values())
    print(
        f"\nresolve: {coins} new listings against {coins} known, {placed} placed: "
        f"best {min(took):.3f} s, median {statistics.median(took):.3f} s of {repeat}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    print_scores(evaluate([ground_truth(), *CASES], args.postgres))
    explain_ground_truth()
    time_resolve()


if __name__ == "__main__":
    main()
