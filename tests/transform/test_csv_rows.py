from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from etl_cli.extract.base import CsvChunk
from etl_cli.extract.csv_layout import detect_layout, parse_header
from etl_cli.transform.csv_rows import normalize_csv
from tests.samples import CSV_DIR

HISTORICAL_LINE = "SNo,Name,Symbol,Date,High,Low,Open,Close,Volume,Marketcap"


def chunk(body: str | bytes, first_line: int = 2, name: str = "coins.csv"):
    data = body.encode() if isinstance(body, str) else body
    file = Path("/data") / name
    layout = parse_header(data.split(b"\n", 1)[0])
    page = CsvChunk(
        "csv", file.as_uri(), None, datetime.now(UTC), data, file=file, first_line=first_line, layout=layout
    )
    return normalize_csv(page)


@pytest.mark.parametrize(
    ("header", "layout"),
    [
        (HISTORICAL_LINE.split(","), "historical"),
        (["symbol", "name", "price_usd", "market_cap_usd", "volume_24h_usd", "observed_at"], "generic"),
        (
            [
                "Observed_At",
                "price_usd",
                "name",
                "symbol",
                "volume_24h_usd",
                "market_cap_usd",
                "source_asset_id",
            ],
            "generic",
        ),
        (["symbol", "name", "price_usd"], None),
        (["symbol", "name", "price_usd", "market_cap_usd", "volume_24h_usd", "observed_at", "colour"], None),
        (["symbol", "symbol", "name", "price_usd", "market_cap_usd", "volume_24h_usd", "observed_at"], None),
        (["Date", "Close"], None),
    ],
)
def test_layouts_are_recognised_by_header(header, layout):
    detected = detect_layout(header)
    assert (detected.name if detected else None) == layout


def test_real_excel_resaved_file_keeps_values_as_written():
    # coin_Bitcoin_excel_resaved_tail200.csv, line 2, read by hand:
    # 2663,Bitcoin,BTC,2020-08-12,11748.39649,11249.60544,11404.59688,11584.93458,25064548486,2.14E+11 (CRLF)
    result = chunk((CSV_DIR / "coin_Bitcoin_excel_resaved_tail200.csv").read_bytes())
    assert (len(result.snapshots), len(result.rejects)) == (200, 0)
    first = result.snapshots[0]
    assert (first.source_asset_id, first.symbol, first.name) == ("btc-bitcoin", "BTC", "Bitcoin")
    assert first.observed_at == datetime(2020, 8, 12, 23, 59, 59, tzinfo=UTC)
    assert first.price_usd == Decimal("11584.93458")
    assert first.volume_24h_usd == Decimal("25064548486")
    assert first.market_cap_usd == Decimal("214000000000")


def test_real_kaggle_file_keeps_every_digit():
    # coin_Ethereum_kaggle_head300.csv, line 2:
    # 1,Ethereum,ETH,2015-08-08 23:59:59,2.79...,0.71...,2.79...,0.7533249855041504,674188.0,45486894.2408
    result = chunk((CSV_DIR / "coin_Ethereum_kaggle_head300.csv").read_bytes())
    first = result.snapshots[0]
    assert len(result.snapshots) == 300
    assert first.observed_at == datetime(2015, 8, 8, 23, 59, 59, tzinfo=UTC)
    assert first.price_usd == Decimal("0.7533249855041504")
    assert first.volume_24h_usd == Decimal("674188.0")
    assert first.market_cap_usd == Decimal("45486894.2408")


def test_generic_layout_with_its_own_ids_and_times():
    body = (
        "\ufeffsymbol,name,price_usd,market_cap_usd,volume_24h_usd,observed_at,source_asset_id\n"
        "BTC,Bitcoin,96114.08481738689,,,2025-02-09T17:44:04.143Z,my-btc\n"
        "eth,Ethereum,2642.24,,,2025-02-09T19:44:04+02:00,\n"
        "nft,APENFT,4.461282308207794e-07,1,2,2025-02-09,\n"
    )
    btc, eth, nft = chunk(body).snapshots
    assert (btc.source_asset_id, btc.price_usd, btc.market_cap_usd) == (
        "my-btc",
        Decimal("96114.08481738689"),
        None,
    )
    assert (eth.source_asset_id, eth.symbol) == ("eth-ethereum", "ETH")
    assert eth.observed_at == datetime(2025, 2, 9, 17, 44, 4, tzinfo=UTC)
    assert nft.price_usd == Decimal("4.461282308207794E-7")
    assert nft.observed_at == datetime(2025, 2, 9, 23, 59, 59, tzinfo=UTC)


