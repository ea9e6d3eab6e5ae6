"""`cryptoetl assets`: canonical assets and why their listings are one; the review queue; merging by hand."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from etl_cli.cli.options import AsJson, Verbose

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from etl_cli.config import Settings
    from etl_cli.schema.reads import AssetView, Listing
    from etl_cli.transform.review import Candidate

app = typer.Typer(no_args_is_help=False)


@app.callback(invoke_without_command=True)
def assets(
    ctx: typer.Context,
    unmatched: Annotated[
        bool, typer.Option("--unmatched", help="Only assets fed by one source: candidates for the alias map.")
    ] = False,
    candidates: Annotated[
        bool,
        typer.Option(
            "--candidates",
            help="The review queue: pairs likely one coin that the rules left apart, with their evidence "
            "and the alias line that joins each.",
        ),
    ] = False,
    diverging: Annotated[
        bool,
        typer.Option(
            "--diverging",
            help="Only assets whose sources' prices within an hour differ by > CRYPTOETL_DIVERGENCE_PCT %.",
        ),
    ] = False,
    as_json: AsJson = False,
    _verbose: Verbose = False,
) -> None:
    """List canonical assets, the sources that feed each, the latest price from each and why they are one.

    Example: cryptoetl assets --candidates
    """
    if ctx.invoked_subcommand is not None:
        return
    from etl_cli.load.engine import reader
    from etl_cli.schema.divergence import diverging_assets, with_divergences
    from etl_cli.schema.reads import list_assets

    settings, engine = _open()
    if candidates:
        _print_candidates(_review_queue(settings, engine), as_json)
        return
    with reader(engine).connect() as conn:
        if diverging:
            views = diverging_assets(conn, settings.divergence_pct)
        else:
            views = with_divergences(
                conn, list_assets(conn, unmatched_only=unmatched), settings.divergence_pct
            )
    if as_json:
        typer.echo(json.dumps([view.as_json() for view in views]))
        return
    typer.echo(f"{'ASSET':>6}  {'SYMBOL':<10} {'NAME':<28} SOURCES (latest USD price, observed at) [rule]")
    for view in views:
        _print_asset(view)


@app.command()
def merge(
    retired: Annotated[int, typer.Argument(help="The asset to retire: its listings and snapshots move.")],
    survivor: Annotated[int, typer.Argument(help="The asset that keeps its id and takes them.")],
    reason: Annotated[str, typer.Option(help="Why they are one coin, for the record.")] = "by hand",
    _verbose: Verbose = False,
) -> None:
    """Merge asset RETIRED into asset SURVIVOR now, in one transaction, recorded like an alias merge.

    The retired id keeps answering in the API, with a redirect to the survivor.

    Example: cryptoetl assets merge 212 57 --reason "Fantom became Sonic"
    """
    from datetime import UTC, datetime

    from etl_cli.aliases import read_aliases
    from etl_cli.load.merges import merge_by_hand

    settings, engine = _open()
    aliases = read_aliases(settings.aliases_path)
    with engine.begin() as conn:
        correction = merge_by_hand(conn, retired, survivor, reason, aliases, datetime.now(UTC))
    typer.echo(f"merged asset {retired} into asset {survivor} (correction #{correction})")


def _open() -> tuple[Settings, Engine]:
    """The settings, and the database as it is: never created or migrated here (see open_for_reading)."""
    from etl_cli.config import Settings
    from etl_cli.load.engine import open_for_reading

    settings = Settings.from_env()
    return settings, open_for_reading(settings.database_url)


def _print_asset(view: AssetView) -> None:
    feeds = ", ".join(_listing(listing) for listing in view.sources)
    spread = f"  DIVERGING by {view.divergence.spread_pct}%" if view.divergence else ""
    typer.echo(f"{view.asset_id:>6}  {view.symbol:<10} {(view.name or '')[:28]:<28} {feeds}{spread}")
    for listing in view.sources:
        if listing.rule not in ("new", "unrecorded"):
            for line in listing.evidence:
                typer.echo(f"{'':>8}why {listing.source}:{listing.source_asset_id}: {line}")


def _listing(listing: Listing) -> str:
    price = "-" if listing.price_usd is None else format(listing.price_usd, "f")
    when = f" ({listing.observed_at:%Y-%m-%d %H:%M})" if listing.observed_at else ""
    return f"{listing.source}:{listing.source_asset_id} {price}{when} [{listing.rule}]"


def _review_queue(settings: Settings, engine: Engine) -> list[Candidate]:
    from etl_cli.aliases import read_aliases
    from etl_cli.load.engine import reader
    from etl_cli.schema.reads import listing_facts
    from etl_cli.transform.identity import KnownRecord
    from etl_cli.transform.review import review_queue

    with reader(engine).connect() as conn:
        known = [KnownRecord.from_row(row) for row in listing_facts(conn, every=True)]
    return review_queue(known, read_aliases(settings.aliases_path))


def _print_candidates(queue: list[Candidate], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([candidate.as_json() for candidate in queue]))
        return
    if not queue:
        typer.echo("no likely pairs left apart")
    for candidate in queue:
        a, b = candidate.first, candidate.second
        typer.echo(
            f"{a.record.symbol}: asset {a.asset_id} {a.record.source}:{a.record.source_asset_id} "
            f"({a.record.name}) ~ asset {b.asset_id} {b.record.source}:{b.record.source_asset_id} "
            f"({b.record.name})"
        )
        typer.echo(f"    not joined: {candidate.why_not}")
        for finding in candidate.comparison.agreements:
            typer.echo(f"    for     {finding}")
        for finding in candidate.comparison.vetoes:
            typer.echo(f"    against {finding}")
        for line in candidate.alias_lines:
            typer.echo(f"    alias line: {line}")
