"""etl_run_totals, kept by triggers, equals what counting etl_runs says, whoever writes the ledger."""

import random
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command

from etl_cli.load import ledger
from etl_cli.load.ledger import RunCounts
from etl_cli.schema import reads
from etl_cli.schema.revisions import alembic_config, upgrade
from etl_cli.schema.tables import etl_run_totals, etl_runs

START = datetime(2026, 1, 1, tzinfo=UTC)
SOURCES = ("coingecko", "coinpaprika", "csv")
KINDS = ("run", "backfill", "replay")


def counted(conn: sa.Connection) -> set[tuple]:
    """What the totals would be, counted from the ledger itself."""
    query = sa.select(
        etl_runs.c.source, etl_runs.c.kind, etl_runs.c.status, sa.func.count(), sa.func.sum(etl_runs.c.loaded)
    ).group_by(etl_runs.c.source, etl_runs.c.kind, etl_runs.c.status)
    return {tuple(row) for row in conn.execute(query)}


def kept(conn: sa.Connection) -> set[tuple]:
    return {tuple(row) for row in reads.runs_by_status(conn)}


def test_totals_follow_every_kind_of_ledger_write(engine):
    rng = random.Random(7)
    running: list[int] = []
    for step in range(120):
        now = START + timedelta(minutes=step)
        with engine.begin() as conn:
            action = rng.choice(["start", "count", "finish", "abandon", "loaded", "delete", "rename"])
            if action == "start" or not running:
                source = rng.choice(SOURCES)
                if not ledger.running_runs(conn, source):  # one running row a source, by the schema
                    running.append(ledger.start_run(conn, source, now, kind=rng.choice(KINDS)))
                continue
            run_id = rng.choice(running)
            if action == "count":
                ledger.record_counts(conn, run_id, RunCounts(loaded=rng.randrange(1000)))
            elif action == "finish":
                status = rng.choice(["succeeded", "failed"])
                ledger.finish_run(conn, run_id, status, now, RunCounts(loaded=rng.randrange(1000)))
                running.remove(run_id)
            elif action == "abandon":
                ledger.abandon_run(conn, run_id, now, "taken over")
                running.remove(run_id)
            elif action == "loaded":  # an operator's SQL, on any row
                conn.execute(
                    sa.update(etl_runs).values(loaded=etl_runs.c.loaded + 1).where(etl_runs.c.run_id < 5)
                )
            elif action == "delete":
                conn.execute(sa.delete(etl_runs).where(etl_runs.c.run_id == run_id))
                running.remove(run_id)
            else:
                conn.execute(
                    sa.update(etl_runs).values(kind=rng.choice(KINDS)).where(etl_runs.c.run_id == run_id)
                )
        with engine.connect() as conn:
            assert kept(conn) == counted(conn), f"after step {step}: {action}"
    with engine.connect() as conn:
        statuses = {status for _source, _kind, status, *_ in kept(conn)}
    assert statuses == {"running", "succeeded", "failed", "abandoned"}  # every path was taken


def test_an_emptied_ledger_empties_its_totals(engine):
    with engine.begin() as conn:
        run_id = ledger.start_run(conn, "coingecko", START)
        ledger.finish_run(conn, run_id, "succeeded", START, RunCounts(loaded=3))
    with engine.begin() as conn:
        # PostgreSQL's TRUNCATE fires no row trigger; SQLite has none, and deletes every row.
        wipe = "TRUNCATE etl_runs CASCADE" if engine.dialect.name == "postgresql" else "DELETE FROM etl_runs"
        conn.exec_driver_sql(wipe)
    with engine.connect() as conn:
        assert kept(conn) == counted(conn) == set()


def test_a_heartbeat_leaves_the_totals_alone(engine):
    with engine.begin() as conn:
        run_id = ledger.start_run(conn, "coingecko", START)
    with engine.begin() as conn:
        before = list(conn.execute(sa.select(etl_run_totals)))
        assert ledger.renew(conn, run_id)
        assert list(conn.execute(sa.select(etl_run_totals))) == before


def test_the_upgrade_counts_the_runs_already_in_the_ledger(database_url):
    engine = sa.create_engine(database_url)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0006")
        for hour, (source, status, loaded) in enumerate(
            [("coingecko", "succeeded", 250), ("coingecko", "succeeded", 5), ("csv", "failed", 3)]
        ):
            conn.execute(
                sa.insert(etl_runs).values(
                    source=source, status=status, loaded=loaded, started_at=START + timedelta(hours=hour)
                )
            )
    upgrade(engine)
    with engine.connect() as conn:
        assert kept(conn) == {("coingecko", "run", "succeeded", 2, 255), ("csv", "run", "failed", 1, 3)}
    engine.dispose()
