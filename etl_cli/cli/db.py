"""`cryptoetl db`: the database schema."""

from __future__ import annotations

import typer

from etl_cli.cli.options import Verbose

app = typer.Typer(help="Manage the database schema.", no_args_is_help=True, rich_markup_mode=None)


@app.command("upgrade")
def upgrade(_verbose: Verbose = False) -> None:
    """Create the schema or migrate it to the newest revision.

    Example: CRYPTOETL_DATABASE_URL=postgresql+psycopg2://etl@db/crypto cryptoetl db upgrade
    """
    from etl_cli.config import Settings
    from etl_cli.load.engine import open_database
    from etl_cli.schema.revisions import head_revision

    open_database(Settings.from_env().database_url)
    typer.echo(f"database is at revision {head_revision()} (the newest)")
