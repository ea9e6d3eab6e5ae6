"""`cryptoetl schedule`: run the sources on a crontab schedule, in UTC, until SIGTERM or SIGINT.

A tick that fails is logged (the pipeline has already recorded it in the ledger) and the next tick runs as
usual. On SIGTERM or SIGINT no new run starts; the run in progress gets a grace period to finish, then is
told to stop: a request in flight is cut at once, and the run ends `abandoned` at its next page boundary
without loading anything. The process exits within FINISH_GRACE_S + ABANDON_WAIT_S + RECORD_WAIT_S.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.events import EVENT_SCHEDULER_STARTED, SchedulerEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from etl_cli import logs
from etl_cli.config import DEFAULT_CRON, Settings
from etl_cli.cron import parse_cron
from etl_cli.errors import ConfigError, CryptoEtlError, RunLocked
from etl_cli.load import ledger
from etl_cli.load.engine import open_database
from etl_cli.pipeline import configured_sources, run_named
from etl_cli.quota import SchedulePlan, plan_schedule
from etl_cli.schema.errors import first_line

log = logging.getLogger(__name__)

# A tick missed by up to this much (the process was busy, suspended or starting) still runs, once.
MISFIRE_GRACE_S = 300
# How long a run in progress may go on finishing after SIGTERM before it is told to stop...
FINISH_GRACE_S = 20.0
# ...how long it then has to stop (a request in flight is cut within a tenth of a second; a run blocked in the
# database is not)...
ABANDON_WAIT_S = 3.0
# ...and how long the ledger then has to record a run still blocked as abandoned before the process exits
# anyway: 24 s in all, within the 30 s promised (and Docker's 45 s stop grace period).
RECORD_WAIT_S = 1.0
BLOCKED_REASON = "stopped by a shutdown request while blocked past the deadline; nothing more was loaded"


def scheduled_sources(settings: Settings, source: str) -> list[str]:
    """Resolve `--source`: a configured source's name, or `all` for every configured source."""
    sources = configured_sources(settings)
    if source == "all":
        return sources
    if source not in sources:
        raise ConfigError(f"--source {source!r}: not a configured source (choose all, {', '.join(sources)})")
    return [source]


