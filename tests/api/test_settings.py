"""ApiSettings: defaults, the seam for Settings.api, overrides, and refusal of nonsense."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from api.settings import ApiSettings
from etl_cli.config import Settings


def test_defaults_take_the_shared_database_url():
    settings = ApiSettings.from_settings(Settings(database_url="sqlite:///x.db"))
    assert settings == ApiSettings(database_url="sqlite:///x.db")
    assert settings.statement_timeout_ms == 5000 and settings.cors_origins == ("*",)


def test_an_api_section_in_settings_is_used_and_overrides_win():
    shared = SimpleNamespace(
        database_url="sqlite:///x.db", api=SimpleNamespace(statement_timeout_ms=900, cors_origins="https://a")
    )
    settings = ApiSettings.from_settings(shared, cache_max_age_s=0)
    assert settings.statement_timeout_ms == 900
    assert settings.cors_origins == ("https://a",)
    assert settings.cache_max_age_s == 0


def test_origins_split_on_commas():
    settings = ApiSettings.from_settings(Settings(), cors_origins=" https://a.example ,https://b.example,")
    assert settings.cors_origins == ("https://a.example", "https://b.example")


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"statement_timeout_ms": 0}, ValueError),
        ({"connect_timeout_s": -1}, ValueError),
        ({"cache_max_age_s": "30"}, ValueError),
        ({"colour": "red"}, TypeError),
    ],
)
def test_nonsense_is_refused(override, error):
    with pytest.raises(error, match=next(iter(override))):
        ApiSettings.from_settings(Settings(), **override)
