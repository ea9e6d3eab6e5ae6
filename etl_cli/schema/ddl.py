"""Write the schema as plain SQL for each database, from the migrations: `python -m etl_cli.schema.ddl`.

The files in sql/ are for people and tools that read SQL (a DBA, a BI tool): applied to an empty database
they create what `cryptoetl db upgrade` creates, Alembic's version row included, so cryptoetl takes such a
database as current. A test keeps them equal to what this module writes.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from alembic import command

from etl_cli.schema.revisions import alembic_config

DIALECTS = ("postgresql", "sqlite")
SQL_DIR = Path(__file__).resolve().parents[2] / "sql"


def render_ddl(dialect: str) -> str:
    """The SQL that the migrations run on `dialect`, from an empty database to the newest revision."""
    buffer = io.StringIO()
    config = alembic_config()
    config.output_buffer = buffer
    config.attributes["dialect"] = dialect
    command.upgrade(config, "head", sql=True)
    header = (
        f"-- The cryptoetl schema for {dialect}, generated from etl_cli/schema/migrations by\n"
        "--   python -m etl_cli.schema.ddl\n"
        "-- Do not edit: add a migration and run that command again.\n\n"
    )
    # Alembic ends each column line with ", " : drop the trailing blanks so the files diff cleanly.
    return header + "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def main() -> None:
    """Write sql/<dialect>.sql for every supported database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SQL_DIR, help="folder to write into (default: sql/)")
    out = parser.parse_args().out
    for dialect in DIALECTS:
        (out / f"{dialect}.sql").write_text(render_ddl(dialect), encoding="utf-8")


if __name__ == "__main__":
    main()
