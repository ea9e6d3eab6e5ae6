"""The scheduler: ticks record runs, a bad tick never stops the next, overlaps never run twice, and a
SIGTERM or SIGINT during a run leaves no `running` row and no partial data behind."""

import json
import logging
import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_SCHEDULER_STARTED,
)
from apscheduler.schedulers.blocking import BlockingScheduler

from etl_cli import scheduler as scheduler_module
from etl_cli.config import HttpSettings, Settings
from etl_cli.cron import parse_cron
from etl_cli.errors import ConfigError, RunFailed, RunLocked
from etl_cli.load.engine import open_database
from etl_cli.pipeline import configured_sources, run_named
from etl_cli.scheduler import (
    BLOCKED_REASON,
    MISFIRE_GRACE_S,
    ScheduledRuns,
    build_scheduler,
    scheduled_sources,
    serve,
)
from etl_cli.schema import reads
from etl_cli.schema.tables import etl_runs, market_snapshots
from tests.conftest import another_run
from tests.provider import Provider, provider_env
from tests.samples import REPLAY_DIR

ROOT = Path(__file__).resolve().parents[1]
HOURLY = "0 * * * *"


# --- helpers -------------------------------------------------------------------------------------------


@contextmanager
def running(scheduler: BlockingScheduler) -> Iterator[queue.Queue]:
    """Run a BlockingScheduler in a thread; yield a queue of its job events; shut it down after."""
    events: queue.Queue = queue.Queue()
    started = threading.Event()
    scheduler.add_listener(events.put, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MAX_INSTANCES)
    scheduler.add_listener(lambda _: started.set(), EVENT_SCHEDULER_STARTED)
    thread = threading.Thread(target=scheduler.start, daemon=True)
    thread.start()
    assert started.wait(timeout=10)
    try:
        yield events
    finally:
        scheduler.shutdown(wait=True)
        thread.join(timeout=10)
        assert not thread.is_alive()


def tick(scheduler: BlockingScheduler, source: str = "coingecko") -> None:
    """Make a job due now, as its cron time coming round would."""
    scheduler.modify_job(source, next_run_time=datetime.now(UTC))


def statuses(engine) -> list[str]:
    with engine.connect() as conn:
        return conn.execute(sa.select(etl_runs.c.status).order_by(etl_runs.c.run_id)).scalars().all()


def snapshot_count(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(market_snapshots))


def replay_dir_answering(directory: Path, status: int) -> Path:
    """A copy of the CoinGecko replay whose every response has `status` (503: the provider is down)."""
    directory.mkdir(exist_ok=True)
    for path in REPLAY_DIR.iterdir():
        shutil.copy(path, directory / path.name)
    manifest = json.loads((REPLAY_DIR / "manifest.json").read_text())
    for response in manifest["responses"]:
        response["status"] = status
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


# --- cron parsing and scheduler setup ------------------------------------------------------------------


def test_cron_is_read_as_crontab_in_utc():
    trigger = parse_cron(HOURLY)
    now = datetime(2026, 11, 24, 10, 30, 5, tzinfo=UTC)
    assert trigger.get_next_fire_time(None, now) == datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
    every_15 = parse_cron("*/15 * * * *")
    assert every_15.get_next_fire_time(None, now) == datetime(2026, 11, 24, 10, 45, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expr", "reason"),
    [
        ("61 * * * *", "the last value (61) is higher than the maximum value (59)"),
        ("* * *", "Wrong number of fields; got 3, expected 5"),
        ("0 * * * * *", "Wrong number of fields; got 6, expected 5"),
        ("*/0 * * * *", "Increment must be higher than 0"),
        ("0 0 31 2 *", "never fires"),
    ],
)
def test_bad_cron_is_a_one_line_config_error(expr, reason):
    with pytest.raises(ConfigError) as caught:
        parse_cron(expr)
    message = str(caught.value)
    assert message.startswith(f"--cron {expr!r}: ")
    assert reason in message
    assert "\n" not in message


def test_serve_rejects_a_bad_cron_or_source_before_touching_the_database(tmp_path):
    settings = Settings(database_url="postgresql+psycopg2://nobody@127.0.0.1:1/none")
    with pytest.raises(ConfigError, match=r"^--cron '61 \* \* \* \*': "):
        serve(settings, cron="61 * * * *")
    with pytest.raises(ConfigError, match=r"^--source 'nope': not a configured source"):
        serve(settings, source="nope")


