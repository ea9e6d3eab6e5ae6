from datetime import UTC, datetime
from decimal import Decimal

import pytest

from etl_cli.extract.base import JsonArrayPage, RawPage
from etl_cli.transform.coinpaprika import normalize_tickers
from tests.samples import COINPAPRIKA_TICKER, COINPAPRIKA_TICKERS, page


def normalize(body: bytes):
    raw = RawPage("coinpaprika", "https://cp.test/v1/tickers", 200, datetime.now(UTC), body)
    return normalize_tickers(JsonArrayPage.parse(raw))


# Values read by hand from fixtures/coinpaprika/ticker_btc-bitcoin_quotes_usd_2022-04-19.json.
def test_the_real_ticker_keeps_every_digit():
    [bitcoin] = normalize(page([COINPAPRIKA_TICKER.read_text()])).snapshots
    assert bitcoin.price_usd == Decimal("41389.57931641128")
    assert bitcoin.volume_24h_usd == Decimal("35357658696.99645")
    assert bitcoin.market_cap_usd == Decimal("787066061422")
    assert (bitcoin.circulating_supply, bitcoin.total_supply, bitcoin.max_supply) == (
        Decimal("19016044"),
        Decimal("19016031"),
        Decimal("21000000"),
    )
    assert bitcoin.observed_at == datetime(2022, 4, 19, 15, 43, 22, tzinfo=UTC)
    assert (bitcoin.symbol, bitcoin.name, bitcoin.market_cap_rank) == ("BTC", "Bitcoin", 1)


def test_the_recorded_list_normalizes_every_ticker():
    result = normalize(COINPAPRIKA_TICKERS.read_bytes())
    assert (len(result.snapshots), len(result.rejects)) == (70, 0)
    shib = next(s for s in result.snapshots if s.source_asset_id == "shib-shiba-inu")
    assert shib.price_usd == Decimal("0.00001957166966282909")
    assert shib.max_supply is None  # CoinPaprika writes 0 for uncapped


@pytest.mark.parametrize(
    ("replace", "by", "reason"),
    [
        ('"price":41389.57931641128', '"price":""', "quotes: {'USD': {'price': ['Not a valid number.']}}"),
        ('"quotes":{"USD":', '"quotes":{"EUR":', "quotes: {'USD': ['Missing data for required field.']}"),
        (
            '"last_updated":"2022-04-19T15:43:22Z"',
            '"last_updated":"2022-04-19"',
            "last_updated: Not a valid aware datetime.",
        ),
    ],
)
def test_a_bad_ticker_is_rejected_with_its_reason(replace, by, reason):
    text = COINPAPRIKA_TICKER.read_text()
    bad = text.replace(replace, by)
    assert bad != text
    result = normalize(page([bad]))
    assert result.snapshots == []
    assert result.rejects[0].reason == reason
    assert result.rejects[0].source_asset_id == "btc-bitcoin"


def test_missing_and_empty_optional_values_read_as_none():
    text = COINPAPRIKA_TICKER.read_text()
    text = text.replace('"circulating_supply":19016044,', "").replace(
        '"volume_24h":35357658696.99645', '"volume_24h":""'
    )
    [bitcoin] = normalize(page([text])).snapshots
    assert (bitcoin.circulating_supply, bitcoin.volume_24h_usd) == (None, None)
