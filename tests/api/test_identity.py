"""The API says why two listings are one, and answers an asset id that a merge retired with a redirect."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.api.conftest import dispose, make_app
from tests.identity_cases import GECKO, PAPRIKA, cg, cp, load_case

LATER = datetime(2026, 2, 1, tzinfo=UTC)  # the next run


def body(response) -> dict:
    return json.loads(response.get_data(as_text=True))


def documented(client, schema: str, answer: dict) -> list[str]:
    spec = body(client.get("/openapi.json"))
    registry = Registry().with_resource("urn:api", Resource.from_contents(spec, default_specification=DRAFT4))
    validator = OAS30Validator({"$ref": f"urn:api#/components/schemas/{schema}"}, registry=registry)
    return [error.message for error in validator.iter_errors(answer)]


def test_an_asset_says_which_rule_joined_each_listing_and_on_what_evidence(database_url, engine):
    owner = load_case(engine, (cg(GECKO["bitcoin"]), cp(PAPRIKA["btc-bitcoin"])))
    app = make_app(database_url)
    try:
        answer = body(app.test_client().get(f"/assets/{owner['coingecko', 'bitcoin']}"))
    finally:
        dispose(app)
    listings = {s["source"]: (s["rule"], s["evidence"]) for s in answer["data"]["sources"]}
    assert listings["coingecko"] == ("new", [])
    rule, evidence = listings["coinpaprika"]
    assert rule == "id"
    assert (
        evidence[0]
        == "id: coinpaprika:btc-bitcoin and coingecko:bitcoin share the id bitcoin (separators ignored)"
    )


def test_an_asset_id_retired_by_an_alias_merge_redirects_to_the_survivor(database_url, engine):
    owner = load_case(engine, (cg(GECKO["sonic-3"]), cp(PAPRIKA["ftm-fantom"])))
    sonic, fantom = owner["coingecko", "sonic-3"], owner["coinpaprika", "ftm-fantom"]
    app = make_app(database_url)
    client = app.test_client()
    try:
        before = client.get(f"/assets/{fantom}")
        # An alias line added after both listings were loaded: the next run merges the two assets.
        load_case(engine, (cp(PAPRIKA["ftm-fantom"]),), {("coinpaprika", "ftm-fantom"): "sonic-3"}, LATER)
        # The merge changes the data, so a client's cached copy of the old answer is not current any more.
        again = client.get(f"/assets/{fantom}", headers={"If-None-Match": before.headers["ETag"]})
        assert again.status_code == 308
        assert again.headers["Location"] == f"/assets/{sonic}"
        moved = body(again)
        assert moved == {
            "asset_id": fantom,
            "merged_into": sonic,
            "location": f"/assets/{sonic}",
            "message": f"asset {fantom} was merged into asset {sonic}",
        }
        assert documented(client, "MovedAsset", moved) == []
        followed = client.get(f"/assets/{fantom}", follow_redirects=True)
        assert followed.status_code == 200
        assert {s["source_asset_id"] for s in body(followed)["data"]["sources"]} == {"sonic-3", "ftm-fantom"}
        history = client.get(f"/assets/{fantom}/history?interval=raw")
        assert (history.status_code, history.headers["Location"]) == (
            308,
            f"/assets/{sonic}/history?interval=raw",
        )
        assert [a["asset_id"] for a in body(client.get("/assets"))["data"]] == [sonic]
        spec = body(client.get("/openapi.json"))
        assert "308" in spec["paths"]["/assets/{asset_id}"]["get"]["responses"]
        assert "308" in spec["paths"]["/assets/{asset_id}/history"]["get"]["responses"]
    finally:
        dispose(app)
