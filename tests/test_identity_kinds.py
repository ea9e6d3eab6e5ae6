"""Every kind of identity input, both load orders, both databases: what is one coin joins, nothing else."""

import pytest

from tests.identity_cases import CASES, ground_truth, load_case, score


@pytest.mark.parametrize("case", [ground_truth(), *CASES], ids=lambda case: f"{case.kind}: {case.name}")
@pytest.mark.parametrize("order", ["in order", "reversed"])
def test_each_kind_joins_one_coin_and_keeps_look_alikes_apart(engine, case, order):
    loads = case.loads if order == "in order" else case.loads[::-1]
    result = score(case, load_case(engine, loads))
    assert result.missed == []
    assert result.wrong == []
