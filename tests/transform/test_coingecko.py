from datetime import UTC, datetime
from decimal import Decimal

import pytest

from etl_cli.extract.base import JsonArrayPage, RawPage
from etl_cli.transform.coingecko import normalize_markets
from tests.samples import page, records

FETCHED = datetime(2025, 2, 9, 17, 44, 7, tzinfo=UTC)
BITCOIN = (
    '{"id":"bitcoin","symbol":"btc","name":"Bitcoin","current_price":96114.08481738689,'
    '"market_cap":1903746811536,"market_cap_rank":1,"total_volume":20388876648,'
    '"circulating_supply":19822040.0,"total_supply":19822050.0,"max_supply":21000000.0,'
    '"last_updated":"2025-02-09T17:44:04.143Z"}'
)


def normalize(body: bytes):
    raw = RawPage("coingecko", "https://example.test/coins/markets", 200, FETCHED, body)
    return normalize_markets(JsonArrayPage.parse(raw))


def test_real_page_normalizes_every_record(markets_page):
    result = normalize(markets_page)
    assert (len(result.snapshots), len(result.rejects)) == (250, 0)
    assert sorted(s.market_cap_rank for s in result.snapshots) == list(range(1, 251))


# Values read by hand from fixtures/replay/coingecko/coins_markets_page1.json.
@pytest.mark.parametrize(
    ("coin", "field", "expected"),
    [
        ("bitcoin", "price_usd", Decimal("96114.08481738689")),
        ("bitcoin", "market_cap_usd", Decimal("1903746811536")),
        ("bitcoin", "volume_24h_usd", Decimal("20388876648")),
        ("bitcoin", "circulating_supply", Decimal("19822040.0")),
        ("bitcoin", "observed_at", datetime(2025, 2, 9, 17, 44, 4, 143000, tzinfo=UTC)),
        ("bitcoin", "symbol", "BTC"),
        ("apenft", "price_usd", Decimal("0.0000004461282308207794")),
        ("shiba-inu", "price_usd", Decimal("0.00001573593094914389")),
        ("bittorrent", "max_supply", Decimal("990000000000000")),
        ("tether", "price_usd", Decimal("1.000150209258716")),
        ("tether", "max_supply", None),
        ("compound-wrapped-btc", "volume_24h_usd", Decimal("0.0")),
        ("resolv-wstusr", "observed_at", datetime(2025, 1, 28, 14, 7, 13, 341000, tzinfo=UTC)),
    ],
)
def test_values_are_exact(markets_page, coin, field, expected):
    snapshot = next(s for s in normalize(markets_page).snapshots if s.source_asset_id == coin)
    assert getattr(snapshot, field) == expected
    assert type(getattr(snapshot, field)) is type(expected)


@pytest.mark.parametrize(
    ("replace", "by", "reason"),
    [
        ('"id":"bitcoin",', "", "id: Missing data for required field."),
        ('"id":"bitcoin"', '"id":""', "id: Length must be between 1 and 200."),
        ("96114.08481738689", '"abc"', "current_price: Not a valid number."),
        ("96114.08481738689", "-1.5", "current_price: Must be greater than or equal to 0"),
        ("96114.08481738689", "null", "current_price: Field may not be null."),
        ("96114.08481738689", "true", "current_price: Not a valid number."),
        ("96114.08481738689", "1e999", "current_price: Must be greater than or equal to 0 and less"),
        ('"2025-02-09T17:44:04.143Z"', '"yesterday"', "last_updated: Not a valid datetime."),
        ('"2025-02-09T17:44:04.143Z"', '"2025-02-09T17:44:04"', "last_updated: Not a valid aware datetime."),
        ('"market_cap_rank":1', '"market_cap_rank":"first"', "market_cap_rank: Not a valid integer."),
    ],
)
def test_bad_record_is_rejected_with_reason_and_the_rest_kept(replace, by, reason):
    bad = BITCOIN.replace(replace, by)
    assert bad != BITCOIN
    good = BITCOIN.replace('"bitcoin"', '"bitcoin-2"')
    result = normalize(page([bad, good]))
    assert [s.source_asset_id for s in result.snapshots] == ["bitcoin-2"]
    [reject] = result.rejects
    assert reject.reason.startswith(reason)
    assert reject.fragment == bad
    assert reject.source_asset_id == (None if '"id":"bitcoin"' not in bad else "bitcoin")


def test_item_that_is_not_an_object_is_rejected():
    result = normalize(page(["42", BITCOIN]))
    assert len(result.snapshots) == 1
    assert result.rejects[0].reason == "Invalid input type."
    assert result.rejects[0].fragment == "42"


def test_offset_timestamps_become_utc():
    result = normalize(page([BITCOIN.replace("17:44:04.143Z", "19:44:04.143+02:00")]))
    assert result.snapshots[0].observed_at == datetime(2025, 2, 9, 17, 44, 4, 143000, tzinfo=UTC)
    assert result.snapshots[0].observed_at.utcoffset().total_seconds() == 0


def test_page_that_is_not_an_array_becomes_one_reject():
    result = normalize(b'{"status": {"error_code": 429}}')
    assert result.snapshots == []
    assert result.rejects[0].reason.startswith("page is not a JSON array")


def test_sample_records_keep_their_text(markets_page):
    texts = records(markets_page)
    assert texts[0].startswith('{"id":"bitcoin"')
    assert page(texts) == markets_page


def test_a_nul_in_a_name_is_a_reject_not_a_database_failure():
    result = normalize(page([BITCOIN.replace('"name":"Bitcoin"', '"name":"Bit\\u0000coin"')]))
    assert result.snapshots == []
    assert result.rejects[0].reason == "name: contains a NUL character"


@pytest.mark.parametrize("field", ["id", "symbol", "name"])
def test_a_lone_surrogate_in_a_text_field_is_a_reject(field):
    value = {"id": "bitcoin", "symbol": "btc", "name": "Bitcoin"}[field]
    result = normalize(page([BITCOIN.replace(f'"{field}":"{value}"', f'"{field}":"\\ud83d{value}"')]))
    assert result.snapshots == []
    assert result.rejects[0].reason == f"{field}: contains a lone surrogate, which is not text"


def test_symbols_are_checked_upper_case_as_they_are_stored():
    # "ß" upper-cases to "SS": 40 of them are 80 characters stored, over the 64 a symbol may have.
    result = normalize(page([BITCOIN.replace('"symbol":"btc"', '"symbol":"' + "ß" * 40 + '"')]))
    assert result.rejects[0].reason == "symbol: Length must be between 1 and 64."
    assert normalize(page([BITCOIN])).snapshots[0].symbol == "BTC"
