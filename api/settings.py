"""API-specific settings, with defaults, on top of the shared Settings."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from etl_cli.config import DEFAULT_DATABASE_URL, ApiConfig, Settings

# Every source the ETL can load; /data?source= takes only these, so a typo is a 400, not an empty list.
SOURCES = ("coingecko", "coinpaprika", "csv")


@dataclass(frozen=True)
class ApiSettings:
    """What the API needs to know; built from Settings, each value overridable in create_app()."""

    database_url: str = DEFAULT_DATABASE_URL
    statement_timeout_ms: int = ApiConfig.statement_timeout_ms  # longest query, PostgreSQL and SQLite alike
    connect_timeout_s: int = (
        ApiConfig.connect_timeout_s
    )  # an unreachable PostgreSQL is a 503, not a hung worker
    cors_origins: tuple[str, ...] = ApiConfig.cors_origins  # or ("https://a.example", ...)
    cache_max_age_s: int = ApiConfig.cache_max_age_s  # Cache-Control max-age of data answers

    def __post_init__(self) -> None:
        if isinstance(self.cors_origins, str):
            origins = tuple(origin.strip() for origin in self.cors_origins.split(",") if origin.strip())
            object.__setattr__(self, "cors_origins", origins)
        for name in ("statement_timeout_ms", "connect_timeout_s"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) <= 0:
                raise ValueError(f"{name} must be a whole number greater than 0, got {getattr(self, name)!r}")
        if not isinstance(self.cache_max_age_s, int) or self.cache_max_age_s < 0:
            raise ValueError(
                f"cache_max_age_s must be a whole number of seconds, got {self.cache_max_age_s!r}"
            )

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> ApiSettings:
        """Take the database URL (and any API values Settings carries in `settings.api`), then overrides."""
        values: dict[str, Any] = {"database_url": settings.database_url}
        section = settings.api
        for field in fields(cls):
            if hasattr(section, field.name):
                values[field.name] = getattr(section, field.name)
        unknown = set(overrides) - {field.name for field in fields(cls)}
        if unknown:
            raise TypeError(f"unknown API settings: {', '.join(sorted(unknown))}")
        return replace(cls(**values), **overrides)
