"""GET /data on both databases: filters, sorts, bounds, keyset paging, exact decimals, bad input."""

from __future__ import annotations

import json
from datetime import timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from api.paging import SORT_KEYS, SORTS
from etl_cli.load.bulk import insert_rows
from etl_cli.schema.tables import market_snapshots
from tests.api.conftest import SYNTHETIC_START, SYNTHETIC_STEP, dispose, make_app


def body(response) -> dict:
    """The JSON body with every number parsed exactly."""
    return json.loads(response.get_data(as_text=True), parse_float=Decimal)


def ids(response) -> list[int]:
    return [row["snapshot_id"] for row in body(response)["data"]]


def expected_order(rows: list[dict], sort: str) -> list[int]:
    """snapshot_ids in the documented order: by value (NULLs last), ties by snapshot_id, `-` reverses."""
    column = SORT_KEYS[sort.lstrip("-")][0]
    descending = sort.startswith("-")
    present = sorted((r for r in rows if r[column] is not None), key=lambda r: (r[column], r["snapshot_id"]))
    missing = sorted((r for r in rows if r[column] is None), key=lambda r: r["snapshot_id"])
    if descending:
        present.reverse()
        missing.reverse()
    return [r["snapshot_id"] for r in present + missing]


def walk(client, url: str, params: dict | None = None, limit_pages: int = 1000) -> list[int]:
    """Follow links.next from `url` to the end; return every snapshot_id seen, in order."""
    seen: list[int] = []
    for _ in range(limit_pages):
        response = client.get(url, query_string=params)
        params = None  # links.next carries the whole query
        assert response.status_code == 200, response.get_data(as_text=True)
        page = body(response)
        seen += [row["snapshot_id"] for row in page["data"]]
        url = page["links"]["next"]
        if url is None:
            return seen
    raise AssertionError("paging did not end")


# --- exact decimals -------------------------------------------------------------------------------------


def test_exact_decimals_survive_into_json(loaded):
    response = loaded.client.get("/data", query_string={"limit": 1000, "source": "coingecko"})
    rows = {row["source_asset_id"]: row for row in body(response)["data"]}
    assert len(rows) == 250
    assert rows["bitcoin"]["price_usd"] == Decimal("96114.08481738689")
    assert str(rows["bitcoin"]["price_usd"]) == "96114.08481738689"
    assert rows["apenft"]["price_usd"] == Decimal("4.461282308207794E-7")
    assert rows["apenft"]["price_usd"].as_tuple().digits == Decimal("4.461282308207794E-7").as_tuple().digits
    assert rows["tether"]["circulating_supply"] == Decimal("141737141514.8817")
    assert rows["compound-wrapped-btc"]["volume_24h_usd"] == Decimal("0.0")
    text = response.get_data(as_text=True)
    assert '"price_usd":96114.08481738689' in text
    # Numbers, never strings: a float-rounding encoder or a str() fallback would both fail here.
    assert '"price_usd":"' not in text
    stored = {row["source_asset_id"]: row for row in loaded.rows}
    for name, row in rows.items():
        for column in ("price_usd", "market_cap_usd", "volume_24h_usd", "circulating_supply", "max_supply"):
            assert row[column] == stored[name][column], (name, column)


def test_rows_carry_the_market_snapshots_columns(loaded):
    row = body(loaded.client.get("/data", query_string={"limit": 1}))["data"][0]
    assert list(row) == [column.name for column in market_snapshots.columns]


# --- filters --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["btc", "BTC", "Btc"])
def test_symbol_matches_in_any_case(loaded, spelling):
    got = ids(loaded.client.get("/data", query_string={"symbol": spelling, "limit": 1000}))
    expected = {r["snapshot_id"] for r in loaded.rows if r["symbol"].lower() == "btc"}
    assert expected and set(got) == expected


def test_asset_id_filter(loaded):
    bitcoin = next(r for r in loaded.rows if r["source_asset_id"] == "bitcoin")
    data = body(loaded.client.get("/data", query_string={"asset_id": bitcoin["asset_id"]}))["data"]
    assert [row["source_asset_id"] for row in data] == ["bitcoin"]


def test_source_filter_known_unknown_and_empty(synthetic):
    for source in ("coingecko", "coinpaprika"):
        got = walk(synthetic.client, f"/data?source={source}&limit=1000")
        assert sorted(got) == sorted(r["snapshot_id"] for r in synthetic.rows if r["source"] == source)
    empty = synthetic.client.get("/data", query_string={"source": "csv"})
    assert empty.status_code == 200
    assert body(empty)["data"] == [] and body(empty)["links"]["next"] is None
    unknown = synthetic.client.get("/data", query_string={"source": "binance"})
    assert unknown.status_code == 400
    assert list(body(unknown)["errors"]) == ["source"]


