"""`cryptoetl plan`: what a schedule costs each source in calls a month, against its plan's quota."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from etl_cli.cli.options import AsJson, Source, Verbose
from etl_cli.config import DEFAULT_CRON


def plan(
    cron: Annotated[str, typer.Option(help="Crontab expression, in UTC.")] = DEFAULT_CRON,
    source: Annotated[Source, typer.Option(help="Which source; `all` plans every configured one.")] = "all",
    pages: Annotated[int, typer.Option(min=1, max=100, help="CoinGecko pages each run fetches.")] = 4,
    as_json: AsJson = False,
    _verbose: Verbose = False,
) -> None:
    """Show each source's calls a run and in the schedule's busiest month against its quota; exit 1 if over.

    Example: cryptoetl plan --cron "*/15 * * * *" --pages 2
    """
    from etl_cli.config import Settings
    from etl_cli.cron import parse_cron
    from etl_cli.quota import plan_schedule
    from etl_cli.scheduler import scheduled_sources

    settings = Settings.from_env()
    trigger = parse_cron(cron)
    schedule_plan = plan_schedule(
        settings, scheduled_sources(settings, source.value), trigger, cron, pages=pages
    )
    typer.echo(json.dumps(schedule_plan.as_json()) if as_json else "\n".join(schedule_plan.lines()))
    schedule_plan.check()
