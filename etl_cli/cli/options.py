"""Options that several commands share."""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Annotated

import typer

from etl_cli.schema import SOURCES

Source = StrEnum("Source", {name: name for name in [*SOURCES, "all"]})
SourceName = StrEnum("SourceName", {name: name for name in SOURCES})
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]

VERBOSE = "cryptoetl.verbose"  # ctx.meta key: the error edge shows the traceback when set


def configure_logging(ctx: typer.Context, verbose: bool) -> None:
    """Log to stderr in CRYPTOETL_LOG_FORMAT: debug detail under --verbose, else warnings only."""
    from etl_cli import logs
    from etl_cli.config import log_format_from_env

    ctx.meta[VERBOSE] = verbose
    logs.configure(log_format_from_env(), logging.DEBUG if verbose else logging.WARNING)


# Every command takes it; its callback sets up logging before the command runs.
Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Log debug detail and show tracebacks on errors.",
        callback=configure_logging,
        is_eager=True,
        expose_value=False,
    ),
]
