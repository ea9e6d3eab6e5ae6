"""The backfill's plan before any call: its count of calls, and the README's figures, which it computes."""

import itertools
import re
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from etl_cli.backfill.plan import BackfillRequest, plan_backfill
from etl_cli.cli import app
from etl_cli.config import Settings
from etl_cli.extract import HISTORY_SOURCES
from etl_cli.quota import quota_of

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
NOW = datetime(2026, 12, 3, 8, 25, tzinfo=UTC)
TODAY = NOW.replace(hour=0, minute=0)


def plan(engine, request: BackfillRequest, settings: Settings | None = None):
    settings = settings or Settings()
    history = HISTORY_SOURCES[request.source](settings)
    with engine.connect() as conn:
        return plan_backfill(conn, history, request, quota_of(settings, request.source), NOW)


def test_the_readme_cost_of_the_top_100_over_90_days_hourly_is_the_planner(engine):
    top_100 = plan(engine, BackfillRequest("coingecko", TODAY - timedelta(days=90), TODAY, top=100))
    assert (top_100.catalog_calls, top_100.range_calls) == (1, 100)
    for line in top_100.lines():
        assert line in README
    year = plan(engine, BackfillRequest("coingecko", NOW - timedelta(days=364), None, top=100))
    assert year.calls == 501 and "501 calls for the top 100" in README


def test_coins_never_seen_are_named_in_one_call_and_each_range_counted(engine):
    request = BackfillRequest("coingecko", TODAY - timedelta(days=200), TODAY, ids=("bitcoin", "ethereum"))
    fresh = plan(engine, request)
    assert (fresh.catalog_calls, fresh.range_calls, fresh.known) == (1, 2 * 3, {})


def test_the_readme_offline_example_runs(database_url):
    commands = re.search(r"```bash\n(cryptoetl run --source coingecko --replay .*?)```", README, re.S).group(
        1
    )
    runner, env = CliRunner(), {"CRYPTOETL_DATABASE_URL": database_url}
    outputs = []
    for line in commands.strip().splitlines():
        words = shlex.split(line)
        assignments = list(itertools.takewhile(lambda word: re.match(r"[A-Z_]+=", word), words))
        command = words[len(assignments) :]
        assert command[0] == "cryptoetl"
        result = runner.invoke(app, command[1:], env={**env, **dict(a.split("=", 1) for a in assignments)})
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)
    assert "169 loaded" in outputs[-1]
