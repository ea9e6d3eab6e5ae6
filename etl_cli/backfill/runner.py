"""Run a planned backfill: lock -> ledger -> catalog -> each coin's ranges -> raw store, load, progress.

Each range of each coin commits on its own: its raw page, its snapshots and rejects, the range as loaded
(backfill_ranges) and the ledger's counts, together. A backfill killed half-way has lost nothing it
committed; the next one marks its ledger row abandoned and goes on after the last loaded range. The live
source's checkpoint (last success, failure, observation) is never touched: a backfill is not a run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from etl_cli.backfill.plan import BackfillPlan
from etl_cli.backfill.windows import to_fetch
from etl_cli.errors import ConfigError, RunFailed, RunStopped
from etl_cli.extract.base import ParsedPage
from etl_cli.extract.history import Coin, HistorySource, Window
from etl_cli.load import coverage, ledger
from etl_cli.load.engine import reader
from etl_cli.load.ledger import RunCounts
from etl_cli.load.locks import Lease, source_lease
from etl_cli.load.pages import load_pages
from etl_cli.load.raw_store import store_page
from etl_cli.pipeline import describe_failure
from etl_cli.progress import PageDone, RunObserver
from etl_cli.schema import reads
from etl_cli.transform.identity import AliasMap
from etl_cli.transform.records import Normalized

log = logging.getLogger(__name__)
HistoryTransform = Callable[[ParsedPage, Coin], Normalized]


def run_backfill(
    engine: Engine,
    source: HistorySource,
    transform: HistoryTransform,
    plan: BackfillPlan,
    aliases: AliasMap,
    observer: RunObserver | None = None,
) -> reads.RunRecord:
    """Run the planned backfill under the source's lock and return its ledger row (kind `backfill`).

    An `observer` is told of its start and of each committed range, as a run's are (etl_cli/progress.py).

    Raises:
        RunLocked: a run or a backfill of this source is in progress.
        RunFailed: the backfill failed or was interrupted; its ledger row says why, and every range it
            committed stays loaded.
    """
    with source_lease(engine, source.name, kind=reads.BACKFILL) as lease:
        backfill = Backfill(engine, source, transform, plan, aliases, observer, lease)
        if observer is not None:
            observer.run_started(source.name, lease.run_id)
        try:
            backfill.run()
        except BaseException as exc:
            error = describe_failure(exc)
            interrupted = isinstance(exc, RunStopped) or not isinstance(exc, Exception)
            status = "abandoned" if interrupted else "failed"
            backfill.finish(status, error)
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt and SystemExit go on once the ledger says what happened
            with reader(engine).connect() as conn:
                record = reads.get_run(conn, lease.run_id)
            raise RunFailed(f"{source.name} backfill {lease.run_id} {status}: {error}", record) from exc
        with reader(engine).connect() as conn:
            return reads.get_run(conn, lease.run_id)


@dataclass
class Backfill:
    """One backfill in progress, and what it has committed so far."""

    engine: Engine
    source: HistorySource
    transform: HistoryTransform
    plan: BackfillPlan
    aliases: AliasMap
    observer: RunObserver | None
    lease: Lease
    committed: RunCounts = field(default_factory=RunCounts)
    ranges_done: int = 0

    @property
    def run_id(self) -> int:
        """The backfill's id in the ledger."""
        return self.lease.run_id

    def run(self) -> None:
        """Name the coins, then load each coin's missing ranges, one committed range at a time."""
        plan = self.plan
        granularity = self.source.granularity(plan.request.interval)
        for coin in self.coins():
            with reader(self.engine).connect() as conn:
                loaded = coverage.covered(conn, self.source.name, plan.request.interval, [coin.id])
            for window in to_fetch(plan.want, loaded[coin.id], granularity, plan.earliest, plan.now):
                self.load_range(coin, window)
        self.finish("succeeded")
        log.info(
            "%s backfill %d succeeded: %s", self.source.name, self.run_id, self.with_http(self.committed)
        )

    def coins(self) -> list[Coin]:
        """The requested coins: named by live runs already, or by the source's catalog (kept raw)."""
        request, known = self.plan.request, self.plan.known
        wanted = None if request.ids is None else [coin_id for coin_id in request.ids if coin_id not in known]
        named: dict[str, Coin] = {}
        if wanted is None or wanted:
            for page in self.source.catalog(wanted, request.top):
                self.keep(page)
                named.update((coin.id, coin) for coin in self.source.coins(page))
        if request.ids is None:
            return list(named.values())[: request.top]
        missing = [coin_id for coin_id in wanted or () if coin_id not in named]
        if missing:
            raise ConfigError(
                f"{self.source.name} names no coin {', '.join(missing)}: give its own ids "
                "(`cryptoetl assets` lists them)"
            )
        return [known.get(coin_id) or named[coin_id] for coin_id in request.ids]

    def load_range(self, coin: Coin, window: Window) -> None:
        """Fetch one range of a coin; commit its raw page, rows, progress and counts together."""
        interval = self.plan.request.interval
        self.lease.check()
        page = self.source.fetch(coin, window, interval)
        if page.problem is not None:
            self.keep(page)
        with self.lease.transaction() as conn:
            normalized = [(store_page(conn, page, self.run_id), self.transform(page, coin))]
            loaded = load_pages(conn, self.source.name, self.run_id, normalized, self.aliases, _now())
            counts = self.committed + loaded
            coverage.record_loaded(conn, self.source.name, coin.id, interval, window, self.run_id, _now())
            ledger.record_counts(conn, self.run_id, self.with_http(counts))
        self.committed, self.ranges_done = counts, self.ranges_done + 1
        log.info(
            "%s backfill %d: %s from %s to %s: %s",
            self.source.name,
            self.run_id,
            coin.id,
            window.start,
            window.end,
            loaded,
        )
        if self.observer is not None:
            self.observer.page_done(
                PageDone(
                    self.source.name,
                    self.run_id,
                    self.ranges_done,
                    counts.extracted,
                    counts.loaded,
                    pages_planned=self.plan.range_calls,  # at most, with --top
                )
            )

    def keep(self, page: ParsedPage) -> None:
        """Keep a page raw on its own, then fail the backfill if its body is unusable."""
        with self.lease.transaction() as conn:
            store_page(conn, page, self.run_id)
        page.record_count()

    def with_http(self, counts: RunCounts) -> RunCounts:
        """`counts` with the source's HTTP cost so far."""
        stats = self.source.stats
        return replace(counts, http_requests=stats.requests, http_retries=stats.retries)

    def finish(self, status: str, error: str | None = None) -> None:
        """Close the ledger row with what committed; the live source's checkpoint stays as it is.

        A success commits only while the backfill holds its source; a failure is recorded if the row is still
        `running` (another run may have taken the source over).
        """
        counts = self.with_http(self.committed)
        if error is None:
            with self.lease.transaction() as conn:
                ledger.finish_run(conn, self.run_id, status, _now(), counts)
            return
        try:
            with self.engine.begin() as conn:
                ledger.finish_run(conn, self.run_id, status, _now(), counts, error)
        except SQLAlchemyError:
            # The database itself is failing; the next run or backfill will mark this one abandoned.
            log.exception("%s backfill %d: could not record the failure", self.source.name, self.run_id)


def _now() -> datetime:
    return datetime.now(UTC)
