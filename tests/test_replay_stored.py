"""`cryptoetl replay`: stored payloads re-transformed and loaded as a new run, exactly, offline."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import responses
import sqlalchemy as sa
from typer.testing import CliRunner

from etl_cli.cli import app
from etl_cli.errors import ConfigError
from etl_cli.extract.csv_file import CsvExtractor
from etl_cli.load import ledger
from etl_cli.pipeline import run_named, run_replay, run_source
from etl_cli.schema.reads import BACKFILL
from etl_cli.schema.tables import (
    market_snapshots,
    payload_chunks,
    raw_payloads,
    rejected_records,
    source_checkpoints,
)
from etl_cli.transform import TRANSFORMS
from tests.samples import REPLAY_DIR

GENERIC_HEADER = b"symbol,name,price_usd,market_cap_usd,volume_24h_usd,observed_at\n"
BLOCK = b"AAA,Alpha,1,,,2025-01-01\nBBB,Beta,x,,,2025-01-01\n"
# Compared between a run and its replay: everything but the keys and who loaded it when.
SNAPSHOT = [c for c in market_snapshots.c if c.name not in ("snapshot_id", "run_id", "loaded_at")]


def snapshots(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(*SNAPSHOT).order_by(*SNAPSHOT[:3]))]


def reasons(engine, run_id: int) -> list[tuple]:
    with engine.connect() as conn:
        query = sa.select(
            rejected_records.c.reason, rejected_records.c.fragment, rejected_records.c.payload_id
        )
        rows = conn.execute(
            query.where(rejected_records.c.run_id == run_id).order_by(rejected_records.c.reason)
        )
        return [tuple(row) for row in rows]


@responses.activate  # any HTTP request would fail: none is registered
def test_a_purged_table_is_rebuilt_from_the_stored_pages_exactly_and_offline(engine, settings):
    first = run_named(settings, "coingecko", replay_dir=REPLAY_DIR, engine=engine)
    before = snapshots(engine)
    with engine.begin() as conn:
        conn.execute(sa.delete(market_snapshots))
    replayed = run_replay(settings, "coingecko", engine=engine)
    assert replayed.run_id == first.run_id + 1 and replayed.status == "succeeded"
    assert (replayed.extracted, replayed.loaded, replayed.skipped, replayed.http_requests) == (250, 250, 0, 0)
    assert snapshots(engine) == before
    again = run_replay(settings, "coingecko", run_id=first.run_id, engine=engine)
    assert (again.extracted, again.loaded, again.skipped) == (250, 0, 250)  # rows already stored
    assert len(responses.calls) == 0


def test_a_csv_replay_gives_every_reject_its_line_even_for_chunks_that_share_one_payload(
    engine, settings, tmp_path
):
    data = tmp_path / "twice.csv"
    long_line = b"LNG,Long," + b"9" * 300 + b",,,2025-01-01\n"
    data.write_bytes(GENERIC_HEADER + BLOCK + BLOCK + long_line)
    extractor = CsvExtractor(data, chunk_rows=2, max_line_bytes=200)
    first = run_source(engine, extractor, TRANSFORMS["csv"], aliases={})
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(raw_payloads)) == 2  # BLOCK, stored once
        assert conn.scalar(sa.select(sa.func.count()).select_from(payload_chunks)) == 3
        state = conn.scalar(sa.select(source_checkpoints.c.state))
    with engine.begin() as conn:
        conn.execute(sa.delete(market_snapshots))
    replayed = run_replay(settings, "csv", engine=engine)
    assert (
        (replayed.extracted, replayed.loaded, replayed.skipped, replayed.rejected)
        == (
            first.extracted,
            first.loaded,
            first.skipped,
            first.rejected,
        )
        == (5, 1, 1, 3)
    )
    assert reasons(engine, replayed.run_id) == reasons(engine, first.run_id)
    assert [reason for reason, _, _ in reasons(engine, first.run_id)] == [
        "twice.csv line 3: price_usd: Not a valid number.",
        "twice.csv line 5: price_usd: Not a valid number.",
        f"twice.csv line 6: {len(long_line)} bytes, over the line limit (CRYPTOETL_CSV_MAX_LINE_BYTES); "
        "only its first 200 bytes are kept",
    ]
    with engine.connect() as conn:
        checkpoint = conn.execute(sa.select(source_checkpoints)).one()
    assert checkpoint.state == state  # the file's progress is untouched
    # A replay says nothing of the source's health: the last run and success stay the live run's.
    assert checkpoint.last_run_id == first.run_id and checkpoint.last_success_at is not None


def test_replay_refuses_a_run_of_another_source_and_an_empty_store(engine, settings):
    with pytest.raises(ConfigError, match="nothing stored to replay for coinpaprika"):
        run_replay(settings, "coinpaprika", engine=engine)
    first = run_named(settings, "coingecko", replay_dir=REPLAY_DIR, engine=engine)
    with pytest.raises(ConfigError, match=f"--run {first.run_id} is a coingecko run, not a csv run"):
        run_replay(settings, "csv", run_id=first.run_id, engine=engine)
    with pytest.raises(ConfigError, match="--run 99 is not in the ledger"):
        run_replay(settings, "coingecko", run_id=99, engine=engine)
    with engine.begin() as conn:
        backfill = ledger.start_run(conn, "coingecko", datetime.now(UTC), kind=BACKFILL)
    with pytest.raises(ConfigError, match=f"--run {backfill} is a backfill, which replay does not re-read"):
        run_replay(settings, "coingecko", run_id=backfill, engine=engine)


def test_the_replay_command_reports_like_a_run(database_url, settings, engine):
    run_named(settings, "coingecko", replay_dir=REPLAY_DIR, engine=engine)
    result = CliRunner().invoke(
        app,
        ["replay", "--source", "coingecko", "--run", "1", "--json"],
        env={"CRYPTOETL_DATABASE_URL": database_url},
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["run_id"], summary["source"], summary["status"], summary["skipped"]) == (
        2,
        "coingecko",
        "succeeded",
        250,
    )
    text = CliRunner().invoke(
        app, ["replay", "--source", "coingecko"], env={"CRYPTOETL_DATABASE_URL": database_url}
    )
    assert text.stdout.startswith("coingecko replay 3 succeeded in ")  # what the ledger calls it, not a run
    missing = CliRunner().invoke(
        app, ["replay", "--source", "csv"], env={"CRYPTOETL_DATABASE_URL": database_url}
    )
    assert missing.exit_code == 1 and missing.stderr == "Error: nothing stored to replay for csv\n"
