"""Settings from the environment: the only place that reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from etl_cli.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///cryptoetl.db"
COINGECKO_PUBLIC_URL = "https://api.coingecko.com/api/v3"
COINGECKO_PRO_URL = "https://pro-api.coingecko.com/api/v3"
COINGECKO_PLANS = ("demo", "pro")
COINPAPRIKA_URL = "https://api.coinpaprika.com/v1"
COINPAPRIKA_PRO_URL = "https://api-pro.coinpaprika.com/v1"
COINPAPRIKA_PLANS = ("free", "starter", "pro", "business", "enterprise")
# Calls a month: CoinGecko's demo plan and its smallest paid plan (Basic); CoinPaprika's free plan.
COINGECKO_MONTHLY_QUOTA = {"demo": 10_000, "pro": 100_000}
COINPAPRIKA_MONTHLY_QUOTA = 20_000
# How far back the demo plan serves history; paid plans serve all of it.
COINGECKO_DEMO_HISTORY_DAYS = 365
SUPPORTED_DATABASES = ("sqlite", "postgresql")
DEFAULT_CRON = "0 * * * *"  # hourly, in UTC
DEFAULT_CSV_MAX_LINE_BYTES = 1 << 20
LOG_FORMATS = ("text", "json")
DEFAULT_DIVERGENCE_PCT = Decimal(2)


@dataclass(frozen=True)
class HttpSettings:
    """How we talk to any remote API."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0  # for each read: a server that drips bytes never trips it...
    total_timeout: float = 60.0  # ...so every request also ends within this, connect to last byte
    max_attempts: int = 5
    # A Retry-After longer than this fails the run instead of stalling a scheduled job for hours.
    max_retry_wait: float = 120.0
    # Seconds a run may lose to failed attempts and the waits between them before it gives up: with the
    # defaults a fully hung provider fails the run in two minutes (README, "HTTP discipline").
    retry_budget: float = 120.0


@dataclass(frozen=True)
class CoinGeckoSettings:
    """Where and how to call CoinGecko."""

    base_url: str = COINGECKO_PUBLIC_URL
    api_key: str | None = None
    api_plan: str = "demo"
    calls_per_minute: int = 30
    monthly_quota: int = COINGECKO_MONTHLY_QUOTA["demo"]
    history_days: int | None = COINGECKO_DEMO_HISTORY_DAYS  # None: the plan serves all history

    @property
    def key_header(self) -> str:
        """Name of the header that carries the key for this plan."""
        return f"x-cg-{self.api_plan}-api-key"

    def __repr__(self) -> str:
        # Keeps the key out of any log line or traceback that prints the settings.
        shown = "***" if self.api_key else None
        return f"CoinGeckoSettings(base_url={self.base_url!r}, api_key={shown!r}, api_plan={self.api_plan!r})"


@dataclass(frozen=True)
class CoinPaprikaSettings:
    """Where and how to call CoinPaprika."""

    base_url: str = COINPAPRIKA_URL
    api_key: str | None = None
    calls_per_minute: int = 10
    monthly_quota: int = COINPAPRIKA_MONTHLY_QUOTA
    api_plan: str = "free"  # what history it serves depends on it (see extract/coinpaprika_history.py)

    def __repr__(self) -> str:
        shown = "***" if self.api_key else None
        return (
            f"CoinPaprikaSettings(base_url={self.base_url!r}, api_key={shown!r}, api_plan={self.api_plan!r})"
        )


def split_words(text: str) -> tuple[str, ...]:
    """Split a comma-separated list, dropping blanks."""
    return tuple(word.strip() for word in text.split(",") if word.strip())


