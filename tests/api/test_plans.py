"""Every endpoint the benchmark drives is answered through indexes: none reads a growing table whole, and none
reads more of market_snapshots than a small part, on a PostgreSQL database large enough that the planner
prefers indexes where they serve (84k snapshots, 2,160 runs: bench/dataset.py's quick shape).

The plans are PostgreSQL's as it ran them (EXPLAIN ANALYZE of the statements the API itself sent). SQLite
sorts exact numbers by their REAL value, which no index holds, and is not what ten million rows run on.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench import api_load, plans
from bench.dataset import Shape, build
from tests.conftest import postgres_database

SHAPE = Shape(assets=300, hours=720)


@pytest.fixture(scope="module")
def bench_url() -> Iterator[str]:
    """A PostgreSQL database of the benchmark's shape, smaller."""
    databases = postgres_database()
    url = next(databases)
    build(url, SHAPE)
    yield url
    databases.close()


@pytest.fixture(scope="module")
def endpoint_plans(bench_url: str) -> dict[str, list[plans.Plan]]:
    """The plans of every statement of every endpoint the benchmark drives."""
    return {
        name: plans.explain(bench_url, path) for name, path in api_load.endpoints(bench_url, SHAPE).items()
    }


def test_no_endpoint_reads_a_growing_table_whole(endpoint_plans):
    whole = {
        name: [t for plan in found for t in plan.whole_reads()] for name, found in endpoint_plans.items()
    }
    assert {name: tables for name, tables in whole.items() if tables} == {}


def test_no_endpoint_reads_more_than_a_sliver_of_the_snapshots(endpoint_plans, bench_url):
    most = plans.MOST_ROWS_READ * plans.table_rows(bench_url)["market_snapshots"]
    read = {
        name: sum(plan.rows_read("market_snapshots") for plan in found)
        for name, found in endpoint_plans.items()
    }
    assert {name: rows for name, rows in read.items() if rows > most} == {}