def test_bad_rows_are_rejected_with_file_and_line_and_the_rest_loads():
    body = (
        f"{HISTORICAL_LINE}\n"
        "1,Tether,USDT,2015-02-26 23:59:59,1.2,1.1,1.2,1.205739974975586,5.9,303364.184\n"
        "2,Tether,USDT,2015-03-02 23:59:59,0.6,0.5,0.5,n/a,3.0,152595.9032\n"
        "\n"
        "3,Tether,USDT,someday,0.6,0.5,0.5,0.6,3.0,152595.9032\n"
        "4,Tether,USDT,2015-03-04 23:59:59,0.6\n"
        "5,Tether,USDT,2015-03-05 23:59:59,0.6,0.5,0.5,-1,3.0,1\n"
    )
    result = chunk(body, first_line=40, name="coin_Tether.csv")
    assert len(result.snapshots) == 1
    assert [r.reason for r in result.rejects] == [
        "coin_Tether.csv line 41: Close: Not a valid number.",
        "coin_Tether.csv line 43: Date: Not a date or ISO 8601 datetime.",
        "coin_Tether.csv line 44: has 5 fields, the header has 10",
        "coin_Tether.csv line 45: Close: Must be greater than or equal to 0 and less than or equal to 1E+30.",
    ]
    assert result.rejects[0].fragment == "2,Tether,USDT,2015-03-02 23:59:59,0.6,0.5,0.5,n/a,3.0,152595.9032"


def test_undecodable_nul_and_overlong_rows_are_rejects_not_failures():
    body = (
        b"symbol,name,price_usd,market_cap_usd,volume_24h_usd,observed_at\n"
        b"BTC,Bitcoin,1,,,2025-01-01\n"
        b"CAF,Caf\xe9,1,,,2025-01-01\n"
        b"NUL,N\x00l,1,,,2025-01-01\n"
        + b"LNG,"
        + b"x" * 121
        + b",1,,,2025-01-01\n"
        + b"ETH,Ethereum,2,,,2025-01-01\n"
    )
    result = chunk(body, first_line=2)
    assert [s.symbol for s in result.snapshots] == ["BTC", "ETH"]
    assert [r.reason for r in result.rejects] == [
        "coins.csv line 3: not UTF-8 (byte 7 of the line)",
        "coins.csv line 4: contains a NUL character",
        "coins.csv line 5: name: Longer than maximum length 120.",
    ]


def test_a_symbol_too_long_once_upper_case_is_rejected():
    body = f"{HISTORICAL_LINE}\n1,Strasse,{'ß' * 40},2015-02-26,1,1,1,1.2,5.9,3\n"
    [reject] = chunk(body, name="coin_Strasse.csv").rejects
    assert reject.reason == "coin_Strasse.csv line 2: Symbol: Length must be between 1 and 64."


def test_a_row_the_csv_reader_cannot_read_is_rejected_not_a_failed_run():
    body = (
        "symbol,name,price_usd,market_cap_usd,volume_24h_usd,observed_at\n"
        "CR,Car\rriage,1,,,2025-01-01\n"  # a carriage return inside an unquoted field
        f"BIG,{'x' * 200_000},1,,,2025-01-01\n"  # a field over the csv module's 128 KiB limit
        "BTC,Bitcoin,2,,,2025-01-01\n"
    )
    result = chunk(body)
    assert [s.symbol for s in result.snapshots] == ["BTC"]
    reasons = [r.reason for r in result.rejects]
    assert reasons[0].startswith("coins.csv line 2: not a CSV row (new-line character seen in unquoted field")
    assert reasons[1] == "coins.csv line 3: not a CSV row (field larger than field limit (131072))"
