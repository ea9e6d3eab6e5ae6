"""Crontab expressions read as cron reads them, as APScheduler triggers in UTC.

APScheduler 3's own `CronTrigger.from_crontab` differs from crontab in two ways that move runs to other days:
it numbers weekdays from Monday (crontab's 0 and 7 are Sunday, 1 is Monday), and when both the day of the
month and the weekday are restricted it fires only on days matching both, where cron fires on days matching
either. Here the weekday field is expanded to day names, and such an expression becomes two triggers, OR-ed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from etl_cli.errors import ConfigError

DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab's order: 0 (and 7) is Sunday


def parse_cron(expr: str) -> BaseTrigger:
    """Turn a five-field crontab expression into a trigger in UTC, or raise a one-line ConfigError."""
    fields = expr.split()
    try:
        if len(fields) != 5:
            raise ValueError(f"Wrong number of fields; got {len(fields)}, expected 5")
        minute, hour, day, month, weekday = fields
        common = {"minute": minute, "hour": hour, "month": month, "timezone": UTC}
        days = weekday_names(weekday)
        if _restricted(day) and _restricted(weekday):
            trigger: BaseTrigger = OrTrigger(
                [CronTrigger(day=day, **common), CronTrigger(day_of_week=days, **common)]
            )
        else:
            trigger = CronTrigger(day=day, day_of_week=days, **common)
    except ValueError as exc:
        reason = " ".join(str(exc).split())
        raise ConfigError(f"--cron {expr!r}: {reason}") from None
    if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
        # e.g. "0 0 31 2 *": valid fields, but a scheduler that would never run anything.
        raise ConfigError(f"--cron {expr!r}: never fires (no such date)")
    return trigger


def weekday_names(field: str) -> str:
    """A crontab weekday field (`1-5`, `0,6`, `*/2`, `mon-fri`, `5-7`) as the day names it means."""
    if field == "*":
        return field
    days: set[int] = set()
    for item in field.lower().split(","):
        span, _, step = item.partition("/")
        if step and not (step.isdigit() and int(step) > 0):
            raise ValueError(f"unrecognised weekday step {step!r} in {field!r}")
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            start, end = span.split("-", 1)
            first, last = _day(start), _day(end)
        else:
            first = _day(span)
            last = 6 if step else first  # `1/2`, as cron reads it: from Monday to the end of the week
        if last < first:
            raise ValueError(f"weekday range {span!r} runs backwards")
        days.update(number % 7 for number in range(first, last + 1, int(step or 1)))
    return ",".join(DAY_NAMES[number] for number in sorted(days))


def _day(token: str) -> int:
    if token.isdigit() and int(token) <= 7:
        return int(token)
    if token in DAY_NAMES:
        return DAY_NAMES.index(token)
    raise ValueError(f"unrecognised weekday {token!r} (0-7, with 0 and 7 Sunday, or sun..sat)")


def _restricted(field: str) -> bool:
    # As cron itself decides: a field that starts with `*` (`*`, `*/2`) leaves the days free.
    return not field.startswith("*")
