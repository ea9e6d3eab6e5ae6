"""Identity resolution under concurrency: two sources loading at once still make one asset per coin."""

import threading
from datetime import UTC, datetime

import sqlalchemy as sa

from etl_cli.aliases import read_aliases
from etl_cli.extract.base import JsonArrayPage, RawPage
from etl_cli.load.assets import ensure_assets
from etl_cli.schema.tables import asset_sources
from etl_cli.transform.coingecko import normalize_markets
from etl_cli.transform.coinpaprika import normalize_tickers
from tests.samples import COINPAPRIKA_TICKERS, MARKETS_PAGE

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ALIASES = read_aliases()


def snapshots(source, transform, path):
    return transform(JsonArrayPage.parse(RawPage(source, "u", 200, NOW, path.read_bytes()))).snapshots


def test_a_source_loading_while_another_is_uncommitted_waits_and_merges(engine):
    gecko = snapshots("coingecko", normalize_markets, MARKETS_PAGE)
    paprika = snapshots("coinpaprika", normalize_tickers, COINPAPRIKA_TICKERS)
    resolved: dict = {}
    first = engine.connect()
    transaction = first.begin()
    ensure_assets(first, gecko, NOW, ALIASES)  # CoinGecko's links exist, not yet committed

    def load_paprika():
        with engine.begin() as conn:
            resolved.update(ensure_assets(conn, paprika, NOW, ALIASES))

    other = threading.Thread(target=load_paprika)
    other.start()
    other.join(timeout=1.0)
    waited = other.is_alive()  # it must wait for CoinGecko's transaction rather than resolve without it
    transaction.commit()
    first.close()
    other.join(timeout=30)
    assert waited and not other.is_alive()
    with engine.connect() as conn:
        links = conn.execute(
            sa.select(asset_sources.c.source, asset_sources.c.source_asset_id, asset_sources.c.asset_id)
        )
        owner = {(source, coin): asset_id for source, coin, asset_id in links}
    assert resolved["coinpaprika", "btc-bitcoin"] == owner["coingecko", "bitcoin"]
    assert len(set(owner.values())) == 260  # as when the two sources load one after the other
