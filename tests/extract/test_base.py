import json
from decimal import Decimal

import pytest

import etl_cli.extract.base
from etl_cli.extract import build_coingecko
from etl_cli.extract.base import iter_json_array
from etl_cli.pipeline import run_source
from etl_cli.transform import TRANSFORMS
from tests.samples import REPLAY_DIR


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"[]", []),
        (b" [ ] ", []),
        (
            b'[1.5e-07, {"a": [1, 2]}, "x"]',
            [(Decimal("1.5E-7"), "1.5e-07"), ({"a": [1, 2]}, '{"a": [1, 2]}'), ("x", '"x"')],
        ),
        (b'\xef\xbb\xbf[{"p":0.000012345678}]', [({"p": Decimal("0.000012345678")}, '{"p":0.000012345678}')]),
    ],
)
def test_iter_json_array_yields_values_and_their_exact_text(body, expected):
    assert list(iter_json_array(body)) == expected


@pytest.mark.parametrize("body", [b"{}", b"<html>", b"[1 2]", b"[1,", b""])
def test_iter_json_array_refuses_what_is_not_an_array(body):
    with pytest.raises(ValueError):
        list(iter_json_array(body))


def test_iter_json_array_agrees_with_json_module_on_the_real_sample(markets_page):
    values = [value for value, _ in iter_json_array(markets_page)]
    assert values == json.loads(markets_page, parse_float=Decimal)


@pytest.mark.parametrize("body", [b"[1] x", b"[]]", b"[1],[2]"])
def test_iter_json_array_refuses_anything_after_the_array(body):
    with pytest.raises(ValueError, match="extra data after the array"):
        list(iter_json_array(body))


def test_each_page_is_parsed_once_for_the_extractor_and_the_transform(engine, settings, monkeypatch):
    parsed = []

    def counting(body):
        parsed.append(len(body))
        return iter_json_array(body)

    monkeypatch.setattr(etl_cli.extract.base, "iter_json_array", counting)
    record = run_source(engine, build_coingecko(settings, replay_dir=REPLAY_DIR), TRANSFORMS["coingecko"])
    assert (record.status, record.loaded, record.http_requests) == ("succeeded", 250, 2)
    assert len(parsed) == 2  # page 1 (250 coins) and page 2 (short, so the last)
