from datetime import UTC, datetime
from decimal import Decimal

from etl_cli.transform.identity import KnownRecord, SourceRecord
from etl_cli.transform.review import review_queue

T = datetime(2025, 2, 9, 17, 0, tzinfo=UTC)


def known(asset_id, source, coin, symbol, name, price=None, supply=None):
    record = SourceRecord(
        source,
        coin,
        symbol,
        name,
        None if price is None else Decimal(price),
        T,
        circulating_supply=None if supply is None else Decimal(supply),
    )
    return KnownRecord(asset_id, record)


def test_a_vetoed_pair_is_listed_with_its_evidence_and_the_alias_line_that_joins_it():
    queue = review_queue(
        [
            known(1, "coingecko", "bitcoin", "BTC", "Bitcoin", "100"),
            known(2, "coinpaprika", "btc-bitcoin", "BTC", "Bitcoin", "130"),
        ],
        {},
    )
    [candidate] = queue
    assert candidate.as_json() == {
        "listings": [
            {
                "asset_id": 1,
                "source": "coingecko",
                "source_asset_id": "bitcoin",
                "symbol": "BTC",
                "name": "Bitcoin",
            },
            {
                "asset_id": 2,
                "source": "coinpaprika",
                "source_asset_id": "btc-bitcoin",
                "symbol": "BTC",
                "name": "Bitcoin",
            },
        ],
        "agreements": [
            "id: coingecko:bitcoin and coinpaprika:btc-bitcoin share the id bitcoin (separators ignored)",
            "name: name 'Bitcoin' of coingecko:bitcoin and name 'Bitcoin' of coinpaprika:btc-bitcoin"
            " both read 'bitcoin'",
        ],
        "disagreements": ["price: 100 and 130 USD within the hour: more than 5% apart"],
        "why_not": "vetoed: price: 100 and 130 USD within the hour: more than 5% apart",
        "alias_lines": ["bitcoin,coinpaprika,btc-bitcoin"],
    }


def test_bridged_copies_pairs_on_one_asset_and_alias_groups_apart_are_not_listed():
    queue = review_queue(
        [
            known(1, "coingecko", "ethereum", "ETH", "Ethereum"),
            known(1, "coinpaprika", "eth-ethereum", "ETH", "Ethereum"),
            known(2, "coinpaprika", "eth-ethereum-wormhole", "ETH", "Ethereum (Wormhole)"),
            known(3, "csv", "eth-ethereum", "ETH", "Ethereum"),
            known(4, "csv", "fet-fetch", "FET", "Fetch"),
            known(5, "coingecko", "fetch-ai", "FET", "Artificial Superintelligence Alliance"),
        ],
        {("csv", "fet-fetch"): "not-fetch-ai"},
    )
    assert [(c.first.asset_id, c.second.asset_id) for c in queue] == [(1, 3)]
    assert (
        queue[0].why_not == "the rules accept this pair now; they did not when the listings were first seen"
    )
    assert queue[0].alias_lines == ("ethereum,csv,eth-ethereum",)


def test_two_listings_alone_with_their_symbol_are_listed_even_without_agreement():
    queue = review_queue(
        [
            known(1, "coingecko", "sonic-3", "S", "Sonic (prev. FTM)"),
            known(2, "csv", "s-sonicsvm", "S", "SonicSVM"),
        ],
        {},
    )
    assert [(c.why_not, c.alias_lines) for c in queue] == [
        ("only the symbol agrees", ("sonic-3,csv,s-sonicsvm",))
    ]