@dataclass(frozen=True)
class ApiConfig:
    """How the read-only API serves: the one declaration of each API setting and its default."""

    statement_timeout_ms: int = 5000  # longest query, PostgreSQL and SQLite alike
    connect_timeout_s: int = 5  # an unreachable PostgreSQL is a 503, not a hung worker
    cors_origins: tuple[str, ...] = ("*",)  # or ("https://a.example", ...); a comma-separated str is split
    cache_max_age_s: int = 30  # Cache-Control max-age of data answers
    # Where gunicorn's workers keep their request metrics, so a scrape adds all up; None: one process.
    # prometheus_client reads the same variable itself, at import, to pick its storage.
    metrics_multiproc_dir: str | None = None

    def __post_init__(self) -> None:
        # create_app(**overrides) builds one from code, not from the environment: check it here too.
        if isinstance(self.cors_origins, str):
            object.__setattr__(self, "cors_origins", split_words(self.cors_origins))
        for name in ("statement_timeout_ms", "connect_timeout_s"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a whole number greater than 0, got {value!r}")
        if not isinstance(self.cache_max_age_s, int) or self.cache_max_age_s < 0:
            raise ValueError(
                f"cache_max_age_s must be a whole number of seconds, got {self.cache_max_age_s!r}"
            )

    @classmethod
    def from_env(cls, env: Environ) -> ApiConfig:
        """Read the CRYPTOETL_API_* variables; each unset one keeps its default above."""
        default = cls()
        return cls(
            statement_timeout_ms=env.positive_int(
                "CRYPTOETL_API_STATEMENT_TIMEOUT_MS", default.statement_timeout_ms
            ),
            connect_timeout_s=env.positive_int("CRYPTOETL_API_CONNECT_TIMEOUT", default.connect_timeout_s),
            cors_origins=env.words("CRYPTOETL_API_CORS_ORIGINS", default.cors_origins),
            cache_max_age_s=env.whole_number("CRYPTOETL_API_CACHE_MAX_AGE", default.cache_max_age_s),
            metrics_multiproc_dir=env.get("PROMETHEUS_MULTIPROC_DIR"),
        )


@dataclass(frozen=True)
class Settings:
    """Everything configurable, built once by from_env() and passed down."""

    database_url: str = DEFAULT_DATABASE_URL
    http: HttpSettings = HttpSettings()
    coingecko: CoinGeckoSettings = CoinGeckoSettings()
    coinpaprika: CoinPaprikaSettings = CoinPaprikaSettings()
    csv_path: Path | None = None
    # A longer CSV line is rejected unread: memory follows this and the chunk size, never a file's lines.
    csv_max_line_bytes: int = DEFAULT_CSV_MAX_LINE_BYTES
    aliases_path: Path | None = None
    api: ApiConfig = ApiConfig()
    log_format: str = "text"  # or "json": one object per line (etl_cli/logs.py)
    # Two sources' newest prices of an asset, within the same hour, further apart than this many percent
    # make it diverging (etl_cli/schema/divergence.py).
    divergence_pct: Decimal = DEFAULT_DIVERGENCE_PCT

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from CRYPTOETL_* variables (and the providers' own key variables)."""
        env = Environ(os.environ if environ is None else environ)
        plan = env.choice("COINGECKO_API_PLAN", COINGECKO_PLANS, default="demo")
        default_base = COINGECKO_PRO_URL if plan == "pro" else COINGECKO_PUBLIC_URL
        history_days = env.whole_number(
            "CRYPTOETL_COINGECKO_HISTORY_DAYS", COINGECKO_DEMO_HISTORY_DAYS if plan == "demo" else 0
        )
        paprika_plan = env.choice("COINPAPRIKA_API_PLAN", COINPAPRIKA_PLANS, default="free")
        paprika_base = COINPAPRIKA_URL if paprika_plan == "free" else COINPAPRIKA_PRO_URL
        return cls(
            database_url=env.database_url("CRYPTOETL_DATABASE_URL", DEFAULT_DATABASE_URL),
            http=HttpSettings(
                connect_timeout=env.positive_float("CRYPTOETL_HTTP_CONNECT_TIMEOUT", 10.0),
                read_timeout=env.positive_float("CRYPTOETL_HTTP_READ_TIMEOUT", 30.0),
                total_timeout=env.positive_float("CRYPTOETL_HTTP_TOTAL_TIMEOUT", 60.0),
                max_attempts=env.positive_int("CRYPTOETL_HTTP_MAX_ATTEMPTS", 5),
                max_retry_wait=env.positive_float("CRYPTOETL_HTTP_MAX_RETRY_WAIT", 120.0),
                retry_budget=env.positive_float("CRYPTOETL_HTTP_RETRY_BUDGET", 120.0),
            ),
            coingecko=CoinGeckoSettings(
                base_url=env.http_url("CRYPTOETL_COINGECKO_BASE_URL", default_base),
                api_key=env.secret("COINGECKO_API_KEY"),
                api_plan=plan,
                calls_per_minute=env.positive_int("CRYPTOETL_COINGECKO_CALLS_PER_MINUTE", 30),
                monthly_quota=env.positive_int(
                    "CRYPTOETL_COINGECKO_MONTHLY_QUOTA", COINGECKO_MONTHLY_QUOTA[plan]
                ),
                history_days=history_days or None,
            ),
            coinpaprika=CoinPaprikaSettings(
                base_url=env.http_url("CRYPTOETL_COINPAPRIKA_BASE_URL", paprika_base),
                api_key=env.secret("COINPAPRIKA_API_KEY"),
                calls_per_minute=env.positive_int("CRYPTOETL_COINPAPRIKA_CALLS_PER_MINUTE", 10),
                monthly_quota=env.positive_int(
                    "CRYPTOETL_COINPAPRIKA_MONTHLY_QUOTA", COINPAPRIKA_MONTHLY_QUOTA
                ),
                api_plan=paprika_plan,
            ),
            csv_path=env.existing_path("CRYPTOETL_CSV_PATH"),
            csv_max_line_bytes=env.positive_int("CRYPTOETL_CSV_MAX_LINE_BYTES", DEFAULT_CSV_MAX_LINE_BYTES),
            aliases_path=env.existing_path("CRYPTOETL_ALIASES_PATH"),
            api=ApiConfig.from_env(env),
            log_format=_log_format(env),
            divergence_pct=env.positive_decimal("CRYPTOETL_DIVERGENCE_PCT", DEFAULT_DIVERGENCE_PCT),
        )


def log_format_from_env() -> str:
    """CRYPTOETL_LOG_FORMAT alone: the CLI sets up logging before a command reads the other settings."""
    return _log_format(Environ(os.environ))


def _log_format(env: Environ) -> str:
    return env.choice("CRYPTOETL_LOG_FORMAT", LOG_FORMATS, default="text")


class Environ:
    """Typed reads of environment variables; a bad value is a ConfigError naming the variable."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def get(self, name: str) -> str | None:
        """Return the stripped value, or None when unset or blank."""
        value = self._environ.get(name, "").strip()
        return value or None

    def secret(self, name: str) -> str | None:
        """Read a key; one with a line break or control character is refused without being echoed."""
        value = self.get(name)
        if value is not None and not value.isprintable():
            raise ConfigError(f"{name} contains a line break or control character; set it to the key alone")
        return value

    def positive_int(self, name: str, default: int) -> int:
        """Read a whole number greater than zero."""
        raw = self.get(name)
        if raw is None:
            return default
        if not raw.isdigit() or int(raw) == 0:
            raise ConfigError(f"{name} must be a whole number greater than 0, got {raw!r}")
        return int(raw)

    def whole_number(self, name: str, default: int) -> int:
        """Read a whole number, zero allowed."""
        raw = self.get(name)
        if raw is None:
            return default
        if not raw.isdigit():
            raise ConfigError(f"{name} must be a whole number, got {raw!r}")
        return int(raw)

    def words(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        """Read a comma-separated list."""
        raw = self.get(name)
        return default if raw is None else split_words(raw)

    def positive_decimal(self, name: str, default: Decimal) -> Decimal:
        """Read a number greater than zero, exactly."""
        raw = self.get(name)
        if raw is None:
            return default
        try:
            value = Decimal(raw)
        except ArithmeticError:
            value = Decimal(0)
        if not value.is_finite() or value <= 0:
            raise ConfigError(f"{name} must be a number greater than 0, got {raw!r}")
        return value

    def positive_float(self, name: str, default: float) -> float:
        """Read a number of seconds greater than zero."""
        raw = self.get(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = 0.0
        if not value > 0 or value == float("inf"):
            raise ConfigError(f"{name} must be a number of seconds greater than 0, got {raw!r}")
        return value

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        """Read one of a fixed set of words, case-insensitively."""
        raw = self.get(name)
        if raw is None:
            return default
        if raw.lower() not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
        return raw.lower()

    def http_url(self, name: str, default: str) -> str:
        """Read an http(s) base URL, without a trailing slash."""
        raw = self.get(name) or default
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"{name} must be an http:// or https:// URL, got {raw!r}")
        return raw.rstrip("/")

    def existing_path(self, name: str) -> Path | None:
        """Read a path to a file or folder that must exist."""
        raw = self.get(name)
        if raw is None:
            return None
        path = Path(raw).expanduser()
        if not path.exists():
            raise ConfigError(f"{name} names {raw!r}, which does not exist")
        return path

    def database_url(self, name: str, default: str) -> str:
        """Read a SQLAlchemy URL for one of the supported databases."""
        from sqlalchemy.engine import make_url  # here, not at the top: `--help` needs no SQLAlchemy
        from sqlalchemy.exc import ArgumentError

        raw = self.get(name) or default
        try:
            url = make_url(raw)
        except ArgumentError:
            # The value is not echoed: it may hold a password.
            raise ConfigError(
                f"{name} is not a database URL "
                "(expected e.g. sqlite:///cryptoetl.db or postgresql+psycopg2://user@host/db)"
            ) from None
        if url.get_backend_name() not in SUPPORTED_DATABASES:
            raise ConfigError(
                f"{name} must point at SQLite or PostgreSQL, got a {url.get_backend_name()!r} URL"
            )
        return raw
