"""How a run tells an observer how far it has got: the hook behind `cryptoetl run`'s live progress.

The pipeline calls an observer when a run starts and after each page it has handled (stored raw and
transformed, and for pages that commit on their own, committed): pages and records so far, what has
been committed, and for a file how many of its bytes are read. Observers must be quick, since they run
between pages; the display in etl_cli/cli/progress.py only records the numbers and redraws on a timer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol


class FilePosition(NamedTuple):
    """How far into a file a page ends."""

    name: str
    done: int  # bytes read up to the end of the page
    size: int  # bytes in the file when the run began reading it


@dataclass(frozen=True)
class PageDone:
    """A run's progress after one more page."""

    source: str
    run_id: int
    pages: int
    records: int  # extracted so far: snapshots and rejects
    loaded: int  # committed so far (API sources commit once, at the end)
    position: FilePosition | None = None  # for a page read from a file
    pages_planned: int | None = None  # when the run knows its pages in advance (a backfill's ranges)


class RunObserver(Protocol):
    """Told of a run's start and of each page it handles."""

    def run_started(self, source: str, run_id: int) -> None:
        """A run of `source` opened its ledger row."""

    def page_done(self, progress: PageDone) -> None:
        """The run handled one more page."""
