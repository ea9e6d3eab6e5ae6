"""The fault matrix: each HTTP source against a local provider misbehaving on command, via `cryptoetl run`.

Every case loads a baseline first (five records), then runs once against the fault and asserts the exact
outcome: the exit code, the ledger row (status, counts, requests, error), the rejects, and the normalized
tables, by content: unchanged, or the baseline plus exactly the records the fault let through (their id, time
and price read from the served body itself). No record is ever lost. Waits are recorded, not slept (the
sources are built with a recording `sleep`); timeouts are a few tenths of a second. HTTP-level faults run on
SQLite; those that reach the load (recovery, rejects, bodies kept) run on both databases.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from etl_cli.cli import app
from etl_cli.extract import SOURCES, build_coingecko, build_coinpaprika
from etl_cli.load.engine import open_database
from etl_cli.schema import reads
from etl_cli.schema.tables import asset_sources, assets, market_snapshots, raw_payloads, rejected_records
from tests.provider import (
    Answer,
    Scripted,
    drip,
    hang,
    ok,
    refused_url,
    serving,
    truncated,
)
from tests.samples import COINPAPRIKA_TICKERS, MARKETS_2023, page, records

SETTINGS = {
    "CRYPTOETL_HTTP_CONNECT_TIMEOUT": "0.5",
    "CRYPTOETL_HTTP_READ_TIMEOUT": "0.2",
    "CRYPTOETL_HTTP_TOTAL_TIMEOUT": "0.4",
    "CRYPTOETL_HTTP_MAX_ATTEMPTS": "2",
    "CRYPTOETL_COINGECKO_CALLS_PER_MINUTE": "60000",
    "CRYPTOETL_COINPAPRIKA_CALLS_PER_MINUTE": "60000",
}


@dataclass(frozen=True)
class Source:
    """An HTTP source as the matrix drives it: its endpoint, its price field and five real records."""

    name: str
    base_url_variable: str
    path: str  # under the base URL
    price: str  # the JSON key of the price
    baseline: tuple[str, ...]  # record texts, as recorded
    build: Callable[..., object]

    def price_of(self, record: dict) -> object:
        return record["current_price"] if self.name == "coingecko" else record["quotes"]["USD"]["price"]

    def later(self) -> list[str]:
        """The same records observed a day later: new rows for the same assets."""
        return [re.sub(r'("last_updated": ?"\d{4}-\d{2}-)(\d{2})', _next_day, text) for text in self.baseline]


def _next_day(match: re.Match[str]) -> str:
    return f"{match.group(1)}{int(match.group(2)) + 1:02d}"


COINGECKO = Source(
    "coingecko",
    "CRYPTOETL_COINGECKO_BASE_URL",
    "/coins/markets",
    "current_price",
    tuple(records(MARKETS_2023.read_bytes())),
    build_coingecko,
)
COINPAPRIKA = Source(
    "coinpaprika",
    "CRYPTOETL_COINPAPRIKA_BASE_URL",
    "/tickers",
    "price",
    tuple(records(COINPAPRIKA_TICKERS.read_bytes())[:5]),
    build_coinpaprika,
)


# --- what a fault does to the later records, and what it should leave ---------------------------------


def renamed(source: Source, texts: list[str]) -> list[str]:
    return [text.replace(f'"{source.price}":', f'"{source.price}_usd":', 1) for text in texts]


def _price_pattern(source: Source) -> str:
    return rf'"{source.price}": ?(-?[0-9.eE+-]+)'


def as_strings(source: Source, texts: list[str]) -> list[str]:
    return [re.sub(_price_pattern(source), rf'"{source.price}": "\1"', text, count=1) for text in texts]


def one_null(source: Source, texts: list[str]) -> list[str]:
    return [
        re.sub(_price_pattern(source), f'"{source.price}": null', t, count=1) if i == 2 else t
        for i, t in enumerate(texts)
    ]


def one_missing(source: Source, texts: list[str]) -> list[str]:
    return [
        re.sub(_price_pattern(source) + r",\s*", "", t, count=1) if i == 1 else t for i, t in enumerate(texts)
    ]


def unchanged(_source: Source, texts: list[str]) -> list[str]:
    return texts


def served_as_is(later: bytes) -> list[Answer]:
    return [ok(later)]


@dataclass(frozen=True)
class Fault:
    """One misbehaviour and the exact outcome it must have."""

    name: str
    exit_code: int
    status: str
    counts: tuple[int, int, int]  # extracted, loaded, rejected
    requests: int
    # The provider's answers after the baseline's, given the later records' body; None: the port refuses.
    answers: Callable[[bytes], list[Answer]] | None = served_as_is
    body: Callable[[Source, list[str]], list[str]] = unchanged  # how the later records are served
    error: str | None = None  # a regex the ledger's error matches from its start
    rejected: dict[int, str] = field(default_factory=dict)  # record index -> kind of reason (REASONS)
    sleeps: Callable[[list[float]], bool] = lambda sleeps: True  # the waits asked for
    both_databases: bool = False


UNAVAILABLE = ok(b'{"error": "service unavailable"}', status=503)
CHALLENGE = ok(b"<html><body>Just a moment...</body></html>", 200, {"Content-Type": "text/html"})
PAGE_URL = r"http://127\.0\.0\.1:\d+/v\d+/[a-z/]+\?\S+"
GAVE_UP = r"\(gave up after 2 attempts\)$"
ONE_BACKOFF = lambda sleeps: len(sleeps) == 1 and 1 <= sleeps[0] <= 2  # noqa: E731
LOADED, NOTHING = (5, 5, 0), (0, 0, 0)

FAULTS = [
    Fault(
        "transient 503",
        0,
        "succeeded",
        LOADED,
        2,
        answers=lambda later: [UNAVAILABLE, ok(later)],
        sleeps=ONE_BACKOFF,
        both_databases=True,
    ),
    Fault(
        "persistent 503",
        1,
        "failed",
        NOTHING,
        2,
        answers=lambda later: [UNAVAILABLE],
        error=rf"HTTP 503 from {PAGE_URL}: service unavailable {GAVE_UP}",
    ),
    Fault(
        "429 with Retry-After",
        0,
        "succeeded",
        LOADED,
        2,
        answers=lambda later: [ok(b"{}", 429, {"Retry-After": "7"}), ok(later)],
        sleeps=lambda s: s == [7.0],
    ),
    Fault(
        "429 without Retry-After",
        0,
        "succeeded",
        LOADED,
        2,
        answers=lambda later: [ok(b"{}", 429), ok(later)],
        sleeps=ONE_BACKOFF,
    ),
    Fault(
        "connection refused",
        1,
        "failed",
        NOTHING,
        2,
        answers=None,
        error=rf"cannot reach {PAGE_URL}: .*Connection refused.*{GAVE_UP}",
    ),
    Fault(
        "hung",
        1,
        "failed",
        NOTHING,
        2,
        answers=lambda later: [hang],
        error=rf"timed out calling {PAGE_URL} {GAVE_UP}",
    ),
    Fault(
        "slow drip",
        1,
        "failed",
        NOTHING,
        2,
        answers=lambda later: [drip(later)],
        error=rf"timed out calling {PAGE_URL}: no complete answer within 0\.4 s {GAVE_UP}",
    ),
    Fault(
        "truncated body",
        1,
        "failed",
        NOTHING,
        2,
        answers=lambda later: [truncated(later)],
        error=rf"cannot reach {PAGE_URL}: .*IncompleteRead.*{GAVE_UP}",
    ),
    Fault(
        "truncated once",
        0,
        "succeeded",
        LOADED,
        2,
        answers=lambda later: [truncated(later), ok(later)],
        sleeps=ONE_BACKOFF,
    ),
    Fault(
        "HTML with 200",
        1,
        "failed",
        NOTHING,
        1,
        answers=lambda later: [CHALLENGE],
        error=rf"{PAGE_URL} did not return a JSON array \(body starts '<html><body>Just a moment...",
        both_databases=True,
    ),
    Fault(
        "JSON object instead of a list",
        1,
        "failed",
        NOTHING,
        1,
        answers=lambda later: [ok(b'{"data": [], "status": "ok"}')],
        error=rf"{PAGE_URL} did not return a JSON array \(body starts '{{\"data\": \[\], \"status\"",
    ),
    Fault(
        "price field renamed",
        1,
        "failed",
        (5, 0, 5),
        1,
        body=renamed,
        rejected=dict.fromkeys(range(5), "missing"),
        error=r"all 5 records extracted were rejected, first: ",
        both_databases=True,
    ),
    Fault("price field missing", 0, "succeeded", (5, 4, 1), 1, body=one_missing, rejected={1: "missing"}),
    Fault("price as a string", 0, "succeeded", LOADED, 1, body=as_strings),
    Fault(
        "null price",
        0,
        "succeeded",
        (5, 4, 1),
        1,
        body=one_null,
        rejected={2: "null"},
        both_databases=True,
    ),
]

REASONS = {
    ("coingecko", "missing"): "current_price: Missing data for required field.",
    ("coingecko", "null"): "current_price: Field may not be null.",
    ("coinpaprika", "missing"): "quotes: {'USD': {'price': ['Missing data for required field.']}}",
    ("coinpaprika", "null"): "quotes: {'USD': {'price': ['Field may not be null.']}}",
}


def cases() -> list[object]:
    return [
        pytest.param(fault, source, database, id=f"{source.name}-{fault.name}-{database}")
        for fault in FAULTS
        for source in (COINGECKO, COINPAPRIKA)
        for database in (("sqlite", "postgresql") if fault.both_databases else ("sqlite",))
    ]


# --- the matrix ------------------------------------------------------------------------------------------


def normalized(engine) -> dict[str, list[tuple]]:
    """Every row of the normalized tables."""
    with engine.connect() as conn:
        return {
            table.name: [tuple(row) for row in conn.execute(sa.select(table).order_by(*table.primary_key))]
            for table in (market_snapshots, assets, asset_sources)
        }


def observations(engine) -> list[tuple]:
    with engine.connect() as conn:
        query = sa.select(
            market_snapshots.c.source_asset_id, market_snapshots.c.observed_at, market_snapshots.c.price_usd
        )
        return sorted(tuple(row) for row in conn.execute(query))


def served(source: Source, texts: list[str], skip: set[int] = frozenset()) -> list[tuple]:
    """(id, observed at, price) of the served records, read from their own text."""
    rows = []
    for index, text in enumerate(texts):
        if index in skip:
            continue
        record = json.loads(text, parse_float=Decimal)
        observed = datetime.fromisoformat(record["last_updated"].replace("Z", "+00:00"))
        rows.append((record["id"], observed, Decimal(str(source.price_of(record)))))
    return rows


@pytest.mark.parametrize(("fault", "source", "database_url"), cases(), indirect=["database_url"])
def test_fault(fault: Fault, source: Source, database_url: str, monkeypatch):
    sleeps: list[float] = []
    monkeypatch.setitem(SOURCES, source.name, partial(source.build, sleep=sleeps.append))
    later = fault.body(source, source.later())
    answers = fault.answers(page(later)) if fault.answers else []
    runner = CliRunner()
    with serving(Scripted(ok(page(source.baseline)), *answers)) as provider:
        env = {
            **SETTINGS,
            "CRYPTOETL_DATABASE_URL": database_url,
            source.base_url_variable: f"{provider.url}/v3",
        }
        baseline = runner.invoke(app, ["run", "--source", source.name], env=env)
        assert baseline.exit_code == 0, baseline.stderr
        engine = open_database(database_url)
        before, before_observations = normalized(engine), observations(engine)
        if fault.answers is None:
            env[source.base_url_variable] = f"{refused_url()}/v3"
        sleeps.clear()
        result = runner.invoke(app, ["run", "--source", source.name, "--json"], env=env)

    try:
        assert result.exit_code == fault.exit_code, result.stderr
        with engine.connect() as conn:
            run = reads.get_run(conn, 2)
            rejects = conn.execute(
                sa.select(
                    rejected_records.c.source_asset_id, rejected_records.c.reason, rejected_records.c.fragment
                )
                .where(rejected_records.c.run_id == 2)
                .order_by(rejected_records.c.reject_id)
            ).all()
            kept = (
                conn.execute(sa.select(raw_payloads.c.body).where(raw_payloads.c.run_id == 2)).scalars().all()
            )
        assert json.loads(result.stdout)["run_id"] == 2
        assert (run.status, (run.extracted, run.loaded, run.rejected), run.http_requests) == (
            fault.status,
            fault.counts,
            fault.requests,
        )
        if fault.error is None:
            assert run.error is None
        else:
            assert re.match(fault.error, run.error), run.error
            assert result.stderr.splitlines()[-1] == f"Error: {source.name} run 2 failed: {run.error}"
            assert result.stderr.count("Error: ") == 1 and "Traceback" not in result.stderr
        assert fault.sleeps(sleeps), sleeps
        assert [tuple(r) for r in rejects] == [
            (json.loads(later[index])["id"], REASONS[source.name, kind], later[index])
            for index, kind in fault.rejected.items()
        ]
        if run.status == "succeeded":
            expected = sorted(before_observations + served(source, later, skip=set(fault.rejected)))
            assert observations(engine) == expected  # the baseline plus every record let through
            assert len(kept) == 1 and json.loads(kept[0]) == json.loads(page(later))
        else:
            assert normalized(engine) == before  # not a row added, changed or lost
    finally:
        engine.dispose()
