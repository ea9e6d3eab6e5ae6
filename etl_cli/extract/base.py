"""What every source hands to the pipeline: raw pages, exactly as received."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from etl_cli.errors import FatalSourceError
from etl_cli.extract.csv_layout import CsvLayout


@dataclass(frozen=True)
class RawPage:
    """One response body exactly as received; the unit the raw store keeps."""

    source: str
    url: str  # without secrets; file:// for files
    http_status: int | None  # None for files
    fetched_at: datetime  # UTC, timezone-aware
    body: bytes
    # A page that carries a checkpoint state is committed on its own, together with that state, so a long
    # stream (a big CSV file) resumes after its last committed page.
    state: Mapping[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class CsvChunk(RawPage):
    """The header line and some data lines of a CSV file, byte for byte, with where they sit in it."""

    file: Path
    first_line: int  # the file's line number of the first data line
    layout: CsvLayout  # read from the header once per file


@dataclass
class HttpStats:
    """What a run cost in HTTP terms, for the ledger."""

    requests: int = 0
    retries: int = 0


class Extractor(Protocol):
    """A source: knows its endpoints and paging, nothing about storage."""

    name: str
    stats: HttpStats

    def pages(self, state: Mapping[str, Any] | None = None) -> Iterator[RawPage]:
        """Yield raw pages in order, resuming after `state` if the source can; raise SourceError on failure.

        `state` is the checkpoint state of the last committed page that carried one (see RawPage.state).
        """
        ...


def count_json_array(page: RawPage) -> int:
    """Count the elements of a page that must be a JSON array; anything else fails the run."""
    try:
        records = json.loads(page.body)
    except ValueError:
        records = None
    if not isinstance(records, list):
        start = page.body[:60].decode("utf-8", "replace")
        raise FatalSourceError(f"{page.url} did not return a JSON array (body starts {start!r})")
    return len(records)
