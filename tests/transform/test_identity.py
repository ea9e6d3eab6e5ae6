from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from etl_cli.transform.evidence import compare, profile
from etl_cli.transform.identity import KnownRecord, SourceRecord, resolve

T = datetime(2025, 2, 9, 17, 44, tzinfo=UTC)


def gecko(coin, symbol, name, price=None, at=None, supply=None):
    return SourceRecord("coingecko", coin, symbol, name, _d(price), at, circulating_supply=_d(supply))


def paprika(coin, symbol, name, price=None, at=None, supply=None):
    return SourceRecord("coinpaprika", coin, symbol, name, _d(price), at, circulating_supply=_d(supply))


def csv(coin, symbol, name):
    return SourceRecord("csv", coin, symbol, name)


def _d(value):
    return None if value is None else Decimal(value)


def decide(new, known, aliases=None):
    return resolve([new], [KnownRecord(i + 1, k) for i, k in enumerate(known)], aliases or {})[new.key]


def one(new, known, aliases=None):
    return decide(new, known, aliases).asset_id


@pytest.mark.parametrize(
    ("new", "known", "expected", "rule"),
    [
        (paprika("btc-bitcoin", "BTC", "Bitcoin"), [gecko("bitcoin", "BTC", "Bitcoin")], 1, "id"),
        (paprika("usdc-usdcoin", "USDC", "USDC"), [gecko("usd-coin", "USDC", "USDC")], 1, "id"),
        (
            paprika("avax-avalanche", "AVAX", "Avalanche"),
            [gecko("avalanche-2", "AVAX", "Avalanche")],
            1,
            "name",
        ),
        (
            paprika("pol-polygon-ecosystem-token", "POL", "Polygon Ecosystem Token"),
            [gecko("polygon-ecosystem-token", "POL", "POL (ex-MATIC)")],
            1,
            "id",
        ),
        (
            paprika("toncoin-the-open-network", "TON", "Toncoin"),
            [gecko("the-open-network", "TON", "Toncoin")],
            1,
            "id",
        ),
        (paprika("aave-new", "AAVE", "Aave"), [gecko("aave", "AAVE", "Aave")], 1, "name"),
        (
            paprika("flr-flare-network", "FLR", "Flare Network"),
            [gecko("flare-networks", "FLR", "Flare")],
            1,
            "name",
        ),
        # a coin renamed on one side: the new name is the ticker, the old one lives on in the id
        (
            paprika("pol-polygon", "POL", "Polygon"),
            [gecko("polygon-ecosystem-token", "POL", "POL (ex-MATIC)")],
            1,
            "prefix",
        ),
        # an extra word on one side
        (paprika("shib-shiba", "SHIB", "Shiba"), [gecko("shiba-inu", "SHIB", "Shiba Inu")], 1, "prefix"),
        (
            csv("pyth-pyth-network-coin", "PYTH", "Pyth Network Coin"),
            [gecko("pyth-network", "PYTH", "Pyth Network")],
            1,
            "name",
        ),
        # names that share nothing, supplies that agree to the unit
        (
            paprika("mkr-sky", "MKR", "Sky", supply="880771"),
            [gecko("maker", "MKR", "Maker", supply="880685.87")],
            1,
            "supply",
        ),
        (
            paprika("bttc-bittorrent-chain", "BTT", "BitTorrent", supply="968246428521377"),
            [gecko("bittorrent", "BTT", "BitTorrent", supply="986061142857000")],
            None,
            "new",
        ),
        (paprika("uni-unicorn", "UNI", "Unicorn"), [gecko("uniswap", "UNI", "Uniswap")], None, "new"),
        (
            paprika("usdt-tether", "USDT", "Tether"),
            [
                gecko("tether", "USDT", "Tether"),
                gecko("mantle-bridged-usdt-mantle", "USDT", "Mantle Bridged USDT (Mantle)"),
            ],
            1,
            "id",
        ),
        (
            csv("wbtc-wrapped-bitcoin", "WBTC", "Wrapped Bitcoin"),
            [
                gecko("wrapped-bitcoin", "WBTC", "Wrapped Bitcoin"),
                gecko("wrapped-bitcoin-2", "WBTC", "Wrapped Bitcoin"),
            ],
            None,
            "new",
        ),
        (gecko("bitcoin-2", "BTC", "Bitcoin"), [gecko("bitcoin", "BTC", "Bitcoin")], None, "new"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_rules(new, known, expected, rule):
    decision = decide(new, known)
    assert (decision.asset_id, decision.rule) == (expected, rule)


@pytest.mark.parametrize(
    ("bridged", "native"),
    [
        (paprika("usdc-usd-coin-wormhole", "USDC", "USD Coin (Wormhole)"), gecko("usd-coin", "USDC", "USDC")),
        (paprika("btc-bitcoin-bep2", "BTC", "Bitcoin (BEP2)"), gecko("bitcoin", "BTC", "Bitcoin")),
        (paprika("eth-ethereum-wormhole", "ETH", "Ethereum"), gecko("ethereum", "ETH", "Ethereum")),
        (paprika("usdt-bridged-tether", "USDT", "Bridged Tether"), gecko("tether", "USDT", "Tether")),
        (
            gecko("binance-peg-dogecoin", "DOGE", "Binance-Peg Dogecoin"),
            paprika("doge-dogecoin", "DOGE", "Dogecoin"),
        ),
        (paprika("hex-hex-from-pulsechain", "HEX", "HEX (Pulsechain)"), gecko("hex", "HEX", "HEX")),
        (paprika("syn-synapse", "SYN", "Synapse (OLD)"), gecko("synapse-2", "SYN", "Synapse")),
    ],
)
def test_a_bridged_wrapped_or_qualified_listing_alone_is_never_the_native_coin(bridged, native):
    assert [f.kind for f in compare(profile(bridged), profile(native)).vetoes] == ["marker"]
    assert one(bridged, [native]) is None


def test_a_bridged_listing_is_set_aside_and_the_native_one_joins():
    known = [
        KnownRecord(1, gecko("ethereum", "ETH", "Ethereum")),
        KnownRecord(2, paprika("eth-ethereum-wormhole", "ETH", "Ethereum (Wormhole)")),
    ]
    decision = resolve([csv("eth-ethereum", "ETH", "Ethereum")], known, {})["csv", "eth-ethereum"]
    assert (decision.asset_id, decision.rule) == (1, "name")
    assert decision.evidence == (
        "name: name 'Ethereum' of csv:eth-ethereum and name 'Ethereum' of coingecko:ethereum"
        " both read 'ethereum'",
        "set aside asset 2: marker: a different listing: wormhole on coinpaprika:eth-ethereum-wormhole only",
    )


def test_supplies_an_order_of_magnitude_apart_veto_agreeing_names():
    known = [gecko("bonk", "BONK", "Bonk", supply="77173357795436.31")]
    assert one(paprika("bonk-bonk-classic", "BONK", "Bonk", supply="77173357795"), known) is None
    assert one(paprika("bonk-bonk-classic", "BONK", "Bonk", supply="7717335779543"), known) is None
    assert one(paprika("bonk-bonk-classic", "BONK", "Bonk", supply="0"), known) == 1  # 0 is unknown
    assert one(paprika("bonk-bonk-classic", "BONK", "Bonk", supply="20000000000000"), known) == 1


def test_round_supplies_are_no_evidence():
    known = [gecko("alpha", "ABC", "Alpha", supply="1000000000")]
    assert one(paprika("abc-beta", "ABC", "Beta", supply="1000000000"), known) is None
    known = [gecko("alpha", "ABC", "Alpha", supply="1000012345")]
    assert one(paprika("abc-beta", "ABC", "Beta", supply="1000012000"), known) == 1


def test_prices_more_than_5_percent_apart_in_the_same_hour_veto_the_match():
    known = [gecko("bitcoin", "BTC", "Bitcoin", "100", T)]
    assert one(paprika("btc-bitcoin", "BTC", "Bitcoin", "106", T + timedelta(minutes=30)), known) is None
    assert one(paprika("btc-bitcoin", "BTC", "Bitcoin", "104", T + timedelta(minutes=30)), known) == 1
    assert one(paprika("btc-bitcoin", "BTC", "Bitcoin", "200", T + timedelta(hours=2)), known) == 1
    impostor = SourceRecord("csv", "btc-bitcoin", "BTC", "Bitcoin", Decimal("50"), T)
    assert one(impostor, known) is None


def test_a_vetoed_candidate_is_set_aside_and_the_other_one_joins():
    known = [
        KnownRecord(1, gecko("bitcoin", "BTC", "Bitcoin", "100", T)),
        KnownRecord(2, csv("btc-bitcoin", "BTC", "Bitcoin")),
    ]
    impostor = paprika("btc-bitcoin-x", "BTC", "Bitcoin", "70", T)
    assert resolve([impostor], known, {})[impostor.key].asset_id == 2


def test_the_alias_map_wins_over_the_rules_and_its_groups_keep_coins_apart():
    aliases = {("coinpaprika", "ftm-fantom"): "sonic-3", ("coingecko", "sonic-3"): "sonic-3"}
    known = [gecko("sonic-3", "S", "Sonic (prev. FTM)")]
    assert one(paprika("ftm-fantom", "FTM", "Fantom"), known) is None
    decision = decide(paprika("ftm-fantom", "FTM", "Fantom"), known, aliases)
    assert (decision.asset_id, decision.rule) == (1, "alias")
    apart = {("coinpaprika", "btc-bitcoin"): "not-bitcoin", ("coingecko", "bitcoin"): "bitcoin"}
    assert one(paprika("btc-bitcoin", "BTC", "Bitcoin"), [gecko("bitcoin", "BTC", "Bitcoin")], apart) is None


def test_a_coingecko_listing_is_the_coin_of_its_id_without_an_alias_line_of_its_own():
    only_paprika = {("coinpaprika", "ftm-fantom"): "sonic-3"}
    decision = decide(
        paprika("ftm-fantom", "FTM", "Fantom"), [gecko("sonic-3", "S", "Sonic (prev. FTM)")], only_paprika
    )
    assert (decision.asset_id, decision.rule) == (1, "alias")


def test_two_new_ids_of_one_source_never_share_an_asset():
    known = [KnownRecord(7, gecko("bitcoin", "BTC", "Bitcoin"))]
    new = [paprika("btc-bitcoin", "BTC", "Bitcoin"), paprika("btc-bitcoin-2", "BTC", "Bitcoin")]
    decided = resolve(new, known, {})
    assert [decided[r.key].asset_id for r in new] == [7, None]  # the id decides; the name is ambiguous
    aliases = {new[0].key: "bitcoin", new[1].key: "bitcoin", ("coingecko", "bitcoin"): "bitcoin"}
    decided = resolve(new, known, aliases)
    assert [decided[r.key].asset_id for r in new] == [None, None]  # both claim asset 7


def test_an_asset_already_fed_by_the_source_is_not_a_candidate():
    known = [
        KnownRecord(7, gecko("bitcoin", "BTC", "Bitcoin")),
        KnownRecord(7, paprika("btc-bitcoin", "BTC", "Bitcoin")),
    ]
    assert (
        resolve([paprika("btc-bitcoin-x", "BTC", "Bitcoin")], known, {})[
            "coinpaprika", "btc-bitcoin-x"
        ].asset_id
        is None
    )