def test_one_job_per_source_at_most_one_instance_each_coalesced():
    settings = Settings()
    sources = scheduled_sources(settings, "all")
    assert sources == configured_sources(settings)
    assert scheduled_sources(settings, "coingecko") == ["coingecko"]
    scheduler = build_scheduler(ScheduledRuns(settings, None), parse_cron(HOURLY), sources)
    with running(scheduler):  # job defaults apply once the scheduler starts; no job is due
        jobs = scheduler.get_jobs()
    assert [job.id for job in jobs] == sources
    for job in jobs:
        assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, MISFIRE_GRACE_S)
        assert job.args == (job.id,)
        assert str(job.trigger.timezone) == "UTC"


# --- ticks on both databases ---------------------------------------------------------------------------


def test_run_now_runs_at_start_records_the_run_and_the_cron_sets_the_next_tick(engine, settings):
    runs = ScheduledRuns(settings, engine, replay_dir=REPLAY_DIR)
    scheduler = build_scheduler(runs, parse_cron(HOURLY), ["coingecko"], run_now=True)
    before = datetime.now(UTC)
    with running(scheduler) as events:
        event = events.get(timeout=30)
        next_run = scheduler.get_job("coingecko").next_run_time
    assert event.code == EVENT_JOB_EXECUTED
    assert (event.retval.status, event.retval.loaded) == ("succeeded", 250)
    assert statuses(engine) == ["succeeded"]
    assert snapshot_count(engine) == 250
    assert next_run > before
    assert (next_run.minute, next_run.second, next_run.utcoffset()) == (0, 0, UTC.utcoffset(None))


def test_a_failed_tick_is_recorded_and_the_next_tick_runs_as_usual(engine, database_url, tmp_path, caplog):
    settings = Settings(database_url=database_url, http=HttpSettings(max_attempts=1))
    replay = replay_dir_answering(tmp_path / "replay", 503)
    runs = ScheduledRuns(settings, engine, replay_dir=replay)
    scheduler = build_scheduler(runs, parse_cron(HOURLY), ["coingecko"])
    with running(scheduler) as events, caplog.at_level(logging.INFO, logger="etl_cli"):
        tick(scheduler)
        first = events.get(timeout=30)
        assert scheduler.running
        # The provider is back for the next hour.
        replay_dir_answering(replay, 200)
        tick(scheduler)
        second = events.get(timeout=30)
    assert (first.code, first.retval) == (EVENT_JOB_EXECUTED, None)
    assert (second.code, second.retval.status) == (EVENT_JOB_EXECUTED, "succeeded")
    assert statuses(engine) == ["failed", "succeeded"]
    assert snapshot_count(engine) == 250
    failures = [r for r in caplog.records if "scheduled run did not succeed" in r.getMessage()]
    assert len(failures) == 1 and "503" in failures[0].getMessage() and failures[0].exc_info is None


def test_a_tick_whose_source_is_locked_by_a_manual_run_is_skipped(engine, settings, caplog):
    runs = ScheduledRuns(settings, engine, replay_dir=REPLAY_DIR)
    scheduler = build_scheduler(runs, parse_cron(HOURLY), ["coingecko"])
    with running(scheduler) as events, caplog.at_level(logging.INFO, logger="etl_cli"):
        with another_run(engine):  # what a manual `cryptoetl run` holds
            tick(scheduler)
            event = events.get(timeout=30)
        tick(scheduler)
        after = events.get(timeout=30)
    assert event.retval is None
    assert any("scheduled run skipped: another coingecko run" in r.getMessage() for r in caplog.records)
    assert after.retval.status == "succeeded"
    assert statuses(engine) == ["succeeded", "succeeded"]  # the manual run's, then the tick's


def test_a_manual_run_during_a_scheduled_run_is_refused(engine, database_url, provider):
    settings = provider_settings(database_url, provider)
    runs = ScheduledRuns(settings, engine)
    scheduler = build_scheduler(runs, parse_cron(HOURLY), ["coingecko"], run_now=True)
    with running(scheduler) as events:
        assert provider.page_two_requested.wait(timeout=30)
        with pytest.raises(RunLocked):
            run_named(settings, "coingecko", engine=engine)
        provider.release.set()
        event = events.get(timeout=30)
    assert event.retval.status == "succeeded"
    assert statuses(engine) == ["succeeded"]


