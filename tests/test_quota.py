"""The quota planner: runs in a schedule's busiest month, calls against each plan, and the refusals."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from typer.testing import CliRunner

from etl_cli.cli import app
from etl_cli.config import Settings
from etl_cli.cron import parse_cron
from etl_cli.errors import LoadError, OverQuota
from etl_cli.quota import busiest_month, describe_time, plan_schedule, quota_of, time_at_rate
from etl_cli.scheduler import serve

NOW = datetime(2026, 12, 3, 7, 58, tzinfo=UTC)


def count_by_stepping(expr: str, start: datetime, end: datetime) -> int:
    """Every fire time in [start, end), one by one: slow, and obviously right."""
    trigger, fires = parse_cron(expr), 0
    fire = trigger.get_next_fire_time(None, start)
    while fire < end:
        fires += 1
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return fires


@pytest.mark.parametrize(
    ("expr", "month", "runs"),
    [
        ("0 * * * *", date(2026, 12, 1), 31 * 24),
        ("* * * * *", date(2026, 12, 1), 31 * 24 * 60),
        ("*/15 * * * *", date(2026, 12, 1), 31 * 96),
        ("5 */6 * * *", date(2026, 12, 1), 31 * 4),
        ("0 0 1 * *", date(2026, 12, 1), 1),
        # March 2027 has five Mondays; APScheduler reads day-of-week names as crontab does.
        ("30 6 * * mon", date(2027, 3, 1), 5),
        ("0 0 29 2 *", date(2026, 12, 1), 0),  # no 29 February in the next twelve months
    ],
)
def test_the_busiest_month_of_the_next_twelve(expr, month, runs):
    assert busiest_month(parse_cron(expr), NOW) == (month, runs)


@pytest.mark.parametrize("expr", ["*/7 3-5 * * mon-fri", "0 12 1,15 * *", "45 23 * * sat,sun"])
def test_the_count_equals_stepping_through_every_fire_time(expr):
    month, runs = busiest_month(parse_cron(expr), NOW)
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
    assert runs == count_by_stepping(expr, start, end) > 0


def test_the_current_month_counts_whole_and_a_later_longer_one_wins():
    # From 10 February 2027: February has 28 days, but March (in the next twelve) has 31.
    assert busiest_month(parse_cron("0 * * * *"), datetime(2027, 2, 10, tzinfo=UTC)) == (
        date(2027, 3, 1),
        744,
    )


def test_plans_come_from_the_settings():
    demo = Settings.from_env({})
    assert quota_of(demo, "coingecko").monthly == 10_000 and quota_of(demo, "coingecko").per_minute == 30
    assert (quota_of(demo, "coinpaprika").monthly, quota_of(demo, "coinpaprika").per_minute) == (20_000, 10)
    assert quota_of(demo, "csv").monthly is None
    pro = Settings.from_env({"COINGECKO_API_PLAN": "pro", "CRYPTOETL_COINPAPRIKA_MONTHLY_QUOTA": "400000"})
    assert quota_of(pro, "coingecko").monthly == 100_000 and quota_of(pro, "coinpaprika").monthly == 400_000
    mine = Settings.from_env({"CRYPTOETL_COINGECKO_MONTHLY_QUOTA": "500000"})
    assert quota_of(mine, "coingecko") == quota_of(mine, "coingecko").__class__(
        "CoinGecko demo plan", 500_000, 30
    )


def test_the_hourly_default_fits_and_every_minute_does_not():
    settings = Settings()
    hourly = plan_schedule(
        settings, ["coingecko", "coinpaprika"], parse_cron("0 * * * *"), "0 * * * *", now=NOW
    )
    assert [(s.source, s.requests_per_run, s.requests_per_month) for s in hourly.sources] == [
        ("coingecko", 4, 2_976),
        ("coinpaprika", 1, 744),
    ]
    hourly.check()
    every_minute = plan_schedule(settings, ["coingecko", "coinpaprika"], parse_cron("* * * * *"), "* * * * *")
    with pytest.raises(OverQuota) as caught:
        every_minute.check()
    assert str(caught.value) == (
        "coingecko would make 178,560 requests a month, over its quota of 10,000 (CoinGecko demo plan); "
        "coinpaprika would make 44,640 requests a month, over its quota of 20,000 (CoinPaprika free plan): "
        "choose a sparser --cron, fewer --pages or a larger plan (schedule --allow-over-quota starts it)"
    )


def test_time_at_the_rate_limit():
    demo = quota_of(Settings(), "coingecko")
    assert time_at_rate(101, demo) == timedelta(minutes=100 / 30)
    assert describe_time(time_at_rate(101, demo)) == "3 min 20 s"
    assert describe_time(timedelta(hours=5, minutes=33, seconds=1)) == "5 h 34 min"
    assert describe_time(time_at_rate(1, demo)) == "0 s"


@pytest.fixture
def plan_cli(tmp_path):
    runner = CliRunner()
    env = {"CRYPTOETL_DATABASE_URL": f"sqlite:///{tmp_path / 'never-created.db'}"}
    return lambda *args, **more: runner.invoke(app, list(args), env={**env, **more})


def test_plan_prints_the_hourly_default_and_exits_0(plan_cli, tmp_path):
    result = plan_cli("plan")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("schedule '0 * * * *' (UTC): 744 runs in its busiest month of the next 12 (")
    assert lines[1] == (
        "coingecko: 4 requests a run, 2,976 a month: 29.76% of its quota of 10,000 (CoinGecko demo plan); "
        "at most 30 a minute"
    )
    assert lines[2] == (
        "coinpaprika: 1 request a run, 744 a month: 3.72% of its quota of 20,000 (CoinPaprika free plan); "
        "at most 10 a minute"
    )
    assert not (tmp_path / "never-created.db").exists()  # a plan needs no database


def test_plan_every_minute_exits_1_naming_each_source_over_quota(plan_cli):
    result = plan_cli("plan", "--cron", "* * * * *", "--json")
    assert result.exit_code == 1
    plan = json.loads(result.stdout)
    assert plan["runs_per_month"] == 44_640
    assert [(s["source"], s["requests_per_month"], s["over_quota"]) for s in plan["sources"]] == [
        ("coingecko", 178_560, True),
        ("coinpaprika", 44_640, True),
    ]
    assert result.stderr.startswith("Error: coingecko would make 178,560 requests a month, over its quota")
    assert len(result.stderr.splitlines()) == 1


def test_plan_of_one_source_with_csv_files_and_fewer_pages(plan_cli, tmp_path):
    only = plan_cli("plan", "--cron", "*/15 * * * *", "--source", "coingecko", "--pages", "2")
    assert only.exit_code == 0 and only.stdout.splitlines()[1].startswith(
        "coingecko: 2 requests a run, 5,952 a month: 59.52% of its quota"
    )
    files = plan_cli("plan", "--source", "csv", CRYPTOETL_CSV_PATH=str(tmp_path))
    assert files.exit_code == 0 and files.stdout.splitlines()[1] == "csv: local files, no quota"


def test_schedule_over_quota_is_refused_before_touching_the_database(tmp_path, caplog):
    settings = Settings(database_url="postgresql+psycopg2://nobody@127.0.0.1:1/none")
    caplog.set_level("INFO", logger="etl_cli")
    with pytest.raises(OverQuota, match=r"^coingecko would make 178,560 requests a month"):
        serve(settings, cron="* * * * *", source="coingecko")
    assert "quota plan: coingecko: 4 requests a run, 178,560 a month: OVER" in caplog.text


def test_schedule_cli_refuses_over_quota_unless_allowed(plan_cli, monkeypatch):
    refused = plan_cli("schedule", "--cron", "* * * * *")
    assert refused.exit_code == 1
    assert "quota plan: coingecko: 4 requests a run, 178,560 a month: OVER" in refused.stderr
    assert refused.stderr.splitlines()[-1].startswith("Error: coingecko would make 178,560 requests a month")

    def stop_at_the_database(url: str) -> None:
        raise LoadError("stopped where the scheduler opens the database")

    monkeypatch.setattr("etl_cli.scheduler.open_database", stop_at_the_database)
    allowed = plan_cli("schedule", "--cron", "* * * * *", "--allow-over-quota")
    assert allowed.stderr.splitlines()[-1] == "Error: stopped where the scheduler opens the database"
    assert "running over quota, as --allow-over-quota asks" in allowed.stderr
