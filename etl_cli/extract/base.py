"""What every source hands to the pipeline: raw pages, exactly as received."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class RawPage:
    """One response body exactly as received; the unit the raw store keeps."""

    source: str
    url: str  # without secrets
    http_status: int
    fetched_at: datetime  # UTC, timezone-aware
    body: bytes


@dataclass
class HttpStats:
    """What a run cost in HTTP terms, for the ledger."""

    requests: int = 0
    retries: int = 0


class Extractor(Protocol):
    """A source: knows its endpoints and paging, nothing about storage."""

    name: str
    stats: HttpStats

    def pages(self) -> Iterator[RawPage]:
        """Yield raw pages in order; raise SourceError when the source fails."""
        ...
