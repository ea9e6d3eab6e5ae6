"""The cryptoetl command line: the only place that prints or exits.

Each command lives in the module of its feature and imports what it needs when it runs, so `--help` and the
small read commands start quickly. This module assembles them and is the one edge where errors are
translated: every CryptoEtlError becomes one `Error: ...` line on stderr and exit code 1, with the traceback
under `--verbose` (see options.Verbose, which also sets up logging).
"""

from __future__ import annotations

import traceback
from typing import Any

import typer
from typer.core import TyperGroup

from etl_cli.cli import assets, backfill, db, health, ledger, plan, replay, run, schedule
from etl_cli.cli.options import VERBOSE
from etl_cli.errors import CryptoEtlError


class CommandGroup(TyperGroup):
    """The commands; the one place where our errors become an `Error:` line and exit code 1."""

    def invoke(self, ctx: typer.Context) -> Any:
        """Run the command; turn a CryptoEtlError into one line on stderr and exit code 1."""
        try:
            return super().invoke(ctx)
        except CryptoEtlError as exc:
            if ctx.meta.get(VERBOSE):
                traceback.print_exc()
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=CommandGroup,
    help="Extract crypto market data, keep it as received, and load it normalized and exact.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command()(run.run)
app.command()(ledger.runs)
app.command()(ledger.rejects)
app.add_typer(assets.app, name="assets")
app.command()(health.health)
app.command()(schedule.schedule)
app.command()(replay.replay)
app.command()(plan.plan)
app.command()(backfill.backfill)
app.add_typer(db.app, name="db")


def main() -> None:
    """Entry point for `python -m etl_cli`."""
    app()
