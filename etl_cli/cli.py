"""The cryptoetl command line: the only place that prints or exits."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from etl_cli.config import Settings
from etl_cli.errors import CryptoEtlError, RunFailed
from etl_cli.extract import SOURCES
from etl_cli.load import ledger
from etl_cli.load.engine import head_revision, open_database
from etl_cli.pipeline import run_named

app = typer.Typer(
    help="Extract crypto market data, keep it as received, and load it normalized and exact.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")

Source = StrEnum("Source", {name: name for name in SOURCES})
Verbose = Annotated[
    bool, typer.Option("--verbose", "-v", help="Log debug detail and show tracebacks on errors.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@app.command()
def run(
    source: Annotated[Source, typer.Option(help="Which source to run.")],
    pages: Annotated[int, typer.Option(min=1, max=100, help="Pages to fetch at most.")] = 4,
    as_json: AsJson = False,
    replay: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            file_okay=False,
            help="Answer HTTP requests from the recorded responses in this directory.",
        ),
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Extract, transform and load one source into the database.

    Example: cryptoetl run --source coingecko --replay fixtures/replay/coingecko
    """
    with reported_errors(verbose):
        try:
            record = run_named(Settings.from_env(), source.value, pages=pages, replay_dir=replay)
        except RunFailed as exc:
            if as_json:
                typer.echo(json.dumps(exc.summary.as_json()))
            raise
        if as_json:
            typer.echo(json.dumps(record.as_json()))
        else:
            typer.echo(
                f"{record.source} run {record.run_id} {record.status} in {record.duration_s} s: "
                f"{record.extracted} extracted, {record.loaded} loaded, "
                f"{record.skipped} skipped, {record.rejected} rejected"
            )


@app.command()
def runs(
    source: Annotated[Source | None, typer.Option(help="Only runs of this source.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many runs, newest first.")] = 20,
    as_json: AsJson = False,
    verbose: Verbose = False,
) -> None:
    """Show recent runs from the ledger, newest first.

    Example: cryptoetl runs --source coingecko --limit 5
    """
    with reported_errors(verbose):
        engine = open_database(Settings.from_env().database_url)
        with engine.connect() as conn:
            records = ledger.recent_runs(conn, source.value if source else None, limit)
        if as_json:
            typer.echo(json.dumps([record.as_json() for record in records]))
            return
        typer.echo(
            f"{'RUN':>5}  {'SOURCE':<11} {'STATUS':<10} {'STARTED (UTC)':<19} {'SECONDS':>8} "
            f"{'EXTRACTED':>9} {'LOADED':>7} {'SKIPPED':>7} {'REJECTED':>8}  ERROR"
        )
        for r in records:
            seconds = "" if r.duration_s is None else f"{r.duration_s:.2f}"
            typer.echo(
                f"{r.run_id:>5}  {r.source:<11} {r.status:<10} {r.started_at:%Y-%m-%d %H:%M:%S} "
                f"{seconds:>8} {r.extracted:>9} {r.loaded:>7} {r.skipped:>7} {r.rejected:>8}  "
                f"{r.error or ''}"
            )


@db_app.command("upgrade")
def db_upgrade(verbose: Verbose = False) -> None:
    """Create the schema or migrate it to the newest revision.

    Example: CRYPTOETL_DATABASE_URL=postgresql+psycopg2://etl@db/crypto cryptoetl db upgrade
    """
    with reported_errors(verbose):
        open_database(Settings.from_env().database_url)
        typer.echo(f"database is at revision {head_revision()} (the newest)")


@contextmanager
def reported_errors(verbose: bool) -> Iterator[None]:
    """Set up logging; turn our errors into one `Error:` line on stderr and exit code 1."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    try:
        yield
    except CryptoEtlError as exc:
        if verbose:
            traceback.print_exc()
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None


def main() -> None:
    """Entry point for `python -m etl_cli`."""
    app()
