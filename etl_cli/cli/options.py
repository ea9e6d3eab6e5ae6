"""Options that several commands share."""

from __future__ import annotations

import logging
import sys
from enum import StrEnum
from typing import Annotated

import typer

from etl_cli.schema import SOURCES

Source = StrEnum("Source", {name: name for name in [*SOURCES, "all"]})
SourceName = StrEnum("SourceName", {name: name for name in SOURCES})
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]

VERBOSE = "cryptoetl.verbose"  # ctx.meta key: the error edge shows the traceback when set


def configure_logging(ctx: typer.Context, verbose: bool) -> None:
    """Log to stderr: debug detail under --verbose, else warnings only."""
    ctx.meta[VERBOSE] = verbose
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )


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
