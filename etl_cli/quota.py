"""The quota planner: what a schedule costs each provider in calls a month, against its plan's limits.

Providers count every call against a monthly quota and throttle calls per minute. A schedule's month is
counted conservatively: of the twelve calendar months from the current one, the one in which the cron
fires most (a 31-day month for an hourly cron, a month with five Mondays for a weekly one).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from apscheduler.triggers.base import BaseTrigger

from etl_cli.config import Settings
from etl_cli.errors import OverQuota

MONTHS_AHEAD = 12
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Quota:
    """A source's limits: calls a month and calls a minute; None where there is none (local files)."""

    plan: str  # as the user knows it: "CoinGecko demo plan"
    monthly: int | None
    per_minute: int | None

    def share(self, calls: int) -> float | None:
        """`calls` as a percentage of the monthly quota."""
        return None if self.monthly is None else round(100 * calls / self.monthly, 2)


def quota_of(settings: Settings, source: str) -> Quota:
    """The plan a source is called under, from the settings (CRYPTOETL_*_MONTHLY_QUOTA and rate limits)."""
    if source == "coingecko":
        coingecko = settings.coingecko
        return Quota(
            f"CoinGecko {coingecko.api_plan} plan", coingecko.monthly_quota, coingecko.calls_per_minute
        )
    if source == "coinpaprika":
        paprika = settings.coinpaprika
        return Quota(f"CoinPaprika {paprika.api_plan} plan", paprika.monthly_quota, paprika.calls_per_minute)
    return Quota("local files", None, None)


def requests_per_run(source: str, pages: int) -> int:
    """Calls one run makes at most: CoinGecko's `pages` pages of /coins/markets; CoinPaprika's /tickers."""
    return {"coingecko": pages, "coinpaprika": 1}.get(source, 0)


def time_at_rate(calls: int, quota: Quota) -> timedelta:
    """How long the client-side rate limit makes `calls` take (the first starts at once)."""
    if quota.per_minute is None or calls <= 1:
        return timedelta(0)
    return timedelta(minutes=(calls - 1) / quota.per_minute)


