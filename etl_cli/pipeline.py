"""One run of one source: extract -> raw store -> transform -> load -> ledger. Owns the transactions.

Raw payloads commit as they arrive, so even a failed run keeps what it received. For API sources the
normalized rows, the rejects, the ledger's final state and the checkpoint commit together in one transaction:
a run that fails at any point leaves the normalized tables exactly as they were. A page that carries a
checkpoint state (a chunk of a CSV file) commits on its own with that state, so a long stream resumes after
its last committed chunk instead of starting over.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg2
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from etl_cli.aliases import read_aliases
from etl_cli.config import Settings
from etl_cli.errors import CryptoEtlError, RunFailed, RunStopped
from etl_cli.extract import SOURCES
from etl_cli.extract.base import Extractor, RawPage
from etl_cli.extract.stored import StoredPayloads
from etl_cli.load import ledger
from etl_cli.load.engine import open_database, reader
from etl_cli.load.ledger import RunCounts
from etl_cli.load.locks import source_lock
from etl_cli.load.raw_store import store_page
from etl_cli.load.snapshots import insert_snapshots
from etl_cli.logs import log_context
from etl_cli.progress import PageDone, RunObserver
from etl_cli.schema import reads
from etl_cli.schema.errors import first_line
from etl_cli.transform import TRANSFORMS
from etl_cli.transform.identity import AliasMap
from etl_cli.transform.records import Normalized

log = logging.getLogger(__name__)
Transform = Callable[[RawPage], Normalized]


def run_named(
    settings: Settings,
    source: str,
    *,
    pages: int = 4,
    replay_dir: Path | None = None,
    engine: Engine | None = None,
    stop: threading.Event | None = None,
    observer: RunObserver | None = None,
) -> reads.RunRecord:
    """Run the source called `source` as configured: what `cryptoetl run` and the scheduler call.

    Raises:
        RunLocked: another run of this source is in progress.
        RunFailed: the run failed or was stopped; its ledger row says why.
    """
    engine = engine or open_database(settings.database_url)
    extractor = SOURCES[source](settings, pages=pages, replay_dir=replay_dir, stop=stop)
    aliases = read_aliases(settings.aliases_path)
    return run_source(engine, extractor, TRANSFORMS[source], stop=stop, aliases=aliases, observer=observer)


def run_replay(
    settings: Settings,
    source: str,
    *,
    run_id: int | None = None,
    engine: Engine | None = None,
    observer: RunObserver | None = None,
) -> reads.RunRecord:
    """Re-transform and load, as a new run, what `source` stored (all, or what run `run_id` stored first).

    Raises:
        ConfigError: nothing stored to replay, or `run_id` is not a run of `source`.
        RunLocked: another run of this source is in progress.
        RunFailed: the replay failed; what it committed before stays (it is idempotent: run it again).
    """
    engine = engine or open_database(settings.database_url)
    stored = StoredPayloads(reader(engine), source, run_id)
    aliases = read_aliases(settings.aliases_path)
    return run_source(engine, stored, TRANSFORMS[source], aliases=aliases, observer=observer, live=False)


def configured_sources(settings: Settings) -> list[str]:
    """The sources that `--source all` runs, in order: the APIs, and CSV files when a path is set."""
    return [name for name in SOURCES if name != "csv" or settings.csv_path is not None]


def run_source(
    engine: Engine,
    extractor: Extractor,
    transform: Transform,
    stop: threading.Event | None = None,
    aliases: AliasMap | None = None,
    observer: RunObserver | None = None,
    live: bool = True,
) -> reads.RunRecord:
    """Run one source end to end and return its ledger row.

    Setting `stop` makes the run give up at the next page boundary: it ends `abandoned`. An `observer` is
    told of the run's start and of each page (see etl_cli/progress.py). A run that is not `live` (a replay
    of stored pages) leaves the source's checkpoint alone: it says nothing of the provider's health.

    Raises:
        RunLocked: another run of this source is in progress.
        RunFailed: the run failed or was stopped; its ledger row says why; normalized tables are unchanged
            (but for pages that carried a checkpoint state, which committed with it).
    """
    source = extractor.name
    aliases = read_aliases() if aliases is None else aliases
    run = Run(engine, extractor, transform, aliases, stop, observer, live)
    with source_lock(engine, source):
        with engine.begin() as conn:
            abandoned = ledger.abandon_stale_runs(conn, source, _now())
            run.run_id = ledger.start_run(conn, source, _now())
            state = ledger.read_state(conn, source)
        if abandoned:
            log.warning("%s: marked %d interrupted run(s) as abandoned", source, abandoned)
        if observer is not None:
            observer.run_started(source, run.run_id)
        try:
            with log_context(source=source, run_id=run.run_id):
                run.extract_and_load(state)
        except BaseException as exc:
            error = describe_failure(exc)
            status = "abandoned" if isinstance(exc, RunStopped) else "failed"
            run.record_failure(error, status)
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt and SystemExit go on after the ledger says what happened
            with reader(engine).connect() as conn:
                record = reads.get_run(conn, run.run_id)
            raise RunFailed(f"{source} run {run.run_id} {status}: {error}", record) from exc
        with reader(engine).connect() as conn:
            return reads.get_run(conn, run.run_id)


@dataclass
class Run:
    """One run in progress, and what it has committed so far."""

    engine: Engine
    extractor: Extractor
    transform: Transform
    aliases: AliasMap
    stop: threading.Event | None
    observer: RunObserver | None = None
    live: bool = True
    run_id: int = 0
    committed: RunCounts = field(default_factory=RunCounts)  # of committed loads; HTTP costs: the extractor
    newest: datetime | None = None  # the newest observation loaded, for the checkpoint
    pages_done: int = 0
    records_done: int = 0

    def extract_and_load(self, state: Mapping[str, Any] | None) -> None:
        """Store each page raw; commit a page with a state (or commit_alone) at once, the rest together."""
        pending: list[tuple[int, Normalized]] = []
        for page in self.extractor.pages(state):
            if self.stop is not None and self.stop.is_set():
                raise RunStopped("stopped by a shutdown request before it finished")
            if page.state is None and not page.commit_alone:
                with self.engine.begin() as conn:
                    pending.append((store_page(conn, page, self.run_id), self.transform(page)))
                self._tell(page, len(pending[-1][1].snapshots) + len(pending[-1][1].rejects))
                continue
            with self.engine.begin() as conn:
                counts = self.committed + self._load(
                    conn, [(store_page(conn, page, self.run_id), self.transform(page))]
                )
                if page.state is not None:
                    ledger.save_state(conn, self.extractor.name, page.state)
                ledger.record_counts(conn, self.run_id, self.with_http(counts))
            records = counts.extracted - self.committed.extracted
            self.committed = counts
            self._tell(page, records)
        with self.engine.begin() as conn:
            total = self.committed + self._load(conn, pending)
            ledger.finish_run(conn, self.run_id, "succeeded", _now(), self.with_http(total))
            if self.live:
                ledger.save_checkpoint(
                    conn, self.extractor.name, self.run_id, _now(), last_observed_at=self.newest
                )
        self.committed = total
        log.info("%s run %d succeeded: %s", self.extractor.name, self.run_id, self.with_http(total))

    def _load(self, conn: Connection, pages: list[tuple[int, Normalized]]) -> RunCounts:
        snapshots = [(payload_id, s) for payload_id, page in pages for s in page.snapshots]
        rejects = [(payload_id, r) for payload_id, page in pages for r in page.rejects]
        loaded = insert_snapshots(conn, snapshots, self.run_id, _now(), self.aliases)
        ledger.record_rejects(conn, self.run_id, rejects, _now())
        if loaded:
            ledger.mark_loaded(conn, self.extractor.name, _now())
        observed = [s.observed_at for _, s in snapshots]
        self.newest = max([*observed, self.newest] if self.newest else observed, default=None)
        return RunCounts(
            extracted=len(snapshots) + len(rejects),
            loaded=loaded,
            skipped=len(snapshots) - loaded,
            rejected=len(rejects),
        )

    def _tell(self, page: RawPage, records: int) -> None:
        self.pages_done += 1
        self.records_done += records
        if self.observer is not None:
            progress = PageDone(
                self.extractor.name,
                self.run_id,
                self.pages_done,
                self.records_done,
                self.committed.loaded,
                page.position(),
            )
            self.observer.page_done(progress)

    def with_http(self, counts: RunCounts) -> RunCounts:
        """`counts` with the extractor's HTTP cost so far."""
        stats = self.extractor.stats
        return replace(counts, http_requests=stats.requests, http_retries=stats.retries)

    def record_failure(self, error: str, status: str) -> None:
        """Close the ledger row as failed or abandoned, with what committed before the failure."""
        try:
            with self.engine.begin() as conn:
                ledger.finish_run(conn, self.run_id, status, _now(), self.with_http(self.committed), error)
                if self.live:
                    ledger.save_checkpoint(conn, self.extractor.name, self.run_id, _now(), error=error)
        except SQLAlchemyError:
            # The database itself is failing; the next run will mark this one abandoned.
            log.exception("%s run %d: could not record the failure", self.extractor.name, self.run_id)


def describe_failure(exc: BaseException) -> str:
    """One line saying what went wrong, for the ledger and the user."""
    if isinstance(exc, CryptoEtlError):
        return str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    detail = first_line(exc)
    # psycopg2 errors come bare from the raw cursor that runs COPY.
    if isinstance(exc, SQLAlchemyError | psycopg2.Error):
        return f"database error: {detail}"
    return f"unexpected {type(exc).__name__}: {detail}"


def _now() -> datetime:
    return datetime.now(UTC)
