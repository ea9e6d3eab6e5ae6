"""Any byte a source sends survives the rejects path on both databases, and never wedges a run.

PostgreSQL's TEXT cannot hold NUL, and neither database driver can encode a lone surrogate (what Python
makes of a JSON "\\ud800" or of a file name that is not UTF-8): a reject carrying one once failed its whole
load, on every re-run.
"""

import os
from pathlib import Path

import pytest
import responses
import sqlalchemy as sa

from etl_cli.config import HttpSettings, Settings
from etl_cli.errors import RunFailed
from etl_cli.extract.coingecko import CoinGeckoExtractor
from etl_cli.extract.csv_file import CsvExtractor
from etl_cli.extract.http import HttpClient
from etl_cli.pipeline import run_source
from etl_cli.schema.tables import etl_runs, market_snapshots, raw_payloads, rejected_records
from etl_cli.transform import TRANSFORMS
from tests.samples import MARKETS_2023, add_page, page, records

GENERIC_HEADER = b"symbol,name,price_usd,market_cap_usd,volume_24h_usd,observed_at\n"
BITCOIN = records(MARKETS_2023.read_bytes())[0]


def stored_rejects(engine) -> list[tuple]:
    with engine.connect() as conn:
        query = sa.select(
            rejected_records.c.source_asset_id, rejected_records.c.reason, rejected_records.c.fragment
        ).order_by(rejected_records.c.reject_id)
        return [tuple(row) for row in conn.execute(query)]


def snapshot_ids(engine) -> list[str]:
    with engine.connect() as conn:
        query = sa.select(market_snapshots.c.source_asset_id).order_by(market_snapshots.c.source_asset_id)
        return list(conn.scalars(query))


def run_csv(engine, path: Path):
    return run_source(engine, CsvExtractor(path), TRANSFORMS["csv"], aliases={})


def run_coingecko(engine, body: bytes):
    add_page(responses.mock, 1, body=body)
    client = HttpClient("coingecko", HttpSettings(), sleep=lambda _: None)
    extractor = CoinGeckoExtractor(client, Settings().coingecko, max_pages=1)
    return run_source(engine, extractor, TRANSFORMS["coingecko"], aliases={})


def test_a_csv_row_with_nul_or_bytes_that_are_not_utf8_is_rejected_and_the_rest_loads(engine, tmp_path):
    data = tmp_path / "coins.csv"
    data.write_bytes(
        GENERIC_HEADER + b"NUL,N\x00l,1,,,2025-01-01\n"
        b"CAF,Caf\xe9,1,,,2025-01-01\n"
        b"SUR,\xed\xa0\x80,1,,,2025-01-01\n"  # a surrogate encoded as UTF-8: not UTF-8
        b"BTC,Bitcoin,2,,,2025-01-01\n"
    )
    record = run_csv(engine, data)
    assert (record.status, record.loaded, record.rejected) == ("succeeded", 1, 3)
    assert snapshot_ids(engine) == ["btc-bitcoin"]
    assert stored_rejects(engine) == [
        (None, "coins.csv line 2: contains a NUL character", "NUL,N\\x00l,1,,,2025-01-01"),
        (None, "coins.csv line 3: not UTF-8 (byte 7 of the line)", "CAF,Caf\\xe9,1,,,2025-01-01"),
        (None, "coins.csv line 4: not UTF-8 (byte 4 of the line)", "SUR,\\xed\\xa0\\x80,1,,,2025-01-01"),
    ]
    assert run_csv(engine, data).extracted == 0  # the file is not blocked: it was read to its end


def test_a_file_name_that_is_not_utf8_survives_in_the_reason(engine, tmp_path):
    data = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.csv"))
    data.write_bytes(GENERIC_HEADER + b"BAD,Bad,x,,,2025-01-01\nOK,Fine,1.5,,,2025-01-01\n")
    assert run_csv(engine, data).rejected == 1
    [(_, reason, _)] = stored_rejects(engine)
    assert reason == "caf\\udce9.csv line 2: price_usd: Not a valid number."


