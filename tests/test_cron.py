"""A crontab expression fires when cron would fire it, not when APScheduler's own reading of it would."""

from datetime import UTC, datetime, timedelta

import pytest

from etl_cli.cron import parse_cron, weekday_names
from etl_cli.errors import ConfigError

MONDAY = datetime(2026, 11, 30, tzinfo=UTC)  # a Monday at 00:00


def days_fired(expr: str, days: int = 14) -> list[str]:
    """The weekdays (and days of the month) on which `expr` fires in the two weeks from a Monday."""
    trigger, fired = parse_cron(expr), []
    fire = trigger.get_next_fire_time(None, MONDAY)
    while fire is not None and fire < MONDAY + timedelta(days=days):
        fired.append(f"{fire:%a %d}")
        fire = trigger.get_next_fire_time(fire, fire + timedelta(minutes=1))
    return fired


@pytest.mark.parametrize(
    ("expr", "fired"),
    [
        ("0 0 * * 0", ["Sun 06", "Sun 13"]),  # APScheduler's from_crontab fires this on Mondays
        ("0 0 * * 7", ["Sun 06", "Sun 13"]),  # and refuses this
        ("0 0 * * 1", ["Mon 30", "Mon 07"]),
        ("0 0 * * sun", ["Sun 06", "Sun 13"]),
        ("0 0 * * 5-7", ["Fri 04", "Sat 05", "Sun 06", "Fri 11", "Sat 12", "Sun 13"]),
        ("0 0 * * */3", ["Wed 02", "Sat 05", "Sun 06", "Wed 09", "Sat 12", "Sun 13"]),
        # Both days restricted: cron fires on either (the 1st, and every Monday), APScheduler on both only.
        ("0 0 1 * 1", ["Mon 30", "Tue 01", "Mon 07"]),
        # A day field starting with * (`*/2`: odd days) does not make it "either": both must match.
        ("0 0 */2 * 1", ["Mon 07"]),
    ],
)
def test_days_are_read_as_cron_reads_them(expr, fired):
    assert days_fired(expr) == fired


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("*", "*"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0,7", "sun"),
        ("mon-fri/2", "mon,wed,fri"),
        ("6/1", "sat"),
    ],
)
def test_weekday_fields_become_day_names(field, names):
    assert weekday_names(field) == names


@pytest.mark.parametrize(
    ("expr", "reason"),
    [
        ("0 0 * * 8", "unrecognised weekday '8'"),
        ("0 0 * * 5-2", "weekday range '5-2' runs backwards"),
        ("0 0 * * 1/0", "unrecognised weekday step '0'"),
        ("0 0 * *", "Wrong number of fields; got 4, expected 5"),
    ],
)
def test_a_bad_weekday_is_a_one_line_config_error(expr, reason):
    with pytest.raises(ConfigError) as caught:
        parse_cron(expr)
    assert str(caught.value).startswith(f"--cron {expr!r}: ")
    assert reason in str(caught.value)
