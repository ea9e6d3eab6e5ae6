"""A backfill's plan, made before any call: which coins and ranges, what it costs, and whether it may run.

The plan counts the calls the backfill will make: the catalog pages that name coins never seen here, and
one call per range still to load (the loaded ranges of a killed or finished backfill are not asked again).
With --top N the coins are known only once the catalog answers, so the count is for all N: an upper bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from etl_cli.backfill.windows import earliest_start, to_fetch, wanted
from etl_cli.errors import OverQuota
from etl_cli.extract.history import Coin, HistorySource, Window
from etl_cli.load.coverage import covered
from etl_cli.quota import Quota, describe_time, plural, time_at_rate
from etl_cli.schema import reads


@dataclass(frozen=True)
class BackfillRequest:
    """What the user asked for: the coins (ids or the top N), the time range and the interval."""

    source: str
    since: datetime
    until: datetime | None = None  # None: now
    interval: str = "hourly"
    ids: tuple[str, ...] | None = None
    top: int | None = None


@dataclass(frozen=True)
class BackfillPlan:
    """The request made concrete at `now`, and its cost."""

    request: BackfillRequest
    now: datetime  # when it was made: the ranges are cut as of then
    want: Window
    earliest: datetime | None  # the plan's reach
    known: dict[str, Coin]  # requested ids that a live run has named already
    catalog_calls: int
    range_calls: int
    quota: Quota
    used_this_month: int  # HTTP requests the ledger counts for the source since the 1st

    @property
    def calls(self) -> int:
        """Every call the backfill makes (at most, with --top)."""
        return self.catalog_calls + self.range_calls

    @property
    def coin_count(self) -> int:
        """How many coins it backfills."""
        return self.request.top or len(self.request.ids or ())

    def lines(self) -> list[str]:
        """The plan for people, before any call."""
        request, want = self.request, self.want
        up_to = "at most " if request.top else ""
        duration = describe_time(time_at_rate(self.calls, self.quota))
        share = self.quota.share(self.calls)
        quota = (
            "no monthly quota"
            if self.quota.monthly is None
            else f"{share}% of the monthly quota of {self.quota.monthly:,} ({self.quota.plan}; "
            f"{self.used_this_month:,} made this month, by the ledger)"
        )
        return [
            f"{request.source} backfill of {plural(self.coin_count, 'coin')}"
            f"{f' (the top {request.top})' if request.top else ''}, {request.interval} points from "
            f"{want.start:%Y-%m-%d %H:%M} to {want.end:%Y-%m-%d %H:%M} UTC",
            f"plan: {up_to}{plural(self.calls, 'call')} ({self.catalog_calls:,} to name coins, "
            f"{self.range_calls:,} for ranges), about {duration} at {self.quota.per_minute} calls a minute, "
            f"{quota}",
        ]

    def as_json(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "source": self.request.source,
            "interval": self.request.interval,
            "since": self.want.start.isoformat(),
            "until": self.want.end.isoformat(),
            "coins": self.coin_count,
            "calls": self.calls,
            "calls_are_upper_bound": self.request.top is not None,
            "catalog_calls": self.catalog_calls,
            "range_calls": self.range_calls,
            "seconds_at_rate_limit": time_at_rate(self.calls, self.quota).total_seconds(),
            "monthly_quota": self.quota.monthly,
            "share_of_quota_pct": self.quota.share(self.calls),
            "calls_this_month": self.used_this_month,
        }

    def check(self) -> None:
        """Raise OverQuota when the calls exceed what is left of the month's quota."""
        if self.quota.monthly is None or self.used_this_month + self.calls <= self.quota.monthly:
            return
        left = max(self.quota.monthly - self.used_this_month, 0)
        raise OverQuota(
            f"this backfill needs {self.calls:,} calls, more than the {left:,} left of the monthly quota of "
            f"{self.quota.monthly:,} ({self.quota.plan}; {self.used_this_month:,} made this month): "
            "narrow it (--ids, --top, --since) or pass --allow-over-quota"
        )


def plan_backfill(
    conn: Connection, source: HistorySource, request: BackfillRequest, quota: Quota, now: datetime
) -> BackfillPlan:
    """Make the plan from the request, the loaded ranges and the ledger; no call is made.

    Raises:
        ConfigError: the range is empty or out of the plan's reach.
    """
    granularity, reach = source.granularity(request.interval), source.reach(request.interval)
    want = wanted(request.since, request.until, now)
    earliest = earliest_start(want, granularity, reach, now)
    full = len(to_fetch(want, [], granularity, earliest, now))
    if request.ids is None:
        known: dict[str, Coin] = {}
        catalog_calls, range_calls = source.catalog_calls(None, request.top), full * (request.top or 0)
    else:
        known = {row.source_asset_id: Coin(*row) for row in reads.listings_of(conn, source.name, request.ids)}
        unknown = [coin_id for coin_id in request.ids if coin_id not in known]
        loaded = covered(conn, source.name, request.interval, list(known))
        range_calls = full * len(unknown) + sum(
            len(to_fetch(want, ranges, granularity, earliest, now)) for ranges in loaded.values()
        )
        catalog_calls = source.catalog_calls(unknown, None) if unknown else 0
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    used = reads.requests_since(conn, source.name, month)
    return BackfillPlan(request, now, want, earliest, known, catalog_calls, range_calls, quota, used)
