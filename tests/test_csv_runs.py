"""CSV runs end to end on both databases: what the raw store and the rejects keep of each chunk."""

from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa

from etl_cli.extract.csv_file import CsvExtractor
from etl_cli.pipeline import run_named, run_source
from etl_cli.schema.tables import raw_payloads, rejected_records
from etl_cli.transform import TRANSFORMS

GENERIC_HEADER = b"symbol,name,price_usd,market_cap_usd,volume_24h_usd,observed_at\n"
BITCOIN_ROW = b"BTC,Bitcoin,2,,,2025-01-01\n"


def run_csv(engine, path: Path, **options):
    return run_source(engine, CsvExtractor(path, **options), TRANSFORMS["csv"], aliases={})


def rejects(engine) -> list[tuple]:
    with engine.connect() as conn:
        query = sa.select(
            rejected_records.c.reason, rejected_records.c.fragment, raw_payloads.c.body, raw_payloads.c.url
        ).join(raw_payloads, raw_payloads.c.payload_id == rejected_records.c.payload_id)
        return [tuple(row) for row in conn.execute(query.order_by(rejected_records.c.reject_id))]


def test_identical_chunks_of_one_file_are_stored_once_and_each_reject_keeps_its_line(engine, tmp_path):
    data = tmp_path / "twice.csv"
    data.write_bytes(GENERIC_HEADER + 2 * b"AAA,Alpha,1,,,2025-01-01\nBBB,Beta,x,,,2025-01-01\n")
    record = run_csv(engine, data, chunk_rows=2)
    assert (record.extracted, record.loaded, record.skipped, record.rejected) == (4, 1, 1, 2)
    with engine.connect() as conn:
        [(url, body)] = conn.execute(sa.select(raw_payloads.c.url, raw_payloads.c.body)).all()
    assert url == data.resolve().as_uri()  # no line number rides in the URL
    assert body == GENERIC_HEADER + b"AAA,Alpha,1,,,2025-01-01\nBBB,Beta,x,,,2025-01-01\n"
    fragment = "BBB,Beta,x,,,2025-01-01"
    assert rejects(engine) == [
        ("twice.csv line 3: price_usd: Not a valid number.", fragment, body, url),
        ("twice.csv line 5: price_usd: Not a valid number.", fragment, body, url),
    ]


def test_a_field_too_big_for_the_csv_reader_is_a_reject_and_the_rest_loads(engine, tmp_path):
    data = tmp_path / "wide.csv"
    data.write_bytes(GENERIC_HEADER + b"BIG," + b"x" * 200_000 + b",1,,,2025-01-01\n" + BITCOIN_ROW)
    record = run_csv(engine, data)
    assert (record.status, record.loaded, record.rejected) == ("succeeded", 1, 1)
    [(reason, fragment, _, _)] = rejects(engine)
    assert reason == "wide.csv line 2: not a CSV row (field larger than field limit (131072))"
    assert len(fragment) == len("BIG,,1,,,2025-01-01") + 200_000


def test_a_line_over_the_default_limit_is_a_reject_with_its_first_bytes_and_the_rest_loads(
    engine, settings, tmp_path
):
    data = tmp_path / "huge.csv"
    huge = b"BIG," + b"x" * (2 << 20) + b",1,,,2025-01-01\n"  # over the default limit, 1 MiB
    data.write_bytes(GENERIC_HEADER + huge + BITCOIN_ROW)
    record = run_named(replace(settings, csv_path=data), "csv", engine=engine)
    assert (record.status, record.loaded, record.rejected) == ("succeeded", 1, 1)
    [(reason, fragment, body, _)] = rejects(engine)
    assert reason == (
        f"huge.csv line 2: {len(huge)} bytes, over the line limit (CRYPTOETL_CSV_MAX_LINE_BYTES); "
        "only its first 200 bytes are kept"
    )
    assert fragment == huge[:200].decode()
    assert body == GENERIC_HEADER + BITCOIN_ROW  # the raw store keeps the lines it read


def test_an_amount_with_more_decimal_places_than_numeric_holds_is_a_reject_and_the_rest_loads(
    engine, tmp_path
):
    # PostgreSQL's NUMERIC keeps at most 16383 digits after the point: one such value used to fail its page.
    data = tmp_path / "tiny.csv"
    places = "0." + "0" * 16383 + "1"
    data.write_bytes(
        GENERIC_HEADER
        + b"TNY,Tiny,1e-999999,,,2025-01-01\n"
        + f"DUST,Dust,1,{places},,2025-01-01\n".encode()
        + b"ZERO,Zero,0E-16384,,,2025-01-01\n"
        + b"EDGE,Edge,1e-16383,,,2025-01-01\n"
        + BITCOIN_ROW
    )
    record = run_csv(engine, data)
    assert (record.status, record.loaded, record.rejected) == ("succeeded", 2, 3)
    limit = "decimal places; the most a database column holds is 16383."
    assert [reason for reason, *_ in rejects(engine)] == [
        f"tiny.csv line 2: price_usd: Has 999999 {limit}",
        f"tiny.csv line 3: market_cap_usd: Has 16384 {limit}",
        f"tiny.csv line 4: price_usd: Has 16384 {limit}",
    ]
