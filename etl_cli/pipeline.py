"""One run of one source: extract -> raw store -> transform -> load -> ledger. Owns the transactions.

The run holds its source by its `running` ledger row (load/locks.py): every transaction it commits starts
with the lease's fence, so a run another run has taken over commits nothing more.

Raw payloads commit as they arrive, so even a failed run keeps what it received. For API sources the
normalized rows, the rejects, the ledger's final state and the checkpoint commit together in one transaction:
a run that fails at any point leaves the normalized tables exactly as they were. A page that carries a
checkpoint state (a chunk of a CSV file) commits on its own with that state, so a long stream resumes after
its last committed chunk instead of starting over.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

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
from etl_cli.load.locks import Lease, source_lease
from etl_cli.load.pages import load_pages
from etl_cli.load.raw_store import store_page
from etl_cli.logs import log_context
from etl_cli.progress import PageDone, RunObserver
from etl_cli.schema import reads
from etl_cli.schema.errors import first_line
from etl_cli.transform import TRANSFORMS
from etl_cli.transform.identity import AliasMap
from etl_cli.transform.records import Normalized

log = logging.getLogger(__name__)
Transform = Callable[[RawPage], Normalized]
# An all-rejected run's error quotes this many reasons, each cut to this length.
QUOTED_REJECTS = 3
QUOTED_REASON_CHARS = 120


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
    return run_source(
        engine, stored, TRANSFORMS[source], aliases=aliases, observer=observer, kind=reads.REPLAY
    )


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
    kind: str = reads.RUN,
) -> reads.RunRecord:
    """Run one source end to end and return its ledger row, of `kind` (a run, or a replay of stored pages).

    Setting `stop` makes the run give up at the next page boundary (or cuts the request in flight): it ends
    `abandoned`. A run in which every extracted record was rejected ends `failed`, its rejects stored. An
    `observer` is told of the run's start and of each page (see etl_cli/progress.py). Only a run of kind
    `run` moves the source's checkpoint: a replay of stored pages says nothing of the provider's health.

    Raises:
        RunLocked: another run of this source is in progress.
        LoadError: the run could not start (the database failed).
        RunFailed: the run failed or was stopped; its ledger row says why (unless the database itself failed,
            which the message says; the next run closes the row); normalized tables are unchanged (but for
            pages that carried a checkpoint state, which committed with it).
    """
    source = extractor.name
    aliases = read_aliases() if aliases is None else aliases
    with source_lease(engine, source, kind) as lease:
        run = Run(engine, extractor, transform, aliases, stop, lease, observer)
        if observer is not None:
            observer.run_started(source, run.run_id)
        try:
            with log_context(source=source, run_id=run.run_id):
                rejected_all = run.extract_and_load()
        except BaseException as exc:
            error = describe_failure(exc)
            status = "abandoned" if isinstance(exc, RunStopped) else "failed"
            unrecorded = run.record_failure(error, status)
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt and SystemExit go on after the ledger says what happened
            message = f"{source} run {run.run_id} {status}: {error}{unrecorded}"
            raise RunFailed(message, run.read_back(status, error)) from exc
        if rejected_all:
            message = f"{source} run {run.run_id} failed: {rejected_all}"
            raise RunFailed(message, run.read_back("failed", rejected_all))
        return run.read_back("succeeded", None)


@dataclass
class Run:
    """One run in progress, and what it has committed so far."""

    engine: Engine
    extractor: Extractor
    transform: Transform
    aliases: AliasMap
    stop: threading.Event | None
    lease: Lease
    observer: RunObserver | None = None
    committed: RunCounts = field(default_factory=RunCounts)  # of committed loads; HTTP costs: the extractor
    newest: datetime | None = None  # the newest observation loaded, for the checkpoint
    first_rejects: list[str] = field(default_factory=list)  # what the error of an all-rejected run quotes
    pages_done: int = 0
    records_done: int = 0

    @property
    def run_id(self) -> int:
        """The run's id in the ledger."""
        return self.lease.run_id

    @property
    def live(self) -> bool:
        """Whether the run says how the provider is doing (moves the checkpoint): a replay does not."""
        return self.lease.kind == reads.RUN

    def extract_and_load(self) -> str | None:
        """Store each page raw; commit a page with a state (or commit_alone) at once, the rest together.

        Returns why the run failed although everything committed (every record was rejected), or None.
        """
        with reader(self.engine).connect() as conn:
            state = ledger.read_state(conn, self.extractor.name)
        pending: list[tuple[int, Normalized]] = []
        for page in self.extractor.pages(state):
            if self.stop is not None and self.stop.is_set():
                raise RunStopped("stopped by a shutdown request before it finished")
            self.lease.check()
            if page.state is None and not page.commit_alone:
                with self.lease.transaction() as conn:
                    pending.append((store_page(conn, page, self.run_id), self.transform(page)))
                self._tell(page, len(pending[-1][1].snapshots) + len(pending[-1][1].rejects))
                continue
            with self.lease.transaction() as conn:
                counts = self.committed + self._load(
                    conn, [(store_page(conn, page, self.run_id), self.transform(page))]
                )
                if page.state is not None:
                    ledger.save_state(conn, self.extractor.name, page.state)
                ledger.record_counts(conn, self.run_id, self.with_http(counts))
            records = counts.extracted - self.committed.extracted
            self.committed = counts
            self._tell(page, records)
        with self.lease.transaction() as conn:
            total = self.committed + self._load(conn, pending)
            rejected_all = self._rejected_all(total)
            status = "failed" if rejected_all else "succeeded"
            ledger.finish_run(conn, self.run_id, status, _now(), self.with_http(total), rejected_all)
            if self.live:
                ledger.save_checkpoint(
                    conn,
                    self.extractor.name,
                    self.run_id,
                    _now(),
                    error=rejected_all,
                    last_observed_at=self.newest,
                )
        self.committed = total
        log.info("%s run %d %s: %s", self.extractor.name, self.run_id, status, self.with_http(total))
        return rejected_all

    def _load(self, conn: Connection, pages: list[tuple[int, Normalized]]) -> RunCounts:
        observed = [s.observed_at for _, page in pages for s in page.snapshots]
        self.newest = max([*observed, self.newest] if self.newest else observed, default=None)
        rejects = [reject for _, page in pages for reject in page.rejects]
        for reject in rejects[: QUOTED_REJECTS - len(self.first_rejects)]:
            named = f"{reject.source_asset_id}: " if reject.source_asset_id else ""
            self.first_rejects.append(f"{named}{reject.reason}"[:QUOTED_REASON_CHARS])
        return load_pages(conn, self.extractor.name, self.run_id, pages, self.aliases, _now())

    def _rejected_all(self, total: RunCounts) -> str | None:
        """Why the run failed if it extracted records and rejected every one (a run that got none did not)."""
        if not total.extracted or total.rejected < total.extracted:
            return None
        every = (
            "the one record extracted was"
            if total.extracted == 1
            else f"all {total.extracted} records extracted were"
        )
        quoted = "; ".join(self.first_rejects)
        return f"{every} rejected, first: {quoted} (see `cryptoetl rejects --run {self.run_id}`)"

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

    def record_failure(self, error: str, status: str) -> str:
        """Close the ledger row as failed or abandoned, with what committed before the failure.

        A row that is no longer `running` (another run took the source over) is left as it is. Returns what
        to add to the error when the database itself refuses: nothing could be recorded.
        """
        try:
            with self.engine.begin() as conn:
                counts = self.with_http(self.committed)
                if ledger.finish_run(conn, self.run_id, status, _now(), counts, error) and self.live:
                    ledger.save_checkpoint(conn, self.extractor.name, self.run_id, _now(), error=error)
        except SQLAlchemyError as exc:
            cause = first_line(exc)
            also = "" if cause in error else f" ({cause})"
            return f"; the ledger could not record it either{also}: the next run marks it abandoned"
        return ""

    def read_back(self, status: str, error: str | None) -> reads.RunRecord:
        """The run's ledger row; if the database cannot be read, what the run knows of itself."""
        try:
            with reader(self.engine).connect() as conn:
                return reads.get_run(conn, self.run_id)
        except SQLAlchemyError:
            counts = self.with_http(self.committed)
            return reads.RunRecord(
                self.run_id,
                self.extractor.name,
                status,
                self.lease.started_at,
                _now(),
                **asdict(counts),
                error=error,
                kind=self.lease.kind,
            )


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
