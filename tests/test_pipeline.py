"""End to end on both databases: extract -> raw store -> transform -> load -> ledger."""

import logging
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests
import responses
import sqlalchemy as sa

from etl_cli.config import HttpSettings, Settings
from etl_cli.errors import RunFailed, RunLocked
from etl_cli.extract import build_coingecko
from etl_cli.extract.coingecko import CoinGeckoExtractor
from etl_cli.extract.csv_file import CsvExtractor
from etl_cli.extract.http import HttpClient
from etl_cli.load import ledger
from etl_cli.pipeline import run_source
from etl_cli.schema import reads
from etl_cli.schema.tables import (
    asset_sources,
    assets,
    etl_runs,
    market_snapshots,
    raw_payloads,
    rejected_records,
    source_checkpoints,
)
from etl_cli.transform import TRANSFORMS
from etl_cli.transform.coingecko import normalize_markets
from tests.conftest import another_run
from tests.samples import MARKETS_2023, REPLAY_DIR, add_page, page, records


def coingecko(settings: Settings, sleeps: list[float], pages: int = 4, per_page: int = 250):
    client = HttpClient("coingecko", settings.http, sleep=sleeps.append)
    return CoinGeckoExtractor(client, settings.coingecko, max_pages=pages, per_page=per_page)


def run(engine, extractor) -> reads.RunRecord:
    return run_source(engine, extractor, normalize_markets)


def table(engine, t: sa.Table) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(t).order_by(*t.primary_key.columns))]


def count(engine, t: sa.Table) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(t))


def snapshot(engine, coin: str) -> dict:
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(market_snapshots).where(market_snapshots.c.source_asset_id == coin)
        ).one()
    return dict(row._mapping)


def test_full_run_loads_every_record_with_exact_values(engine, settings):
    record = run(engine, build_coingecko(settings, replay_dir=REPLAY_DIR))
    assert (record.status, record.extracted, record.loaded, record.skipped, record.rejected) == (
        "succeeded",
        250,
        250,
        0,
        0,
    )
    assert record.http_requests == 2 and record.error is None
    assert count(engine, market_snapshots) == count(engine, assets) == count(engine, asset_sources) == 250
    # Values read by hand from the recorded payload.
    bitcoin = snapshot(engine, "bitcoin")
    assert bitcoin["price_usd"] == Decimal("96114.08481738689")
    assert bitcoin["market_cap_usd"] == Decimal("1903746811536")
    assert bitcoin["volume_24h_usd"] == Decimal("20388876648")
    assert bitcoin["market_cap_rank"] == 1
    assert (bitcoin["symbol"], bitcoin["name"]) == ("BTC", "Bitcoin")
    assert bitcoin["observed_at"] == datetime(2025, 2, 9, 17, 44, 4, 143000, tzinfo=UTC)
    assert snapshot(engine, "apenft")["price_usd"] == Decimal("4.461282308207794e-07")
    assert snapshot(engine, "shiba-inu")["price_usd"] == Decimal("1.573593094914389e-05")
    assert snapshot(engine, "compound-wrapped-btc")["volume_24h_usd"] == Decimal("0.0")
    assert snapshot(engine, "tether")["circulating_supply"] == Decimal("141737141514.8817")
    with engine.connect() as conn:
        checkpoint = conn.execute(sa.select(source_checkpoints)).one()
    assert checkpoint.last_run_id == record.run_id and checkpoint.last_failure_at is None
    assert checkpoint.last_observed_at == datetime(2025, 2, 9, 17, 44, 6, 711000, tzinfo=UTC)


def test_rerun_of_unchanged_data_loads_nothing_and_skips_all(engine, settings):
    first = run(engine, build_coingecko(settings, replay_dir=REPLAY_DIR))
    before = table(engine, market_snapshots)
    second = run(engine, build_coingecko(settings, replay_dir=REPLAY_DIR))
    assert (first.loaded, second.loaded, second.skipped, second.extracted) == (250, 0, 250, 250)
    assert table(engine, market_snapshots) == before
    assert count(engine, raw_payloads) == 2  # identical bodies are kept once


