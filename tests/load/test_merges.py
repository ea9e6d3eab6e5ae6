"""Identity corrected after the fact: an alias merges two assets or splits one, each recorded; both DBs."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl_cli.aliases import read_aliases
from etl_cli.errors import LoadError
from etl_cli.load.merges import merge_assets
from etl_cli.schema.tables import asset_corrections, asset_sources, assets, market_snapshots
from tests.identity_cases import GECKO, PAPRIKA, cg, cp, load_case, owners, paprika

LATER = datetime(2026, 2, 1, tzinfo=UTC)
SONIC = (cg(GECKO["sonic-3"]), cp(PAPRIKA["ftm-fantom"]))


def alias_file(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / f"aliases-{len(list(tmp_path.iterdir()))}.csv"
    path.write_text("coingecko_id,source,source_asset_id\n" + "".join(f"{line}\n" for line in lines))
    return path


def snapshot_assets(engine, source, coin):
    with engine.connect() as conn:
        s = market_snapshots.c
        query = sa.select(s.asset_id).where(s.source == source, s.source_asset_id == coin)
        return set(conn.execute(query).scalars())


def corrections(engine):
    with engine.connect() as conn:
        c = asset_corrections.c
        query = sa.select(c.kind, c.from_asset_id, c.to_asset_id, c.reason, c.links).order_by(c.correction_id)
        return conn.execute(query).all()


def merged_into(engine, asset_id):
    with engine.connect() as conn:
        return conn.scalar(sa.select(assets.c.merged_into).where(assets.c.asset_id == asset_id))


def test_an_alias_added_after_a_split_merges_the_two_assets_on_the_next_run(engine, tmp_path):
    # Fantom became Sonic with a new ticker: no rule can know, both listings made an asset of their own.
    before = load_case(engine, SONIC)
    sonic, fantom = before["coingecko", "sonic-3"], before["coinpaprika", "ftm-fantom"]
    assert sonic != fantom
    aliases = read_aliases(alias_file(tmp_path, "sonic-3,coinpaprika,ftm-fantom"))
    after = load_case(engine, (cp(PAPRIKA["ftm-fantom"]),), aliases)  # the next run, nothing new in it
    assert after["coinpaprika", "ftm-fantom"] == after["coingecko", "sonic-3"] == sonic
    assert snapshot_assets(engine, "coinpaprika", "ftm-fantom") == {sonic}
    [(kind, retired, survivor, reason, moved)] = corrections(engine)
    assert (kind, retired, survivor) == ("merge", fantom, sonic)
    assert reason == "the alias map lists coingecko:sonic-3, coinpaprika:ftm-fantom as sonic-3"
    assert json.loads(moved) == [
        {"source": "coinpaprika", "source_asset_id": "ftm-fantom", "rule": "new", "evidence": []}
    ]
    assert merged_into(engine, fantom) == sonic
    with engine.connect() as conn:
        link = conn.execute(
            sa.select(asset_sources.c.rule, asset_sources.c.evidence).where(
                asset_sources.c.source_asset_id == "ftm-fantom"
            )
        ).one()
    assert link.rule == "merge" and json.loads(link.evidence)[0].startswith("merge #1: moved from asset")
    load_case(engine, SONIC, aliases)
    assert len(corrections(engine)) == 1  # nothing left to correct


def test_an_alias_splits_a_wrong_merge_and_moves_its_snapshots(engine, tmp_path):
    wormhole = paprika("eth-ethereum", id="eth-ethereum-wormhole", name="Ethereum (Wormhole)")
    pages = (cg(GECKO["ethereum"]), cp(wormhole))
    # A wrong merge, as an older rule or a wrong alias line could have made it.
    joined = load_case(
        engine, pages, read_aliases(alias_file(tmp_path, "ethereum,coinpaprika,eth-ethereum-wormhole"))
    )
    ethereum = joined["coingecko", "ethereum"]
    assert joined["coinpaprika", "eth-ethereum-wormhole"] == ethereum
    split = read_aliases(alias_file(tmp_path, "ethereum-wormhole,coinpaprika,eth-ethereum-wormhole"))
    after = load_case(engine, pages, split)
    bridged = after["coinpaprika", "eth-ethereum-wormhole"]
    assert after["coingecko", "ethereum"] == ethereum and bridged != ethereum
    assert snapshot_assets(engine, "coinpaprika", "eth-ethereum-wormhole") == {bridged}
    assert snapshot_assets(engine, "coingecko", "ethereum") == {ethereum}
    [(kind, source, target, reason, _)] = corrections(engine)
    assert (kind, source, target) == ("split", ethereum, bridged)
    assert (
        reason == "the alias map lists coinpaprika:eth-ethereum-wormhole as ethereum-wormhole, not ethereum"
    )


def test_splitting_a_merged_listing_off_again_brings_its_retired_asset_back(engine, tmp_path):
    load_case(engine, SONIC)
    merged = load_case(engine, SONIC, read_aliases(alias_file(tmp_path, "sonic-3,coinpaprika,ftm-fantom")))
    [(_, fantom, sonic, _, _)] = corrections(engine)
    assert merged_into(engine, fantom) == sonic
    after = load_case(engine, SONIC, read_aliases(alias_file(tmp_path, "fantom,coinpaprika,ftm-fantom")))
    assert after["coinpaprika", "ftm-fantom"] == fantom != merged["coingecko", "sonic-3"]
    assert merged_into(engine, fantom) is None
    assert snapshot_assets(engine, "coinpaprika", "ftm-fantom") == {fantom}
    assert [c.kind for c in corrections(engine)] == ["merge", "split"]


def test_merge_assets_moves_everything_in_one_transaction_and_is_recorded(engine):
    before = load_case(engine, SONIC)
    sonic, fantom = before["coingecko", "sonic-3"], before["coinpaprika", "ftm-fantom"]
    with engine.begin() as conn:
        correction = merge_assets(conn, fantom, sonic, "cryptoetl assets merge: Fantom is Sonic", LATER)
    assert correction == 1
    assert set(owners(engine).values()) == {sonic}
    assert corrections(engine)[0].reason == "cryptoetl assets merge: Fantom is Sonic"
    with pytest.raises(LoadError, match="no such listings"), engine.begin() as conn:
        merge_assets(conn, fantom, sonic, "again", LATER)  # the retired asset has nothing left to move
    assert len(corrections(engine)) == 1