def test_time_window_includes_from_and_excludes_to(synthetic):
    start = SYNTHETIC_START + 10 * SYNTHETIC_STEP
    end = SYNTHETIC_START + 20 * SYNTHETIC_STEP
    got = walk(synthetic.client, "/data", {"limit": 1000, "from": start.isoformat(), "to": end.isoformat()})
    expected = [r["snapshot_id"] for r in synthetic.rows if start <= r["observed_at"] < end]
    assert len(expected) == 10 * 48
    assert sorted(got) == sorted(expected)


def test_time_without_offset_is_utc_and_other_offsets_convert(synthetic):
    start = SYNTHETIC_START + 70 * SYNTHETIC_STEP
    spellings = [
        start.replace(tzinfo=None).isoformat(),
        start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        start.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat(),
    ]
    answers = [ids(synthetic.client.get("/data", query_string={"from": s, "limit": 1000})) for s in spellings]
    assert len(answers[0]) == 5 * 48
    assert answers[0] == answers[1] == answers[2]


def test_rfc_3339_lower_case_t_and_z_are_accepted(synthetic):
    # The document says date-time (RFC 3339), which allows them; they were a 400.
    start = SYNTHETIC_START + 70 * SYNTHETIC_STEP
    lower, upper = (
        synthetic.client.get("/data", query_string={"from": start.strftime(spelling), "limit": 1000})
        for spelling in ("%Y-%m-%dt%H:%M:%Sz", "%Y-%m-%dT%H:%M:%SZ")
    )
    assert lower.status_code == 200 and ids(lower) == ids(upper) and len(ids(lower)) == 5 * 48


def test_filters_combine(synthetic):
    got = walk(synthetic.client, "/data?symbol=s5&source=coinpaprika&limit=7")
    expected = [r for r in synthetic.rows if r["symbol"].lower() == "s5" and r["source"] == "coinpaprika"]
    assert len(expected) == 75
    assert got == expected_order(expected, "-observed_at")


# --- sorts and bounds -----------------------------------------------------------------------------------


@pytest.mark.parametrize("sort", SORTS)
def test_every_sort_orders_numerically_with_nulls_last(synthetic, sort):
    got = walk(synthetic.client, f"/data?sort={sort}&limit=1000")
    assert got == expected_order(synthetic.rows, sort)


@pytest.mark.parametrize("sort", [name for name in SORTS if SORT_KEYS[name.lstrip("-")][1]])
def test_offset_pages_cross_from_values_into_nulls(synthetic, sort):
    pages = [
        ids(synthetic.client.get(f"/data?sort={sort}&limit=700&offset={offset}"))
        for offset in range(0, 4200, 700)
    ]
    assert [row for page in pages for row in page] == expected_order(synthetic.rows, sort)


def test_default_sort_is_newest_first(loaded):
    page = body(loaded.client.get("/data", query_string={"limit": 1000}))
    assert page["pagination"]["sort"] == "-observed_at"
    assert [r["snapshot_id"] for r in page["data"]] == expected_order(loaded.rows, "-observed_at")