@responses.activate
def test_changed_last_updated_adds_new_rows(engine, settings, markets_page):
    sleeps: list[float] = []
    add_page(responses.mock, 1, body=markets_page)
    add_page(responses.mock, 2, body=b"[]")
    add_page(responses.mock, 1, body=MARKETS_2023.read_bytes())
    run(engine, coingecko(settings, sleeps))
    later = run(engine, coingecko(settings, sleeps))
    assert (later.extracted, later.loaded, later.skipped) == (5, 5, 0)
    assert count(engine, market_snapshots) == 255
    assert count(engine, assets) == 250  # the same five coins, observed at another time
    with engine.connect() as conn:
        prices = (
            conn.execute(
                sa.select(market_snapshots.c.price_usd)
                .where(market_snapshots.c.source_asset_id == "bitcoin")
                .order_by(market_snapshots.c.observed_at)
            )
            .scalars()
            .all()
        )
    assert prices == [Decimal("16730.75"), Decimal("96114.08481738689")]


@responses.activate
def test_a_page_with_bad_records_loads_the_rest_and_records_the_rejects(engine, settings, markets_page):
    texts = records(markets_page)
    texts[1] = texts[1].replace('"current_price":', '"current_price":"n/a","was":', 1)
    texts[4] = texts[4].replace('"id":', '"former_id":', 1)
    add_page(responses.mock, 1, body=page(texts))
    add_page(responses.mock, 2, body=b"[]")
    record = run(engine, coingecko(settings, []))
    assert (record.status, record.extracted, record.loaded, record.rejected) == ("succeeded", 250, 248, 2)
    with engine.connect() as conn:
        rejects = conn.execute(sa.select(rejected_records).order_by(rejected_records.c.reject_id)).all()
    assert [(r.source_asset_id, r.reason) for r in rejects] == [
        ("ethereum", "current_price: Not a valid number."),
        (None, "id: Missing data for required field."),
    ]
    assert [r.fragment for r in rejects] == [texts[1], texts[4]]
    assert {r.run_id for r in rejects} == {record.run_id}


@responses.activate
def test_persistent_5xx_on_page_3_of_4_fails_the_run_and_changes_nothing(engine, settings, markets_page):
    texts = records(markets_page)
    add_page(responses.mock, 1, per_page=50, body=page(texts[:50]))
    run(engine, coingecko(settings, [], pages=1, per_page=50))
    before = {t.name: table(engine, t) for t in (market_snapshots, assets, asset_sources, rejected_records)}

    add_page(responses.mock, 2, per_page=50, body=page(texts[50:100]))
    add_page(responses.mock, 3, per_page=50, status=503, json={"error": "upstream timeout"})
    sleeps: list[float] = []
    with pytest.raises(
        RunFailed, match=r"coingecko run 2 failed: HTTP 503 .*page=3.*gave up after 5 attempts"
    ):
        run(engine, coingecko(settings, sleeps, pages=4, per_page=50))

    assert {
        t.name: table(engine, t) for t in (market_snapshots, assets, asset_sources, rejected_records)
    } == before
    [failed] = [r for r in table(engine, etl_runs) if r[0] == 2]
    record = reads.RunRecord(*failed[:12])
    assert record.status == "failed" and "HTTP 503" in record.error
    assert (record.http_requests, record.http_retries, len(sleeps)) == (7, 4, 4)
    assert record.finished_at is not None
    assert count(engine, raw_payloads) == 2  # page 2 is kept as received; page 1 was already there
    with engine.connect() as conn:
        checkpoint = conn.execute(sa.select(source_checkpoints)).one()
    assert checkpoint.last_run_id == 2 and "HTTP 503" in checkpoint.last_error
    assert checkpoint.last_success_at < checkpoint.last_failure_at


