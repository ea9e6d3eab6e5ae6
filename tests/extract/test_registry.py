from etl_cli.extract import SOURCES
from etl_cli.schema import SOURCES as SOURCE_NAMES
from etl_cli.transform import TRANSFORMS


def test_every_source_name_has_an_extractor_and_a_transform():
    assert tuple(SOURCES) == tuple(TRANSFORMS) == SOURCE_NAMES
