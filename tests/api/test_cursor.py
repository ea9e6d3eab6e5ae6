"""Tampered cursors on both databases: whatever one holds, the answer is a 400 or a page, never a 500."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.paging import SORT_KEYS, SORTS, Cursor, decode_cursor

BIGINT = 2**63
HOSTILE_VALUES = {
    "decimal": [
        "1e999999",  # the 500 of issue 10: PostgreSQL's NUMERIC overflows
        "-1e999999",
        "1e-999999",
        "1E+131072",  # one digit more than NUMERIC holds before the point
        "5e-16384",  # one digit more than NUMERIC holds after it
        "1e999999999999",  # SQLite would write it out in full
        "NaN",
        "sNaN",
        "-sNaN",
        "Infinity",
        "-Infinity",
        "",
        "one",
        "2025-01-01T00:00:00+00:00",
    ],
    "rank": ["2147483648", "-2147483649", "99999999999999999999999", "9" * 5000, "1.5", "1e3", "", "NaN"],
    "time": [
        "0001-01-01T00:00:00+01:00",  # before year 1 once in UTC
        "9999-12-31T23:59:59-01:00",  # after year 9999 once in UTC
        "2025-01-01T00:00:00",  # naive
        "2025-13-01T00:00:00+00:00",
        "5",
        "",
    ],
}
HOSTILE_IDS = [BIGINT, -BIGINT - 1, 2**64, 10**30, 5.0, True, "5", None]
SAFE_VALUE = {
    "observed_at": "2025-01-01T00:00:00+00:00",
    "price_usd": "1",
    "market_cap_usd": "1",
    "rank": "1",
}
# Values a column can hold, however odd: a page (possibly empty) after them.
EDGE_VALUES = {
    "price_usd": ["-0", "0E-16383", "1E+131071", "-1E+131071", "1e-16383"],
    "rank": ["-0", "2147483647", "-2147483648"],
    "observed_at": [
        "0001-01-01T00:00:00+00:00",
        "9999-12-31T23:59:59.999999+00:00",
        "2025-01-01T05:30:00+05:30",
    ],
}


def cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


def kind(sort: str) -> str:
    return {"observed_at": "time", "rank": "rank"}.get(sort.lstrip("-"), "decimal")


def assert_cursor_400(response) -> None:
    assert response.status_code == 400, response.get_data(as_text=True)
    assert list(response.get_json()["errors"]) == ["cursor"]


@pytest.mark.parametrize("sort", SORTS)
def test_a_value_its_column_cannot_hold_is_a_400(loaded, sort):
    for value in HOSTILE_VALUES[kind(sort)]:
        assert_cursor_400(loaded.client.get("/data", query_string={"cursor": cursor(sort, value, 5)}))


@pytest.mark.parametrize("snapshot_id", HOSTILE_IDS, ids=repr)
def test_a_snapshot_id_beyond_bigint_or_not_an_integer_is_a_400(loaded, snapshot_id):
    for sort in ("observed_at", "-price_usd", "rank"):
        tampered = cursor(sort, SAFE_VALUE[sort.lstrip("-")], snapshot_id)
        assert_cursor_400(loaded.client.get("/data", query_string={"cursor": tampered}))
    assert_cursor_400(loaded.client.get("/data", query_string={"cursor": cursor("rank", None, snapshot_id)}))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "e30",  # "{}"
        base64.urlsafe_b64encode(b"[" * 100_000).decode(),  # too deep for the JSON parser
        base64.urlsafe_b64encode(b'["rank", "1", 5, 6]').decode(),
        base64.urlsafe_b64encode(b'["price_usd", 1, 5]').decode(),
        base64.urlsafe_b64encode(b'["observed_at", null, 5]').decode(),
        base64.urlsafe_b64encode(b'["name", "x", 5]').decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_a_cursor_that_is_not_ours_is_a_400(loaded, text):
    assert_cursor_400(loaded.client.get("/data", query_string={"cursor": text}))


@pytest.mark.parametrize("sort", list(EDGE_VALUES))
def test_any_value_its_column_can_hold_gives_a_page(loaded, sort):
    for value in EDGE_VALUES[sort]:
        for direction in ("", "-"):
            response = loaded.client.get("/data", query_string={"cursor": cursor(direction + sort, value, 5)})
            assert response.status_code == 200, (sort, value, response.get_data(as_text=True))


# --- fuzzing: anything JSON can carry, in every slot -------------------------------------------------------

NUMBER_TEXT = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.builds("{}e{}".format, st.integers(-(10**6), 10**6), st.integers(-(10**13), 10**13)),
    st.integers(-(10**40), 10**40).map(str),
)
TIME_TEXT = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
    st.datetimes().map(lambda moment: moment.isoformat()),
)
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=5,
)
KNOWN_VALUES = [value for values in (*HOSTILE_VALUES.values(), *EDGE_VALUES.values()) for value in values]
SLOT_SORT = st.sampled_from(SORTS) | ANY_JSON
SLOT_VALUE = st.none() | st.sampled_from(KNOWN_VALUES) | NUMBER_TEXT | TIME_TEXT | ANY_JSON
SLOT_ID = st.sampled_from([*HOSTILE_IDS, 0, 5, BIGINT - 1, -BIGINT]) | st.integers(-(2**70), 2**70) | ANY_JSON
TAMPERED = st.tuples(SLOT_SORT, SLOT_VALUE, SLOT_ID).map(lambda parts: cursor(*parts))


@given(text=TAMPERED | st.text(max_size=40))
@settings(max_examples=500, deadline=None, database=None, derandomize=True)
def test_decode_cursor_returns_a_cursor_or_raises_value_error(text):
    try:
        decoded = decode_cursor(text)
    except ValueError:
        return
    assert isinstance(decoded, Cursor) and decoded.sort in SORTS
    assert -BIGINT <= decoded.snapshot_id < BIGINT


@given(text=TAMPERED)
@settings(max_examples=150, deadline=None, database=None, derandomize=True)
def test_the_query_path_answers_any_cursor_with_a_page_or_a_400(loaded, text):
    try:
        decode_cursor(text)
        decodable = True
    except ValueError:
        decodable = False
    response = loaded.client.get("/data", query_string={"cursor": text, "limit": 2})
    if decodable:
        assert response.status_code == 200, (text, response.get_data(as_text=True))
    else:
        assert_cursor_400(response)


def test_every_sort_key_has_hostile_and_edge_values():
    assert {kind(key) for key in SORT_KEYS} == set(HOSTILE_VALUES)
    assert set(EDGE_VALUES) | {"market_cap_usd"} == set(SORT_KEYS)