def test_limit_default_max_and_offset(loaded):
    default = body(loaded.client.get("/data"))
    assert len(default["data"]) == 100
    assert default["pagination"] | {"next_cursor": None} == {
        "limit": 100,
        "offset": 0,
        "count": 100,
        "has_more": True,
        "sort": "-observed_at",
        "next_cursor": None,
    }
    assert len(ids(loaded.client.get("/data?limit=1000"))) == 250
    order = expected_order(loaded.rows, "price_usd")
    assert ids(loaded.client.get("/data?sort=price_usd&limit=7&offset=100")) == order[100:107]
    last = body(loaded.client.get("/data?sort=price_usd&limit=10&offset=245"))
    assert [r["snapshot_id"] for r in last["data"]] == order[245:]
    assert last["pagination"]["has_more"] is False and last["links"]["next"] is None
    assert ids(loaded.client.get("/data?offset=10000")) == []


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("offset=10001", "offset"),
        ("sort=name", "sort"),
        ("sort=--price_usd", "sort"),
        ("from=yesterday", "from"),
        ("to=2025-13-01", "to"),
        ("from=2025-01-02&to=2025-01-01", "to"),
        ("asset_id=0", "asset_id"),
        ("asset_id=x", "asset_id"),
        ("symbol=", "symbol"),
        ("source=COINGECKO", "source"),
        ("cursor=not-a-cursor", "cursor"),
        ("colour=red", "colour"),
        ("limit=5&limit=6", "limit"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(loaded, query, named):
    response = loaded.client.get(f"/data?{query}")
    assert response.status_code == 400
    error = body(response)
    assert set(error) == {"code", "status", "message", "errors"}
    assert error["code"] == 400 and error["status"] == "Bad Request"
    assert list(error["errors"]) == [named]
    assert named in error["message"]


# --- keyset paging --------------------------------------------------------------------------------------


@pytest.mark.parametrize("sort", SORTS)
def test_keyset_walk_has_no_gaps_and_no_repeats(synthetic, sort):
    got = walk(synthetic.client, f"/data?sort={sort}&limit=97")
    assert len(got) == len(synthetic.rows) == 3600
    assert len(set(got)) == len(got)
    assert got == expected_order(synthetic.rows, sort)


def test_next_link_keeps_filters_and_swaps_offset_for_cursor(synthetic):
    page = body(synthetic.client.get("/data?symbol=S7&sort=-price_usd&limit=5&offset=5"))
    query = parse_qs(urlsplit(page["links"]["next"]).query)
    assert urlsplit(page["links"]["next"]).path == "/data"
    assert query.keys() == {"symbol", "sort", "limit", "cursor"}
    assert query["cursor"] == [page["pagination"]["next_cursor"]]


def test_cursor_belongs_to_its_sort_and_excludes_offset(synthetic):
    cursor = body(synthetic.client.get("/data?sort=rank&limit=5"))["pagination"]["next_cursor"]
    continued = synthetic.client.get(f"/data?cursor={cursor}&limit=5")
    assert continued.status_code == 200 and body(continued)["pagination"]["sort"] == "rank"
    other = synthetic.client.get(f"/data?cursor={cursor}&sort=price_usd")
    assert other.status_code == 400 and list(body(other)["errors"]) == ["cursor"]
    both = synthetic.client.get(f"/data?cursor={cursor}&offset=5")
    assert both.status_code == 400 and list(body(both)["errors"]) == ["offset"]


def test_keyset_walk_is_stable_while_new_rows_load(synthetic_url, synthetic_rows, engine):
    # Rows loaded mid-walk at new times must not shift the pages: every original row exactly once.
    app = make_app(synthetic_url)
    synthetic_client = app.test_client()
    template = synthetic_rows[0]
    url = "/data?sort=observed_at&limit=250"
    seen: list[int] = []
    for page_number in range(100):
        page = body(synthetic_client.get(url))
        seen += [row["snapshot_id"] for row in page["data"]]
        if page_number == 3:
            later = max(r["observed_at"] for r in synthetic_rows) + timedelta(hours=1)
            earlier = SYNTHETIC_START - timedelta(hours=1)
            new_rows = [
                {k: v for k, v in template.items() if k != "snapshot_id"}
                | {"source_asset_id": f"new-{n}", "observed_at": when}
                for n, when in enumerate([earlier, later])
            ]
            with engine.begin() as conn:
                insert_rows(conn, market_snapshots, new_rows)
        url = page["links"]["next"]
        if url is None:
            break
    dispose(app)
    original = [r["snapshot_id"] for r in synthetic_rows]
    assert len(seen) == len(set(seen)) == len(original) + 1  # the later row comes at the end, once
    assert set(original) <= set(seen)


def test_observed_at_ties_break_on_snapshot_id(synthetic):
    # 48 snapshots share each observed_at: a cursor on the time alone would skip or repeat them.
    first = body(synthetic.client.get("/data?sort=observed_at&limit=30"))["data"]
    assert len({row["observed_at"] for row in first}) == 1
    assert [r["snapshot_id"] for r in first] == sorted(r["snapshot_id"] for r in first)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=0001-01-01T00:00:00%2B01:00", "from"),
        ("to=9999-12-31T23:00:00-01:00", "to"),
        ("symbol=%00", "symbol"),
        ("symbol=bt%0Ac", "symbol"),
    ],
)
def test_times_off_the_calendar_and_control_characters_are_a_400(loaded, query, field):
    response = loaded.client.get(f"/data?{query}")
    assert response.status_code == 400
    assert field in response.get_json()["errors"]
