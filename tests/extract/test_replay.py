import json

import pytest

from etl_cli.config import Settings
from etl_cli.errors import ConfigError, FatalSourceError
from etl_cli.extract import build_coingecko
from tests.samples import MARKETS_PAGE, REPLAY_DIR


def test_replay_serves_the_recording_through_the_real_extractor():
    pages = list(build_coingecko(Settings(), replay_dir=REPLAY_DIR).pages())
    assert [p.body for p in pages] == [MARKETS_PAGE.read_bytes(), b"[]"]


def test_replay_ignores_the_host_so_any_base_url_works():
    settings = Settings.from_env({"CRYPTOETL_COINGECKO_BASE_URL": "http://mirror.test:8080/api/v3"})
    pages = list(build_coingecko(settings, replay_dir=REPLAY_DIR).pages())
    assert len(pages) == 2


def test_a_request_with_no_recording_fails_saying_so(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"responses": []}))
    with pytest.raises(FatalSourceError, match=r"HTTP 404 .* no recorded response for /api/v3/coins/markets"):
        list(build_coingecko(Settings(), replay_dir=tmp_path).pages())


def test_a_directory_without_manifest_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not a usable replay directory"):
        build_coingecko(Settings(), replay_dir=tmp_path)
