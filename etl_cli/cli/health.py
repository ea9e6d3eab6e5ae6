"""`cryptoetl health`: exit 0 when the pipeline is healthy, 1 with the reasons when not."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from etl_cli.cli.options import Verbose


def health(
    max_age: Annotated[
        float,
        typer.Option(min=0, max=24 * 366, help="Hours the newest success may be old before it is stale."),
    ] = 3.0,
    _verbose: Verbose = False,
) -> None:
    """Check the database is current, no source's newest run failed and a run succeeded lately; exit 1 if not.

    Example: cryptoetl health --max-age 2
    """
    from etl_cli.config import Settings
    from etl_cli.health import check_health

    typer.echo(check_health(Settings.from_env().database_url, timedelta(hours=max_age)))
