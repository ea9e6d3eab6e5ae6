from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from etl_cli.extract.base import JsonArrayPage, RawPage
from etl_cli.load import ledger
from etl_cli.load.raw_store import store_page
from etl_cli.load.snapshots import insert_snapshots
from etl_cli.schema.tables import asset_sources, assets, market_snapshots, raw_payloads
from etl_cli.transform.coingecko import normalize_markets
from tests.samples import MARKETS_2023, page, records

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@contextmanager
def counted_statements(engine: sa.Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def load(engine: sa.Engine, body: bytes) -> tuple[int, list[str]]:
    raw = JsonArrayPage.parse(RawPage("coingecko", f"https://cg.test/{len(body)}", 200, NOW, body))
    with engine.begin() as conn:
        run_id = ledger.start_run(conn, "coingecko", NOW)
        ledger.finish_run(conn, run_id, "succeeded", NOW, ledger.RunCounts())  # one running run per source
        payload_id = store_page(conn, raw, run_id)
    pairs = [(payload_id, s) for s in normalize_markets(raw).snapshots]
    with counted_statements(engine) as statements, engine.begin() as conn:
        inserted = insert_snapshots(conn, pairs, run_id, NOW, aliases={})
    return inserted, statements


def test_round_trips_do_not_grow_with_the_number_of_rows(engine, markets_page):
    texts = records(markets_page)
    small, small_statements = load(engine, page(texts[:20]))
    large, large_statements = load(engine, page(texts[20:]))
    assert (small, large) == (20, 230)
    # The identity lock (PostgreSQL), three lookups (known links, identity candidates, their latest prices)
    # and one read-back of new assets, then per table (assets, links, snapshots) one executemany on SQLite,
    # or on PostgreSQL a staging table created, filled by COPY (on the raw cursor) and inserted from:
    # a fixed count, whether 20 rows or 230.
    assert len(small_statements) <= 14
    assert len(large_statements) <= 14


def test_reloading_inserts_nothing_and_keeps_asset_ids(engine, markets_page):
    first, _ = load(engine, markets_page)
    with engine.connect() as conn:
        ids_before = dict(
            conn.execute(sa.select(asset_sources.c.source_asset_id, asset_sources.c.asset_id)).all()
        )
    again, _ = load(engine, markets_page)
    with engine.connect() as conn:
        ids_after = dict(
            conn.execute(sa.select(asset_sources.c.source_asset_id, asset_sources.c.asset_id)).all()
        )
        counts = [conn.scalar(sa.select(sa.func.count()).select_from(t)) for t in (market_snapshots, assets)]
    assert (first, again) == (250, 0)
    assert ids_after == ids_before and len(ids_before) == 250
    assert counts == [250, 250]


def test_an_identical_body_from_the_same_url_is_stored_once(engine, markets_page):
    raw = RawPage("coingecko", "https://cg.test/p1", 200, NOW, markets_page)
    with engine.begin() as conn:
        run_id = ledger.start_run(conn, "coingecko", NOW)
        ids = {store_page(conn, raw, run_id) for _ in range(3)}
        changed = store_page(conn, RawPage("coingecko", raw.url, 200, NOW, b"[]"), run_id)
    with engine.connect() as conn:
        stored = (
            conn.execute(sa.select(raw_payloads.c.body).order_by(raw_payloads.c.payload_id)).scalars().all()
        )
    assert len(ids) == 1 and changed not in ids
    assert stored == [markets_page, b"[]"]


def test_bulk_loads_keep_every_digit(engine):
    # The bulk path (COPY on PostgreSQL) once went through the driver's NUMERIC processor, i.e. a float.
    values = [
        Decimal("123456789012345678901234.5"),
        Decimal("0.1234567890123456789012345678901234567890123456789"),
        Decimal("1E-30"),
        Decimal("2.14E+11"),
    ]
    body = page(
        records(MARKETS_2023.read_bytes())[0]
        .replace('"current_price": 16730.75', f'"current_price": {v}')
        .replace('"id": "bitcoin"', f'"id": "coin-{i}"')
        for i, v in enumerate(values)
    )
    inserted, _ = load(engine, body)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(market_snapshots.c.price_usd).order_by(market_snapshots.c.source_asset_id)
        )
        assert [row.price_usd for row in stored] == values
    assert inserted == 4
