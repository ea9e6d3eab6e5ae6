"""`cryptoetl backfill`: load a source's past, after printing what it costs; resumable."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from etl_cli.cli.options import AsJson, Verbose
from etl_cli.errors import ConfigError

if TYPE_CHECKING:
    from etl_cli.backfill.plan import BackfillPlan
    from etl_cli.schema.reads import RunRecord

HistorySourceName = StrEnum("HistorySourceName", {name: name for name in ("coingecko", "coinpaprika")})
Interval = StrEnum("Interval", {name: name for name in ("hourly", "daily")})


def backfill(
    source: Annotated[HistorySourceName, typer.Option(help="Whose history to load.")],
    since: Annotated[
        str, typer.Option(help="Start: a date (00:00 UTC) or an ISO 8601 time, UTC if no offset.")
    ],
    until: Annotated[str | None, typer.Option(help="End, as --since (default: now).")] = None,
    ids: Annotated[str | None, typer.Option(help="The source's coin ids, comma-separated.")] = None,
    top: Annotated[
        int | None, typer.Option(min=1, max=5000, help="Or the top N coins by market cap.")
    ] = None,
    interval: Annotated[Interval, typer.Option(help="Points an hour or a day.")] = Interval.hourly,
    as_json: AsJson = False,
    allow_over_quota: Annotated[
        bool, typer.Option("--allow-over-quota", help="Run even if it exceeds the month's quota.")
    ] = False,
    replay: Annotated[
        Path | None,
        typer.Option(
            exists=True, file_okay=False, help="Answer HTTP requests from recordings in this directory."
        ),
    ] = None,
    _verbose: Verbose = False,
) -> None:
    """Load past points of some coins, in ranges the plan serves; print the cost first (on stderr).

    A killed backfill, run again, goes on after its last loaded range; a finished one adds nothing.

    Example: cryptoetl backfill --source coingecko --top 100 --since 2026-09-04 --until 2026-12-03
    """
    from etl_cli.aliases import read_aliases
    from etl_cli.backfill.plan import BackfillRequest, plan_backfill
    from etl_cli.backfill.runner import run_backfill
    from etl_cli.cli.progress import live_progress
    from etl_cli.config import Settings
    from etl_cli.errors import RunFailed
    from etl_cli.extract import HISTORY_SOURCES
    from etl_cli.load.engine import open_database, reader
    from etl_cli.quota import quota_of
    from etl_cli.transform import HISTORY_TRANSFORMS

    if (ids is None) == (top is None):
        raise ConfigError("give the coins with --ids ID,... or --top N (one of the two)")
    request = BackfillRequest(
        source.value,
        parse_time("--since", since),
        parse_time("--until", until) if until else None,
        interval.value,
        tuple(dict.fromkeys(word.strip() for word in ids.split(",") if word.strip())) if ids else None,
        top,
    )
    settings = Settings.from_env()
    engine = open_database(settings.database_url)
    history = HISTORY_SOURCES[source.value](settings, replay_dir=replay)
    with reader(engine).connect() as conn:
        plan = plan_backfill(conn, history, request, quota_of(settings, source.value), datetime.now(UTC))
    for line in plan.lines():
        typer.echo(line, err=True)
    if not allow_over_quota:
        plan.check()
    transform, aliases = HISTORY_TRANSFORMS[source.value], read_aliases(settings.aliases_path)
    try:
        with live_progress(as_json) as observer:
            record = run_backfill(engine, history, transform, plan, aliases, observer)
    except RunFailed as exc:
        _report(exc.summary, plan, as_json)
        raise
    _report(record, plan, as_json)


def parse_time(option: str, text: str) -> datetime:
    """A date (its 00:00 UTC) or an ISO 8601 time (UTC when it has no offset), to the second."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"{option} {text!r} is not a date or time: write 2026-09-04 or 2026-09-04T12:00Z"
        ) from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(microsecond=0)


def _report(record: RunRecord, plan: BackfillPlan, as_json: bool) -> None:
    from etl_cli.quota import plural

    if as_json:
        typer.echo(json.dumps({**record.as_json(), "plan": plan.as_json()}))
        return
    typer.echo(
        f"{record.source} backfill {record.run_id} {record.status} in {record.duration_s} s: "
        f"{record.extracted} extracted, {record.loaded} loaded, {record.skipped} skipped, "
        f"{record.rejected} rejected; {plural(record.http_requests, 'call')} ({record.http_retries} retried)"
    )