def describe_time(span: timedelta) -> str:
    """`4 s`, `3 min 20 s`, `2 h 5 min` (rounded up: a plan should not promise too little)."""
    seconds = math.ceil(span.total_seconds())
    if seconds >= 3600:
        hours, minutes = divmod(math.ceil(seconds / 60), 60)
        return f"{hours} h {minutes} min"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def plural(count: int, noun: str) -> str:
    """`1 request`, `4 requests`, `1,000 requests`."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


@dataclass(frozen=True)
class SourcePlan:
    """One source under a schedule: calls a run, a month, and its limits."""

    source: str
    requests_per_run: int
    runs_per_month: int
    quota: Quota

    @property
    def requests_per_month(self) -> int:
        """Calls in the busiest month."""
        return self.requests_per_run * self.runs_per_month

    @property
    def over_quota(self) -> bool:
        """True when the busiest month needs more calls than the plan allows."""
        return self.quota.monthly is not None and self.requests_per_month > self.quota.monthly

    def describe(self) -> str:
        """One line: `coingecko: 4 requests a run, 2,976 a month: 29.76% of its quota of 10,000 (...)`."""
        if self.quota.monthly is None:
            return f"{self.source}: {self.quota.plan}, no quota"
        share = f"{self.quota.share(self.requests_per_month):,}%"
        return (
            f"{self.source}: {plural(self.requests_per_run, 'request')} a run, {self.requests_per_month:,} a "
            f"month: {'OVER' if self.over_quota else share + ' of'} its quota of {self.quota.monthly:,} "
            f"({self.quota.plan}{', ' + share if self.over_quota else ''}); at most {self.quota.per_minute} "
            "a minute"
        )

    def as_json(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "source": self.source,
            "plan": self.quota.plan,
            "requests_per_run": self.requests_per_run,
            "runs_per_month": self.runs_per_month,
            "requests_per_month": self.requests_per_month,
            "monthly_quota": self.quota.monthly,
            "per_minute_limit": self.quota.per_minute,
            "share_of_quota_pct": self.quota.share(self.requests_per_month),
            "over_quota": self.over_quota,
        }


@dataclass(frozen=True)
class SchedulePlan:
    """What a cron schedule costs each source in its busiest month."""

    cron: str
    month: date  # the first day of the busiest month
    runs_per_month: int
    sources: list[SourcePlan]

    def lines(self) -> list[str]:
        """The plan for people: a line for the schedule, then one per source."""
        head = (
            f"schedule {self.cron!r} (UTC): {self.runs_per_month:,} runs in its busiest month of the next "
            f"{MONTHS_AHEAD} ({self.month:%Y-%m})"
        )
        return [head, *(source.describe() for source in self.sources)]

    def as_json(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "cron": self.cron,
            "busiest_month": f"{self.month:%Y-%m}",
            "runs_per_month": self.runs_per_month,
            "sources": [source.as_json() for source in self.sources],
        }

    def check(self) -> None:
        """Raise OverQuota naming every source whose busiest month exceeds its quota."""
        over = [source for source in self.sources if source.over_quota]
        if over:
            names = "; ".join(
                f"{s.source} would make {s.requests_per_month:,} requests a month, over its quota of "
                f"{s.quota.monthly:,} ({s.quota.plan})"
                for s in over
            )
            remedy = (
                "choose a sparser --cron, fewer --pages or a larger plan"
                " (schedule --allow-over-quota starts it)"
            )
            raise OverQuota(f"{names}: {remedy}")


def plan_schedule(
    settings: Settings,
    sources: Sequence[str],
    trigger: BaseTrigger,
    cron: str,
    *,
    pages: int = 4,
    now: datetime | None = None,
) -> SchedulePlan:
    """Plan `sources` run on `trigger` (`cron`, for people) with CoinGecko fetching `pages` pages a run."""
    month, runs = busiest_month(trigger, now or datetime.now(UTC))
    plans = [
        SourcePlan(name, requests_per_run(name, pages), runs, quota_of(settings, name)) for name in sources
    ]
    return SchedulePlan(cron, month, runs, plans)


def busiest_month(trigger: BaseTrigger, now: datetime) -> tuple[date, int]:
    """Of the twelve calendar months from now's, the one in which `trigger` fires most, and how often."""
    first = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    starts = [_add_months(first, n) for n in range(MONTHS_AHEAD + 1)]
    per_day = _fires_in_a_firing_day(trigger, starts[0], starts[-1])
    counts = [
        (_firing_days(trigger, start, end) * per_day, -index, start)
        for index, (start, end) in enumerate(itertools.pairwise(starts))
    ]
    runs, _, start = max(counts)  # the earliest month among equals
    return start.date(), runs


def _firing_days(trigger: BaseTrigger, start: datetime, end: datetime) -> int:
    """Days in [start, end) on which the trigger fires at least once."""
    days = 0
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire < end:
        days += 1
        midnight = fire.replace(hour=0, minute=0, second=0, microsecond=0)
        fire = trigger.get_next_fire_time(None, midnight + DAY)
    return days


def _fires_in_a_firing_day(trigger: BaseTrigger, start: datetime, end: datetime) -> int:
    """How often the trigger fires on a day that it fires at all, the first such day in [start, end).

    It is the same on every such day: a crontab's hours and minutes do not depend on the date (in UTC,
    which has no daylight saving).
    """
    fire = trigger.get_next_fire_time(None, start)
    if fire is None or fire >= end:
        return 0
    midnight = fire.replace(hour=0, minute=0, second=0, microsecond=0)
    count = 0
    while fire is not None and fire < midnight + DAY:
        count += 1
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return count


def _add_months(first: datetime, months: int) -> datetime:
    year, month = divmod(first.month - 1 + months, 12)
    return first.replace(year=first.year + year, month=month + 1)
