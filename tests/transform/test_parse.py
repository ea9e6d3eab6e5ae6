import json
from decimal import Decimal

import pytest

from etl_cli.transform.parse import iter_json_array


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
