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
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.identity_cases

from etl_cli.extract.base import JsonArrayPage, RawPage
from etl_cli.load.assets import ensure_assets
from etl_cli.load.engine import open_database
from etl_cli.schema.reads import FACTS
from etl_cli.schema.tables import asset_sources
from etl_cli.transform import TRANSFORMS
from etl_cli.transform.identity import KnownRecord, SourceRecord, resolve
from etl_cli.transform.records import Snapshot
from tests.identity_cases import (
    CASES,
    Case,
    Load,
    Score,
    cg,
    cp,
    gecko,
    ground_truth,
    load_case,
    paprika,
    score,
)

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


def synthetic_pages(coins: int) -> tuple[Load, Load]:
    """`coins` CoinGecko records and as many CoinPaprika tickers, a tenth of them sharing a symbol.

    Every ticker has a candidate (the worst case for resolution): names and supplies agree, ids do not.
    """
    shared = coins - coins // 10
    first = cg(
        *(
            gecko(
                "bitcoin",
                id=f"coin-{i}",
                symbol=f"c{i % shared}",
                name=f"Coin {i}",
                circulating_supply=(1000 + i) * 1_000_003,
            )
            for i in range(coins)
        )
    )
    second = cp(
        *(
            paprika(
                "btc-bitcoin",
                id=f"c{i}-coin-number-{i}",
                symbol=f"C{i % shared}",
                name=f"Coin {i} Token",
                circulating_supply=(1000 + i) * 1_000_001,
            )
            for i in range(coins)
        )
    )
    return first, second


def snapshots(load: Load) -> list[Snapshot]:
    """A page's snapshots, through the source's real transform."""
    return TRANSFORMS[load.source](
        JsonArrayPage.parse(RawPage(load.source, "u", 200, NOW, load.body))
    ).snapshots


def listing(snapshot: Snapshot) -> SourceRecord:
    """What identity compares of a snapshot."""
    facts = {fact: getattr(snapshot, fact) for fact in FACTS}
    return SourceRecord(snapshot.source, snapshot.source_asset_id, snapshot.symbol, snapshot.name, **facts)


def time_resolve(first: Load, second: Load, repeat: int = 5) -> None:
    """CPU time of resolve() alone: the second page's listings against the first's, all linked."""
    known = [KnownRecord(i, listing(s)) for i, s in enumerate(snapshots(first))]
    new = [listing(s) for s in snapshots(second)]
    took = []
    for _ in range(repeat):
        started = time.process_time()
        decided = resolve(new, known, {})
        took.append(time.process_time() - started)
    placed = sum(d.asset_id is not None for d in decided.values())
    print(
        f"\nresolve: {len(new)} new listings against {len(known)} known, {placed} placed: CPU "
        f"best {min(took):.3f} s, median {statistics.median(took):.3f} s of {repeat}"
    )


def time_load(admin_url: str, first: Load, second: Load) -> None:
    """Wall time of ensure_assets (lookups, resolve, inserts) for the second page, on each database."""
    for database, engine in engines(admin_url):
        load_case(engine, (first,))
        new = snapshots(second)
        with engine.begin() as conn:
            started = time.perf_counter()
            ensure_assets(conn, new, NOW, {})
            took = time.perf_counter() - started
        print(f"{database}: ensure_assets for {len(new)} new listings, each with a candidate: {took:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    print_scores(evaluate([ground_truth(), *CASES], args.postgres))
    explain_ground_truth()
    pages = synthetic_pages(5000)
    time_resolve(*pages)
    time_load(args.postgres, *pages)


if __name__ == "__main__":
    main()
