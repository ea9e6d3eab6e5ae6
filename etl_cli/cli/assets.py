"""`cryptoetl assets`: the canonical assets and the listings that feed each."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from etl_cli.cli.options import AsJson, Verbose

if TYPE_CHECKING:
    from etl_cli.schema.reads import Listing


def assets(
    unmatched: Annotated[
        bool, typer.Option("--unmatched", help="Only assets fed by one source: candidates for the alias map.")
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
    """List canonical assets, the sources that feed each and the latest price from each.

    Example: cryptoetl assets --unmatched
    """
    from etl_cli.config import Settings
    from etl_cli.load.engine import open_database, reader
    from etl_cli.schema.divergence import diverging_assets, with_divergences
    from etl_cli.schema.reads import list_assets

    settings = Settings.from_env()
    engine = open_database(settings.database_url)
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
    typer.echo(f"{'ASSET':>6}  {'SYMBOL':<10} {'NAME':<28} SOURCES (latest USD price, observed at)")
    for view in views:
        feeds = ", ".join(_listing(listing) for listing in view.sources)
        spread = f"  DIVERGING by {view.divergence.spread_pct}%" if view.divergence else ""
        typer.echo(f"{view.asset_id:>6}  {view.symbol:<10} {(view.name or '')[:28]:<28} {feeds}{spread}")


def _listing(listing: Listing) -> str:
    price = "-" if listing.price_usd is None else format(listing.price_usd, "f")
    when = f" ({listing.observed_at:%Y-%m-%d %H:%M})" if listing.observed_at else ""
    return f"{listing.source}:{listing.source_asset_id} {price}{when}"
