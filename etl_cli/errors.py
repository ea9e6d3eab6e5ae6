"""One exception root for everything cryptoetl reports, classified by what the user can do about it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import requests


class CryptoEtlError(Exception):
    """Base of every error cryptoetl reports to the user."""


class ConfigError(CryptoEtlError):
    """A setting is missing or has a value we cannot use."""


class SourceError(CryptoEtlError):
    """A source did not give us usable data."""

    def __init__(self, message: str, response: requests.Response | None = None) -> None:
        super().__init__(message)
        self.response = response


class RetriableSourceError(SourceError):
    """A failure worth retrying: timeout, connection error, 429 or 5xx."""

    def __init__(
        self,
        message: str,
        response: requests.Response | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, response)
        self.retry_after = retry_after


class FatalSourceError(SourceError):
    """A failure that retrying cannot fix: bad request, bad key, plan limits, malformed page."""


class LoadError(CryptoEtlError):
    """The database refused a write or is not in the state we need."""


class RunLocked(CryptoEtlError):
    """Another run of the same source holds the lock."""


class LockLost(CryptoEtlError):
    """Another run took the source over from this one, which stops without committing anything more."""


class RunStopped(CryptoEtlError):
    """A shutdown was requested while the run was in progress; it stopped without loading anything."""


class Unhealthy(CryptoEtlError):
    """The pipeline is not working: a source's newest run failed, or no recent run succeeded."""


class RunFailed(CryptoEtlError):
    """A run ended as failed; its ledger row holds the reason."""

    def __init__(self, message: str, summary: object) -> None:
        super().__init__(message)
        self.summary = summary


class OverQuota(CryptoEtlError):
    """A schedule or a backfill would make more calls than the provider's plan allows in a month."""