class ScheduledRuns:
    """The scheduler's job: run one source, log how it went and never raise; knows which runs are going on.

    `stop` is handed to every run: once set, a run in progress gives up at its next page boundary.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        replay_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.replay_dir = replay_dir
        self.stop = threading.Event()
        self._closing = threading.Event()
        self._changed = threading.Condition()
        self._active: set[str] = set()

    def __call__(self, source: str) -> ledger.RunRecord | None:
        """Run `source` once; return its ledger row, or None when it failed or did not start."""
        with self._changed:
            self._active.add(source)
        try:
            with logs.log_context(source=source):
                return self._run(source)
        finally:
            with self._changed:
                self._active.discard(source)
                self._changed.notify_all()

    def _run(self, source: str) -> ledger.RunRecord | None:
        if self._closing.is_set():
            # A tick handed to the pool just as shutdown began: starting it would only delay the exit.
            log.info("%s: shutting down, scheduled run not started", source)
            return None
        log.info("%s: scheduled run starting", source)
        try:
            record = run_named(
                self.settings,
                source,
                replay_dir=self.replay_dir,
                engine=self.engine,
                stop=self.stop,
            )
        except RunLocked as exc:
            log.warning("%s: scheduled run skipped: %s", source, exc)
            return None
        except CryptoEtlError as exc:
            # RunFailed says "<source> run <id> failed: <why>"; its ledger row is already recorded.
            log.error("%s: scheduled run did not succeed: %s", source, exc)
            return None
        except Exception:
            # A bug, not a bad hour: keep the traceback, and keep the scheduler alive for the next tick.
            log.exception("%s: scheduled run crashed; the next tick runs as usual", source)
            return None
        log.info(
            "%s run %d succeeded in %s s: %d extracted, %d loaded, %d skipped, %d rejected",
            source,
            record.run_id,
            record.duration_s,
            record.extracted,
            record.loaded,
            record.skipped,
            record.rejected,
        )
        return record

    @property
    def active(self) -> list[str]:
        """Sources whose run is in progress now."""
        with self._changed:
            return sorted(self._active)

    def close(self) -> None:
        """Start no more runs; the runs in progress go on."""
        self._closing.set()

    def abandon(self) -> None:
        """Tell the runs in progress to stop at their next page boundary."""
        self._closing.set()
        self.stop.set()
        with self._changed:
            self._changed.notify_all()

    def wait_idle(self, timeout: float | None, *, until_abandoned: bool = False) -> bool:
        """Wait until no run is in progress (or, with until_abandoned, until abandon()); True if so."""
        with self._changed:
            return self._changed.wait_for(
                lambda: not self._active or (until_abandoned and self.stop.is_set()), timeout
            )


def build_scheduler(
    runs: ScheduledRuns,
    trigger: BaseTrigger,
    sources: Sequence[str],
    *,
    run_now: bool = False,
) -> BlockingScheduler:
    """Build a scheduler with one job per source on `trigger`; with run_now, each job also runs at start."""
    # One job per source rather than one for all: a source that fails or hangs never delays or blocks the
    # others, and max_instances=1 per job mirrors the per-source lock. Each source may run at the same
    # time as the others, so the pool has a thread per source.
    scheduler = BlockingScheduler(
        timezone=UTC,
        executors={"default": ThreadPoolExecutor(max_workers=max(1, len(sources)))},
        job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": MISFIRE_GRACE_S},
    )
    for source in sources:
        options = {"next_run_time": datetime.now(UTC)} if run_now else {}
        scheduler.add_job(
            runs, trigger, args=[source], id=source, name=f"cryptoetl run --source {source}", **options
        )
    return scheduler


def serve(
    settings: Settings,
    *,
    cron: str = DEFAULT_CRON,
    source: str = "all",
    run_now: bool = False,
    allow_over_quota: bool = False,
    grace: float = FINISH_GRACE_S,
    abandon_wait: float = ABANDON_WAIT_S,
) -> None:
    """Run the sources on the `cron` schedule (UTC) until SIGTERM or SIGINT, then return.

    After the signal no run starts; a run in progress has `grace` seconds to finish, then `abandon_wait`
    seconds to stop (a request in flight is cut at once). A run still going after that (blocked in the
    database) is marked `abandoned` here if the ledger answers within RECORD_WAIT_S, and the process exits at
    once with status 0, since a thread blocked in a driver call cannot be interrupted and would hold up the
    interpreter's exit. A second signal skips the grace period.

    Raises:
        ConfigError: the cron expression or the source is not usable.
        OverQuota: a source would exceed its monthly quota, and `allow_over_quota` is not set.
        LoadError: the database cannot be reached or migrated at start.
    """
    trigger = parse_cron(cron)
    sources = scheduled_sources(settings, source)
    _log_at_info(settings.log_format)
    _check_quota(plan_schedule(settings, sources, trigger, cron), allow_over_quota)
    engine = open_database(settings.database_url)
    runs = ScheduledRuns(settings, engine)
    scheduler = build_scheduler(runs, trigger, sources, run_now=run_now)
    signals: queue.SimpleQueue[int] = queue.SimpleQueue()

    def on_started(_event: SchedulerEvent) -> None:
        for job in scheduler.get_jobs():
            log.info("scheduled %s on %r (UTC): next run at %s", job.id, cron, job.next_run_time.isoformat())
        # Only a running scheduler can be shut down, so signals are acted on from here on.
        threading.Thread(
            target=_handle_signals, args=(signals, scheduler, runs), name="cryptoetl-signals", daemon=True
        ).start()

    scheduler.add_listener(on_started, EVENT_SCHEDULER_STARTED)
    # The handlers run in the main thread and only queue the signal (SimpleQueue.put is reentrant);
    # the watcher thread does the work, so the handler never takes a lock the main thread may hold.
    previous = {
        signum: signal.signal(signum, lambda number, _frame: signals.put_nowait(number))
        for signum in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        scheduler.start()  # returns once the watcher has shut the scheduler down
        if not runs.wait_idle(grace, until_abandoned=True):
            runs.abandon()  # before the log line, as in _handle_signals
            log.warning("still running after %s s: %s; abandoning at the next page", grace, runs.active)
        if not runs.wait_idle(abandon_wait):
            _exit_abandoning(engine, runs.active)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    engine.dispose()
    log.info("scheduler stopped")


def _check_quota(plan: SchedulePlan, allow_over_quota: bool) -> None:
    for line in plan.lines():
        log.info("quota plan: %s", line)
    if not allow_over_quota:
        plan.check()
    elif any(source.over_quota for source in plan.sources):
        log.warning("running over quota, as --allow-over-quota asks: expect HTTP 429 late in the month")


def _handle_signals(
    signals: queue.SimpleQueue[int], scheduler: BlockingScheduler, runs: ScheduledRuns
) -> None:
    signum = signals.get()
    in_progress = runs.active
    if in_progress:
        log.info("%s: no new runs; letting the run in progress finish: %s", _name(signum), in_progress)
    else:
        log.info("%s: stopping; no run in progress", _name(signum))
    runs.close()
    scheduler.shutdown(wait=False)
    signum = signals.get()
    # Stop first, then say so: whoever reads the log line can count on the stop request being in force.
    runs.abandon()
    log.warning("%s again: abandoning the runs in progress at the next page", _name(signum))


def _exit_abandoning(engine: Engine, sources: list[str]) -> None:
    log.error("runs still blocked after the stop request: %s; recording them abandoned and exiting", sources)
    # The runs may be blocked on the very rows to update: give the ledger a moment, never the exit.
    recorder = threading.Thread(target=_record_abandoned, args=(engine, sources), daemon=True)
    recorder.start()
    recorder.join(RECORD_WAIT_S)
    if recorder.is_alive():
        log.error(
            "the ledger did not answer within %s s; the next run of each marks it abandoned", RECORD_WAIT_S
        )
    logging.shutdown()
    sys.stdout.flush()
    os._exit(0)


def _record_abandoned(engine: Engine, sources: list[str]) -> None:
    try:
        with engine.begin() as conn:
            ledger.abandon_own_runs(conn, sources, datetime.now(UTC), BLOCKED_REASON)
    except SQLAlchemyError as exc:
        log.error(
            "could not record the blocked runs (%s); the next run of each marks it abandoned", first_line(exc)
        )


def _log_at_info(log_format: str) -> None:
    # The scheduler's log is the container's log: one INFO line per event, on stderr.
    if not logging.getLogger().handlers:
        logs.configure(log_format, logging.WARNING)
    package = logging.getLogger("etl_cli")
    if package.getEffectiveLevel() > logging.INFO:
        package.setLevel(logging.INFO)


def _name(signum: int) -> str:
    return signal.Signals(signum).name
