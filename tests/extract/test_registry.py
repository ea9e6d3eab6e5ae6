from etl_cli.cli.backfill import HistorySourceName
from etl_cli.extract import HISTORY_SOURCES, SOURCES
from etl_cli.schema import SOURCES as SOURCE_NAMES
from etl_cli.transform import HISTORY_TRANSFORMS, TRANSFORMS


def test_every_source_name_has_an_extractor_and_a_transform():
    assert tuple(SOURCES) == tuple(TRANSFORMS) == SOURCE_NAMES


def test_every_history_source_is_a_live_source_with_a_transform_and_a_cli_name():
    names = ("coingecko", "coinpaprika")
    assert tuple(HISTORY_SOURCES) == tuple(HISTORY_TRANSFORMS) == tuple(HistorySourceName) == names
    assert set(HISTORY_SOURCES) < set(SOURCE_NAMES)