@responses.activate
def test_a_json_record_with_a_lone_surrogate_or_an_overlong_id_is_rejected_and_stored(engine):
    surrogate = BITCOIN.replace('"id": "bitcoin"', '"id": "bit\\ud800coin"').replace("16730.75", '"x"')
    overlong = BITCOIN.replace('"id": "bitcoin"', f'"id": "{"b" * 300}"')
    good = BITCOIN.replace('"id": "bitcoin"', '"id": "good"')
    record = run_coingecko(engine, page([surrogate, overlong, good]))
    assert (record.status, record.loaded, record.rejected) == ("succeeded", 1, 2)
    assert snapshot_ids(engine) == ["good"]
    assert stored_rejects(engine) == [
        (
            "bit\\ud800coin",
            "current_price: Not a valid number.; id: contains a lone surrogate, which is not text",
            surrogate,
        ),
        ("b" * 200, "id: Length must be between 1 and 200.", overlong),
    ]


@responses.activate
def test_a_page_that_starts_with_nul_fails_the_run_kept_raw_with_a_storable_error(engine):
    body = b"\x00\x00\x00<html>\xff\xfe</html>"
    with pytest.raises(RunFailed, match="did not return a JSON array"):
        run_coingecko(engine, body)
    with engine.connect() as conn:
        assert conn.scalars(sa.select(raw_payloads.c.body)).all() == [body]
        status, error = conn.execute(sa.select(etl_runs.c.status, etl_runs.c.error)).one()
    assert status == "failed" and "(body starts '\\x00\\x00\\x00<html>" in error
    assert snapshot_ids(engine) == []


@responses.activate
def test_a_json_record_whose_text_cannot_be_stored_is_rejected_not_a_failed_load(engine):
    bad = {
        "surrogate in name": BITCOIN.replace('"name": "Bitcoin"', '"name": "Bit\\udfffcoin"'),
        "NUL in symbol": BITCOIN.replace('"symbol": "btc"', '"symbol": "b\\u0000tc"'),
        # 64 characters that upper-case to 128: too long for the symbol column once stored upper-case
        "long upper-case": BITCOIN.replace('"symbol": "btc"', f'"symbol": "{"ß" * 64}"'),
        "NUL in id": BITCOIN.replace('"id": "bitcoin"', '"id": "bit\\u0000coin"'),
    }
    good = BITCOIN.replace('"id": "bitcoin"', '"id": "good"')
    record = run_coingecko(engine, page([*bad.values(), good]))
    assert (record.status, record.loaded, record.rejected) == ("succeeded", 1, 4)
    assert snapshot_ids(engine) == ["good"]
    assert [(asset_id, reason) for asset_id, reason, _ in stored_rejects(engine)] == [
        ("bitcoin", "name: contains a lone surrogate, which is not text"),
        ("bitcoin", "symbol: contains a NUL character"),
        ("bitcoin", "symbol: Length must be between 1 and 64."),
        ("bit\\x00coin", "id: contains a NUL character"),
    ]


@responses.activate
def test_a_json_page_with_a_byte_that_is_not_utf8_fails_the_run_kept_raw(engine):
    # JSON is UTF-8 by definition (RFC 8259): such a page is not JSON, as before; nothing of it loads.
    body = page([BITCOIN]).replace(b'"name": "Bitcoin"', b'"name": "Bitc\xffoin"')
    assert b"\xff" in body
    with pytest.raises(RunFailed, match="did not return a JSON array"):
        run_coingecko(engine, body)
    with engine.connect() as conn:
        assert conn.scalars(sa.select(raw_payloads.c.body)).all() == [body]
    assert snapshot_ids(engine) == []


@responses.activate
def test_a_provider_error_holding_nul_is_recorded_and_the_run_closed(engine):
    url = f"{Settings().coingecko.base_url}/coins/markets"
    responses.add(responses.GET, url, status=400, body=b'{"error": "bad\\u0000req\\ud800uest"}')
    client = HttpClient("coingecko", HttpSettings(), sleep=lambda _: None)
    extractor = CoinGeckoExtractor(client, Settings().coingecko, max_pages=1)
    with pytest.raises(RunFailed):
        run_source(engine, extractor, TRANSFORMS["coingecko"], aliases={})
    with engine.connect() as conn:
        status, error = conn.execute(sa.select(etl_runs.c.status, etl_runs.c.error)).one()
    assert status == "failed"
    assert error.endswith("bad\\x00req\\ud800uest")
