"""`cryptoetl runs`: what the ledger says about recent runs."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from etl_cli.cli.options import AsJson, SourceName, Verbose


def runs(
    source: Annotated[SourceName | None, typer.Option(help="Only runs of this source.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="How many runs, newest first.")] = 20,
    as_json: AsJson = False,
    _verbose: Verbose = False,
) -> None:
    """Show recent runs from the ledger, newest first.

    Example: cryptoetl runs --source coingecko --limit 5
    """
    from etl_cli.config import Settings
    from etl_cli.load.engine import open_database, reader
    from etl_cli.schema import reads

    engine = open_database(Settings.from_env().database_url)
    with reader(engine).connect() as conn:
        records = reads.recent_runs(conn, source=source.value if source else None, limit=limit)
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
