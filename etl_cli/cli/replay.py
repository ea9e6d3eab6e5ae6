"""`cryptoetl replay`: re-transform and load the payloads a source stored, as a new run, offline."""

from __future__ import annotations

from typing import Annotated

import typer

from etl_cli.cli.options import AsJson, SourceName, Verbose


def replay(
    source: Annotated[SourceName, typer.Option(help="Whose stored payloads to replay.")],
    run: Annotated[
        int | None,
        typer.Option(min=1, help="Only the payloads this run stored first (default: all of the source's)."),
    ] = None,
    as_json: AsJson = False,
    _verbose: Verbose = False,
) -> None:
    """Re-transform and load stored raw payloads as a new run: re-apply a mapping fix, rebuild a table.

    No network call is made; rows already stored are skipped.

    Example: cryptoetl replay --source coingecko --run 12
    """
    from etl_cli.cli.progress import live_progress
    from etl_cli.cli.run import report_runs
    from etl_cli.config import Settings
    from etl_cli.errors import RunFailed
    from etl_cli.pipeline import run_replay

    settings = Settings.from_env()
    with live_progress(as_json) as observer:
        try:
            outcome = (source.value, run_replay(settings, source.value, run_id=run, observer=observer), None)
        except RunFailed as exc:
            outcome = (source.value, exc.summary, exc)
    report_runs([outcome], as_json, single=True)
