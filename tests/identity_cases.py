"""Identity cases by kind, built from the real recorded listings, and how to load and score them.

Each case is a few pages (CoinGecko, CoinPaprika, CSV) made of real records, some with their id, name, symbol
or supply changed to make the kind of input the case is about, and the pairs of listings that must end on one
asset or must not. Used by tests/test_identity_kinds.py and bench/identity_eval.py.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from etl_cli.extract.base import CsvChunk, JsonArrayPage, RawPage
from etl_cli.extract.csv_layout import parse_header
from etl_cli.load import ledger
from etl_cli.load.raw_store import store_page
from etl_cli.load.snapshots import insert_snapshots
from etl_cli.schema.tables import asset_sources
from etl_cli.transform import TRANSFORMS
from etl_cli.transform.identity import AliasMap, Key
from tests.samples import COINPAPRIKA_TICKERS, CSV_DIR, IDENTITY_PAIRS, MARKETS_PAGE, page, records

NOW = datetime(2026, 1, 1, tzinfo=UTC)
GECKO = {json.loads(t)["id"]: t for t in records(MARKETS_PAGE.read_bytes())}
PAPRIKA = {json.loads(t)["id"]: t for t in records(COINPAPRIKA_TICKERS.read_bytes())}
ETHEREUM_CSV = CSV_DIR / "coin_Ethereum_kaggle_head300.csv"


@dataclass(frozen=True)
class Load:
    """One source's page, loaded in one transaction as a run would."""

    source: str
    body: bytes


@dataclass(frozen=True)
class Case:
    """Pages to load, and the pairs of listings that must share an asset (`same`) or must not (`apart`)."""

    kind: str
    name: str
    loads: tuple[Load, ...]
    same: tuple[tuple[Key, Key], ...] = ()
    apart: tuple[tuple[Key, Key], ...] = ()


@dataclass
class Score:
    """Pair outcomes: joined as expected, missed, wrongly joined, kept apart as expected."""

    joined: list[tuple[Key, Key]] = field(default_factory=list)
    missed: list[tuple[Key, Key]] = field(default_factory=list)
    wrong: list[tuple[Key, Key]] = field(default_factory=list)
    apart: list[tuple[Key, Key]] = field(default_factory=list)

    def __iadd__(self, other: Score) -> Score:
        for name in ("joined", "missed", "wrong", "apart"):
            getattr(self, name).extend(getattr(other, name))
        return self

    @property
    def precision(self) -> float:
        """Joined pairs that are right."""
        made = len(self.joined) + len(self.wrong)
        return len(self.joined) / made if made else 1.0

    @property
    def recall(self) -> float:
        """Pairs that should join that did."""
        due = len(self.joined) + len(self.missed)
        return len(self.joined) / due if due else 1.0


def edit(text: str, **values: object) -> str:
    """A record's text with some scalar fields replaced (`price` is CoinPaprika's `quotes.USD.price`)."""
    for key, value in values.items():
        literal = json.dumps(value) if not isinstance(value, int | float) else str(value)
        text, count = re.subn(rf'"{key}":(?:"[^"]*"|[^,}}\]]+)', f'"{key}":{literal}', text, count=1)
        assert count == 1, key
    return text


def gecko(coin: str, **values: object) -> str:
    """A real CoinGecko record, edited."""
    return edit(GECKO[coin], **values)


def paprika(coin: str, **values: object) -> str:
    """A real CoinPaprika ticker, edited; supplies it does not know are 0, as CoinPaprika writes them."""
    return edit(PAPRIKA[coin], **values)


def cg(*texts: str) -> Load:
    return Load("coingecko", page(texts))


def cp(*texts: str) -> Load:
    return Load("coinpaprika", page(texts))


def csv_load(text: str) -> Load:
    return Load("csv", text.encode())


def G(coin: str) -> Key:  # noqa: N802 - reads as the source's initial in the case tables
    return ("coingecko", coin)


