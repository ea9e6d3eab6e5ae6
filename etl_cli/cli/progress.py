"""Live progress of runs on a terminal (rich): per source, pages or file, rows, rows/s; a file's % and ETA.

Shown only when stderr is a terminal and the output is not --json. It is a RunObserver (etl_cli/progress.py):
the pipeline hands it numbers between pages and rich redraws a few times a second on its own thread, so a
load pays for a dictionary update per page, never for drawing. Log lines under --verbose print above it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeRemainingColumn

from etl_cli.progress import PageDone, RunObserver

REFRESHES_PER_SECOND = 4


class LiveProgress:
    """One line per source run; a file's line shows its name, percentage and time left."""

    def __init__(self, console: Console) -> None:
        self.display = Progress(
            # Fits 80 columns: a long file name is cut, the numbers never are.
            TextColumn("{task.fields[source]:<11.11}"),
            TextColumn("{task.description:<20.20}"),
            BarColumn(bar_width=8),
            TaskProgressColumn(),
            TextColumn("{task.fields[rows]:>9,} rows {task.fields[rate]:>7,.0f}/s"),
            TimeRemainingColumn(),
            console=console,
            refresh_per_second=REFRESHES_PER_SECOND,
        )
        self.tasks: dict[str, tuple[TaskID, float]] = {}
        self.files: dict[str, str] = {}

    def run_started(self, source: str, run_id: int) -> None:
        """Add the run's line."""
        task = self.display.add_task(f"run {run_id}", total=None, source=source, rows=0, rate=0.0)
        self.tasks[source] = (task, time.monotonic())

    def page_done(self, progress: PageDone) -> None:
        """Move the run's line on: rows and rate; pages, or the file's bytes."""
        task, started = self.tasks[progress.source]
        rate = progress.records / max(time.monotonic() - started, 1e-9)
        fields: dict[str, Any] = {"source": progress.source, "rows": progress.records, "rate": rate}
        position, planned = progress.position, progress.pages_planned
        if position is None:
            fields["description"] = f"page {progress.pages}"
            if planned:  # a known number of pages: a percentage and time left, as for a file
                fields.update(description=f"page {progress.pages} of {planned}", total=planned)
                fields["completed"] = progress.pages
            self.display.update(task, **fields)
            return
        total = max(position.size, position.done)
        if self.files.get(progress.source) != position.name:
            # A new file: its own percentage and time left, from its own speed.
            self.files[progress.source] = position.name
            self.display.reset(
                task, total=total, completed=position.done, description=position.name, **fields
            )
            return
        self.display.update(task, total=total, completed=position.done, **fields)


@contextmanager
def live_progress(as_json: bool) -> Iterator[RunObserver | None]:
    """A live display while the block runs, when stderr is a terminal and not --json; else None."""
    if as_json or not sys.stderr.isatty():
        yield None
        return
    shown = LiveProgress(Console(stderr=True))
    with shown.display:
        yield shown
