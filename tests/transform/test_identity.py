from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from etl_cli.transform.identity import KnownRecord, SourceRecord, normalize_name, resolve

T = datetime(2025, 2, 9, 17, 44, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "normalized"),
    [
        ("POL (ex-MATIC)", "pol"),
        ("Flare Network", "flare"),
        ("Injective Protocol", "injective"),
        ("Bitget Token", "bitget"),
        ("The Graph", "graph"),
        ("Lido Staked Ether", "lido staked ether"),
        ("Fetch.AI", "fetch ai"),
        ("WhiteBIT Coin", "whitebit coin"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_name(name, normalized):
    assert normalize_name(name) == normalized


def gecko(coin, symbol, name, price=None, at=None):
    return SourceRecord("coingecko", coin, symbol, name, Decimal(price) if price else None, at)


def paprika(coin, symbol, name, price=None, at=None):
    return SourceRecord("coinpaprika", coin, symbol, name, Decimal(price) if price else None, at)


def one(new, known, aliases=None):
    return resolve([new], [KnownRecord(i + 1, k) for i, k in enumerate(known)], aliases or {})[new.key]


@pytest.mark.parametrize(
    ("new", "known", "expected", "why"),
    [
        (paprika("btc-bitcoin", "BTC", "Bitcoin"), [gecko("bitcoin", "BTC", "Bitcoin")], 1, "slug is the id"),
        (
            paprika("avax-avalanche", "AVAX", "Avalanche"),
            [gecko("avalanche-2", "AVAX", "Avalanche")],
            1,
            "slug is the name",
        ),
        (
            paprika("pol-polygon-ecosystem-token", "POL", "Polygon Ecosystem Token"),
            [gecko("polygon-ecosystem-token", "POL", "POL (ex-MATIC)")],
            1,
            "slug is the id, names differ",
        ),
        (
            paprika("toncoin-the-open-network", "TON", "Toncoin"),
            [gecko("the-open-network", "TON", "Toncoin")],
            1,
            "prefix is not the symbol, slug is the id",
        ),
        (paprika("aave-new", "AAVE", "Aave"), [gecko("aave", "AAVE", "Aave")], 1, "names agree"),
        (
            paprika("flr-flare-network", "FLR", "Flare Network"),
            [gecko("flare-networks", "FLR", "Flare")],
            1,
            "generic word",
        ),
        (
            paprika("bttc-bittorrent-chain", "BTT", "BitTorrent"),
            [gecko("bittorrent", "BTT", "BitTorrent")],
            None,
            "prefix bttc names another listing",
        ),
        (
            paprika("uni-unicorn", "UNI", "Unicorn"),
            [gecko("uniswap", "UNI", "Uniswap")],
            None,
            "symbol alone",
        ),
        (
            paprika("usdt-tether", "USDT", "Tether"),
            [
                gecko("tether", "USDT", "Tether"),
                gecko("mantle-bridged-usdt-mantle", "USDT", "Mantle Bridged USDT (Mantle)"),
            ],
            1,
            "the bridged twin is another coin",
        ),
        (
            SourceRecord("csv", "wbtc-wrapped-bitcoin", "WBTC", "Wrapped Bitcoin"),
            [
                gecko("wrapped-bitcoin", "WBTC", "Wrapped Bitcoin"),
                gecko("wrapped-bitcoin-2", "WBTC", "Wrapped Bitcoin"),
            ],
            None,
            "two candidates: ambiguous",
        ),
        (
            gecko("bitcoin-2", "BTC", "Bitcoin"),
            [gecko("bitcoin", "BTC", "Bitcoin")],
            None,
            "one source never merges with itself",
        ),
    ],
)
def test_rules(new, known, expected, why):
    assert one(new, known) == expected, why


def test_prices_more_than_5_percent_apart_in_the_same_hour_veto_the_match():
    known = [gecko("bitcoin", "BTC", "Bitcoin", "100", T)]
    assert one(paprika("btc-bitcoin", "BTC", "Bitcoin", "106", T + timedelta(minutes=30)), known) is None
    assert one(paprika("btc-bitcoin", "BTC", "Bitcoin", "104", T + timedelta(minutes=30)), known) == 1
    assert one(paprika("btc-bitcoin", "BTC", "Bitcoin", "200", T + timedelta(hours=2)), known) == 1
    csv = SourceRecord("csv", "btc-bitcoin", "BTC", "Bitcoin", Decimal("50"), T)
    assert one(csv, known) is None


def test_the_alias_map_wins_over_the_rules():
    aliases = {("coinpaprika", "fetch-ai"): "fetch-ai", ("coingecko", "fetch-ai"): "fetch-ai"}
    known = [gecko("fetch-ai", "FET", "Artificial Superintelligence Alliance")]
    assert one(paprika("fetch-ai", "FET", "Fetch.AI"), known) is None
    assert one(paprika("fetch-ai", "FET", "Fetch.AI"), known, aliases) == 1


def test_two_new_ids_of_one_source_never_share_an_asset():
    known = [KnownRecord(7, gecko("bitcoin", "BTC", "Bitcoin"))]
    new = [paprika("btc-bitcoin", "BTC", "Bitcoin"), paprika("btc-bitcoin-2", "BTC", "Bitcoin")]
    assert resolve(new, known, {}) == {
        new[0].key: 7,
        new[1].key: None,
    }  # the slug decides; the name is ambiguous
    aliases = {new[0].key: "bitcoin", new[1].key: "bitcoin", ("coingecko", "bitcoin"): "bitcoin"}
    assert resolve(new, known, aliases) == {new[0].key: None, new[1].key: None}  # both claim asset 7


def test_an_asset_already_fed_by_the_source_is_not_a_candidate():
    known = [
        KnownRecord(7, gecko("bitcoin", "BTC", "Bitcoin")),
        KnownRecord(7, paprika("btc-bitcoin", "BTC", "Bitcoin")),
    ]
    assert resolve([paprika("btc-bitcoin-x", "BTC", "Bitcoin")], known, {}) == {
        ("coinpaprika", "btc-bitcoin-x"): None
    }