@responses.activate
def test_a_database_error_during_the_load_rolls_back_everything(engine, settings, markets_page):
    add_page(responses.mock, 1, body=markets_page)
    add_page(responses.mock, 2, body=b"[]")

    def fail_snapshot_insert(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO market_snapshots"):
            raise sa.exc.OperationalError(statement, parameters, Exception("disk I/O error (injected)"))

    sa.event.listen(engine, "before_cursor_execute", fail_snapshot_insert)
    with pytest.raises(RunFailed, match="database error: disk I/O error"):
        run(engine, coingecko(settings, []))
    sa.event.remove(engine, "before_cursor_execute", fail_snapshot_insert)

    assert [count(engine, t) for t in (market_snapshots, assets, asset_sources, rejected_records)] == [
        0,
        0,
        0,
        0,
    ]
    with engine.connect() as conn:
        status, error = conn.execute(sa.select(etl_runs.c.status, etl_runs.c.error)).one()
    assert status == "failed" and "disk I/O error (injected)" in error
    assert run(engine, coingecko(settings, [])).loaded == 250  # and a re-run loads it all


@responses.activate
def test_429_with_retry_after_is_waited_out_and_the_run_succeeds(engine, settings, markets_page):
    add_page(responses.mock, 1, status=429, headers={"Retry-After": "3"}, json={"error": "rate limited"})
    add_page(responses.mock, 1, body=markets_page)
    add_page(responses.mock, 2, body=b"[]")
    sleeps: list[float] = []
    record = run(engine, coingecko(settings, sleeps))
    assert sleeps == [3.0]
    assert (record.status, record.loaded, record.http_requests, record.http_retries) == (
        "succeeded",
        250,
        3,
        1,
    )


@responses.activate
def test_timeouts_retry_then_fail_the_run_cleanly(engine, settings):
    add_page(responses.mock, 1, body=requests.exceptions.ReadTimeout("read timed out"))
    settings = Settings(database_url=settings.database_url, http=HttpSettings(max_attempts=3))
    with pytest.raises(RunFailed, match=r"timed out calling .*page=1 \(gave up after 3 attempts\)"):
        run(engine, coingecko(settings, []))
    with engine.connect() as conn:
        status, retries = conn.execute(sa.select(etl_runs.c.status, etl_runs.c.http_retries)).one()
    assert (status, retries) == ("failed", 2)
    assert count(engine, market_snapshots) == 0


KEY = "CG-k3y-that-must-never-be-stored"


@responses.activate
def test_the_api_key_is_sent_as_a_header_and_stored_nowhere(engine, database_url, markets_page, caplog):
    caplog.set_level(logging.DEBUG)
    settings = Settings.from_env({"CRYPTOETL_DATABASE_URL": database_url, "COINGECKO_API_KEY": KEY})
    with_key = [responses.matchers.header_matcher({"x-cg-demo-api-key": KEY})]
    texts = records(markets_page)
    texts[0] = texts[0].replace('"current_price":', f'"current_price":"{KEY[:4]}", "x":', 1)
    add_page(responses.mock, 1, status=429, json={"error": "slow"}, match=with_key)
    add_page(responses.mock, 1, body=page(texts), match=with_key)
    add_page(responses.mock, 2, body=b"[]", match=with_key)
    add_page(responses.mock, 1, status=500, body=f"echo {KEY}", match=with_key)
    run_source(engine, build_coingecko(settings, sleep=lambda _: None), normalize_markets)
    with pytest.raises(RunFailed) as failed:
        run_source(engine, build_coingecko(settings, sleep=lambda _: None), normalize_markets)

    assert all(call.request.headers["x-cg-demo-api-key"] == KEY for call in responses.calls)
    assert all(KEY not in call.request.url for call in responses.calls)
    stored = [table(engine, t) for t in (raw_payloads, etl_runs, source_checkpoints, rejected_records)]
    assert KEY not in repr(stored) and KEY.encode() not in b"".join(r[6] for r in stored[0])
    assert KEY not in caplog.text and KEY not in str(failed.value)
    assert "echo ***" in str(failed.value)  # the provider echoing it back is scrubbed too
    assert "retrying" in caplog.text  # the logs were really captured


def test_a_stale_running_row_becomes_abandoned(engine, settings):
    with engine.begin() as conn:
        stale = ledger.start_run(conn, "coingecko", datetime(2026, 1, 1, tzinfo=UTC))
    record = run(engine, build_coingecko(settings, replay_dir=REPLAY_DIR))
    with engine.connect() as conn:
        old = reads.get_run(conn, stale)
    assert old.status == "abandoned" and "ended before it finished" in old.error
    assert old.finished_at is not None
    assert record.status == "succeeded" and record.loaded == 250


def test_a_second_run_of_the_same_source_exits_at_once(engine, settings):
    with another_run(engine) as first:
        with pytest.raises(
            RunLocked, match="another coingecko run is in progress on this database \\(run 1, "
        ):
            run(engine, build_coingecko(settings, replay_dir=REPLAY_DIR))
    with engine.connect() as conn:
        assert conn.execute(sa.select(etl_runs.c.run_id)).scalars().all() == [first.run_id]
    assert count(engine, market_snapshots) == 0


class InterruptedExtractor:
    name = "coingecko"

    def __init__(self, extractor):
        self.inner = extractor
        self.stats = extractor.stats

    def pages(self, state=None):
        yield from list(self.inner.pages(state))[:1]
        raise KeyboardInterrupt


def test_an_interrupted_run_is_recorded_and_the_interrupt_goes_on(engine, settings):
    with pytest.raises(KeyboardInterrupt):
        run(engine, InterruptedExtractor(build_coingecko(settings, replay_dir=REPLAY_DIR)))
    with engine.connect() as conn:
        status, error = conn.execute(sa.select(etl_runs.c.status, etl_runs.c.error)).one()
    assert (status, error) == ("failed", "interrupted")
    assert count(engine, market_snapshots) == 0


def test_a_stop_request_abandons_the_run_at_the_next_page_and_loads_nothing(engine, settings):
    stop = threading.Event()
    stop.set()
    with pytest.raises(RunFailed, match="abandoned: stopped by a shutdown request"):
        run_source(engine, build_coingecko(settings, replay_dir=REPLAY_DIR), normalize_markets, stop=stop)
    with engine.connect() as conn:
        status, error = conn.execute(sa.select(etl_runs.c.status, etl_runs.c.error)).one()
    assert status == "abandoned" and "shutdown" in error
    assert count(engine, market_snapshots) == 0


def test_a_driver_error_is_reported_as_one_database_line():
    import psycopg2

    from etl_cli.pipeline import describe_failure

    error = psycopg2.DataError(
        'invalid byte sequence for encoding "UTF8": 0x00\nCONTEXT:  COPY stage_assets, line 1'
    )
    assert describe_failure(error) == 'database error: invalid byte sequence for encoding "UTF8": 0x00'
    assert describe_failure(ValueError("first\nsecond")) == "unexpected ValueError: first"


@responses.activate
def test_a_page_that_is_not_json_fails_the_run_but_is_kept_raw(engine, settings):
    challenge = b"<html>Just a moment...</html>"
    add_page(responses.mock, 1, body=challenge)
    with pytest.raises(RunFailed, match="did not return a JSON array"):
        run(engine, coingecko(settings, []))
    assert [r[6] for r in table(engine, raw_payloads)] == [challenge]
    assert count(engine, market_snapshots) == 0


@responses.activate
def test_a_run_whose_every_record_is_rejected_fails_and_keeps_its_rejects(engine, settings):
    texts = [text.replace('"current_price":', '"price":', 1) for text in records(MARKETS_2023.read_bytes())]
    add_page(responses.mock, 1, body=page(texts))
    with pytest.raises(RunFailed) as failed:
        run(engine, coingecko(settings, []))

    missing = "current_price: Missing data for required field."
    assert str(failed.value) == (
        "coingecko run 1 failed: all 5 records extracted were rejected, first: "
        f"bitcoin: {missing}; ethereum: {missing}; tether: {missing} (see `cryptoetl rejects --run 1`)"
    )
    record = failed.value.summary
    assert (record.status, record.extracted, record.loaded, record.rejected) == ("failed", 5, 0, 5)
    assert record.error == str(failed.value).removeprefix("coingecko run 1 failed: ")
    with engine.connect() as conn:
        rejects = conn.execute(sa.select(rejected_records).order_by(rejected_records.c.reject_id)).all()
        checkpoint = conn.execute(sa.select(source_checkpoints)).one()
    assert [(r.run_id, r.reason, r.fragment) for r in rejects] == [(1, missing, text) for text in texts]
    assert checkpoint.last_error == record.error and checkpoint.last_success_at is None
    assert count(engine, market_snapshots) == 0


def test_a_csv_run_that_rejects_every_row_fails_and_a_rerun_with_nothing_new_succeeds(engine, tmp_path):
    data = tmp_path / "bad.csv"
    data.write_text(
        "symbol,name,price_usd,market_cap_usd,volume_24h_usd,observed_at\nAAA,Alpha,x,,,2025-01-01\n"
    )
    one = r"^csv run 1 failed: the one record extracted was rejected, first: bad.csv line 2: price_usd: Not a"
    with pytest.raises(RunFailed, match=one):
        run_source(engine, CsvExtractor(data), TRANSFORMS["csv"], aliases={})
    again = run_source(engine, CsvExtractor(data), TRANSFORMS["csv"], aliases={})
    assert (again.status, again.extracted, again.rejected) == ("succeeded", 0, 0)
    assert [r[2] for r in table(engine, etl_runs)] == ["failed", "succeeded"]
    assert count(engine, rejected_records) == 1
