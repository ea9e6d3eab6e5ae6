"""Which ranges to ask a history source for: the range wanted, less what is loaded, in calls it can serve.

Pure: no I/O, no clock (`now` is given). Times are whole seconds, UTC.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from etl_cli.errors import ConfigError
from etl_cli.extract.history import Granularity, Reach, Window

# A backfill takes a while: keep an hour between --since and the edge of the plan's reach, so that the last
# coins' first ranges are still within reach when their calls are made (a longer backfill that crosses the
# edge fails there with the provider's reason, and the next one resumes after its last loaded range).
REACH_MARGIN = timedelta(hours=1)


def wanted(since: datetime, until: datetime | None, now: datetime) -> Window:
    """The range --since and --until ask for, ending now at the latest."""
    end = now if until is None else min(until, now)
    if since >= end:
        later = "now" if until is None or until > now else f"--until ({until:%Y-%m-%d %H:%M} UTC)"
        raise ConfigError(
            f"--since {since:%Y-%m-%d %H:%M} UTC is not before {later}: give an earlier --since"
        )
    return Window(since, end)


def earliest_start(want: Window, granularity: Granularity, reach: Reach, now: datetime) -> datetime | None:
    """The earliest time a call may ask for under the plan (None: any); refuse a range out of its reach."""
    if reach.days is None:
        return None
    earliest = now - timedelta(days=reach.days) + REACH_MARGIN
    if want.start < earliest:
        raise ConfigError(
            f"--since {want.start:%Y-%m-%d %H:%M} UTC is out of reach: {reach.plan}, so --since "
            f"{earliest:%Y-%m-%d %H:%M} UTC at the earliest; {reach.remedy}"
        )
    if now - earliest < granularity.shortest:
        raise ConfigError(
            f"{granularity.interval} points need ranges of {granularity.shortest.days} days, more than "
            f"{reach.plan}; {reach.remedy}"
        )
    return earliest


def to_fetch(
    want: Window, loaded: Sequence[Window], granularity: Granularity, earliest: datetime | None, now: datetime
) -> list[Window]:
    """The calls that load what of `want` is not loaded yet, each a range the source serves as asked.

    A gap shorter than one step (an hour of hourly points) is left for a later backfill: it holds a point
    at most, and a re-run just after a backfill that ended now should cost nothing.
    """
    return [
        stretch(piece, granularity, earliest, now)
        for gap in gaps(want, loaded)
        if gap.span >= granularity.step
        for piece in split(gap, granularity)
    ]


def gaps(want: Window, loaded: Sequence[Window]) -> list[Window]:
    """The parts of `want` that no loaded range covers, in time order."""
    found, cursor = [], want.start
    for window in sorted(loaded):
        if window.start > cursor:
            found.append(Window(cursor, min(window.start, want.end)))
        cursor = max(cursor, window.end)
        if cursor >= want.end:
            return found
    return [*found, Window(cursor, want.end)]


def split(gap: Window, granularity: Granularity) -> list[Window]:
    """Cut a gap into equal ranges, none longer than one call may ask for."""
    if granularity.longest is None:
        return [gap]
    count = math.ceil(gap.span / granularity.longest)
    seconds = int(gap.span.total_seconds())
    bounds = [gap.start + timedelta(seconds=seconds * i // count) for i in range(count + 1)]
    return [Window(start, end) for start, end in itertools.pairwise(bounds)]


def stretch(window: Window, granularity: Granularity, earliest: datetime | None, now: datetime) -> Window:
    """Lengthen a range too short for its granularity: back in time, or forward from the plan's reach."""
    if window.span >= granularity.shortest:
        return window
    start = window.end - granularity.shortest
    if earliest is None or start >= earliest:
        return Window(start, window.end)
    return Window(earliest, min(earliest + granularity.shortest, now))
