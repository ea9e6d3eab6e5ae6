"""`cryptoetl assets`: why listings are one, the review queue, and merging two assets by hand."""

import json

import pytest
from typer.testing import CliRunner

from etl_cli.cli import app
from tests.samples import REPLAY_DIR

REPLAY_ROOT = str(REPLAY_DIR.parent)


@pytest.fixture
def cli(database_url):
    runner = CliRunner()

    def invoke(*args: str, **env: str):
        return runner.invoke(app, list(args), env={"CRYPTOETL_DATABASE_URL": database_url, **env})

    assert invoke("run", "--source", "all", "--replay", REPLAY_ROOT).exit_code == 0
    return invoke


def asset_of(assets: list[dict], source: str, coin: str) -> dict:
    return next(
        a for a in assets if any(s["source_asset_id"] == coin for s in a["sources"] if s["source"] == source)
    )


def test_assets_say_why_two_listings_are_one(cli):
    assets = json.loads(cli("assets", "--json").stdout)
    ton = asset_of(assets, "coingecko", "the-open-network")
    rules = {s["source_asset_id"]: (s["rule"], s["evidence"]) for s in ton["sources"]}
    assert rules["the-open-network"] == ("new", [])
    assert rules["toncoin-the-open-network"][0] == "id"
    text = cli("assets").stdout
    assert (
        "why coinpaprika:toncoin-the-open-network: id: coinpaprika:toncoin-the-open-network and "
        "coingecko:the-open-network share the id theopennetwork (separators ignored)"
    ) in text


def test_the_review_queue_prints_the_alias_line_that_would_join_each_pair(cli):
    queue = json.loads(cli("assets", "--candidates", "--json").stdout)
    assert [(c["listings"][0]["source_asset_id"], c["listings"][1]["source_asset_id"]) for c in queue] == [
        ("bittorrent", "bttc-bittorrent-chain")
    ]
    assert queue[0]["alias_lines"] == ["bittorrent,coinpaprika,bttc-bittorrent-chain"]
    assert queue[0]["why_not"] == "only the symbol agrees"
    text = cli("assets", "--candidates").stdout.splitlines()
    assert (
        text[0].startswith("BTT: asset ")
        and "    alias line: bittorrent,coinpaprika,bttc-bittorrent-chain" in text
    )


def test_merge_joins_two_assets_now_and_refuses_what_it_cannot_do(cli, tmp_path):
    assets = json.loads(cli("assets", "--json").stdout)
    sonic = asset_of(assets, "coingecko", "sonic-3")["asset_id"]
    fantom = asset_of(assets, "coinpaprika", "ftm-fantom")["asset_id"]
    merged = cli("assets", "merge", str(fantom), str(sonic), "--reason", "Fantom became Sonic")
    assert (merged.exit_code, merged.stdout) == (
        0,
        f"merged asset {fantom} into asset {sonic} (correction #1)\n",
    )
    after = asset_of(json.loads(cli("assets", "--json").stdout), "coingecko", "sonic-3")
    assert {s["source_asset_id"]: s["rule"] for s in after["sources"]} == {
        "sonic-3": "new",
        "ftm-fantom": "merge",
    }
    again = cli("assets", "merge", str(fantom), str(sonic))
    assert (again.exit_code, again.stderr) == (
        1,
        f"Error: asset {fantom} was merged into asset {sonic} already\n",
    )
    bitcoin = asset_of(assets, "coingecko", "bitcoin")["asset_id"]
    aliases = tmp_path / "aliases.csv"
    aliases.write_text("coingecko_id,source,source_asset_id\nnot-bitcoin,coinpaprika,bttc-bittorrent-chain\n")
    bttc = asset_of(assets, "coinpaprika", "bttc-bittorrent-chain")["asset_id"]
    refused = cli("assets", "merge", str(bttc), str(bitcoin), CRYPTOETL_ALIASES_PATH=str(aliases))
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"Error: the alias map says assets {bttc} and {bitcoin} are different coins (bitcoin, not-bitcoin): "
        "change the alias file first\n"
    )
    missing = cli("assets", "merge", "99999", str(sonic))
    assert (missing.exit_code, missing.stderr) == (
        1,
        "Error: no asset has id 99999: see `cryptoetl assets`\n",
    )
