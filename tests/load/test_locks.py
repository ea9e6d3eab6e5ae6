import pytest

from etl_cli.errors import RunLocked
from etl_cli.load.locks import source_lock


def test_a_second_holder_is_refused_at_once_and_admitted_after_release(engine):
    with source_lock(engine, "coingecko"):
        with pytest.raises(RunLocked, match="another coingecko run is in progress"):
            with source_lock(engine, "coingecko"):
                pass
        with source_lock(engine, "coinpaprika"):
            pass  # other sources are not blocked
    with source_lock(engine, "coingecko"):
        pass
