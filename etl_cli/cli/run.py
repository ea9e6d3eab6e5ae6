"""`cryptoetl run`: one run of a source, or of every configured source in turn."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from etl_cli.cli.options import AsJson, Source, Verbose

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from etl_cli.config import Settings
    from etl_cli.errors import CryptoEtlError
    from etl_cli.progress import RunObserver
    from etl_cli.schema.reads import RunRecord

    Outcome = tuple[str, RunRecord | None, CryptoEtlError | None]


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
    _verbose: Verbose = False,
) -> None:
    """Extract, transform and load one source, or all, into the database.

    Example: cryptoetl run --source coingecko --replay fixtures/replay/coingecko
    """
    from etl_cli.cli.progress import live_progress
    from etl_cli.config import Settings
    from etl_cli.load.engine import open_database
    from etl_cli.pipeline import configured_sources

    settings = Settings.from_env()
    if path is not None:
        settings = replace(settings, csv_path=path)
    engine = open_database(settings.database_url)
    with live_progress(as_json) as observer:
        if source.value != "all":
            outcomes = [_run_one(settings, engine, source.value, pages, replay, observer)]
        else:
            outcomes = [
                _run_one(settings, engine, name, pages, replay / name if replay else None, observer)
                for name in configured_sources(settings)
            ]
    report_runs(outcomes, as_json, single=source.value != "all")


def _run_one(
    settings: Settings,
    engine: Engine,
    name: str,
    pages: int,
    replay: Path | None,
    observer: RunObserver | None,
) -> Outcome:
    """Run one source; a failure is returned, not raised, so `all` goes on with the next source."""
    from etl_cli.errors import ConfigError, CryptoEtlError, RunFailed
    from etl_cli.pipeline import run_named

    try:
        if replay is not None and name != "csv" and not (replay / "manifest.json").is_file():
            raise ConfigError(f"no recordings for {name} in {replay}")
        replay_dir = None if name == "csv" else replay
        record = run_named(
            settings, name, pages=pages, replay_dir=replay_dir, engine=engine, observer=observer
        )
        return name, record, None
    except RunFailed as exc:
        return name, exc.summary, exc
    except CryptoEtlError as exc:
        return name, None, exc


def report_runs(outcomes: list[Outcome], as_json: bool, single: bool) -> None:
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
                f"{name} {record.kind} {record.run_id} {record.status} in {record.duration_s} s: "
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
