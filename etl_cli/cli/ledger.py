"""`cryptoetl runs` and `cryptoetl rejects`: what the ledger says of recent runs and the records refused."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from etl_cli.cli.options import AsJson, SourceName, Verbose

if TYPE_CHECKING:
    from etl_cli.schema.reads import RejectRecord

Limit = Annotated[int, typer.Option(min=1, max=100_000, help="How many, newest first.")]
# Columns of a reject's text in the table; --json gives it whole.
TEXT_WIDTH = 60


def runs(
    source: Annotated[SourceName | None, typer.Option(help="Only runs of this source.")] = None,
    limit: Limit = 20,
    as_json: AsJson = False,
    _verbose: Verbose = False,
) -> None:
    """Show recent runs from the ledger, newest first; KIND tells runs from backfills and replays.

    Example: cryptoetl runs --source coingecko --limit 5
    """
    from etl_cli.config import Settings
    from etl_cli.load.engine import open_for_reading, reader
    from etl_cli.schema import reads

    engine = open_for_reading(Settings.from_env().database_url)
    with reader(engine).connect() as conn:
        records = reads.recent_runs(conn, source=source.value if source else None, limit=limit)
    if as_json:
        typer.echo(json.dumps([record.as_json() for record in records]))
        return
    typer.echo(
        f"{'RUN':>5}  {'SOURCE':<11} {'KIND':<8} {'STATUS':<10} {'STARTED (UTC)':<19} {'SECONDS':>8} "
        f"{'EXTRACTED':>9} {'LOADED':>7} {'SKIPPED':>7} {'REJECTED':>8}  ERROR"
    )
    for r in records:
        seconds = "" if r.duration_s is None else f"{r.duration_s:.2f}"
        typer.echo(
            f"{r.run_id:>5}  {r.source:<11} {r.kind:<8} {r.status:<10} {r.started_at:%Y-%m-%d %H:%M:%S} "
            f"{seconds:>8} {r.extracted:>9} {r.loaded:>7} {r.skipped:>7} {r.rejected:>8}  "
            f"{r.error or ''}"
        )


def rejects(
    run: Annotated[int | None, typer.Option("--run", min=1, help="Only rejects of this run.")] = None,
    source: Annotated[SourceName | None, typer.Option(help="Only rejects of this source.")] = None,
    limit: Limit = 20,
    as_json: AsJson = False,
    _verbose: Verbose = False,
) -> None:
    """Show rejected records, newest first: the record or line, why, and its text as the source sent it.

    Example: cryptoetl rejects --run 12 --limit 50
    """
    from etl_cli.config import Settings
    from etl_cli.load.engine import open_for_reading, reader
    from etl_cli.schema import reads

    engine = open_for_reading(Settings.from_env().database_url)
    with reader(engine).connect() as conn:
        found = reads.recent_rejects(conn, run_id=run, source=source.value if source else None, limit=limit)
    if as_json:
        typer.echo(json.dumps([reject.as_json() for reject in found]))
        return
    typer.echo(f"{'RUN':>5}  {'SOURCE':<11} {'RECORD':<24} REASON  |  TEXT")
    for r in found:
        typer.echo(f"{r.run_id:>5}  {r.source:<11} {r.source_asset_id or '-':<24} {r.reason}  |  {shown(r)}")


def shown(reject: RejectRecord) -> str:
    """A reject's text on one line of the terminal: blanks squeezed, control characters made visible, cut."""
    text = " ".join(reject.fragment.split())
    text = "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
    return text if len(text) <= TEXT_WIDTH else text[: TEXT_WIDTH - 3] + "..."