# --- overlap and crashes, without a database -----------------------------------------------------------


def succeeded(run_id: int) -> reads.RunRecord:
    now = datetime.now(UTC)
    return reads.RunRecord(run_id, "coingecko", "succeeded", now, now, 250, 250, 0, 0, 2, 0, None)


class FakeRuns:
    """Stands in for run_named: counts calls; each call blocks until released, then does what it is told."""

    def __init__(self, outcomes: list[object]) -> None:
        self.outcomes = outcomes
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, settings, source, **kwargs):
        self.calls += 1
        self.entered.set()
        assert self.release.wait(timeout=30)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def test_a_tick_while_the_previous_run_is_still_going_does_not_run_twice(monkeypatch):
    first = succeeded(1)
    fake = FakeRuns([first])
    monkeypatch.setattr(scheduler_module, "run_named", fake)
    scheduler = build_scheduler(ScheduledRuns(Settings(), None), parse_cron(HOURLY), ["coingecko"])
    with running(scheduler) as events:
        tick(scheduler)
        assert fake.entered.wait(timeout=10)
        tick(scheduler)  # the next hour comes round while the first run is still going
        skipped = events.get(timeout=10)
        fake.release.set()
        done = events.get(timeout=10)
    assert skipped.code == EVENT_JOB_MAX_INSTANCES
    assert (done.code, done.retval) == (EVENT_JOB_EXECUTED, first)
    assert fake.calls == 1


def test_an_unexpected_error_is_logged_with_its_traceback_and_the_next_tick_runs(monkeypatch, caplog):
    third = succeeded(3)
    fake = FakeRuns([RuntimeError("bug"), RunFailed("coingecko run 2 failed: boom", None), third])
    fake.release.set()
    monkeypatch.setattr(scheduler_module, "run_named", fake)
    scheduler = build_scheduler(ScheduledRuns(Settings(), None), parse_cron(HOURLY), ["coingecko"])
    with running(scheduler) as events, caplog.at_level(logging.INFO, logger="etl_cli"):
        results = []
        for _ in range(3):
            tick(scheduler)
            results.append(events.get(timeout=10))
    assert [(e.code, e.retval) for e in results] == [
        (EVENT_JOB_EXECUTED, None),
        (EVENT_JOB_EXECUTED, None),
        (EVENT_JOB_EXECUTED, third),
    ]
    crash = next(r for r in caplog.records if "crashed" in r.getMessage())
    assert crash.exc_info is not None and crash.levelno == logging.ERROR
    failed = next(r for r in caplog.records if "did not succeed" in r.getMessage())
    assert failed.exc_info is None and "coingecko run 2 failed: boom" in failed.getMessage()


# --- signals, in a real process ------------------------------------------------------------------------


def provider_settings(database_url: str, provider: Provider) -> Settings:
    return Settings.from_env(provider_env(database_url, provider))


class Serving:
    """`serve()` in a child process, as `cryptoetl schedule` runs it; its stderr read line by line."""

    def __init__(self, env: dict[str, str], **options: object) -> None:
        code = (
            "from etl_cli.config import Settings; from etl_cli.scheduler import serve; "
            f"serve(Settings.from_env(), source='coingecko', **{options!r})"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, text: str, timeout: float = 30) -> str:
        """Return the first log line containing `text`, failing with the whole log if none comes."""
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                line = None
            if line is None:
                self.process.kill()
                pytest.fail(f"no log line with {text!r}; log so far:\n{''.join(self.seen)}")
            self.seen.append(line)
            if text in line:
                return line

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self.reader.join(timeout=10)
        self.process.stderr.close()


@pytest.fixture
def serving() -> Iterator[list[Serving]]:
    started: list[Serving] = []
    yield started
    for child in started:
        child.close()


def runs_table(engine) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(etl_runs.c.status, etl_runs.c.error))]


def test_sigterm_when_idle_exits_0_after_logging_the_next_run(tmp_path, serving):
    database_url = f"sqlite:///{tmp_path / 'cryptoetl.db'}"
    child = Serving({"CRYPTOETL_DATABASE_URL": database_url})
    serving.append(child)
    line = child.wait_for("next run at")
    assert "scheduled coingecko on '0 * * * *' (UTC)" in line and ":00:00+00:00" in line
    child.process.send_signal(signal.SIGTERM)
    child.wait_for("no run in progress")
    child.wait_for("scheduler stopped")
    assert child.process.wait(timeout=30) == 0


