"""Read-only Core SELECTs behind the endpoints; every query names its columns and is bounded by a LIMIT."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from api.paging import Cursor, Sort
from api.tables import (
    alembic_version,
    assets,
    market_snapshots,
    source_checkpoints,
)
from etl_cli.schema.types import ExactDecimal

ms = market_snapshots


@dataclass(frozen=True)
class SnapshotFilter:
    """The filters of /data; None means not filtered."""

    symbol: str | None = None
    asset_id: int | None = None
    source: str | None = None
    start: datetime | None = None
    end: datetime | None = None


def schema_version(conn: Connection) -> str | None:
    """The Alembic revision the database is at."""
    return conn.scalar(sa.select(alembic_version.c.version_num).limit(1))


def data_versions(conn: Connection) -> list[Row[Any]]:
    """Each source's (source, last_loaded_at): when rows of it were last added.

    The ETL writes it in every transaction that adds rows (a CSV chunk of a run that later fails included),
    so it changes exactly when the data does; one row per source, so reading it costs nothing.
    """
    query = (
        sa.select(source_checkpoints.c.source, source_checkpoints.c.last_loaded_at)
        .where(source_checkpoints.c.last_loaded_at.is_not(None))
        .order_by(source_checkpoints.c.source)
    )
    return list(conn.execute(query))


def snapshots(
    conn: Connection,
    where: SnapshotFilter,
    sort: Sort,
    limit: int,
    offset: int = 0,
    after: Cursor | None = None,
) -> list[dict[str, Any]]:
    """Snapshots matching `where` in `sort` order: `limit` rows from `offset`, or after the cursor."""
    conditions = _conditions(where)
    if sort.nullable:
        query = _nulls_last(conn, sort, conditions, after, limit + offset)
    else:
        if after is not None:
            conditions.append(_after(conn, sort, after))
        query = _ordered(conn, sort, sa.select(*ms.c).where(*conditions))
    result = conn.execute(query.limit(limit).offset(offset))
    names = list(result.keys())
    # Row._asdict() costs much more; .all() fetches the page in one driver call, not one per row.
    return [dict(zip(names, row, strict=True)) for row in result.all()]


def _nulls_last(
    conn: Connection, sort: Sort, conditions: list[sa.ColumnElement[bool]], after: Cursor | None, fetch: int
) -> sa.Select[Any]:
    """Rows in `sort` order, NULLs last: those with a value, then those without, `fetch` of each at most.

    Each part is read in the order of one (column, snapshot_id) index, forwards or backwards: NULLS LAST in
    a descending order is an order no b-tree scan gives, so one query ordered so would sort every row.
    """
    column = ms.c[sort.column]
    parts = []
    if after is None or after.value is not None:
        valued = [*conditions, column.is_not(None)]
        if after is not None:
            valued.append(_after(conn, sort, after))
        parts.append(valued)
    nulls = [*conditions, column.is_(None)]
    if after is not None and after.value is None:
        later = operator.lt if sort.descending else operator.gt
        nulls.append(later(ms.c.snapshot_id, after.snapshot_id))
    parts.append(nulls)
    if len(parts) == 1:
        return _ordered(conn, sort, sa.select(*ms.c).where(*nulls))
    # Within a part the key is all values or all NULL: ordering by it too lets its index give the order. The
    # parts pick snapshot_ids only (SQLite takes no ORDER BY or LIMIT in a UNION's members, but does in
    # subqueries); the rows are then read by their key, and building the statement stays cheap.
    picks = [
        _ordered(conn, sort, sa.select(ms.c.snapshot_id).where(*part)).limit(fetch).subquery()
        for part in parts
    ]
    ids = sa.union_all(*(sa.select(pick.c.snapshot_id) for pick in picks)).subquery()
    rows = sa.select(*ms.c).join_from(ms, ids, ms.c.snapshot_id == ids.c.snapshot_id)
    return _ordered(conn, sort, rows, nulls_last=True)


def _ordered(conn: Connection, sort: Sort, query: sa.Select[Any], nulls_last: bool = False) -> sa.Select[Any]:
    """The query ordered by the sort's column, then snapshot_id, both in the sort's direction."""
    direction = operator.methodcaller("desc" if sort.descending else "asc")
    key = direction(_sort_expression(conn, ms.c[sort.column]))
    return query.order_by(key.nulls_last() if nulls_last else key, direction(ms.c.snapshot_id))


def _conditions(where: SnapshotFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if where.symbol is not None:
        # Every source's symbols are stored upper-case, so an index on symbol serves any spelling.
        conditions.append(ms.c.symbol == where.symbol.upper())
    if where.asset_id is not None:
        conditions.append(ms.c.asset_id == where.asset_id)
    if where.source is not None:
        conditions.append(ms.c.source == where.source)
    if where.start is not None:
        conditions.append(ms.c.observed_at >= where.start)
    if where.end is not None:
        conditions.append(ms.c.observed_at < where.end)
    return conditions


def _sort_expression(conn: Connection, column: sa.Column[Any]) -> sa.ColumnElement[Any]:
    # SQLite keeps exact numbers as TEXT, which would sort "10" before "9": sort on their REAL value there.
    if conn.dialect.name == "sqlite" and isinstance(column.type, ExactDecimal):
        return sa.cast(column, sa.REAL)
    return column


def _after(conn: Connection, sort: Sort, cursor: Cursor) -> sa.ColumnElement[bool]:
    """Rows strictly after the cursor (which holds a value) in (key, snapshot_id) order; NULL keys not."""
    later, at_or_later = (operator.lt, operator.le) if sort.descending else (operator.gt, operator.ge)
    key = _sort_expression(conn, ms.c[sort.column])
    value = _bound(conn, sort, cursor.value)
    # Written as `key >= v AND (key > v OR id > last)` so an index on the key serves the range.
    return sa.and_(
        at_or_later(key, value), sa.or_(later(key, value), later(ms.c.snapshot_id, cursor.snapshot_id))
    )


def _bound(conn: Connection, sort: Sort, value: Any) -> sa.ColumnElement[Any]:
    column = ms.c[sort.column]
    bound = sa.literal(value, column.type)
    if conn.dialect.name == "sqlite" and isinstance(column.type, ExactDecimal):
        # The cursor's exact digits go through the very CAST the column goes through, so equal compares equal.
        return sa.cast(bound, sa.REAL)
    return bound


def asset_page(conn: Connection, symbol: str | None, limit: int, offset: int) -> list[Row[Any]]:
    """Live canonical assets (none a merge retired) by asset_id, optionally of one symbol (any case)."""
    query = (
        sa.select(assets.c.asset_id, assets.c.symbol, assets.c.name)
        .where(assets.c.merged_into.is_(None))
        .order_by(assets.c.asset_id)
    )
    if symbol is not None:
        query = query.where(assets.c.symbol == symbol.upper())
    return list(conn.execute(query.limit(limit).offset(offset)))


def asset(conn: Connection, asset_id: int) -> Row[Any] | None:
    """One canonical asset, with the asset it was merged into if a merge retired it."""
    columns = (assets.c.asset_id, assets.c.symbol, assets.c.name, assets.c.merged_into)
    query = sa.select(*columns).where(assets.c.asset_id == asset_id)
    return conn.execute(query).first()


def history(conn: Connection, where: SnapshotFilter, *, interval_s: int | None, limit: int) -> list[Row[Any]]:
    """Observations matching `where` (one asset's) in time order, per source: the newest `limit` of each.

    With `interval_s`, one point per bucket of that many seconds (aligned on the Unix epoch, so days
    start at 00:00 UTC): the bucket's last observation, whose values are exact, unlike an average.
    """
    conditions = _conditions(where)
    if interval_s is None:
        bucket: sa.ColumnElement[Any] = ms.c.snapshot_id
    elif conn.dialect.name == "sqlite":
        # strftime rounds fractions to milliseconds first (00:59:59.9995 -> 01:00:00): cut them off.
        whole_seconds = sa.func.substr(ms.c.observed_at, 1, 19)
        bucket = sa.cast(sa.func.strftime("%s", whole_seconds), sa.Integer) // interval_s
    else:
        # EXTRACT(epoch) is fractional: floor it explicitly (SQLAlchemy's // assumes an integer here).
        epoch = sa.cast(sa.extract("epoch", ms.c.observed_at), sa.Numeric)
        bucket = sa.func.floor(epoch / sa.literal(interval_s, sa.Numeric))
    newest_first = [ms.c.observed_at.desc(), ms.c.snapshot_id.desc()]
    ranked = (
        sa.select(
            ms.c.source,
            ms.c.observed_at,
            ms.c.price_usd,
            ms.c.market_cap_usd,
            ms.c.volume_24h_usd,
            bucket.label("bucket"),
            sa.func.row_number()
            .over(partition_by=[ms.c.source, bucket], order_by=newest_first)
            .label("pick"),
        )
        .where(*conditions)
        .subquery("ranked")
    )
    points = (
        sa.select(
            *[c for c in ranked.c if c.name != "pick"],
            sa.func.row_number()
            .over(partition_by=ranked.c.source, order_by=ranked.c.observed_at.desc())
            .label("recency"),
        )
        .where(ranked.c.pick == 1)
        .subquery("points")
    )
    query = (
        sa.select(*[c for c in points.c if c.name != "recency"])
        .where(points.c.recency <= limit + 1)  # one extra says the series was cut
        .order_by(points.c.source, points.c.observed_at)
    )
    return list(conn.execute(query))
