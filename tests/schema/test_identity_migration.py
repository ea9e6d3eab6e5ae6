"""Revision 0002 on a database that already holds links: each existing link gets the rule that is known."""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from etl_cli.schema.revisions import alembic_config, upgrade

NOW = datetime(2025, 2, 9, tzinfo=UTC).isoformat()


def test_existing_links_keep_new_for_the_listing_that_made_the_asset_and_unrecorded_for_the_rest(
    database_url,
):
    engine = sa.create_engine(database_url)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(
            sa.text(
                "INSERT INTO assets (asset_id, symbol, name, origin_source, origin_source_asset_id,"
                " created_at) VALUES (1, 'BTC', 'Bitcoin', 'coingecko', 'bitcoin', :now)"
            ),
            {"now": NOW},
        )
        conn.execute(
            sa.text(
                "INSERT INTO asset_sources (source, source_asset_id, asset_id, symbol, name, first_seen_at)"
                " VALUES ('coingecko', 'bitcoin', 1, 'BTC', 'Bitcoin', :now),"
                " ('coinpaprika', 'btc-bitcoin', 1, 'BTC', 'Bitcoin', :now)"
            ),
            {"now": NOW},
        )
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT source, rule, evidence FROM asset_sources ORDER BY source")).all()
        merged = conn.scalar(sa.text("SELECT merged_into FROM assets"))
    assert [tuple(r) for r in rows] == [("coingecko", "new", None), ("coinpaprika", "unrecorded", None)]
    assert merged is None
    engine.dispose()
