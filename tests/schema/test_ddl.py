"""sql/<dialect>.sql is what the migrations create, written out for people: applying it equals an upgrade."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from etl_cli.schema.ddl import SQL_DIR, render_ddl
from etl_cli.schema.revisions import current_revision, head_revision
from tests.conftest import postgres_database


@pytest.fixture
def second_database_url(database_url: str, tmp_path: Path):
    """Another empty database of the same kind as `database_url`."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'from_ddl.db'}"
    else:
        yield from postgres_database()


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_the_committed_files_are_what_the_migrations_write(dialect):
    committed = (SQL_DIR / f"{dialect}.sql").read_text(encoding="utf-8")
    assert committed == render_ddl(dialect), "run `python -m etl_cli.schema.ddl` and commit sql/"


def test_applying_the_ddl_gives_the_upgraded_schema(engine, second_database_url):
    from_ddl = sa.create_engine(second_database_url)
    script = (SQL_DIR / f"{from_ddl.dialect.name}.sql").read_text(encoding="utf-8")
    raw = from_ddl.raw_connection()
    try:
        if from_ddl.dialect.name == "sqlite":
            raw.driver_connection.executescript(script)
        else:
            with raw.cursor() as cursor:
                cursor.execute(script)
            raw.commit()
    finally:
        raw.close()
    try:
        assert describe(from_ddl) == describe(engine)
        with from_ddl.connect() as conn:
            assert current_revision(conn) == head_revision()
    finally:
        from_ddl.dispose()


def describe(engine: sa.Engine) -> dict[str, Any]:
    """Tables, columns with their types, keys, indexes and constraints, as the database reports them."""
    inspector = sa.inspect(engine)
    described = {}
    for table in sorted(inspector.get_table_names()):
        described[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                for c in inspector.get_columns(table)
            ],
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "foreign_keys": sorted(
                (tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
                for fk in inspector.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), i["unique"]) for i in inspector.get_indexes(table)
            ),
            "unique": sorted(
                (u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)
            ),
            "checks": sorted((c["name"], c["sqltext"]) for c in inspector.get_check_constraints(table)),
        }
    return described
