"""One run of one source: extract -> raw store -> transform -> load -> ledger. Owns the transactions.

Raw payloads commit as they arrive, so even a failed run keeps what it received. The normalized rows,
the rejects, the ledger's final state and the checkpoint commit together in one transaction: a run that
fails at any point leaves the normalized tables exactly as they were.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from etl_cli.config import Settings
from etl_cli.errors import CryptoEtlError, RunFailed, RunStopped
from etl_cli.extract import SOURCES
from etl_cli.extract.base import Extractor
from etl_cli.load import ledger
from etl_cli.load.engine import open_database
from etl_cli.load.locks import source_lock
from etl_cli.load.raw_store import store_page
from etl_cli.load.snapshots import insert_snapshots
from etl_cli.transform import TRANSFORMS
from etl_cli.transform.records import Normalized, Reject, Snapshot

log = logging.getLogger(__name__)
Transform = Callable[..., Normalized]


def run_named(
    settings: Settings,
    source: str,
    *,
    pages: int = 4,
    replay_dir: Path | None = None,
    engine: Engine | None = None,
    stop: threading.Event | None = None,
) -> ledger.RunRecord:
    """Run the source called `source` as configured: what `cryptoetl run` and the scheduler call.

    Raises:
        RunLocked: another run of this source is in progress.
        RunFailed: the run failed or was stopped; its ledger row says why.
    """
    engine = engine or open_database(settings.database_url)
    extractor = SOURCES[source](settings, pages=pages, replay_dir=replay_dir)
    return run_source(engine, extractor, TRANSFORMS[source], stop=stop)


def configured_sources(settings: Settings) -> list[str]:
    """The sources that `--source all` runs, in order."""
    return list(SOURCES)


def run_source(
    engine: Engine,
    extractor: Extractor,
    transform: Transform,
    stop: threading.Event | None = None,
) -> ledger.RunRecord:
    """Run one source end to end and return its ledger row.

    Setting `stop` makes the run give up at the next page boundary: it ends `abandoned`, loading nothing.

    Raises:
        RunLocked: another run of this source is in progress.
        RunFailed: the run failed or was stopped; its ledger row says why; normalized tables are unchanged.
    """
    source = extractor.name
    with source_lock(engine, source):
        with engine.begin() as conn:
            abandoned = ledger.abandon_stale_runs(conn, source, _now())
            run_id = ledger.start_run(conn, source, _now())
        if abandoned:
            log.warning("%s: marked %d interrupted run(s) as abandoned", source, abandoned)
        try:
            _extract_and_load(engine, extractor, transform, run_id, stop)
        except BaseException as exc:
            error = describe_failure(exc)
            status = "abandoned" if isinstance(exc, RunStopped) else "failed"
            _record_failure(engine, extractor, run_id, error, status)
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt and SystemExit go on after the ledger says what happened
            with engine.connect() as conn:
                record = ledger.get_run(conn, run_id)
            raise RunFailed(f"{source} run {run_id} {status}: {error}", record) from exc
        with engine.connect() as conn:
            return ledger.get_run(conn, run_id)


def _extract_and_load(
    engine: Engine,
    extractor: Extractor,
    transform: Transform,
    run_id: int,
    stop: threading.Event | None,
) -> None:
    snapshots: list[tuple[int, Snapshot]] = []
    rejects: list[tuple[int, Reject]] = []
    for page in extractor.pages():
        if stop is not None and stop.is_set():
            raise RunStopped("stopped by a shutdown request before it finished; nothing was loaded")
        with engine.begin() as conn:
            payload_id = store_page(conn, page, run_id)
        normalized = transform(page)
        snapshots += [(payload_id, snapshot) for snapshot in normalized.snapshots]
        rejects += [(payload_id, reject) for reject in normalized.rejects]
    with engine.begin() as conn:
        now = _now()
        loaded = insert_snapshots(conn, snapshots, run_id, now)
        ledger.record_rejects(conn, run_id, rejects, now)
        counts = ledger.RunCounts(
            extracted=len(snapshots) + len(rejects),
            loaded=loaded,
            skipped=len(snapshots) - loaded,
            rejected=len(rejects),
            http_requests=extractor.stats.requests,
            http_retries=extractor.stats.retries,
        )
        ledger.finish_run(conn, run_id, "succeeded", _now(), counts)
        newest = max((snapshot.observed_at for _, snapshot in snapshots), default=None)
        ledger.save_checkpoint(conn, extractor.name, run_id, _now(), last_observed_at=newest)
    log.info("%s run %d: %s", extractor.name, run_id, counts)


def _record_failure(engine: Engine, extractor: Extractor, run_id: int, error: str, status: str) -> None:
    counts = ledger.RunCounts(http_requests=extractor.stats.requests, http_retries=extractor.stats.retries)
    try:
        with engine.begin() as conn:
            ledger.finish_run(conn, run_id, status, _now(), counts, error)
            ledger.save_checkpoint(conn, extractor.name, run_id, _now(), error=error)
    except SQLAlchemyError:
        # The database itself is failing; the next run will mark this one abandoned.
        log.exception("%s run %d: could not record the failure in the ledger", extractor.name, run_id)


def describe_failure(exc: BaseException) -> str:
    """One line saying what went wrong, for the ledger and the user."""
    if isinstance(exc, CryptoEtlError):
        return str(exc)
    if isinstance(exc, SQLAlchemyError):
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return f"database error: {detail}"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"unexpected {type(exc).__name__}: {exc}"


def _now() -> datetime:
    return datetime.now(UTC)
