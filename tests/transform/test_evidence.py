import pytest

from etl_cli.transform.evidence import compare, profile
from etl_cli.transform.identity import SourceRecord


def listing(source, coin, symbol, name):
    return SourceRecord(source, coin, symbol, name)


@pytest.mark.parametrize(
    ("record", "labels", "markers"),
    [
        (
            listing("coingecko", "polygon-ecosystem-token", "POL", "POL (ex-MATIC)"),
            {"pol", "matic", "polygon ecosystem"},
            set(),
        ),
        (listing("coingecko", "sonic-3", "S", "Sonic (prev. FTM)"), {"sonic", "ftm"}, set()),
        (
            listing("coingecko", "flare-networks", "FLR", "Flare Network"),
            {"flare", "flare networks"},
            set(),
        ),
        (listing("coinpaprika", "ton-toncoin", "TON", "Toncoin (TON)"), {"toncoin"}, set()),
        (
            listing("coinpaprika", "usdc-usd-coin-wormhole", "USDC", "USD Coin (Wormhole)"),
            {"usd", "usd wormhole"},
            {"wormhole"},
        ),
        (
            listing("coinpaprika", "usdc-usd-coin-wormhole", "USDC", "USD Coin"),
            {"usd", "usd wormhole"},
            {"wormhole"},
        ),
        (
            listing("coinpaprika", "btcb-bitcoin-bep2", "BTCB", "Bitcoin (BEP2)"),
            {"bitcoin", "bitcoin bep2"},
            {"bep2"},
        ),
        (
            listing("coingecko", "binance-peg-dogecoin", "DOGE", "Binance-Peg Dogecoin"),
            {"binance peg dogecoin"},
            {"peg"},
        ),
        (
            listing("coingecko", "dog-go-to-the-moon-rune", "DOG", "Dog (Bitcoin)"),
            {"dog", "dog go to moon rune"},
            {"bitcoin"},
        ),
        (listing("coingecko", "synapse-2", "SYN", "Synapse (OLD)"), {"synapse"}, {"old"}),
        # a chain at the end of an id tells namesakes apart; it is no bridge
        (
            listing("coingecko", "jupiter-exchange-solana", "JUP", "Jupiter"),
            {"jupiter", "jupiter exchange solana"},
            set(),
        ),
        (
            listing("coinpaprika", "beam-beam-eth", "BEAM", "Beam Token"),
            {"beam", "beam eth"},
            set(),
        ),
        (listing("coingecko", "wormhole", "W", "Wormhole"), {"wormhole"}, {"wormhole"}),
        (listing("coingecko", "pokemon", "PKM", "Pokémon"), {"pokemon"}, set()),
    ],
)
def test_profile_reads_names_ids_and_markers(record, labels, markers):
    read = profile(record)
    assert set(read.labels) == labels
    assert read.markers == markers


def test_a_coinpaprika_id_whose_prefix_is_not_the_symbol_lets_only_its_id_count():
    assert profile(listing("coinpaprika", "bttc-bittorrent-chain", "BTT", "BitTorrent")).names_count is False
    assert profile(listing("coinpaprika", "btt-bittorrent", "BTT", "BitTorrent")).names_count is True
    assert profile(listing("coingecko", "bittorrent", "BTT", "BitTorrent")).names_count is True


def test_a_name_made_from_the_csv_row_is_no_id():
    made = profile(listing("csv", "btc-bitcoin", "BTC", "Bitcoin"))
    given = profile(listing("csv", "bitcoin", "BTC", "Bitcoin"))
    assert (made.ids, given.ids) == (frozenset(), {"bitcoin"})


def test_compare_says_why():
    pol = profile(listing("coingecko", "polygon-ecosystem-token", "POL", "POL (ex-MATIC)"))
    polygon = profile(listing("coinpaprika", "pol-polygon", "POL", "Polygon"))
    assert [str(f) for f in compare(polygon, pol).agreements] == [
        "prefix: name 'Polygon' of coinpaprika:pol-polygon begins id polygon-ecosystem-token of "
        "coingecko:polygon-ecosystem-token ('polygon' of 'polygon ecosystem')"
    ]