def test_sigterm_during_a_run_lets_it_finish_then_exits_0(engine, database_url, provider, serving):
    child = Serving(provider_env(database_url, provider), run_now=True, grace=60.0)
    serving.append(child)
    assert provider.page_two_requested.wait(timeout=30), "".join(child.seen)
    child.process.send_signal(signal.SIGTERM)
    child.wait_for("letting the run in progress finish: ['coingecko']")
    provider.release.set()  # the run goes on to its end within the grace period
    child.wait_for("coingecko run 1 succeeded")
    child.wait_for("scheduler stopped")
    assert child.process.wait(timeout=30) == 0
    assert runs_table(engine) == [("succeeded", None)]
    assert snapshot_count(engine) == 250


def test_sigterm_twice_during_a_run_abandons_it_at_the_next_page_and_exits_0(
    engine, database_url, provider, serving
):
    # A long grace: the second SIGTERM is what cuts it short, so nothing here depends on timing.
    child = Serving(provider_env(database_url, provider), run_now=True, grace=60.0, abandon_wait=60.0)
    serving.append(child)
    assert provider.page_two_requested.wait(timeout=30), "".join(child.seen)
    child.process.send_signal(signal.SIGTERM)
    child.wait_for("letting the run in progress finish: ['coingecko']")
    child.process.send_signal(signal.SIGTERM)
    child.wait_for("SIGTERM again: abandoning")
    provider.release.set()  # page 2 arrives; the run sees the stop request before loading anything
    child.wait_for("scheduler stopped")
    assert child.process.wait(timeout=30) == 0
    [(status, error)] = runs_table(engine)
    assert status == "abandoned" and "stopped by a shutdown request" in error
    assert snapshot_count(engine) == 0


def test_sigint_while_a_request_hangs_past_the_deadline_records_the_run_abandoned_and_exits_0(
    engine, database_url, provider, serving
):
    child = Serving(provider_env(database_url, provider), run_now=True, grace=0.0, abandon_wait=0.0)
    serving.append(child)
    assert provider.page_two_requested.wait(timeout=30), "".join(child.seen)
    child.process.send_signal(signal.SIGINT)
    child.wait_for("abandoning at the next page")
    child.wait_for("recording them abandoned and exiting")
    assert child.process.wait(timeout=30) == 0
    assert runs_table(engine) == [("abandoned", BLOCKED_REASON)]
    assert snapshot_count(engine) == 0


def test_sigterm_after_the_grace_period_cuts_the_request_in_flight_and_the_run_ends_abandoned(
    engine, database_url, provider, serving
):
    child = Serving(provider_env(database_url, provider), run_now=True, grace=0.0, abandon_wait=60.0)
    serving.append(child)
    assert provider.page_two_requested.wait(timeout=30), "".join(child.seen)
    child.process.send_signal(signal.SIGTERM)  # page 2 never comes: the stop request cuts the request
    child.wait_for("abandoning at the next page")
    child.wait_for("scheduler stopped")
    assert child.process.wait(timeout=30) == 0
    [(status, error)] = runs_table(engine)
    assert status == "abandoned"
    assert error.startswith(f"stopped by a shutdown request during a request to {provider.url}/api/v3/")
    assert snapshot_count(engine) == 0


def test_a_run_blocked_in_the_database_does_not_hold_up_the_exit(tmp_path, provider, serving):
    database_url = f"sqlite:///{tmp_path / 'cryptoetl.db'}"
    child = Serving(provider_env(database_url, provider), run_now=True, grace=0.0, abandon_wait=0.0)
    serving.append(child)
    assert provider.page_two_requested.wait(timeout=30), "".join(child.seen)
    holder = sqlite3.connect(tmp_path / "cryptoetl.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the database: every write waits 30 s
    try:
        child.process.send_signal(signal.SIGTERM)
        child.wait_for("recording them abandoned and exiting")
        child.wait_for("the ledger did not answer within 1.0 s; the next run of each marks it abandoned")
        assert child.process.wait(timeout=30) == 0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    engine = open_database(database_url)
    provider.release.set()
    run_named(Settings(database_url=database_url), "coingecko", replay_dir=REPLAY_DIR, engine=engine)
    assert [status for status, _ in runs_table(engine)] == ["abandoned", "succeeded"]
    engine.dispose()
