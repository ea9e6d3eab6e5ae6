"""CRYPTOETL_LOG_FORMAT=json: the CLI, the scheduler and the API log one JSON object per line."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys

from etl_cli import logs
from tests.samples import REPLAY_DIR
from tests.test_scheduler import ROOT, Serving

RUN = ["-m", "etl_cli", "run", "--source", "coingecko", "--replay", str(REPLAY_DIR)]


def test_json_lines_carry_time_level_logger_message_and_the_bound_fields():
    stream = io.StringIO()
    logger = logging.getLogger("tests.json")
    logger.addHandler(logs.log_handler("json", stream))
    logger.propagate = False
    try:
        with logs.log_context(source="csv", run_id=7):
            logger.warning("chunk %d rejected", 3, extra={"file": "a.csv"})
            try:
                raise ZeroDivisionError("division by zero")
            except ZeroDivisionError:
                logger.exception("failed")
        logger.warning("outside")
    finally:
        logger.handlers.clear()
    first, failed, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["time"].endswith("+00:00")
    assert {key: first[key] for key in ("level", "logger", "message", "source", "run_id", "file")} == {
        "level": "WARNING",
        "logger": "tests.json",
        "message": "chunk 3 rejected",
        "source": "csv",
        "run_id": 7,
        "file": "a.csv",
    }
    assert "ZeroDivisionError" in failed["exc_info"] and failed["run_id"] == 7
    assert "run_id" not in outside and outside["message"] == "outside"


def cryptoetl(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        env={**os.environ, "CRYPTOETL_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_cli_logs_json_lines_with_the_run_id_and_source(tmp_path):
    result = cryptoetl(tmp_path, *RUN, "--verbose", CRYPTOETL_LOG_FORMAT="json")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines()]  # every line is one object
    assert len(records) > 3
    (done,) = [r for r in records if r["message"].startswith("coingecko run 1 succeeded")]
    assert (done["logger"], done["level"], done["source"], done["run_id"]) == (
        "etl_cli.pipeline",
        "INFO",
        "coingecko",
        1,
    )


def test_text_stays_the_default_and_a_bad_format_is_a_one_line_error(tmp_path):
    text = cryptoetl(tmp_path, *RUN, "--verbose")
    assert text.returncode == 0 and " INFO etl_cli.pipeline: coingecko run 1 succeeded" in text.stderr
    assert not text.stderr.startswith("{")
    bad = cryptoetl(tmp_path, *RUN, CRYPTOETL_LOG_FORMAT="xml")
    assert bad.returncode == 1
    assert bad.stderr == "Error: CRYPTOETL_LOG_FORMAT must be one of text, json, got 'xml'\n"


def test_the_scheduler_logs_json_lines_with_the_source(tmp_path):
    env = {
        "CRYPTOETL_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "CRYPTOETL_LOG_FORMAT": "json",
        # Nothing listens there: the tick fails at once, and says so.
        "CRYPTOETL_COINGECKO_BASE_URL": "http://127.0.0.1:9/api/v3",
        "CRYPTOETL_HTTP_MAX_ATTEMPTS": "1",
    }
    child = Serving(env, run_now=True)
    try:
        failed = json.loads(child.wait_for("scheduled run did not succeed"))
        child.process.send_signal(signal.SIGTERM)
        child.wait_for("scheduler stopped")
        assert child.process.wait(timeout=30) == 0
    finally:
        child.close()
    assert (failed["level"], failed["logger"]) == ("ERROR", "etl_cli.scheduler")
    assert failed["source"] == "coingecko"
    assert all(json.loads(line)["time"] for line in child.seen)
