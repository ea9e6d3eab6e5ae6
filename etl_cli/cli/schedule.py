"""`cryptoetl schedule`: run the sources on a cron schedule until SIGTERM or SIGINT."""

from __future__ import annotations

from typing import Annotated

import typer

from etl_cli.cli.options import Source, Verbose
from etl_cli.config import DEFAULT_CRON


def schedule(
    cron: Annotated[str, typer.Option(help="Crontab expression, in UTC.")] = DEFAULT_CRON,
    source: Annotated[
        Source, typer.Option(help="Which source to run; `all` runs every configured one.")
    ] = "all",
    run_now: Annotated[bool, typer.Option("--run-now", help="Also run once at start.")] = False,
    _verbose: Verbose = False,
) -> None:
    """Run sources on a cron schedule until SIGTERM or SIGINT, which finish or abandon the run in progress.

    Example: cryptoetl schedule --cron "0 * * * *" --source all --run-now
    """
    from etl_cli.config import Settings
    from etl_cli.scheduler import serve

    serve(Settings.from_env(), cron=cron, source=source.value, run_now=run_now)