def P(coin: str) -> Key:  # noqa: N802
    return ("coinpaprika", coin)


def C(coin: str) -> Key:  # noqa: N802
    return ("csv", coin)


def load_case(
    engine: sa.Engine, loads: tuple[Load, ...], aliases: AliasMap | None = None, now: datetime = NOW
) -> dict[Key, int]:
    """Load the pages in order, one transaction each, as runs at `now`; return every listing's asset."""
    for number, load in enumerate(loads):
        with engine.begin() as conn:
            run_id = ledger.start_run(conn, load.source, now)
            raw = _page(load, number)
            payload_id = store_page(conn, raw, run_id)
            snapshots = [(payload_id, s) for s in TRANSFORMS[load.source](raw).snapshots]
            insert_snapshots(conn, snapshots, run_id, now, aliases or {})
            ledger.finish_run(conn, run_id, "succeeded", now, ledger.RunCounts())
    return owners(engine)


def _page(load: Load, number: int) -> RawPage:
    """The page the source's extractor would hand over for this body."""
    if load.source != "csv":
        return JsonArrayPage.parse(RawPage(load.source, f"https://case.test/{number}", 200, NOW, load.body))
    file = Path(f"/cases/{number}.csv")
    layout = parse_header(load.body.split(b"\n", 1)[0])
    return CsvChunk("csv", file.as_uri(), None, NOW, load.body, file=file, first_line=2, layout=layout)


def owners(engine: sa.Engine) -> dict[Key, int]:
    """Every listing's asset."""
    with engine.connect() as conn:
        links = asset_sources.c
        rows = conn.execute(sa.select(links.source, links.source_asset_id, links.asset_id))
        return {(r.source, r.source_asset_id): r.asset_id for r in rows}


def score(case: Case, owner: dict[Key, int]) -> Score:
    """How the case's pairs came out."""
    result = Score()
    for a, b in case.same:
        (result.joined if owner[a] == owner[b] else result.missed).append((a, b))
    for a, b in case.apart:
        (result.wrong if owner[a] == owner[b] else result.apart).append((a, b))
    return result


def ground_truth() -> Case:
    """The shared ground truth: 54 pairs, every other pairing of their listings, and the known look-alikes."""
    pairs = [
        (G(p["coingecko_id"]), P(p["coinpaprika_id"]))
        for p in csv.DictReader(IDENTITY_PAIRS.read_text().splitlines())
    ]
    apart = [(g, p) for g, _ in pairs for _, p in pairs if (g, p) not in pairs]
    apart += [
        (G("bittorrent"), P("bttc-bittorrent-chain")),
        (G("mantle-bridged-usdt-mantle"), P("usdt-tether")),
        (G("bitcoin-avalanche-bridged-btc-b"), P("btcb-binance-bitcoin")),
    ]
    loads = (
        Load("coingecko", MARKETS_PAGE.read_bytes()),
        Load("coinpaprika", COINPAPRIKA_TICKERS.read_bytes()),
    )
    return Case("ground truth", "shared samples", loads, tuple(pairs), tuple(apart))


