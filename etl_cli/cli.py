"""The cryptoetl command line: the only place that prints or exits."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from etl_cli.config import Settings
from etl_cli.errors import ConfigError, CryptoEtlError, RunFailed
from etl_cli.extract import SOURCES
from etl_cli.load import ledger
from etl_cli.load.assets import FeedView, list_assets
from etl_cli.load.engine import check_health, head_revision, open_database, reader
from etl_cli.pipeline import configured_sources, run_named
from etl_cli.scheduler import DEFAULT_CRON, serve

app = typer.Typer(
    help="Extract crypto market data, keep it as received, and load it normalized and exact.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")

Source = StrEnum("Source", {name: name for name in [*SOURCES, "all"]})
SourceName = StrEnum("SourceName", {name: name for name in SOURCES})
Verbose = Annotated[
    bool, typer.Option("--verbose", "-v", help="Log debug detail and show tracebacks on errors.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@app.command()
def run(
    source: Annotated[Source, typer.Option(help="Which source to run; `all` runs every configured one.")],
    pages: Annotated[int, typer.Option(min=1, max=100, help="CoinGecko pages to fetch at most.")] = 4,
    as_json: AsJson = False,
    replay: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            file_okay=False,
            help="Answer HTTP requests from recordings in this directory (with `all`: DIR/<source>).",
        ),
    ] = None,
    path: Annotated[
        Path | None,
        typer.Option(exists=True, help="CSV file or folder for the csv source (default CRYPTOETL_CSV_PATH)."),
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Extract, transform and load one source, or all, into the database.

    Example: cryptoetl run --source coingecko --replay fixtures/replay/coingecko
    """
    with reported_errors(verbose):
        settings = Settings.from_env()
        if path is not None:
            settings = replace(settings, csv_path=path)
        engine = open_database(settings.database_url)
        if source.value != "all":
            _report([_run_one(settings, engine, source.value, pages, replay)], as_json, single=True)
            return
        outcomes = [
            _run_one(settings, engine, name, pages, replay / name if replay else None)
            for name in configured_sources(settings)
        ]
        _report(outcomes, as_json, single=False)


Outcome = tuple[str, ledger.RunRecord | None, CryptoEtlError | None]


def _run_one(settings: Settings, engine: Engine, name: str, pages: int, replay: Path | None) -> Outcome:
    """Run one source; a failure is returned, not raised, so `all` goes on with the next source."""
    try:
        if replay is not None and name != "csv" and not (replay / "manifest.json").is_file():
            raise ConfigError(f"no recordings for {name} in {replay}")
        replay_dir = None if name == "csv" else replay
        return name, run_named(settings, name, pages=pages, replay_dir=replay_dir, engine=engine), None
    except RunFailed as exc:
        return name, exc.summary, exc
    except CryptoEtlError as exc:
        return name, None, exc


def _report(outcomes: list[Outcome], as_json: bool, single: bool) -> None:
    """Print each run's summary, then exit 1 after one `Error:` line per failed source."""
    summaries = [
        record.as_json() if record else {"source": name, "status": "not run", "error": str(error)}
        for name, record, error in outcomes
    ]
    if as_json:
        typer.echo(json.dumps(summaries[0] if single else summaries))
    for name, record, _ in outcomes:
        if record and not as_json:
            typer.echo(
                f"{name} run {record.run_id} {record.status} in {record.duration_s} s: "
                f"{record.extracted} extracted, {record.loaded} loaded, "
                f"{record.skipped} skipped, {record.rejected} rejected"
            )
    failures = [error for _, _, error in outcomes if error is not None]
    if single and failures:
        raise failures[0]
    for error in failures:
        typer.echo(f"Error: {error}", err=True)
    if failures:
        raise typer.Exit(1)


@app.command()
def runs(
    source: Annotated[SourceName | None, typer.Option(help="Only runs of this source.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="How many runs, newest first.")] = 20,
    as_json: AsJson = False,
    verbose: Verbose = False,
) -> None:
    """Show recent runs from the ledger, newest first.

    Example: cryptoetl runs --source coingecko --limit 5
    """
    with reported_errors(verbose):
        engine = open_database(Settings.from_env().database_url)
        with reader(engine).connect() as conn:
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


@app.command()
def assets(
    unmatched: Annotated[
        bool, typer.Option("--unmatched", help="Only assets fed by one source: candidates for the alias map.")
    ] = False,
    as_json: AsJson = False,
    verbose: Verbose = False,
) -> None:
    """List canonical assets, the sources that feed each and the latest price from each.

    Example: cryptoetl assets --unmatched
    """
    with reported_errors(verbose):
        engine = open_database(Settings.from_env().database_url)
        with reader(engine).connect() as conn:
            views = list_assets(conn, unmatched_only=unmatched)
        if as_json:
            typer.echo(json.dumps([view.as_json() for view in views]))
            return
        typer.echo(f"{'ASSET':>6}  {'SYMBOL':<10} {'NAME':<28} SOURCES (latest USD price, observed at)")
        for view in views:
            feeds = ", ".join(_feed(feed) for feed in view.sources)
            typer.echo(f"{view.asset_id:>6}  {view.symbol:<10} {(view.name or '')[:28]:<28} {feeds}")


def _feed(feed: FeedView) -> str:
    price = "-" if feed.price_usd is None else format(feed.price_usd, "f")
    when = f" ({feed.observed_at:%Y-%m-%d %H:%M})" if feed.observed_at else ""
    return f"{feed.source}:{feed.source_asset_id} {price}{when}"


@app.command()
def health(
    max_age: Annotated[
        float,
        typer.Option(min=0, max=24 * 366, help="Hours the newest run may be old before it counts as stale."),
    ] = 3.0,
    verbose: Verbose = False,
) -> None:
    """Check the database answers, its schema is current and a run happened recently; exit 1 if not.

    Example: cryptoetl health --max-age 2
    """
    with reported_errors(verbose):
        message = check_health(Settings.from_env().database_url, timedelta(hours=max_age))
        typer.echo(message)


@app.command()
def schedule(
    cron: Annotated[str, typer.Option(help="Crontab expression, in UTC.")] = DEFAULT_CRON,
    source: Annotated[
        Source, typer.Option(help="Which source to run; `all` runs every configured one.")
    ] = "all",
    run_now: Annotated[bool, typer.Option("--run-now", help="Also run once at start.")] = False,
    verbose: Verbose = False,
) -> None:
    """Run sources on a cron schedule until SIGTERM or SIGINT, which finish or abandon the run in progress.

    Example: cryptoetl schedule --cron "0 * * * *" --source all --run-now
    """
    with reported_errors(verbose):
        serve(Settings.from_env(), cron=cron, source=source.value, run_now=run_now)


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
