"""CSV runs end to end on both databases: what the raw store and the rejects keep of each chunk."""

from pathlib import Path

import sqlalchemy as sa

from etl_cli.extract.csv_file import CsvExtractor
from etl_cli.pipeline import run_source
from etl_cli.schema.tables import raw_payloads, rejected_records
from etl_cli.transform import TRANSFORMS

GENERIC_HEADER = b"symbol,name,price_usd,market_cap_usd,volume_24h_usd,observed_at\n"


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