CASES = [
    # 1. Renamed on one side, or named by its ticker; the CoinPaprika slug is not the CoinGecko id.
    Case(
        "renamed",
        "POL (ex-MATIC) / Polygon",
        (
            cg(GECKO["polygon-ecosystem-token"], GECKO["matic-network"]),
            cp(paprika("pol-polygon-ecosystem-token", id="pol-polygon", name="Polygon")),
        ),
        same=((G("polygon-ecosystem-token"), P("pol-polygon")),),
        apart=((G("matic-network"), P("pol-polygon")),),
    ),
    Case(
        "renamed",
        "Artificial Superintelligence Alliance / Fetch",
        (cg(GECKO["fetch-ai"]), cp(paprika("fetch-ai", id="fet-fetch", name="Fetch"))),
        same=((G("fetch-ai"), P("fet-fetch")),),
    ),
    Case(
        "renamed",
        "BNB / Binance Coin",
        (
            cg(GECKO["binancecoin"]),
            cp(
                paprika(
                    "btc-bitcoin",
                    id="bnb-binance-coin",
                    name="Binance Coin",
                    symbol="BNB",
                    circulating_supply=0,
                )
            ),
        ),
        same=((G("binancecoin"), P("bnb-binance-coin")),),
    ),
    Case(
        "renamed",
        "BNB / BNB,Binance Coin (CSV)",
        (
            cg(GECKO["binancecoin"]),
            csv_load(
                "symbol,name,price_usd,market_cap_usd,volume_24h_usd,observed_at\n"
                "BNB,Binance Coin,612.5,,,2025-02-08\n"
            ),
        ),
        same=((G("binancecoin"), C("bnb-binance-coin")),),
    ),
    Case(
        "renamed",
        "Theta Network / THETA (the ticker as its name)",
        (cg(GECKO["theta-token"]), cp(paprika("theta-theta-token", id="theta-theta", circulating_supply=0))),
        same=((G("theta-token"), P("theta-theta")),),
    ),
    Case(
        "renamed",
        "Maker / Sky: only the supply agrees",
        (cg(GECKO["maker"]), cp(paprika("mkr-maker", id="mkr-sky", name="Sky"))),
        same=((G("maker"), P("mkr-sky")),),
    ),
    # 2. One name is the other plus words that carry no identity.
    Case(
        "extra word",
        "Shiba Inu / Shiba",
        (
            cg(GECKO["shiba-inu"]),
            cp(paprika("shib-shiba-inu", id="shib-shiba", name="Shiba", circulating_supply=0)),
        ),
        same=((G("shiba-inu"), P("shib-shiba")),),
    ),
    Case(
        "extra word",
        "Ondo Finance / Ondo",
        (
            cg(gecko("ondo-finance", name="Ondo Finance")),
            cp(
                paprika("btc-bitcoin", id="ondo-ondo-token", name="Ondo", symbol="ONDO", circulating_supply=0)
            ),
        ),
        same=((G("ondo-finance"), P("ondo-ondo-token")),),
    ),
    Case(
        "extra word",
        "Pyth Network / Pyth Network Coin (CSV)",
        (
            cg(GECKO["pyth-network"]),
            csv_load(
                "symbol,name,price_usd,market_cap_usd,volume_24h_usd,observed_at\n"
                "PYTH,Pyth Network Coin,0.21,,,2025-02-08\n"
            ),
        ),
        same=((G("pyth-network"), C("pyth-pyth-network-coin")),),
    ),
    Case(
        "extra word",
        "Jupiter / Jupiter Exchange (a chain at the end of an id)",
        (
            cg(GECKO["jupiter-exchange-solana"]),
            cp(
                paprika(
                    "btc-bitcoin",
                    id="jup-jupiter",
                    name="Jupiter Exchange",
                    symbol="JUP",
                    circulating_supply=0,
                )
            ),
        ),
        same=((G("jupiter-exchange-solana"), P("jup-jupiter")),),
    ),
    # 3. A CSV coin joins although a bridged listing of its symbol is loaded.
    Case(
        "csv with a bridged listing",
        "ETH,Ethereum with Ethereum (Wormhole) loaded",
        (
            cg(GECKO["ethereum"]),
            cp(
                paprika(
                    "eth-ethereum",
                    id="eth-ethereum-wormhole",
                    name="Ethereum (Wormhole)",
                    circulating_supply=0,
                )
            ),
            csv_load(ETHEREUM_CSV.read_text()),
        ),
        same=((C("eth-ethereum"), G("ethereum")),),
        apart=((P("eth-ethereum-wormhole"), G("ethereum")), (P("eth-ethereum-wormhole"), C("eth-ethereum"))),
    ),
    Case(
        "csv with a bridged listing",
        "BTC,Bitcoin with Bitcoin (Portal) and Wrapped Bitcoin loaded",
        (
            cg(GECKO["bitcoin"], GECKO["wrapped-bitcoin"]),
            cp(
                paprika("btc-bitcoin", id="btc-bitcoin-portal", name="Bitcoin (Portal)", circulating_supply=0)
            ),
            csv_load(
                "symbol,name,price_usd,market_cap_usd,volume_24h_usd,observed_at\nBTC,Bitcoin,96100.5,,,2025-02-09\n"
            ),
        ),
        same=((C("btc-bitcoin"), G("bitcoin")),),
        apart=((P("btc-bitcoin-portal"), G("bitcoin")), (C("btc-bitcoin"), G("wrapped-bitcoin"))),
    ),
    # 4. A bridged or wrapped listing loaded without its native listing stays apart from the native coin.
    Case(
        "bridged alone",
        "USD Coin (Wormhole)",
        (
            cg(GECKO["usd-coin"]),
            cp(paprika("usdc-usd-coin", id="usdc-usd-coin-wormhole", name="USD Coin (Wormhole)")),
        ),
        apart=((P("usdc-usd-coin-wormhole"), G("usd-coin")),),
    ),
    Case(
        "bridged alone",
        "Bitcoin (BEP2), as BTCB and as BTC",
        (
            cg(GECKO["bitcoin"]),
            cp(
                paprika("btc-bitcoin", id="btcb-bitcoin-bep2", name="Bitcoin (BEP2)", symbol="BTCB"),
                paprika("btc-bitcoin", id="btc-bitcoin-bep2", name="Bitcoin (BEP2)"),
            ),
        ),
        apart=((P("btcb-bitcoin-bep2"), G("bitcoin")), (P("btc-bitcoin-bep2"), G("bitcoin"))),
    ),
    Case(
        "bridged alone",
        "Tether (PoS), bridged USDT without a parenthesis, Ethereum (Wormhole)",
        (
            cg(GECKO["tether"], GECKO["ethereum"]),
            cp(
                paprika("usdt-tether", id="usdt-tether-pos", name="Tether (PoS)"),
                paprika(
                    "eth-ethereum",
                    id="eth-ethereum-wormhole",
                    name="Ethereum (Wormhole)",
                    circulating_supply=0,
                ),
                paprika("usdt-tether", id="usdt-bridged-tether", name="Bridged Tether", circulating_supply=0),
            ),
        ),
        apart=(
            (P("usdt-tether-pos"), G("tether")),
            (P("eth-ethereum-wormhole"), G("ethereum")),
            (P("usdt-bridged-tether"), G("tether")),
        ),
    ),
    # Look-alikes: the same symbol and agreeing names, but the numbers say another coin.
    Case(
        "look-alike",
        "Bonk with a supply 1000x smaller",
        (cg(GECKO["bonk"]), cp(paprika("bonk-bonk", id="bonk-bonk-classic", circulating_supply=70763585158))),
        apart=((P("bonk-bonk-classic"), G("bonk")),),
    ),
    Case(
        "look-alike",
        "Two CoinGecko listings named Wrapped Bitcoin: ambiguous",
        (
            cg(
                GECKO["wrapped-bitcoin"],
                gecko("wrapped-bitcoin", id="wrapped-bitcoin-2", circulating_supply=None),
            ),
            csv_load(
                "symbol,name,price_usd,market_cap_usd,volume_24h_usd,observed_at\n"
                "WBTC,Wrapped Bitcoin,96000,,,2025-02-09\n"
            ),
        ),
        apart=(
            (C("wbtc-wrapped-bitcoin"), G("wrapped-bitcoin")),
            (C("wbtc-wrapped-bitcoin"), G("wrapped-bitcoin-2")),
        ),
    ),
]
