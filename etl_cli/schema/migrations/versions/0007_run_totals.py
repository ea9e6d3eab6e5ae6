"""Ledger totals kept as the ledger changes, so /stats and /metrics stay flat however many runs there are.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

etl_run_totals holds, per source, kind and status, how many etl_runs rows there are and the records they
loaded. Triggers on etl_runs keep it: an insert adds its row, a delete takes it away, and an update of the
source, kind, status or count of a row moves it from its old totals to its new ones, in the writer's own
transaction. Triggers rather than code in the ledger, so that every writer (the ledger, an operator's SQL, a
benchmark's generate_series) keeps the totals right. The table starts from the rows already there.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

KEY = ("source", "kind", "status")
# Add one ledger row of NEW's key; written once for both databases (an upsert each understands).
ADD_NEW = """
    INSERT INTO etl_run_totals (source, kind, status, runs, loaded)
    VALUES (NEW.source, NEW.kind, NEW.status, 1, NEW.loaded)
    ON CONFLICT (source, kind, status)
    DO UPDATE SET runs = etl_run_totals.runs + 1, loaded = etl_run_totals.loaded + excluded.loaded;"""
TAKE_OLD = """
    UPDATE etl_run_totals SET runs = runs - 1, loaded = loaded - OLD.loaded
    WHERE source = OLD.source AND kind = OLD.kind AND status = OLD.status;"""
WATCHED = "UPDATE OF source, kind, status, loaded"  # a heartbeat leaves the totals alone

POSTGRESQL = [
    f"""
CREATE FUNCTION etl_run_totals_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN{TAKE_OLD}
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN{ADD_NEW}
    END IF;
    RETURN NULL;
END
$$""",
    f"""
CREATE TRIGGER etl_runs_totals AFTER INSERT OR DELETE OR {WATCHED} ON etl_runs
FOR EACH ROW EXECUTE FUNCTION etl_run_totals_follow()""",
    # TRUNCATE fires no row trigger: an emptied ledger empties its totals.
    """
CREATE FUNCTION etl_run_totals_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM etl_run_totals;
    RETURN NULL;
END
$$""",
    "CREATE TRIGGER etl_runs_totals_truncate AFTER TRUNCATE ON etl_runs\n"
    "FOR EACH STATEMENT EXECUTE FUNCTION etl_run_totals_clear()",
]
SQLITE = [
    f"CREATE TRIGGER etl_runs_totals_insert AFTER INSERT ON etl_runs BEGIN{ADD_NEW}\nEND",
    f"CREATE TRIGGER etl_runs_totals_delete AFTER DELETE ON etl_runs BEGIN{TAKE_OLD}\nEND",
    f"CREATE TRIGGER etl_runs_totals_update AFTER {WATCHED} ON etl_runs BEGIN{TAKE_OLD}{ADD_NEW}\nEND",
]


def upgrade() -> None:
    op.create_table(
        "etl_run_totals",
        *(sa.Column(name, sa.String(32 if name == "source" else 16), primary_key=True) for name in KEY),
        sa.Column("runs", sa.BigInteger, nullable=False),
        sa.Column("loaded", sa.BigInteger, nullable=False),
    )
    op.execute(
        "INSERT INTO etl_run_totals (source, kind, status, runs, loaded) "
        "SELECT source, kind, status, count(*), sum(loaded) FROM etl_runs GROUP BY source, kind, status"
    )
    for statement in POSTGRESQL if op.get_context().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for trigger, function in [("totals", "follow"), ("totals_truncate", "clear")]:
            op.execute(f"DROP TRIGGER etl_runs_{trigger} ON etl_runs")
            op.execute(f"DROP FUNCTION etl_run_totals_{function}()")
    else:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER etl_runs_totals_{event}")
    op.drop_table("etl_run_totals")
